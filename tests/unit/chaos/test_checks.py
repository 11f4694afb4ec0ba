"""The campaign's checks, on hand-made cases: a check that never fires would pass every fault."""

from __future__ import annotations

from chaos.checks import Findings, Row, StoredAnswer, compare, table
from shared.leaderboard.ranking import member_of

ANN, BOB = 1, 2
Q1, Q2 = 10, 11


def scored(task_id: str, participant: int, question: int, points: int) -> StoredAnswer:
    return StoredAnswer(task_id, participant, question, "scored", points)


# Ann answered both questions (900 + 600), Bob the first one (0 points)
ANSWERS = [scored("a1", ANN, Q1, 900), scored("a2", ANN, Q2, 600), scored("b1", BOB, Q1, 0)]
TOTALS = {ANN: 1500, BOB: 0}
BOARD = {member_of(ANN): 1500.0, member_of(BOB): 0.0}
FINAL = {"a1": "SUCCESS", "a2": "SUCCESS", "b1": "SUCCESS"}


def test_a_consistent_quiz_is_clean():
    findings = compare(["a1", "a2", "b1"], ANSWERS, TOTALS, BOARD, FINAL)
    assert findings == Findings(3, 0, 0, 0, 0, 0)
    assert findings.clean


def test_replays_of_one_answer_count_as_202s_but_as_one_answer():
    findings = compare(["a1", "a1", "a1", "a2", "b1"], ANSWERS, TOTALS, BOARD)
    assert (findings.accepted, findings.lost, findings.double_counted) == (5, 0, 0)


def test_a_202_without_a_row_or_with_a_rejected_one_is_lost():
    rejected = [*ANSWERS[:2], StoredAnswer("b1", BOB, Q1, "rejected", None)]
    findings = compare(["a1", "a2", "b1", "ghost"], rejected, TOTALS, BOARD)
    assert findings.lost == 2
    assert not findings.clean


def test_an_answer_waiting_in_postgresql_or_not_final_at_the_api_is_pending():
    waiting = [*ANSWERS[:2], StoredAnswer("b1", BOB, Q1, "accepted", None)]
    assert compare(["a1", "a2", "b1"], waiting, TOTALS, BOARD).pending == 1
    states = {**FINAL, "a2": "PENDING"}
    assert compare(["a1", "a2", "b1"], ANSWERS, TOTALS, BOARD, states).pending == 1
    # a task the API was not asked about is not pending by the API's word
    assert compare(["a1", "a2", "b1"], ANSWERS, TOTALS, BOARD).pending == 0


def test_points_added_twice_are_double_counted_and_break_the_sum():
    twice = {ANN: 2100, BOB: 0}  # Ann's 600 added twice
    board = {member_of(ANN): 2100.0, member_of(BOB): 0.0}
    findings = compare(["a1", "a2", "b1"], ANSWERS, twice, board)
    assert (findings.double_counted, findings.total_not_sum, findings.board_mismatches) == (1, 1, 0)


def test_two_rows_for_one_question_are_double_counted():
    extra = [*ANSWERS, scored("a3", ANN, Q2, 0)]
    assert compare(["a1", "a2", "a3", "b1"], extra, TOTALS, BOARD).double_counted == 1


def test_a_total_below_its_sum_is_not_double_counted_but_not_the_sum():
    short = {ANN: 900, BOB: 0}
    board = {member_of(ANN): 900.0, member_of(BOB): 0.0}
    findings = compare(["a1", "a2", "b1"], ANSWERS, short, board)
    assert (findings.double_counted, findings.total_not_sum) == (0, 1)


def test_the_board_must_equal_postgresql_player_by_player():
    behind = {member_of(ANN): 900.0, member_of(BOB): 0.0}
    assert compare(["a1"], ANSWERS, TOTALS, behind).board_mismatches == 1
    missing_bob = {member_of(ANN): 1500.0}
    assert compare(["a1"], ANSWERS, TOTALS, missing_bob).board_mismatches == 1
    stranger = {**BOARD, member_of(99): 5.0}
    assert compare(["a1"], ANSWERS, TOTALS, stranger).board_mismatches == 1
    assert compare(["a1"], ANSWERS, TOTALS, {}).board_mismatches == 2


def test_a_row_passes_only_clean_and_recovered_in_time():
    clean = Findings(3, 0, 0, 0, 0, 0)
    assert Row("f", clean, 29.9).passed
    assert not Row("f", clean, 30.1).passed
    assert not Row("f", clean, None).passed
    assert not Row("f", Findings(3, 1, 0, 0, 0, 0), 1.0).passed
    assert not Row("f", None, None).passed


def test_the_table_has_one_line_per_fault_with_its_verdict():
    rows = [
        Row("worker killed", Findings(3000, 0, 0, 0, 0, 0), 4.25),
        Row("Redis flushed", Findings(2950, 2, 0, 1, 3, 0), None),
        Row("run failed", None, None),
    ]
    lines = table(rows).splitlines()
    assert len(lines) == 5
    assert [c.strip() for c in lines[0].strip("|").split("|")][:3] == [
        "fault",
        "answers 202'd",
        "lost",
    ]
    assert set(lines[1]) <= set("|-:")
    first = [c.strip() for c in lines[2].strip("|").split("|")]
    assert first == ["worker killed", "3,000", "0", "0", "0", "0", "0", "4.2", "pass"]
    second = [c.strip() for c in lines[3].strip("|").split("|")]
    assert second == ["Redis flushed", "2,950", "2", "0", "1", "3", "0", "none", "FAIL"]
    assert lines[4].split("|")[-2].strip() == "FAIL"
    # every line is as wide as the header: the columns line up as printed
    assert len({len(line) for line in lines}) == 1
