"""Leaderboard reads of a web process: one Redis call for readers who arrive together, and
payloads rendered once a version.

Under load, a process has many requests for the same board at once (a class of phones
refreshing it). The requests that arrive while a read of their board is under way wait
for the next one, which asks Redis for all of them in one call (board.read_for: the top
once, each participant's own rows). A request never takes a read that began before it
arrived, so it sees every change made before it came, as with a read of its own.

A board's `version` grows with every change (a total, a join, a removal, a rebuild), so the
top of one version of one board is the same text for every reader: each web process
renders it once (JSON, the contract's field names) and keeps the newest version of each
(board, limit). A reader that finds one kept asks Redis for the board only if it moved on
since (`known_version`), so reading an unchanged board costs neither the top's transfer
nor its rendering. Readers then add only what is theirs (`me`, `around_me`), without
marshmallow on the way: the schemas in web/api/schemas.py document these fields, and
tests compare the two.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions

from shared.leaderboard import board
from shared.leaderboard.board import BoardView
from shared.leaderboard.ranking import Entry

# (board, limit) pairs whose newest top a process keeps
KEPT = 1024


@dataclass(frozen=True)
class RenderedTop:
    """The fields of one version of a board that every reader shares, as JSON text: the
    board object up to its `version`, without the closing brace."""

    version: int
    text: str


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "rank": entry.rank,
        "participant_id": entry.participant_id,
        "display_name": entry.display_name,
        "score": entry.score,
    }


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class BoardRenderer:
    """Board views as JSON text; the top of each (board, limit, version) rendered once."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._tops: OrderedDict[tuple[str, int], RenderedTop] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, quiz_code: str, limit: int) -> RenderedTop | None:
        """The newest top of this board and limit that this process rendered, if any."""
        with self._lock:
            return self._tops.get((quiz_code, limit))

    def top(
        self, quiz_code: str, view: BoardView, limit: int, kept: RenderedTop | None = None
    ) -> RenderedTop:
        """The shared fields of `view`: `kept` when it is of the view's version (a view read
        with `known_version` has no entries of its own), else rendered and kept."""
        if kept is not None and kept.version == view.version:
            return kept
        key = (quiz_code, limit)
        with self._lock:
            newest = self._tops.get(key)
            if newest is not None and newest.version == view.version:
                self._tops.move_to_end(key)
                return newest
        if view.entries is None:
            raise ValueError(f"board {quiz_code} v{view.version} was read without its top")
        entries = _json([entry_dict(e) for e in view.entries[:limit]])
        rendered = RenderedTop(
            view.version,
            f'{{"quiz_id":{_json(quiz_code)},"total_participants":{view.total_participants},'
            f'"entries":{entries},"version":{view.version}',
        )
        with self._lock:
            newest = self._tops.get(key)
            if newest is None or newest.version <= view.version:
                self._tops[key] = rendered
                self._tops.move_to_end(key)
            while len(self._tops) > self._kept:
                self._tops.popitem(last=False)
        return rendered

    def board(
        self,
        quiz_code: str,
        view: BoardView,
        limit: int,
        me: Entry | None = None,
        around_me: Sequence[Entry] | None = None,
        kept: RenderedTop | None = None,
    ) -> str:
        """The board as GET …/leaderboard answers it (and as a stream event carries it)."""
        text = self.top(quiz_code, view, limit, kept).text
        own: dict[str, Any] = {}
        if me is not None:
            own["me"] = entry_dict(me)
        if around_me is not None:
            own["around_me"] = [entry_dict(e) for e in around_me]
        if not own:
            return text + "}"
        # the reader's own fields in one encoding: `{"me":…}` without its opening brace
        return f"{text},{_json(own)[1:]}"


# (board, limit, around, known version): the readers one Redis call can serve together
ReadKey = tuple[str, int, int, int | None]
ReadFor = Callable[
    [redis.Redis, str, int, Sequence[int], int, int | None],
    tuple[BoardView, dict[int, list[Entry]]] | None,
]


class _Read:
    """One Redis call for the readers who boarded it, and its outcome."""

    def __init__(self, first_reader: int | None) -> None:
        self.readers = [first_reader]
        self.cleared = threading.Event()  # set when the read before it is done
        self.done = threading.Event()
        self.found: tuple[BoardView, dict[int, list[Entry]]] | None = None
        self.error: Exception | None = None


class SharedReads:
    """board.read for many readers: those who arrive while their board is being read
    share the next read (module docstring)."""

    def __init__(self, turn_wait_s: float, read_for: ReadFor = board.read_for) -> None:
        self._turn_wait_s = turn_wait_s
        self._read_for = read_for
        self._lock = threading.Lock()
        self._running: dict[ReadKey, _Read] = {}
        self._boarding: dict[ReadKey, _Read] = {}

    def read(
        self,
        client: redis.Redis,
        quiz_code: str,
        limit: int,
        participant_id: int | None = None,
        around: int = 0,
        known_version: int | None = None,
    ) -> BoardView | None:
        """As board.read, in one Redis call with the readers of the same board and limit
        who arrive during the read before it."""
        key = (quiz_code, limit, around, known_version)
        leads = False
        with self._lock:
            shared = self._boarding.get(key)
            if shared is not None:
                shared.readers.append(participant_id)
            else:
                leads = True
                shared = _Read(participant_id)
                if key in self._running:
                    self._boarding[key] = shared  # it starts once the running read is done
                else:
                    self._running[key] = shared
                    shared.cleared.set()
        if leads:
            self._run(key, shared, client)
        else:
            shared.done.wait()
        if shared.error is not None:
            raise shared.error
        return board.view_of(shared.found, participant_id)

    def _run(self, key: ReadKey, shared: _Read, client: redis.Redis) -> None:
        following: _Read | None = None
        try:
            # its turn comes when the read before it is done; the wait is bounded, since
            # reads may overlap safely (one at a time only saves Redis calls)
            shared.cleared.wait(self._turn_wait_s)
            with self._lock:
                if self._boarding.get(key) is shared:
                    del self._boarding[key]
                self._running[key] = shared
            # no reader boards it any more: the readers who come now wait for the next one
            wanted = sorted({p for p in shared.readers if p is not None})
            quiz_code, limit, around, known_version = key
            shared.found = self._read_for(client, quiz_code, limit, wanted, around, known_version)
        except Exception as exc:
            shared.error = exc
        except BaseException:
            # this request is being stopped: the others learn of it as of Redis gone away
            shared.error = redis.exceptions.ConnectionError("a shared board read was stopped")
            raise
        finally:
            with self._lock:
                if self._boarding.get(key) is shared:  # stopped before its turn
                    del self._boarding[key]
                if self._running.get(key) is shared:
                    following = self._boarding.pop(key, None)
                    if following is None:
                        del self._running[key]
                    else:
                        self._running[key] = following
            shared.done.set()
            if following is not None:
                following.cleared.set()
