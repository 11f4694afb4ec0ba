"""Pure leaderboard rules: member order, competition ranks, slices and throttling."""

import random

import pytest

from shared.leaderboard.ranking import (
    Throttle,
    competition_ranks,
    entries_of,
    member_of,
    participant_of,
    rank_all,
)


def test_a_member_stands_for_its_participant():
    for participant_id in (1, 7, 10, 123456, 2**63 - 1):
        assert participant_of(member_of(participant_id)) == participant_id


@pytest.mark.parametrize("participant_id", [0, -1, 10**19])
def test_ids_outside_the_bigint_range_have_no_member(participant_id):
    with pytest.raises(ValueError):
        member_of(participant_id)


def test_among_equal_scores_the_smaller_id_comes_first_in_reverse_order():
    """ZREVRANGE lists equal scores by member, highest first: that must be the smallest id."""
    ids = [3, 10, 2, 99, 1000, 11]
    members = sorted((member_of(i) for i in ids), reverse=True)
    assert [participant_of(m) for m in members] == sorted(ids)


@pytest.mark.parametrize(
    ("scores", "ranks"),
    [
        ([], []),
        ([50], [1]),
        ([100, 90, 90, 80], [1, 2, 2, 4]),
        ([5, 5, 5], [1, 1, 1]),
        ([9, 8, 8, 8, 1, 0, 0], [1, 2, 2, 2, 5, 6, 6]),
    ],
)
def test_competition_ranks_from_the_top(scores, ranks):
    assert competition_ranks(scores, greater_than_first=0, first_position=0) == ranks
    assert rank_all(scores) == ranks


def test_a_slice_that_starts_inside_a_tie_keeps_the_tie_s_rank():
    board = [100, 90, 90, 90, 80, 70]
    # positions 2..4: the first of them shares rank 2 with position 1
    assert competition_ranks(board[2:5], greater_than_first=1, first_position=2) == [2, 2, 5]


def test_slices_agree_with_ranking_the_whole_board():
    rng = random.Random(7)
    board = sorted((rng.choice([0, 100, 200, 300, 967, 1000]) for _ in range(60)), reverse=True)
    whole = rank_all(board)
    for start in range(len(board)):
        for stop in range(start + 1, len(board) + 1):
            greater = sum(1 for s in board if s > board[start])
            assert competition_ranks(board[start:stop], greater, start) == whole[start:stop]


def test_rank_all_keeps_the_given_order():
    assert rank_all([10, 30, 20, 30]) == [4, 1, 3, 1]


def test_entries_carry_ids_names_and_ranks():
    members = [member_of(4), member_of(9), member_of(2)]
    entries = entries_of(members, [300, 300, 100], ["Ann", None, "Cy"], 0, 0)
    assert [(e.rank, e.participant_id, e.display_name, e.score) for e in entries] == [
        (1, 4, "Ann", 300),
        (1, 9, "", 300),
        (3, 2, "Cy", 100),
    ]


class TestThrottle:
    def test_the_first_change_goes_out_at_once(self):
        throttle = Throttle(0.25)
        assert throttle.offer("Q1", now=10.0)
        assert throttle.offer("Q2", now=10.0)
        assert throttle.next_due() is None

    def test_changes_within_the_interval_go_out_once_at_its_end(self):
        throttle = Throttle(0.25)
        assert throttle.offer("Q1", now=10.0)
        assert not throttle.offer("Q1", now=10.05)
        assert not throttle.offer("Q1", now=10.2)
        assert throttle.next_due() == pytest.approx(10.25)
        assert throttle.due(now=10.1) == []
        assert throttle.due(now=10.25) == ["Q1"]
        assert throttle.due(now=10.3) == []
        # sent at 10.25: the next change waits until 10.5
        assert not throttle.offer("Q1", now=10.4)
        assert throttle.due(now=10.5) == ["Q1"]

    def test_a_quiet_key_is_sent_at_once_again(self):
        throttle = Throttle(0.25)
        assert throttle.offer("Q1", now=10.0)
        assert throttle.due(now=11.0) == []
        assert throttle.offer("Q1", now=11.0)

    def test_at_most_one_send_per_interval_however_many_changes(self):
        throttle = Throttle(0.25)
        sent = []
        now = 0.0
        while now < 10.0:
            if throttle.offer("Q1", now):
                sent.append(now)
            sent.extend(now for _ in throttle.due(now))
            now = round(now + 0.01, 2)
        gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
        assert len(sent) >= 30
        assert min(gaps) >= 0.25 - 1e-9


def test_a_key_with_a_longer_interval_of_its_own_goes_out_less_often():
    throttle = Throttle(0.1)
    assert throttle.offer("big", now=10.0, interval_s=0.5)
    assert not throttle.offer("big", now=10.2, interval_s=0.5)
    assert throttle.next_due() == pytest.approx(10.5)
    assert throttle.due(now=10.3) == []
    assert throttle.due(now=10.5) == ["big"]
    # a shorter interval than the throttle's own is the throttle's
    assert throttle.offer("small", now=10.0, interval_s=0.01)
    assert not throttle.offer("small", now=10.05, interval_s=0.01)
    assert throttle.due(now=10.1) == ["small"]
