"""What a fault may not break, counted from PostgreSQL and Redis as they are, and the table.

Pure functions of what the campaign read: the task ids the API answered 202 with, the
quiz's answer rows and totals in PostgreSQL, its board in Redis, and the states the task
status API reported. Nothing here asks the project's code how it thinks it did.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.leaderboard.ranking import participant_of

# a fault passes when the board equals PostgreSQL and every answer is scored this soon
# after the fault ended (the bound)
RECOVERY_LIMIT_S = 30.0
FINAL_STATES = frozenset({"SUCCESS", "FAILURE"})


@dataclass(frozen=True)
class StoredAnswer:
    """One row of `answers`, as the checks see it."""

    task_id: str
    participant_id: int
    question_id: int
    state: str  # accepted, scored or rejected
    points: int | None


@dataclass(frozen=True)
class Findings:
    """The counts of one fault's row; every one of them must be 0."""

    accepted: int  # 202 replies (replays of one answer included)
    lost: int  # 202'd task ids with no answer row, or one that was never scored
    double_counted: int  # extra rows for one (participant, question), or a total above its sum
    total_not_sum: int  # participants whose total is not the sum of their answers' points
    board_mismatches: int  # participants whose board score is not their PostgreSQL total
    pending: int  # 202'd answers still waiting, in PostgreSQL or by the task status API

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.double_counted
            or self.total_not_sum
            or self.board_mismatches
            or self.pending
        )


def compare(
    accepted_task_ids: Iterable[str],
    answers: Iterable[StoredAnswer],
    totals: Mapping[int, int],
    board: Mapping[str, float],
    task_states: Mapping[str, str] | None = None,
) -> Findings:
    """Count what went wrong for one quiz.

    :param accepted_task_ids: the task id of every 202 reply, one per reply
    :param answers: the quiz's rows of `answers`
    :param totals: `participants.total_score` by participant id, for every participant
    :param board: the quiz's Redis sorted set, member -> score
    :param task_states: the task status API's state by task id, when it was asked
    """
    replies = list(accepted_task_ids)
    by_task = {a.task_id: a for a in answers}
    rows = list(by_task.values())
    per_pair = Counter((a.participant_id, a.question_id) for a in rows)
    sums: dict[int, int] = defaultdict(int)
    for answer in rows:
        if answer.state == "scored":
            sums[answer.participant_id] += answer.points or 0

    lost = pending = 0
    for task_id in set(replies):
        row = by_task.get(task_id)
        if row is None or row.state == "rejected":
            lost += 1
        elif row.state != "scored":
            pending += 1
        elif task_states is not None and task_states.get(task_id) not in FINAL_STATES:
            pending += 1

    over = sum(1 for pid, total in totals.items() if total > sums.get(pid, 0))
    double_counted = sum(n - 1 for n in per_pair.values() if n > 1) + over
    total_not_sum = sum(1 for pid, total in totals.items() if total != sums.get(pid, 0))
    on_board = {participant_of(member): score for member, score in board.items()}
    board_mismatches = sum(
        1 for pid, total in totals.items() if on_board.get(pid) != float(total)
    ) + sum(1 for pid in on_board if pid not in totals)
    return Findings(
        accepted=len(replies),
        lost=lost,
        double_counted=double_counted,
        total_not_sum=total_not_sum,
        board_mismatches=board_mismatches,
        pending=pending,
    )


# --- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    """One fault's line of the table."""

    fault: str
    findings: Findings | None  # None: the run of this fault itself failed
    recovery_s: float | None  # None: it did not recover within the campaign's wait
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.findings is not None
            and self.findings.clean
            and self.recovery_s is not None
            and self.recovery_s <= RECOVERY_LIMIT_S
        )


HEADER = (
    "fault",
    "answers 202'd",
    "lost",
    "double counted",
    "total≠sum",
    "board mismatches",
    "pending",
    "recovery s",
    "verdict",
)


def cells(row: Row) -> list[str]:
    verdict = "pass" if row.passed else "FAIL"
    recovery = "none" if row.recovery_s is None else f"{row.recovery_s:.1f}"
    f = row.findings
    if f is None:
        return [row.fault, *["-"] * 6, recovery, verdict]
    figures = [f.accepted, f.lost, f.double_counted, f.total_not_sum]
    figures += [f.board_mismatches, f.pending]
    return [row.fault, *(f"{n:,}" for n in figures), recovery, verdict]


def table(rows: Iterable[Row]) -> str:
    """A Markdown table: readable as it is printed, and as docs/reliability.md shows it."""
    lines = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]

    def line(values: Iterable[str]) -> str:
        padded = (
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|"
    )
    return "\n".join([line(lines[0]), rule, *(line(values) for values in lines[1:])])
