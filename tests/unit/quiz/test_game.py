"""The game's flow as plain rules: every legal and illegal transition, and the timer."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Conflict
from shared.quiz import game

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass
class Q:
    id: int
    position: int
    status: str = "pending"
    closes_at: datetime | None = None


def quiz(*statuses: str) -> list[Q]:
    # positions run against ids, so order by position is what is checked
    return [Q(id=10 - n, position=n, status=s) for n, s in enumerate(statuses)]


def test_next_from_the_lobby_opens_the_first_question_by_position():
    assert game.next_step("lobby", quiz("pending", "pending")) == game.Step(close=None, open=10)


def test_next_closes_the_open_question_and_opens_the_following_one():
    assert game.next_step("running", quiz("open", "pending", "pending")) == game.Step(10, 9)


def test_next_after_a_reveal_opens_the_next_unplayed_question():
    assert game.next_step("running", quiz("closed", "pending")) == game.Step(None, 9)


def test_next_with_the_last_question_open_only_closes_it():
    assert game.next_step("running", quiz("closed", "open")) == game.Step(9, None)


def test_next_refuses_a_finished_quiz_and_one_with_nothing_left():
    with pytest.raises(Conflict, match="finished"):
        game.next_step("finished", quiz("closed", "pending"))
    with pytest.raises(Conflict, match="every question"):
        game.next_step("running", quiz("closed", "closed"))


def test_finish_closes_the_open_question_and_a_second_finish_changes_nothing():
    assert game.finish_step("running", quiz("closed", "open", "pending")) == game.Step(9, None)
    assert game.finish_step("lobby", quiz("pending")) == game.Step(None, None)
    assert game.finish_step("finished", quiz("closed", "pending")) is None


def test_no_question_opens_in_a_finished_quiz():
    game.can_open("running")
    with pytest.raises(Conflict, match="finished"):
        game.can_open("finished")


def test_the_timer_closes_open_questions_at_their_deadline_and_not_before():
    due = Q(1, 0, "open", NOW)
    later = Q(2, 1, "open", NOW + timedelta(seconds=1))
    closed = Q(3, 2, "closed", NOW - timedelta(seconds=5))
    assert game.timed_out([due, later, closed], NOW) == [due]
    assert game.timed_out([due, later, closed], NOW + timedelta(seconds=1)) == [due, later]
