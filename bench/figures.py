"""The benchmark's arithmetic: percentiles, rates, ratios, CPU per answer and verdicts.

Pure functions of recorded numbers, so a unit test can check them by hand
(tests/unit/bench/test_figures.py); the scenarios only record, this module computes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: always a value that was really observed, no interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def rate(count: int, seconds: float | None) -> float | None:
    """Events per second, or None when no time passed (nothing to divide by)."""
    if not seconds or seconds <= 0:
        return None
    return count / seconds


def ratio(project: float | None, floor: float | None) -> float | None:
    """project / floor, or None when either side is missing."""
    if project is None or not floor:
        return None
    return project / floor


def scaled(value: float, floor_here: float | None, floor_there: float) -> float:
    """`value`, set where a floor measured `floor_there`, for a machine whose floor measured
    `floor_here` (the same share of what the machine can do); `value` without a floor."""
    if not floor_here:
        return value
    return round(value * floor_here / floor_there)


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50, p90, p99 and max of latencies given in seconds, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "p50": ms(percentile(seconds, 50)),
        "p90": ms(percentile(seconds, 90)),
        "p99": ms(percentile(seconds, 99)),
        "max": ms(max(seconds) if seconds else None),
    }


def cpu_per_answer_ms(cpu_s_by_kind: Mapping[str, float], answers: int) -> dict[str, float]:
    """CPU milliseconds per answer for each process kind, plus their sum as `total`."""
    if answers <= 0:
        raise ValueError("CPU per answer needs at least one answer")
    per = {kind: seconds * 1000 / answers for kind, seconds in cpu_s_by_kind.items()}
    per["total"] = sum(per.values())
    return per


def beyond_idle(
    cpu_s_by_kind: Mapping[str, float], idle_per_s: Mapping[str, float], wall_s: float
) -> dict[str, float]:
    """CPU seconds of a phase less what the idle stack burns in as long (never below 0)."""
    return {
        kind: max(0.0, seconds - idle_per_s.get(kind, 0.0) * wall_s)
        for kind, seconds in cpu_s_by_kind.items()
    }


def within(a: float, b: float, fraction: float) -> bool:
    """Whether a and b differ by at most `fraction` of the smaller one."""
    low, high = sorted((a, b))
    return high - low <= fraction * low


def lag_behind(
    samples: Sequence[tuple[float, float, float]],
) -> list[tuple[float, float]]:
    """How far behind the database the board is, at each sample, in seconds.

    `samples` are (time, database total, board total), in time order; the database total
    never falls. The board at time t shows what the database held at the last sample
    whose total was not above the board's; the lag is t minus that sample's time (0 when
    the board has caught up). Sampled, so it is an upper bound within one interval.
    """
    lags: list[tuple[float, float]] = []
    for index, (t, db_total, board_total) in enumerate(samples):
        if board_total >= db_total:
            lags.append((t, 0.0))
            continue
        last = 0
        while last + 1 <= index and samples[last + 1][1] <= board_total:
            last += 1
        lags.append((t, t - samples[last][0]))
    return lags


@dataclass(frozen=True)
class Verdict:
    """One row of the report: a figure of the project against its floor and its target."""

    figure: str
    project: float | None
    floor: float | None
    # the value that is compared with the target: a ratio, or the project figure itself
    measured: float | None
    target: float
    # "min": measured must be at least target; "max": at most
    sense: str
    unit: str = ""
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.measured is None:
            return None
        if self.sense == "min":
            return self.measured >= self.target
        return self.measured <= self.target

    def to_dict(self) -> dict[str, object]:
        return {
            "figure": self.figure,
            "project": self.project,
            "floor": self.floor,
            "measured": self.measured,
            "target": self.target,
            "sense": self.sense,
            "unit": self.unit,
            "note": self.note,
            "passed": self.passed,
        }


def at_least(figure: str, project: float | None, floor: float | None, target: float, **kw):
    """A verdict on project/floor, which must be at least `target`."""
    return Verdict(figure, project, floor, ratio(project, floor), target, "min", **kw)


def at_most(figure: str, project: float | None, target: float, **kw) -> Verdict:
    """A verdict on the project figure itself, which must be at most `target`."""
    return Verdict(figure, project, None, project, target, "max", **kw)


def binned_latency(
    points: Sequence[tuple[float, float]], width_s: float
) -> list[dict[str, float | int | None]]:
    """(time, latency) points grouped into bins of `width_s`: start, count, p50, p99, max."""
    bins: dict[int, list[float]] = {}
    for at, latency in points:
        bins.setdefault(int(at // width_s), []).append(latency)
    return [
        {
            "t": round(index * width_s, 3),
            "count": len(values),
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values),
        }
        for index, values in sorted(bins.items())
    ]
