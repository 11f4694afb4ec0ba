"""Submit benchmark: how fast the running stack accepts answers, and how fast it scores them.

Drives a running stack (`make run`) through the public HTTP API only: creates a quiz, joins
N participants, then for each question opens it, sends every participant's answer as one
burst, and closes it. It then polls the task status endpoint until every accepted answer
is scored, and reports the figures. Run it as `python -m bench.submit --help`.

Load goes to loopback addresses only, and every count and wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import math
import random
import resource
import socket
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from bench import figures as figures_
from bench import report
from bench.client import call, run_bounded
from bench.client import session as client_session
from bench.figures import latency_summary_ms
from shared.config import Settings

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
MAX_PARTICIPANTS = 20_000
MAX_QUESTIONS = 100  # the API's own limit per quiz
MAX_CONCURRENCY = 1024
MAX_TIMEOUT_S = 3600.0
# the longest timer the API allows, so a slow burst is not cut short by the question's end
QUESTION_TIME_LIMIT_S = 600
CHOICES_PER_QUESTION = 4
FINAL_STATES = frozenset({"SUCCESS", "FAILURE"})
SEED = 20240601  # the same choices on every run, so runs compare


class BenchError(Exception):
    """The run cannot go on (stack unreachable, a host call refused); the message says why."""


# --- figures ---------------------------------------------------------------------------


def rate(count: int, seconds: float | None) -> float | None:
    value = figures_.rate(count, seconds)
    return None if value is None else round(value, 1)


def machine_info() -> dict[str, Any]:
    return {**report.machine_info(), "aiohttp": aiohttp.__version__}


# --- options ---------------------------------------------------------------------------


def loopback_base_url(raw: str) -> str:
    """Accept only a URL on this machine's loopback interface: load must never leave it.

    Names other than `localhost` are refused without being resolved, and `localhost` itself
    must resolve to loopback addresses only.
    """
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{raw!r}: give only scheme, host, port and path")
    host = parts.hostname
    if host == "localhost":
        try:
            infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ValueError(f"localhost does not resolve: {exc}") from None
        addresses = {info[4][0] for info in infos}
    else:
        addresses = {host}
    for address in addresses:
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(
                f"refusing {raw!r}: {address} is not a loopback address "
                "(use 127.0.0.1, ::1 or localhost)"
            )
    return raw.strip().rstrip("/")


def bounded_number(kind: Callable[[str], T], low: T, high: T) -> Callable[[str], T]:
    def convert(text: str) -> T:
        value = kind(text)
        if not low <= value <= high:  # type: ignore[operator]
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value

    return convert


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.submit",
        description="Load-test answer submission and scoring on a running stack (loopback only).",
    )
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="default %(default)s")
    parser.add_argument(
        "--host-key",
        default=None,
        help="X-Host-Key (default: the settings' host key: $QUIZ_HOST_KEY, or this "
        "checkout's random one, as `make run` uses it)",
    )
    parser.add_argument(
        "--participants",
        type=bounded_number(int, 1, MAX_PARTICIPANTS),
        default=1000,
        help="participants, each answers every question (default %(default)s)",
    )
    parser.add_argument(
        "--questions",
        type=bounded_number(int, 1, MAX_QUESTIONS),
        default=3,
        help="questions, one burst each (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=bounded_number(int, 1, MAX_CONCURRENCY),
        default=64,
        help="requests in flight during joins, bursts and the final sweep (default %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=bounded_number(float, 1.0, MAX_TIMEOUT_S),
        default=300.0,
        help="seconds to wait, after the last question closes, for every answer to be "
        "scored (default %(default)s)",
    )
    parser.add_argument(
        "--sample",
        type=bounded_number(int, 0, MAX_PARTICIPANTS),
        default=20,
        help="answers per question polled from the moment they are accepted, for the "
        "end-to-end latency (default %(default)s)",
    )
    parser.add_argument(
        "--poll-interval",
        type=bounded_number(float, 0.05, 10.0),
        default=0.5,
        help="pause between polling passes, seconds (default %(default)s)",
    )
    parser.add_argument(
        "--poll-concurrency",
        type=bounded_number(int, 1, 64),
        default=4,
        help="sample polls in flight, kept small not to disturb the bursts (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    try:
        args.base_url = loopback_base_url(args.base_url)
    except ValueError as exc:
        parser.error(f"--base-url: {exc}")
    if args.host_key is None:
        args.host_key = Settings.from_env().host_key
    return args


# --- HTTP ------------------------------------------------------------------------------


# --- the run ---------------------------------------------------------------------------


@dataclass
class Answer:
    """One submission, from the burst to the poll that saw it final."""

    participant: int
    sampled: bool
    status: int | str = 0
    sent_at: float = 0.0
    received_at: float = 0.0
    task_id: str | None = None
    state: str = "PENDING"
    error: Any = None
    final_seen_at: float | None = None  # response time of the poll that first saw it final
    pending_seen_at: float | None = None  # send time of the last poll that saw it unfinished


@dataclass
class Burst:
    question_id: int
    started_at: float = 0.0
    ended_at: float = 0.0
    answers: list[Answer] = field(default_factory=list)


@dataclass
class Run:
    args: argparse.Namespace
    session: aiohttp.ClientSession
    quiz: dict[str, Any] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    join_statuses: Counter = field(default_factory=Counter)
    join_wall_s: float = 0.0
    bursts: list[Burst] = field(default_factory=list)
    sample: list[Answer] = field(default_factory=list)
    bursts_done: bool = False
    sample_pass_starts: list[float] = field(default_factory=list)
    sweeps: int = 0
    poll_statuses: Counter = field(default_factory=Counter)
    polls_during_bursts: int = 0
    wait_deadline: float = 0.0

    def url(self, path: str) -> str:
        return f"{self.args.base_url}{path}"

    @property
    def host_headers(self) -> dict[str, str]:
        return {"X-Host-Key": self.args.host_key}

    @property
    def accepted(self) -> list[Answer]:
        return [a for b in self.bursts for a in b.answers if a.status == 202 and a.task_id]


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def host_call(run: Run, path: str, payload: Any, expected: int) -> Any:
    reply = await call(
        run.session, "POST", run.url(path), payload=payload, headers=run.host_headers
    )
    if reply.status != expected:
        hint = "" if isinstance(reply.status, int) else " (is the stack running? `make run`)"
        raise BenchError(
            f"POST {run.url(path)} answered {reply.status}, not {expected}: {reply.body}{hint}"
        )
    return reply.body


async def create_quiz(run: Run) -> None:
    questions = [
        {
            "text": f"Benchmark question {n}",
            "time_limit_s": QUESTION_TIME_LIMIT_S,
            "choices": [
                {"text": f"choice {c}", "correct": c == 0} for c in range(CHOICES_PER_QUESTION)
            ],
        }
        for n in range(1, run.args.questions + 1)
    ]
    run.quiz = await host_call(
        run, "/api/v1/quizzes", {"title": "Submit benchmark", "questions": questions}, 201
    )
    progress(f"quiz {run.quiz['quiz_id']} created with {len(questions)} questions")


async def join_all(run: Run) -> None:
    """Join every participant; a missing one would silently shrink the bursts, so stop."""
    n = run.args.participants
    run.tokens = [""] * n
    prefix = uuid.uuid4().hex[:8]
    path = f"/api/v1/quizzes/{run.quiz['quiz_id']}/participants"

    async def join(index: int) -> None:
        reply = await call(
            run.session, "POST", run.url(path), payload={"display_name": f"b{prefix}-{index}"}
        )
        run.join_statuses[reply.status] += 1
        if reply.status == 201:
            run.tokens[index] = reply.body["token"]

    started = time.perf_counter()
    await run_bounded(range(n), join, run.args.concurrency)
    run.join_wall_s = time.perf_counter() - started
    progress(f"{n} joins in {run.join_wall_s:.2f} s: {dict(run.join_statuses)}")
    if run.join_statuses[201] != n:
        raise BenchError(f"only {run.join_statuses[201]} of {n} joins succeeded")


def sampled_participants(n: int, size: int) -> set[int]:
    """Evenly spread over the burst's order, so early and late answers are both timed."""
    if size >= n:
        return set(range(n))
    return {i * n // size for i in range(size)}


async def run_burst(run: Run, question: dict[str, Any], rng: random.Random) -> Burst:
    burst = Burst(question_id=question["question_id"])
    choice_ids = [c["choice_id"] for c in question["choices"]]
    sampled = sampled_participants(run.args.participants, run.args.sample)
    answers = [Answer(participant=i, sampled=i in sampled) for i in range(run.args.participants)]
    bodies = [
        {"question_id": burst.question_id, "choice_id": rng.choice(choice_ids)} for _ in answers
    ]
    url = run.url(f"/api/v1/quizzes/{run.quiz['quiz_id']}/answers")

    async def submit(answer: Answer) -> None:
        reply = await call(
            run.session,
            "POST",
            url,
            payload=bodies[answer.participant],
            headers={"Authorization": f"Bearer {run.tokens[answer.participant]}"},
        )
        answer.status = reply.status
        answer.sent_at = reply.sent_at
        answer.received_at = reply.received_at
        if reply.status == 202 and isinstance(reply.body, dict) and reply.body.get("task_id"):
            answer.task_id = reply.body["task_id"]
            if answer.sampled:
                run.sample.append(answer)
        else:
            answer.error = reply.body

    burst.started_at = time.perf_counter()
    await run_bounded(answers, submit, run.args.concurrency)
    burst.ended_at = time.perf_counter()
    burst.answers = answers
    return burst


async def poll(run: Run, answer: Answer) -> None:
    """Ask once for the task's state; a final state is recorded with the time it was seen."""
    reply = await call(run.session, "GET", run.url(f"/api/v1/tasks/{answer.task_id}"))
    run.poll_statuses[reply.status] += 1
    if not run.bursts_done:
        run.polls_during_bursts += 1
    if reply.status != 200 or not isinstance(reply.body, dict):
        return  # counted above; polled again in the next pass
    state = reply.body.get("state", "?")
    if state in FINAL_STATES:
        if answer.final_seen_at is None:
            answer.final_seen_at = reply.received_at
            answer.state = state
            answer.error = reply.body.get("error")
    else:
        answer.state = state
        answer.pending_seen_at = reply.sent_at


async def poll_sample(run: Run) -> None:
    """Poll the sampled answers from their acceptance on, in small passes, until all are final.

    Few requests in flight keep the poller from competing with the bursts it measures.
    """
    while time.perf_counter() < run.wait_deadline or not run.bursts_done:
        todo = [a for a in run.sample if a.final_seen_at is None]
        if not todo and run.bursts_done:
            return
        run.sample_pass_starts.append(time.perf_counter())
        await run_bounded(todo, lambda a: poll(run, a), run.args.poll_concurrency)
        await asyncio.sleep(run.args.poll_interval)


async def sweep_all(run: Run) -> None:
    """Poll every accepted answer not yet seen final, in passes, until all are or time is up.

    The newest answers go first: they are the likeliest to be the last ones scored. At least
    one pass runs, even past the deadline, so every answer's state is known at the end.
    """
    while True:
        todo = [a for a in run.accepted if a.final_seen_at is None]
        if not todo:
            return
        todo.sort(key=lambda a: a.sent_at, reverse=True)
        run.sweeps += 1
        await run_bounded(todo, lambda a: poll(run, a), run.args.concurrency)
        if time.perf_counter() >= run.wait_deadline:
            return
        if any(a.final_seen_at is None for a in todo):
            await asyncio.sleep(run.args.poll_interval)


async def drive(run: Run) -> None:
    """Create the quiz, join everyone, run every question, then wait for the scores."""
    await create_quiz(run)
    await join_all(run)
    rng = random.Random(SEED)
    # the wait deadline is moved to its real value once the last question closes
    run.wait_deadline = math.inf
    questions_path = f"/api/v1/quizzes/{run.quiz['quiz_id']}/questions"
    poller = asyncio.create_task(poll_sample(run))
    try:
        for question in run.quiz["questions"]:
            qid = question["question_id"]
            await host_call(run, f"{questions_path}/{qid}/open", None, 200)
            burst = await run_burst(run, question, rng)
            run.bursts.append(burst)
            await host_call(run, f"{questions_path}/{qid}/close", None, 200)
            accepted = sum(1 for a in burst.answers if a.status == 202)
            progress(
                f"question {question['position']}: {accepted}/{len(burst.answers)} accepted "
                f"in {burst.ended_at - burst.started_at:.2f} s"
            )
        run.bursts_done = True
        run.wait_deadline = time.perf_counter() + run.args.timeout
        progress(f"waiting up to {run.args.timeout:g} s for the sampled answers to be scored")
        await poller
    finally:
        if not poller.done():
            poller.cancel()
    progress("polling every answer not yet seen final")
    await sweep_all(run)


# --- report ----------------------------------------------------------------------------


def figures(run: Run, cpu_s: float, wall_s: float) -> dict[str, Any]:
    """Every figure of the report, as plain data (what --json prints)."""
    submits = [a for b in run.bursts for a in b.answers]
    accepted = run.accepted
    burst_wall_s = sum(b.ended_at - b.started_at for b in run.bursts)
    non_202 = Counter(str(a.status) for a in submits if a.status != 202)
    if len(accepted) != sum(1 for a in submits if a.status == 202):
        non_202["202 without a task_id"] = sum(
            1 for a in submits if a.status == 202 and not a.task_id
        )
    states = Counter(a.state if a.final_seen_at is not None else "not final" for a in accepted)
    failure_codes = Counter(
        (a.error or {}).get("code", "?") for a in accepted if a.state == "FAILURE"
    )
    first_submit = min((a.sent_at for a in submits), default=0.0)
    scored = [a for a in accepted if a.state == "SUCCESS" and a.final_seen_at is not None]
    all_final = len(scored) == len(accepted) and bool(accepted)
    # the last answer was scored after the last poll that saw any answer unfinished (and
    # after the last answer was sent), and at the latest when its SUCCESS was first seen
    done_after = max(
        [a.pending_seen_at for a in accepted if a.pending_seen_at is not None]
        + [a.sent_at for a in accepted],
        default=first_submit,
    )
    done_by = max((a.final_seen_at for a in scored), default=None)
    e2e_upper_s = (done_by - first_submit) if (all_final and done_by) else None
    e2e_lower_s = (done_after - first_submit) if all_final else None
    sample_seen = [
        a.final_seen_at - a.sent_at
        for a in run.sample
        if a.state == "SUCCESS" and a.final_seen_at is not None
    ]
    pass_gaps = [b - a for a, b in itertools.pairwise(run.sample_pass_starts)]
    return {
        "machine": machine_info(),
        "parameters": {
            "base_url": run.args.base_url,
            "quiz_id": run.quiz.get("quiz_id"),
            "participants": run.args.participants,
            "questions": run.args.questions,
            "concurrency": run.args.concurrency,
            "timeout_s": run.args.timeout,
            "sample_per_question": run.args.sample,
            "poll_interval_s": run.args.poll_interval,
            "poll_concurrency": run.args.poll_concurrency,
        },
        "joins": {
            "ok": run.join_statuses[201],
            "wall_s": round(run.join_wall_s, 3),
            "per_s": rate(run.join_statuses[201], run.join_wall_s),
        },
        "submit": {
            "sent": len(submits),
            "accepted": len(accepted),
            "burst_wall_s": round(burst_wall_s, 3),
            "accepted_per_s": rate(len(accepted), burst_wall_s),
            "bursts": [
                {
                    "question_id": b.question_id,
                    "accepted": sum(1 for a in b.answers if a.status == 202),
                    "wall_s": round(b.ended_at - b.started_at, 3),
                    "accepted_per_s": rate(
                        sum(1 for a in b.answers if a.status == 202), b.ended_at - b.started_at
                    ),
                }
                for b in run.bursts
            ],
            "latency_ms": latency_summary_ms([a.received_at - a.sent_at for a in submits]),
            "non_202": dict(non_202),
            "non_202_examples": {
                str(a.status): a.error for a in reversed(submits) if a.status != 202
            },
        },
        "scoring": {
            "method": "task status endpoint; the last answer counts as scored when a poll "
            "first saw it SUCCESS (an upper bound on the time)",
            "states": dict(states),
            "scored": len(scored),
            "failure_codes": dict(failure_codes),
            "not_final_at_timeout": states.get("not final", 0),
            "first_submit_to_last_success_s": None
            if e2e_upper_s is None
            else round(e2e_upper_s, 3),
            "last_unfinished_seen_s": None if e2e_lower_s is None else round(e2e_lower_s, 3),
            "scored_per_s": rate(len(scored), e2e_upper_s),
            "scored_per_s_at_most": rate(len(scored), e2e_lower_s),
            "latency_ms_upper_bound": latency_summary_ms(sample_seen),
            "sample_pass_gap_s": {
                "mean": round(sum(pass_gaps) / len(pass_gaps), 3) if pass_gaps else None,
                "max": round(max(pass_gaps), 3) if pass_gaps else None,
            },
            "sweeps": run.sweeps,
            "polls_during_bursts": run.polls_during_bursts,
            "poll_statuses": {str(k): v for k, v in run.poll_statuses.items()},
        },
        "load_generator": {"cpu_s": round(cpu_s, 2), "wall_s": round(wall_s, 2)},
    }


def failures(fig: dict[str, Any]) -> list[str]:
    """Why the run does not count as clean; empty when every answer was accepted and scored."""
    reasons = []
    submit, scoring = fig["submit"], fig["scoring"]
    if submit["accepted"] != submit["sent"]:
        reasons.append(f"{submit['sent'] - submit['accepted']} submissions were not accepted (202)")
    if scoring["not_final_at_timeout"]:
        reasons.append(
            f"{scoring['not_final_at_timeout']} accepted answers were not scored within "
            f"the {fig['parameters']['timeout_s']:g} s timeout"
        )
    if scoring["states"].get("FAILURE"):
        reasons.append(
            f"{scoring['states']['FAILURE']} answers ended in FAILURE: {scoring['failure_codes']}"
        )
    return reasons


def fmt(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def latency_line(lat: dict[str, Any]) -> str:
    return (
        f"p50 {fmt(lat['p50'])}  p90 {fmt(lat['p90'])}  p99 {fmt(lat['p99'])}  "
        f"max {fmt(lat['max'])}  (n={lat['count']})"
    )


def print_report(fig: dict[str, Any], reasons: list[str]) -> None:
    m, p, j, s, c = (fig[k] for k in ("machine", "parameters", "joins", "submit", "scoring"))
    gen = fig["load_generator"]
    lines = [
        "Real-Time Quiz submit benchmark",
        f"machine      {m['nproc']} cores (nproc), {m['cpu_model']}, {fmt(m['ram_gib'])} GiB RAM, "
        f"Python {m['python']}, aiohttp {m['aiohttp']}",
        f"target       {p['base_url']}  quiz {p['quiz_id']}",
        f"parameters   participants {p['participants']}, questions {p['questions']}, "
        f"concurrency {p['concurrency']}, timeout {p['timeout_s']:g} s, "
        f"sample {p['sample_per_question']}/question polled every {p['poll_interval_s']:g} s "
        f"with {p['poll_concurrency']} in flight",
        "",
        f"joins        {j['ok']} in {j['wall_s']} s ({fmt(j['per_s'])}/s)",
        "",
        "submit (at the API)",
        f"  accepted       {s['accepted']} of {s['sent']} (202)",
        f"  accepted/s     {fmt(s['accepted_per_s'])}   = 202s / {s['burst_wall_s']} s, the summed "
        "wall time of the bursts",
    ]
    for n, b in enumerate(s["bursts"], 1):
        lines.append(
            f"    question {n}   {b['accepted']} in {b['wall_s']} s ({fmt(b['accepted_per_s'])}/s)"
        )
    lines.append(f"  latency ms     {latency_line(s['latency_ms'])}")
    if s["non_202"]:
        lines.append(f"  non-202        {s['non_202']}")
        for status, body in s["non_202_examples"].items():
            lines.append(f"    e.g. {status}: {json.dumps(body)[:160]}")
    else:
        lines.append("  non-202        none")
    lines += ["", "scoring (end to end)", f"  final states   {c['states']}"]
    if c["scored_per_s"] is None:
        unscored = s["accepted"] - c["scored"]
        lines.append(
            f"  scored/s       n/a: {unscored} accepted answers were not seen SUCCESS "
            "(FAILURE, or not final before the timeout)"
        )
    else:
        lines += [
            f"  scored/s       {c['scored_per_s']}   = {c['scored']} answers / "
            f"{c['first_submit_to_last_success_s']} s, first submit -> last SUCCESS seen",
            f"  completion     between {c['last_unfinished_seen_s']} s (last time an answer was "
            f"seen unfinished) and {c['first_submit_to_last_success_s']} s: "
            f"{c['scored_per_s']} to {c['scored_per_s_at_most']} answers/s",
        ]
    lines += [
        "  method         GET /api/v1/tasks/{id}: a sample polled from acceptance on, then "
        f"every answer not yet seen final ({c['sweeps']} sweeps, newest first)",
        f"  latency ms     {latency_line(c['latency_ms_upper_bound'])}",
        "                 submit sent -> SUCCESS first seen, sampled answers; an upper bound, "
        f"late by up to one poll pass (mean gap {fmt(c['sample_pass_gap_s']['mean'], ' s')}, "
        f"max {fmt(c['sample_pass_gap_s']['max'], ' s')})",
        f"  poll replies   {c['poll_statuses']}, {c['polls_during_bursts']} of them "
        "while the questions ran",
        "",
        f"load generator {gen['cpu_s']} s CPU over {gen['wall_s']} s wall (it shares the machine "
        "with the stack)",
        "",
        "result       " + ("OK" if not reasons else "FAILED: " + "; ".join(reasons)),
    ]
    print("\n".join(lines))


# --- entry point -----------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> Run:
    async with client_session(args.concurrency + args.poll_concurrency) as session:
        run = Run(args=args, session=session)
        await drive(run)
        return run


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        run = asyncio.run(bench(args))
    except BenchError as exc:
        print(f"bench: stopped: {exc}", file=sys.stderr)
        return 2
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    fig = figures(run, cpu_s, time.perf_counter() - started)
    reasons = failures(fig)
    if args.json:
        print(json.dumps({**fig, "ok": not reasons, "failures": reasons}))
    else:
        print_report(fig, reasons)
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
