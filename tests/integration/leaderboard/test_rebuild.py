"""Rebuilding boards from PostgreSQL: afterwards every board equals the database."""

import pytest

from shared import redis_keys
from shared.leaderboard import board, rebuild
from shared.leaderboard.rebuild import rebuild_all, rebuild_board
from tests.integration.leaderboard.support import (
    database_board,
    make_quiz,
    scores_of,
    set_total,
    whole_board,
)


def test_a_rebuild_replaces_a_wrong_board_with_the_database(session, redis_client):
    code, ids = make_quiz(session, ["Ann", "Bob", "Cy"])
    set_total(session, ids["Ann"], 1967)
    set_total(session, ids["Cy"], 500)
    # a board that drifted: a wrong total, a stranger, and Bob missing
    board.replace(
        redis_client,
        code,
        [board.Standing(ids["Ann"], "Ann", 5000), board.Standing(424242, "Stranger", 1)],
        "drift",
    )
    assert rebuild_board(session, redis_client, code) == 3
    assert whole_board(redis_client, code) == [
        (1, "Ann", 1967, ids["Ann"]),
        (2, "Cy", 500, ids["Cy"]),
        (3, "Bob", 0, ids["Bob"]),
    ]
    assert scores_of(whole_board(redis_client, code)) == database_board(session, code)
    assert not redis_client.keys(redis_keys.leaderboard_staging(code, "*"))


def test_rebuild_all_makes_every_board_equal_its_database(session, redis_client):
    quizzes = [make_quiz(session, [f"{q}-{n}" for n in range(q + 1)]) for q in range(3)]
    for q, (_, ids) in enumerate(quizzes):
        for n, pid in enumerate(ids.values()):
            set_total(session, pid, 100 * q + n)
    redis_client.delete(redis_keys.leaderboard_names(quizzes[1][0]))
    counts = rebuild_all(session, redis_client)
    assert counts == {code: len(ids) for code, ids in quizzes}
    for code, _ in quizzes:
        assert scores_of(whole_board(redis_client, code)) == database_board(session, code)


def test_a_quiz_without_players_has_an_empty_board_not_a_missing_one(session, redis_client):
    code, _ = make_quiz(session, [])
    rebuild_board(session, redis_client, code)
    view = board.read(redis_client, code, 10)
    assert view is not None and view.total_participants == 0 and view.entries == []


def test_an_event_applied_while_the_rebuild_ran_is_kept(session, redis_client, monkeypatch):
    """The swap would drop it; the second read of PostgreSQL brings it back."""
    code, ids = make_quiz(session, ["Ann", "Bob"])
    rebuild_board(session, redis_client, code)
    real_replace = board.replace

    def replace_after_a_score(*args, **kwargs):
        # the worker commits Bob's score and the consumer applies it to the old board,
        # after the rebuild's first read and before its swap
        set_total(session, ids["Bob"], 967)
        assert board.apply_total(redis_client, code, ids["Bob"], "Bob", 967) is True
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(board, "replace", replace_after_a_score)
    rebuild.rebuild_board(session, redis_client, code)
    assert whole_board(redis_client, code)[0] == (1, "Bob", 967, ids["Bob"])
    assert scores_of(whole_board(redis_client, code)) == database_board(session, code)


def test_rebuilding_an_unknown_quiz_says_so(session, redis_client):
    from shared.errors import NotFound

    with pytest.raises(NotFound):
        rebuild_board(session, redis_client, "NOPE42")


class TestCommand:
    def test_rebuild_one_quiz_by_its_code_in_any_case(self, app, session, redis_client):
        code, ids = make_quiz(session, ["Ann", "Bob"])
        set_total(session, ids["Bob"], 300)
        result = app.test_cli_runner().invoke(args=["leaderboard", "rebuild", code.lower()])
        assert result.exit_code == 0, result.output
        assert f"rebuilt {code}: 2 participants" in result.output
        assert scores_of(whole_board(redis_client, code)) == database_board(session, code)

    def test_rebuild_all(self, app, session, redis_client):
        codes = [make_quiz(session, ["Ann"])[0] for _ in range(2)]
        redis_client.flushdb()
        result = app.test_cli_runner().invoke(args=["leaderboard", "rebuild", "--all"])
        assert result.exit_code == 0, result.output
        assert "2 leaderboard(s) rebuilt" in result.output
        for code in codes:
            assert scores_of(whole_board(redis_client, code)) == database_board(session, code)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["leaderboard", "rebuild"], "either a QUIZ_ID or --all"),
            (["leaderboard", "rebuild", "ABC", "--all"], "either a QUIZ_ID or --all"),
            (["leaderboard", "rebuild", "NOPE42"], "does not exist"),
        ],
    )
    def test_wrong_arguments_are_refused(self, app, args, message):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code != 0
        assert message in result.output
