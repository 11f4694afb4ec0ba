"""`make bench`: every scenario against a stack of the bench's own, floors in the same run.

    python -m bench [--quick] [--only burst,drain,...] [--before RESULTS.json]

Starts a Redis server of its own and a database of its own on DATABASE_URL's PostgreSQL,
then the project's processes with the commands of `make run` and the floor app
(bench/floor.py) with the same gunicorn and worker settings. Progress goes to stderr,
the table of figures, floors, ratios and targets to stdout; the figures are kept in
bench/results/<date>T<time>-<commit>.json and drawn in bench/results/burst.png and cpu.png, and
the processes' logs in .run/bench/<time>/.
Exit status 0 when every target held, 1 when one did not, 2 when the run failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.stack import FloorStack, ProjectStack, Servers
from web.green import raise_open_files_limit

LOG_ROOT = Path(__file__).resolve().parent.parent / ".run" / "bench"
SCENARIOS = ("floor", "accept_and_drain", "burst", "steady", "fanout", "reads", "flat", "limits")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run, under two minutes")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"scenarios to run, comma-separated (default: all of {', '.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--steady-rate",
        type=float,
        help="answers/s of the steady scenario (default: 300/s scaled to this machine's floor)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a results file to draw beside this run in cpu.png (default: the oldest full run)",
    )
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def oldest_full_run() -> Path | None:
    runs = sorted(p for p in report.RESULTS_DIR.glob("*.json") if not p.stem.endswith("-quick"))
    return runs[0] if runs else None


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    sizes = scenarios.Sizes.quick() if args.quick else scenarios.Sizes()
    if args.steady_rate:
        sizes = dataclasses.replace(sizes, steady_rate=args.steady_rate)
    # thousands of streams need as many sockets here and in the web processes
    raise_open_files_limit(2 * sizes.fanout_clients + 4096)
    servers = Servers(work_dir)
    results: dict[str, Any] = {
        "machine": report.machine_info(),
        "commit": report.commit(),
        "quick": args.quick,
        "sizes": sizes.__dict__,
    }
    started = time.perf_counter()
    scenarios.progress(f"servers: redis on {servers.redis.port}, database {servers.db_name}")
    servers.start()
    project = ProjectStack(servers)
    floor = FloorStack(servers)
    ctx = scenarios.Context(project, floor, sizes)
    try:
        project.start(*ProjectStack.NAMES)
        scenarios.progress(f"stack up on {project.base_url} ({', '.join(project.running())})")
        results["idle_cpu_per_s"] = scenarios.idle_cpu(ctx)
        steps = {
            "floor": lambda: scenarios.floor_accept_and_drain(ctx),
            "accept_and_drain": lambda: scenarios.project_accept_and_drain(ctx),
            "burst": lambda: scenarios.burst(ctx),
            "steady": lambda: scenarios.steady_latency(
                ctx,
                scenarios.steady_rate_for(
                    sizes, results.get("floor", {}).get("accept", {}).get("accepted_per_s")
                ),
            ),
            "fanout": lambda: scenarios.fanout(ctx, scenarios.publisher(ctx)),
            "reads": lambda: scenarios.reads(ctx),
            "flat": lambda: scenarios.flat_cost(ctx),
            "limits": lambda: scenarios.rate_limit_cost(ctx),
        }
        for name in SCENARIOS:
            if name not in args.only:
                continue
            scenarios.progress(f"--- {name}")
            try:
                results[name] = steps[name]()
            except Exception as exc:  # one scenario failing must not hide the others
                traceback.print_exc()
                results.setdefault("failed", {})[name] = f"{type(exc).__name__}: {exc}"
                project.start(*ProjectStack.NAMES)
    finally:
        ctx.close()
        floor.stop()
        project.stop()
        servers.stop()
    results["wall_s"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the processes' logs stay behind for a look after the run (`make clean` removes them)
    work_dir = LOG_ROOT / time.strftime("%Y%m%d-%H%M%S")
    work_dir.mkdir(parents=True)
    try:
        results = run(args, work_dir)
    except Exception:
        traceback.print_exc()
        print(f"bench: the run failed; the processes' logs are in {work_dir}", file=sys.stderr)
        return 2
    rows = report.verdicts(results)
    before_path = args.before or oldest_full_run()
    path = report.save(results, rows, args.quick)
    before = report.load(before_path) if before_path and before_path != path else None
    pictures = report.plots(results, before)
    machine = results["machine"]
    print(
        f"Real-Time Quiz benchmark, commit {results['commit']}, "
        f"{'quick' if args.quick else 'full'} run of {results['wall_s']} s\n"
        f"machine: {machine['nproc']} cores, {machine['cpu_model']}, "
        f"{machine['ram_gib']} GiB RAM, Linux {machine['kernel']}, Python {machine['python']}\n"
    )
    print(report.table(rows))
    print()
    print(report.cpu_table(results))
    for name, reason in results.get("failed", {}).items():
        print(f"scenario {name} failed: {reason}")
    print(f"\nfigures: {path.relative_to(report.ROOT)}")
    for picture in pictures:
        print(f"plot:    {picture.relative_to(report.ROOT)}")
    if results.get("failed"):
        return 2
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
