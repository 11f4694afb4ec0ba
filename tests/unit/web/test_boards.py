"""Board payloads rendered once a version: the same fields as the documented schema."""

from __future__ import annotations

import json

from shared.leaderboard.board import BoardView
from shared.leaderboard.ranking import Entry
from web.api.schemas import LeaderboardSchema
from web.boards import BoardRenderer

ENTRIES = [Entry(1, 3, "Ann", 2067), Entry(2, 7, "Zoë", 967), Entry(2, 9, "Bob", 967)]


def view(version: int, entries: list[Entry] = ENTRIES) -> BoardView:
    return BoardView(total_participants=42, version=version, entries=entries, around=entries[1:])


def test_a_board_is_what_the_schema_documents():
    rendered = json.loads(BoardRenderer().board("K7QX2M", view(5), 2, ENTRIES[1], ENTRIES[1:]))
    documented = LeaderboardSchema().dump(
        {
            "quiz_id": "K7QX2M",
            "total_participants": 42,
            "entries": ENTRIES[:2],
            "version": 5,
            "me": ENTRIES[1],
            "around_me": ENTRIES[1:],
        }
    )
    assert rendered == documented
    plain = json.loads(BoardRenderer().board("K7QX2M", view(5), 10))
    assert set(plain) == {"quiz_id", "total_participants", "entries", "version"}
    assert len(plain["entries"]) == 3


def test_the_entries_of_a_version_are_rendered_once():
    renderer = BoardRenderer()
    first = renderer.entries("K7QX2M", view(5), 10)
    # the same version: the text kept, whatever the view object says
    assert renderer.entries("K7QX2M", view(5, []), 10) is first
    # a newer version is rendered anew
    assert json.loads(renderer.entries("K7QX2M", view(6, ENTRIES[:1]), 10)) == [
        {"rank": 1, "participant_id": 3, "display_name": "Ann", "score": 2067}
    ]
    # each limit has its own text
    assert len(json.loads(renderer.entries("K7QX2M", view(6), 1))) == 1


def test_a_bounded_number_of_boards_is_kept():
    renderer = BoardRenderer(kept=2)
    for code in ("A", "B", "C"):
        renderer.entries(code, view(1), 10)
    assert renderer.entries("A", view(1, []), 10) == "[]"
