"""Recomputing every score from the stored answers, against the live scorer's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.quiz.batch_scoring import EarlierAnswer, earlier_results
from shared.quiz.corrections import GivenAnswer, KeyedQuestion, recompute
from shared.quiz.question_types import QuestionType, Response, answer_key, judge
from shared.quiz.scoring import (
    Policy,
    QuestionWindow,
    compute_score,
    score_voided,
)

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CHOICES = 3  # choice ids of question q: 10q, 10q + 1, 10q + 2


def question(qid: int, right: set[int], voided: bool = False, time_limit_s: int = 20):
    opened = START + timedelta(minutes=qid)
    window = QuestionWindow(1000, time_limit_s, opened, opened + timedelta(seconds=time_limit_s))
    key = answer_key(QuestionType.SINGLE, [(10 * qid + c, c in right) for c in range(CHOICES)])
    return KeyedQuestion(qid, window, key, voided)


def answer(aid: int, pid: int, qid: int, choice: int, after_s: float) -> GivenAnswer:
    opened = START + timedelta(minutes=qid)
    return GivenAnswer(
        aid, pid, qid, Response(choice_id=10 * qid + choice), opened + timedelta(seconds=after_s)
    )


def test_a_streak_runs_over_the_questions_in_opening_order():
    opened = [question(1, {0}), question(2, {0}), question(3, {0})]
    answers = [answer(1, 7, 1, 0, 0.2), answer(2, 7, 2, 0, 0.2), answer(3, 7, 3, 0, 0.2)]
    new = recompute(opened, answers, Policy())
    assert [new.answers[a].streak_bonus for a in (1, 2, 3)] == [0, 100, 200]
    assert [new.answers[a].total_after for a in (1, 2, 3)] == [1000, 2100, 3300]
    assert new.totals == {7: 3300}


def test_a_regrade_moves_a_later_streak_bonus_and_a_void_is_skipped():
    answers = [answer(1, 7, 1, 1, 0.2), answer(2, 7, 2, 0, 0.2), answer(3, 7, 3, 0, 0.2)]
    # question 1's key moved to choice 0: the first answer is wrong now
    regraded = recompute([question(1, {0}), question(2, {0}), question(3, {0})], answers, Policy())
    assert [regraded.answers[a].points for a in (1, 2, 3)] == [0, 1000, 1100]
    # question 2 voided: it earns nothing, and the streak goes from 1 to 3 as if it were not there
    voided = recompute(
        [question(1, {1}), question(2, {0}, voided=True), question(3, {0})], answers, Policy()
    )
    assert [voided.answers[a].points for a in (1, 2, 3)] == [1000, 0, 1100]


def test_the_policy_options_turn_speed_and_streak_points_off():
    opened = [question(1, {0}), question(2, {0})]
    answers = [answer(1, 7, 1, 0, 10.0), answer(2, 7, 2, 0, 10.0)]
    kahoot = recompute(opened, answers, Policy())
    assert [kahoot.answers[a].points for a in (1, 2)] == [750, 850]
    flat = recompute(opened, answers, Policy(speed_weighting=False, streak_bonus=False))
    assert [flat.answers[a].points for a in (1, 2)] == [1000, 1000]


def test_an_answer_waiting_for_a_worker_counts_for_the_streak_but_gets_no_points_here():
    opened = [question(1, {0}), question(2, {0})]
    waiting = GivenAnswer(
        1, 7, 1, Response(choice_id=10), START + timedelta(minutes=1, seconds=0.2), scored=False
    )
    new = recompute(opened, [waiting, answer(2, 7, 2, 0, 0.2)], Policy())
    assert 1 not in new.answers
    assert new.answers[2].streak_bonus == 100


# --- the property: recomputing equals a fresh game scored by the live scorer's rules ------


def live_scores(opened, answers, policy):
    """Score each answer as a worker does, alone and in any order, from the stored answers
    (shared/quiz/batch_scoring.py's earlier_results), with the given key."""
    rows = [
        SimpleNamespace(
            id=q.question_id,
            opened_at=q.window.opened_at,
            closed_at=q.window.closed_at,
            points=q.window.points,
            time_limit_s=q.window.time_limit_s,
            voided_at=START if q.voided else None,
            type=q.key.type,
        )
        for q in opened
    ]
    by_id = {q.question_id: q for q in opened}
    keys = {q.question_id: q.key for q in opened}
    stored = {}
    for a in answers:
        stored.setdefault(a.participant_id, {})[a.question_id] = EarlierAnswer(
            a.response, a.received_at
        )
    points = {}
    for a in reversed(answers):  # any order: each score depends on stored answers only
        q = by_id[a.question_id]
        right = judge(q.key, a.response)
        if q.voided:
            points[a.answer_id] = score_voided(right.correct).points
        else:
            earlier = earlier_results(rows, stored[a.participant_id], q.window.opened_at, keys)
            points[a.answer_id] = compute_score(
                q.window, right, a.received_at, earlier, policy
            ).points
    return points


quizzes = st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        # each question's key (a non-empty set of choices), and whether it is voided
        st.lists(
            st.tuples(st.sets(st.integers(0, CHOICES - 1), min_size=1), st.booleans()),
            min_size=n,
            max_size=n,
        ),
        # answers: (player, question, choice, seconds after it opened)
        st.lists(
            st.tuples(
                st.integers(1, 4),
                st.integers(1, n),
                st.integers(0, CHOICES - 1),
                st.floats(0, 25, allow_nan=False),
            ),
            max_size=20,
            unique_by=lambda a: (a[0], a[1]),
        ),
        # corrections: (question, new key, or None to void)
        st.lists(
            st.tuples(
                st.integers(1, n), st.one_of(st.none(), st.sets(st.integers(0, 2), min_size=1))
            ),
            max_size=4,
        ),
        st.builds(Policy, streak_bonus=st.booleans(), speed_weighting=st.booleans()),
    )
)


@settings(max_examples=300, deadline=None)
@given(quizzes)
def test_recomputing_equals_applying_each_correction_and_a_fresh_game(quiz):
    n, keys, raw_answers, corrections, policy = quiz
    answers = [
        answer(i, pid, qid, choice, s) for i, (pid, qid, choice, s) in enumerate(raw_answers, 1)
    ]
    state = {qid: (set(right), voided) for qid, (right, voided) in enumerate(keys, 1)}

    def opened():
        return [question(qid, state[qid][0], state[qid][1]) for qid in range(1, n + 1)]

    # incrementally: recompute after each correction, as the service does
    incremental = recompute(opened(), answers, policy)
    for qid, new_key in corrections:
        right, voided = state[qid]
        state[qid] = (right, True) if new_key is None else (set(new_key), voided)
        incremental = recompute(opened(), answers, policy)
    # from scratch with the final key, and a fresh game scored answer by answer
    scratch = recompute(opened(), answers, policy)
    assert incremental.answers == scratch.answers and incremental.totals == scratch.totals
    assert {a: r.points for a, r in scratch.answers.items()} == live_scores(
        opened(), answers, policy
    )
    for pid in {a.participant_id for a in answers}:
        theirs = [
            r.points for a, r in scratch.answers.items() if answers[a - 1].participant_id == pid
        ]
        assert scratch.totals[pid] == sum(theirs)
