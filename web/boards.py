"""Leaderboard payloads as GET …/leaderboard and the stream send them, rendered once a version.

A board's `version` grows with every change, so the entries from the top of one version
of one board are the same text for every reader: each web process renders them once
(JSON, the contract's field names) and keeps the newest version of each (board, limit).
Readers then add only what is theirs (`me`, `around_me`), without marshmallow on the way:
the schemas in web/api/schemas.py document these fields, and tests compare the two.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from shared.leaderboard.board import BoardView
from shared.leaderboard.ranking import Entry

# (board, limit) pairs whose newest entries a process keeps
KEPT = 1024


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
    """Board views as JSON text; the entries of each (board, limit, version) rendered once."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._entries: OrderedDict[tuple[str, int], tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def entries(self, quiz_code: str, view: BoardView, limit: int) -> str:
        key = (quiz_code, limit)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == view.version:
                self._entries.move_to_end(key)
                return cached[1]
        text = _json([entry_dict(e) for e in view.entries[:limit]])
        with self._lock:
            cached = self._entries.get(key)
            if cached is None or cached[0] <= view.version:
                self._entries[key] = (view.version, text)
                self._entries.move_to_end(key)
            while len(self._entries) > self._kept:
                self._entries.popitem(last=False)
        return text

    def board(
        self,
        quiz_code: str,
        view: BoardView,
        limit: int,
        me: Entry | None = None,
        around_me: Sequence[Entry] | None = None,
    ) -> str:
        """The board as GET …/leaderboard answers it (and as a stream event carries it)."""
        parts = [
            f'{{"quiz_id":{_json(quiz_code)},"total_participants":{view.total_participants},'
            f'"entries":{self.entries(quiz_code, view, limit)},"version":{view.version}'
        ]
        if me is not None:
            parts.append(f',"me":{_json(entry_dict(me))}')
        if around_me is not None:
            parts.append(f',"around_me":{_json([entry_dict(e) for e in around_me])}')
        parts.append("}")
        return "".join(parts)
