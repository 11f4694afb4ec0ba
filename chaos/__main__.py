"""`make chaos`: every fault against a stack of the campaign's own, checked from outside.

    python -m chaos [--quick] [--only N,N,...]

Starts a PostgreSQL cluster and a Redis of its own on free ports and the processes of
`make run` against them; then, for each fault, a fresh quiz, a burst of answers, the
fault during it, its end, and the checks through PostgreSQL and Redis (chaos/checks.py).
Prints one table and writes it to docs/reliability.md (a full run only); the processes'
logs stay in .run/chaos/<time>/. Exit status 0 when every row passed, 1 when one did not,
2 when the campaign itself failed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from chaos.campaign import Campaign, Sizes, progress
from chaos.checks import RECOVERY_LIMIT_S, Row, table
from chaos.faults import FAULTS

ROOT = Path(__file__).resolve().parent.parent
LOG_ROOT = ROOT / ".run" / "chaos"
DOC = ROOT / "docs" / "reliability.md"

INTRO = f"""\
# Reliability under faults

`make chaos` (`python -m chaos`, about five minutes on two cores; `--quick` for a smoke
run) starts a PostgreSQL cluster and a Redis of its own on free ports, and the processes
of `make run` against them (web, worker, beat, leaderboard consumer, Flower). For each
fault below it creates a fresh quiz, has every player answer each of its questions (a
burst through the HTTP API, 64 requests in flight), injects the fault during the second
question's burst, ends it (a killed process is started again after 1 s, as `make run`'s
supervisor does; a stopped server is started again), and then checks through PostgreSQL
and Redis directly, not through the project's code:

- **lost**: a task id answered with 202 that has no answer row, or whose answer was
  never scored;
- **double counted**: a second row for one participant and question, or a participant's
  total above the sum of their answers' points;
- **total≠sum**: a participant whose `total_score` is not the sum of the points of their
  scored answers;
- **board mismatches**: a participant whose score on the quiz's Redis board is not their
  total in PostgreSQL (or a board member who is no participant);
- **pending**: a 202'd answer still waiting in PostgreSQL, or whose task the status API
  (`GET /api/v1/tasks/{{id}}`, asked for every one) does not report final;
- **recovery s**: from the end of the fault until every answer is scored and the board
  equals PostgreSQL, participant by participant.

A row passes with 0 in every count and a recovery within {RECOVERY_LIMIT_S:.0f} s. When the
burst outlasts the fault, the recovery includes the rest of the burst. Each fault also has
a focused regression test in `make test` (tests/integration/).

The faults (chaos/faults.py): the busiest Celery pool child, or the worker's main process,
killed with SIGKILL; the stack's Redis (broker, results, locks, boards: one server) stopped
with `SHUTDOWN` or SIGKILL and started again, without persistence (as the machine's own
Redis runs) or with an append-only file (`appendfsync everysec`: a hard kill may lose the
last second of writes, which PostgreSQL, the truth, makes good), and restarted ten times in
a row; PostgreSQL stopped with `pg_ctl stop -m immediate` for 20 s; the leaderboard consumer
killed while it applies events; `FLUSHDB` while every process stays up; and, instead of a
fault, ten players each sending 50 identical submissions at once (same token and body, half
of them with one Idempotency-Key), of which exactly one may count.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer players: a smoke run")
    parser.add_argument(
        "--only",
        help="faults to run by number, comma-separated: "
        + "; ".join(f"{n} {f.name}" for n, f in enumerate(FAULTS, 1)),
    )
    args = parser.parse_args(argv)
    picked = range(1, len(FAULTS) + 1)
    if args.only:
        picked = [int(n) for n in args.only.split(",")]
        if not all(1 <= n <= len(FAULTS) for n in picked):
            parser.error(f"--only takes numbers from 1 to {len(FAULTS)}")
    args.faults = [FAULTS[n - 1] for n in picked]
    return args


def summary(rows: list[Row], sizes: Sizes, wall_s: float) -> str:
    """The run's machine, commit, table and notes: printed, and docs/reliability.md's end."""
    machine = report.machine_info()
    notes = [note for row in rows for note in row.notes]
    return "\n".join(
        [
            f"## Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{report.commit()}`",
            "",
            f"{machine['nproc']} cores, {machine['cpu_model']}, {machine['ram_gib']} GiB RAM, "
            f"Linux {machine['kernel']}, Python {machine['python']}; everything on the one "
            f"machine. {sizes.players:,} players × {sizes.questions} questions per fault; "
            f"the whole campaign took {wall_s / 60:.1f} minutes.",
            "",
            table(rows),
            "",
            *([f"- {note}" for note in notes] or ["No other replies or states were seen."]),
            "",
        ]
    )


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    sizes = Sizes.quick() if args.quick else Sizes()
    work_dir = LOG_ROOT / time.strftime("%Y%m%d-%H%M%S")
    work_dir.mkdir(parents=True)
    started = time.perf_counter()
    campaign = Campaign(work_dir, sizes)
    rows: list[Row] = []
    try:
        campaign.start()
        for fault in args.faults:
            try:
                rows.append(campaign.run(fault))
            except Exception as exc:  # one fault failing must not hide the others
                traceback.print_exc()
                rows.append(Row(fault.name, None, None, [f"{fault.name}: the run failed: {exc}"]))
    except Exception:
        traceback.print_exc()
        print(f"chaos: the campaign failed; the logs are in {work_dir}", file=sys.stderr)
        return 2
    finally:
        campaign.stop()
    wall_s = time.perf_counter() - started
    text = summary(rows, sizes, wall_s)
    print(text)
    if not args.quick and len(args.faults) == len(FAULTS):
        DOC.write_text(f"{INTRO}\n{text}")
        progress(f"written to {DOC.relative_to(ROOT)}; the logs are in {work_dir}")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
