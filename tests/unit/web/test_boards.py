"""Board reads of a web process: payloads rendered once a version, the same fields as the
documented schema; readers who arrive together share one read."""

from __future__ import annotations

import json
import threading

import pytest

from shared.leaderboard.board import BoardView
from shared.leaderboard.ranking import Entry
from tests.helpers import wait_until
from web.api.schemas import LeaderboardSchema
from web.boards import BoardRenderer, SharedReads

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


def test_the_top_of_a_version_is_rendered_once():
    renderer = BoardRenderer()
    first = renderer.top("K7QX2M", view(5), 10)
    assert renderer.kept("K7QX2M", 10) is first
    # the same version: the text kept, whatever the view object says
    assert renderer.top("K7QX2M", view(5, []), 10) is first
    # a newer version is rendered anew and kept instead
    newer = renderer.top("K7QX2M", view(6, ENTRIES[:1]), 10)
    assert json.loads(newer.text + "}")["entries"] == [
        {"rank": 1, "participant_id": 3, "display_name": "Ann", "score": 2067}
    ]
    assert renderer.kept("K7QX2M", 10) is newer
    # an older version read late is answered but does not replace the newer one
    renderer.top("K7QX2M", view(5), 10)
    assert renderer.kept("K7QX2M", 10) is newer
    # each limit has its own text
    assert len(json.loads(renderer.top("K7QX2M", view(6), 1).text + "}")["entries"]) == 1


def test_a_board_read_without_its_top_is_answered_from_the_kept_one():
    renderer = BoardRenderer()
    kept = renderer.top("K7QX2M", view(5), 10)
    unchanged = BoardView(total_participants=42, version=5, entries=None, around=[])
    assert renderer.board("K7QX2M", unchanged, 10, kept=kept) == renderer.board(
        "K7QX2M", view(5), 10
    )
    # a top it was not given and does not keep cannot be made up
    with pytest.raises(ValueError, match="without its top"):
        BoardRenderer().board("K7QX2M", unchanged, 10)


def test_a_bounded_number_of_boards_is_kept():
    renderer = BoardRenderer(kept=2)
    for code in ("A", "B", "C"):
        renderer.top(code, view(1), 10)
    assert renderer.kept("A", 10) is None
    assert renderer.kept("C", 10) is not None


class GatedReads:
    """board.read_for's stand-in: each call records who it was for and, when gated, waits
    for the test to let it finish, so the test decides who arrives during a read."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.gates: list[threading.Event] = []
        self.started = threading.Semaphore(0)
        self.error: Exception | None = None
        self.missing = False

    def __call__(self, client, quiz_code, limit, participant_ids, around, known_version):
        gate = threading.Event()
        self.calls.append(list(participant_ids))
        self.gates.append(gate)
        self.started.release()
        assert gate.wait(10)
        if self.error is not None:
            raise self.error
        if self.missing:
            return None
        rows = {p: [Entry(p, p, f"P{p}", 1000 - p)] for p in participant_ids}
        return BoardView(42, len(self.calls), ENTRIES, around=[]), rows


def reader(reads, results, participant_id):
    def run():
        try:
            results[participant_id] = reads.read(None, "K7QX2M", 10, participant_id, 2)
        except Exception as exc:  # handed to the test
            results[participant_id] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def boarded(reads, count):
    """Whether `count` readers wait for the next read (they arrived during the running one)."""
    waiting = list(reads._boarding.values())
    return bool(waiting) and len(waiting[0].readers) == count


def test_readers_who_arrive_during_a_read_share_the_next_one():
    fake = GatedReads()
    reads = SharedReads(turn_wait_s=10, read_for=fake)
    results: dict = {}
    first = reader(reads, results, 1)
    assert fake.started.acquire(timeout=10)
    # these arrive while the first read runs: it began before them, so it is not theirs
    later = [reader(reads, results, p) for p in (2, 3, None)]
    wait_until(lambda: boarded(reads, 3), "the later readers to board the next read")
    fake.gates[0].set()
    first.join(10)
    assert fake.started.acquire(timeout=10)
    fake.gates[1].set()
    for thread in later:
        thread.join(10)
    # one call for the first reader, one for the three who came during it
    assert fake.calls == [[1], [2, 3]]
    assert results[1].version == 1 and results[2].version == 2
    assert results[3].around == [Entry(3, 3, "P3", 997)]
    assert results[None].around == [] and results[None].version == 2
    assert reads._running == {} and reads._boarding == {}


def test_a_failed_shared_read_fails_each_of_its_readers_and_the_next_read_is_fresh():
    fake = GatedReads()
    reads = SharedReads(turn_wait_s=10, read_for=fake)
    results: dict = {}
    fake.error = ConnectionError("Redis went away")
    first = reader(reads, results, 1)
    assert fake.started.acquire(timeout=10)
    second = reader(reads, results, 2)
    wait_until(lambda: boarded(reads, 1), "the second reader to board")
    fake.gates[0].set()
    first.join(10)
    assert fake.started.acquire(timeout=10)
    fake.gates[1].set()
    second.join(10)
    assert isinstance(results[1], ConnectionError) and isinstance(results[2], ConnectionError)
    fake.error = None
    fake.missing = True
    third = reader(reads, results, 3)
    assert fake.started.acquire(timeout=10)
    fake.gates[2].set()
    third.join(10)
    assert results[3] is None  # a missing board is missing for its readers
    assert fake.calls == [[1], [2], [3]]


def test_a_reader_waits_for_its_turn_only_so_long():
    fake = GatedReads()
    reads = SharedReads(turn_wait_s=0.05, read_for=fake)
    results: dict = {}
    stuck = reader(reads, results, 1)
    assert fake.started.acquire(timeout=10)
    # the first read hangs: the next one runs beside it once its wait is over
    second = reader(reads, results, 2)
    assert fake.started.acquire(timeout=10)
    fake.gates[1].set()
    second.join(10)
    assert results[2].version == 2
    fake.gates[0].set()
    stuck.join(10)
    assert results[1].version == 2  # the view's version is the fake's call count
    assert reads._running == {} and reads._boarding == {}
