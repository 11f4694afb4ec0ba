"""What the reconciler repairs, decided without Redis or PostgreSQL."""

from shared.leaderboard.reconcile import Expected, Repair, differences

ANN, BOB = Expected(1, "Ann", 900), Expected(2, "Bob", 0)


def test_a_board_that_shows_what_postgresql_holds_needs_nothing():
    assert differences([ANN, BOB], {1: (900, "Ann"), 2: (0, "Bob")}) == []


def test_a_wrong_score_a_wrong_name_and_a_missing_player_are_repaired():
    found = {1: (850, "Ann"), 2: (0, "Bobby")}
    assert differences([ANN, BOB, Expected(3, "Cy", 10)], found) == [
        Repair(1, 850, "Ann", ANN),
        Repair(2, 0, "Bobby", BOB),
        Repair(3, None, None, Expected(3, "Cy", 10)),
    ]


def test_a_member_postgresql_does_not_have_is_taken_off():
    found = {1: (900, "Ann"), 9: (500, "Ghost")}
    assert differences([ANN], found, extras=[9]) == [Repair(9, 500, "Ghost", None)]
