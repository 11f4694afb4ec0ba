"""Pure leaderboard rules: board members, competition ranks, windows and throttling.

Nothing here touches Redis or a clock, so the rules are tested on their own and the
Redis code only moves data.

Tie order: equal scores share a rank (competition ranking, 1, 2, 2, 4), and among equal
scores the participant who joined first (the smaller participant id) is listed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# neighbours shown on each side of a participant's own row
AROUND_ME = 2

MEMBER_DIGITS = 19  # a PostgreSQL bigint has at most 19 digits
_MEMBER_TOP = 10**MEMBER_DIGITS - 1


@dataclass(frozen=True)
class Entry:
    rank: int
    participant_id: int
    display_name: str
    score: int


def member_of(participant_id: int) -> str:
    """The sorted-set member of a participant.

    ZREVRANGE lists equal scores by member, highest first; writing the complement of the id
    with a fixed width makes the smallest id (who joined first) come first among equals.
    """
    if not 0 < participant_id <= _MEMBER_TOP:
        raise ValueError(f"participant id {participant_id} is out of range")
    return f"{_MEMBER_TOP - participant_id:0{MEMBER_DIGITS}d}"


def participant_of(member: str) -> int:
    """The participant id a board member stands for (inverse of member_of)."""
    participant_id: int = _MEMBER_TOP - int(member)
    return participant_id


def competition_ranks(
    scores: Sequence[int], greater_than_first: int, first_position: int
) -> list[int]:
    """Ranks of consecutive board positions, highest score first (1, 2, 2, 4).

    :param scores: scores of consecutive positions, starting at `first_position` (0-based)
    :param greater_than_first: how many members score strictly more than `scores[0]`;
        it differs from `first_position` when the slice starts inside a tie
    """
    ranks: list[int] = []
    for index, score in enumerate(scores):
        if index == 0:
            ranks.append(greater_than_first + 1)
        elif score == scores[index - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(first_position + index + 1)
    return ranks


def rank_all(scores: Iterable[int]) -> list[int]:
    """Competition ranks of a whole board given in any order, in that order (for rebuilds
    and checks; reads use competition_ranks on a slice)."""
    values = list(scores)
    ordered = sorted(values, reverse=True)
    first_position: dict[int, int] = {}
    for position, score in enumerate(ordered):
        first_position.setdefault(score, position)
    return [first_position[score] + 1 for score in values]


def entries_of(
    members: Sequence[str],
    scores: Sequence[int],
    names: Sequence[str | None],
    greater_than_first: int,
    first_position: int,
) -> list[Entry]:
    """Ranked entries of a board slice read from Redis."""
    ranks = competition_ranks(scores, greater_than_first, first_position)
    return [
        Entry(
            rank=rank,
            participant_id=participant_of(member),
            display_name=name if name is not None else "",
            score=score,
        )
        for member, score, name, rank in zip(members, scores, names, ranks, strict=True)
    ]


class Throttle:
    """At most one send per key every `interval_s`: the first change goes out at once, the
    changes that follow within the interval go out together when it ends. A key may be
    given a longer interval of its own with each offer (a board thousands watch).

    Time is passed in, so the rule is tested without a clock.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last_sent: dict[str, float] = {}
        self._due: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    def offer(self, key: str, now: float, interval_s: float | None = None) -> bool:
        """A change of `key`: True to send it now, False when `due()` will return it later."""
        interval = max(interval_s or self.interval_s, self.interval_s)
        self._intervals[key] = interval
        last = self._last_sent.get(key)
        if last is None or now - last >= interval:
            self._last_sent[key] = now
            self._due.pop(key, None)
            return True
        self._due.setdefault(key, last + interval)
        return False

    def due(self, now: float) -> list[str]:
        """Keys whose pending change must go out now; they count as sent at `now`."""
        ready = [key for key, at in self._due.items() if at <= now]
        for key in ready:
            del self._due[key]
            self._last_sent[key] = now
        # a key last sent more than its interval ago behaves as never sent: forget it
        stale = [
            key
            for key, at in self._last_sent.items()
            if now - at >= self._intervals.get(key, self.interval_s) and key not in self._due
        ]
        for key in stale:
            del self._last_sent[key]
            self._intervals.pop(key, None)
        return ready

    def next_due(self) -> float | None:
        """When the next pending change is due (None: nothing pending)."""
        return min(self._due.values(), default=None)
