"""`make fuzz`: schemathesis against the OpenAPI of a stack of its own.

The stack is the tests' live stack (tests/live_stack.py): gunicorn gevent web with the
real configuration, a real Celery worker and the leaderboard consumer, on a PostgreSQL
database and a redis-server of the run's own (bench/stack.py's `Servers`), on free ports.
A quiz with an open question and a participant are made through the API, so that
schemathesis sends the host key and a real participant token with every request.

Every check and every phase runs (examples, coverage, fuzzing, stateful); the checks'
settings for deliberate behaviours are in schemathesis.toml. The verdict counts every
request the web served (its `request.finished` log lines) and every 5xx among them,
beside schemathesis's own failures: any server error or failure fails the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stack import Servers
from scripts.processes import BIN, ROOT, Process, free_port
from shared.config import Settings
from tests.helpers import TEST_HOST_KEY, quiz_body
from tests.live_stack import stack_settings, start_consumer, start_web, start_worker
from web.api.schemas import MAX_TIME_LIMIT_S

CONFIG = ROOT / "schemathesis.toml"
# a fixed seed: the same run generates the same requests, so a failure can be replayed
SEED = 20261202
# the switch that turns rate limits off, so a 429 never hides what a request would answer
STACK_ENV = {"QUIZ_RATE_LIMITS": "off"}


@dataclass(frozen=True)
class Seeded:
    quiz_id: str
    question_id: int
    choice_ids: list[int]
    participant_id: int
    token: str
    spare_quiz_id: str

    def config(self) -> str:
        """What the run's config adds to schemathesis.toml: this quiz, drawn half the time.

        The participant token only answers for this quiz and this question, so without it
        every answer would stop at 403 or 404 before the code that records it. Opening and
        closing questions draw the spare quiz instead: closing this one's question would
        leave every later answer a 409.
        """
        return f"""
# --- the quizzes, open question and participant scripts/fuzz.py seeded for this run ---
[dictionaries.seeded_quiz]
values = ["{self.quiz_id}"]
[dictionaries.spare_quiz]
values = ["{self.spare_quiz_id}"]
[dictionaries.seeded_question]
values = [{self.question_id}]
[dictionaries.seeded_choices]
values = {json.dumps(self.choice_ids)}
[dictionaries.seeded_participant]
values = [{self.participant_id}]

[parameters]
"path.quiz_id" = {{ dictionary = "seeded_quiz", probability = 0.5 }}
"query.participant_id" = {{ dictionary = "seeded_participant", probability = 0.5 }}
"body.question_id" = {{ dictionary = "seeded_question", probability = 0.8 }}
"body.choice_id" = {{ dictionary = "seeded_choices", probability = 0.8 }}

[[operations]]
include-path-regex = "/questions/"
parameters = {{ "path.quiz_id" = {{ dictionary = "spare_quiz", probability = 0.5 }} }}
"""


@dataclass(frozen=True)
class Outcome:
    """What a campaign found: the requests served, and what went wrong among them."""

    statuses: Counter[int]
    failures: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    test_cases: int
    exit_code: int
    seconds: float
    output: str

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def ok(self) -> bool:
        return (
            self.exit_code == 0
            and self.server_errors == 0
            and not self.failures
            and not self.errors
            and self.requests > 0
        )

    def summary(self) -> str:
        failures = sum(group.get("count", 1) for group in self.failures)
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"fuzz: {self.requests} requests ({self.test_cases} test cases), "
            f"{self.server_errors} server errors, {failures} failures, "
            f"{len(self.errors)} errors, {self.seconds:.0f} s\n"
            f"fuzz: statuses served: {statuses}"
        )


def call(base_url: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
    """One JSON request to the stack; it must succeed."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def seed(base_url: str) -> Seeded:
    """A quiz whose first question is open, a participant of it, and a spare quiz."""
    host = {"X-Host-Key": TEST_HOST_KEY}
    # the longest timer there is: the question stays open for the whole campaign
    body = quiz_body(questions=3, time_limit_s=MAX_TIME_LIMIT_S)
    quiz = call(base_url, "POST", "/api/v1/quizzes", body, **host)
    spare = call(base_url, "POST", "/api/v1/quizzes", quiz_body(questions=3), **host)
    quiz_id, question_id = quiz["quiz_id"], quiz["questions"][0]["question_id"]
    joined = call(
        base_url, "POST", f"/api/v1/quizzes/{quiz_id}/participants", {"display_name": "Fuzz"}
    )
    call(base_url, "POST", f"/api/v1/quizzes/{quiz_id}/questions/{question_id}/open", **host)
    choice_ids = [choice["choice_id"] for choice in quiz["questions"][0]["choices"]]
    return Seeded(
        quiz_id,
        question_id,
        choice_ids,
        joined["participant_id"],
        joined["token"],
        spare["quiz_id"],
    )


def served(web: Process, offset: int) -> Counter[int]:
    """The statuses of the requests the web served since `offset` in its log, counted."""
    # split on newlines only: a path may hold U+2028 and the like, which splitlines() splits on
    lines = [line for line in web.log()[offset:].split("\n") if line.startswith("{")]
    return Counter(
        record["status"]
        for record in map(json.loads, lines)
        if record.get("message") == "request.finished"
    )


def campaign(
    base_url: str,
    web: Process,
    seeded: Seeded,
    work_dir: Path,
    max_examples: int,
    rng_seed: int = SEED,
) -> Outcome:
    """Run schemathesis once against the stack at `base_url`: every check, every phase."""
    report = work_dir / "schemathesis-report.json"
    config = work_dir / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + seeded.config())
    args = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(rng_seed),
        "--workers",
        "1",
        "-H",
        f"X-Host-Key: {TEST_HOST_KEY}",
        "-H",
        f"Authorization: Bearer {seeded.token}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--generation-database",
        "none",
    ]
    offset = len(web.log())
    started = time.perf_counter()
    result = subprocess.run(args, cwd=work_dir, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    document = json.loads(report.read_text()) if report.exists() else {}
    return Outcome(
        statuses=served(web, offset),
        failures=document.get("failures", []),
        errors=document.get("errors", [{"title": "no report written"}] if not document else []),
        test_cases=(document.get("test_cases") or {}).get("generated", 0),
        exit_code=result.returncode,
        seconds=seconds,
        output=result.stdout + result.stderr,
    )


def start_stack(settings: Settings, work_dir: Path) -> tuple[str, list[Process]]:
    """Consumer, worker and web, as the tests' live stack starts them; the web's URL."""
    port = free_port()
    started: list[Process] = []
    try:
        started.append(start_consumer(settings, work_dir, **STACK_ENV))
        started.append(start_worker(settings, work_dir, **STACK_ENV))
        started.append(start_web(settings, work_dir, port, **STACK_ENV))
    except BaseException:
        stop_stack(started)
        raise
    return f"http://127.0.0.1:{port}", started


def stop_stack(started: list[Process]) -> None:
    for process in reversed(started):
        process.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-examples", type=int, default=150, help="test cases per operation and phase"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="schemathesis's random seed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="quiz-fuzz-") as tmp:
        work_dir = Path(tmp)
        servers = Servers(work_dir, label="fuzz")
        servers.start()
        try:
            redis_url = servers.redis_url(0)
            settings = stack_settings(servers.database_url, redis_url, redis_url)
            base_url, started = start_stack(settings, work_dir)
            try:
                seeded = seed(base_url)
                print(
                    f"fuzz: stack on {base_url}, quiz {seeded.quiz_id}: schemathesis runs",
                    flush=True,
                )
                web = started[-1]
                outcome = campaign(base_url, web, seeded, work_dir, args.max_examples, args.seed)
            finally:
                stop_stack(started)
        finally:
            servers.stop()
    print(outcome.output)
    print(outcome.summary())
    if not outcome.ok:
        print("fuzz: FAIL", file=sys.stderr)
        return 1
    print("fuzz: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
