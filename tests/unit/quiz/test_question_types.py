"""Each question type's rules: what an answer must carry, how it is judged and scored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.quiz.question_types import (
    QuestionType,
    Response,
    ResponseMismatch,
    TextRules,
    Verdict,
    answer_key,
    check_response,
    judge,
    match_text,
    normalise,
    shown_order,
)
from shared.quiz.scoring import QuestionWindow, compute_score, counts_for_streaks

pytestmark = pytest.mark.unit

OPENED = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
WINDOW = QuestionWindow(1000, 30, OPENED)


def at(seconds: float) -> datetime:
    return OPENED + timedelta(seconds=seconds)


# a, b, c right; d, e wrong
MULTI = answer_key("multi", [(1, True), (2, True), (3, True), (4, False), (5, False)])
PARTIAL = answer_key(
    "multi", [(1, True), (2, True), (3, True), (4, False), (5, False)], partial=True
)
ORDER = answer_key("order", [(11, False), (12, False), (13, False), (14, False)])
POLL = answer_key("poll", [(21, False), (22, False)])
TRUE_FALSE = answer_key("true_false", [(31, True), (32, False)])


def typed(*accepted: str, **rules) -> object:
    return answer_key("type_answer", [], accepted_answers=accepted, **rules)


# --- what an answer must carry ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "response", "field"),
    [
        ("single", Response(choice_ids=(1,)), "choice_id"),
        ("true_false", Response(text="true"), "choice_id"),
        ("multi", Response(choice_id=1), "choice_ids"),
        ("order", Response(text="a b c"), "choice_ids"),
        ("type_answer", Response(choice_id=1), "text"),
        ("poll", Response(), "choice_id"),
        ("single", Response(choice_id=1, text="x"), "choice_id"),
    ],
)
def test_an_answer_of_the_wrong_shape_names_the_field_its_type_wants(kind, response, field):
    with pytest.raises(ResponseMismatch) as refused:
        check_response(QuestionType(kind), {1, 2, 3}, response)
    assert refused.value.field == field
    assert kind in refused.value.message


@pytest.mark.parametrize(
    ("kind", "choice_ids", "why"),
    [
        ("multi", (1, 1), "more than once"),
        ("multi", (1, 9), "not choices"),
        ("multi", (), "at least"),
        ("order", (1, 2), "every choice"),
        ("order", (3, 2, 2), "more than once"),
    ],
)
def test_choices_twice_foreign_or_missing_are_refused(kind, choice_ids, why):
    with pytest.raises(ResponseMismatch, match=why):
        check_response(QuestionType(kind), {1, 2, 3}, Response(choice_ids=choice_ids))


def test_answers_that_fit_pass():
    check_response(QuestionType.MULTI, {1, 2, 3}, Response(choice_ids=(3, 1)))
    check_response(QuestionType.ORDER, {1, 2, 3}, Response(choice_ids=(3, 1, 2)))
    check_response(QuestionType.TYPE_ANSWER, set(), Response(text="went"))
    check_response(QuestionType.POLL, {1, 2}, Response(choice_id=2))


# --- judging ---------------------------------------------------------------------------


def test_true_false_is_judged_like_single_choice():
    assert judge(TRUE_FALSE, Response(choice_id=31)) == Verdict(True, 1.0)
    assert judge(TRUE_FALSE, Response(choice_id=32)) == Verdict(False, 0.0)


def test_multi_is_all_or_nothing_by_default():
    assert judge(MULTI, Response(choice_ids=(3, 1, 2))).correct is True
    assert judge(MULTI, Response(choice_ids=(1, 2))) == Verdict(False, 0.0)
    assert judge(MULTI, Response(choice_ids=(1, 2, 3, 4))) == Verdict(False, 0.0)


@pytest.mark.parametrize(
    ("picked", "credit"),
    [
        ((1, 2, 3), 1.0),
        ((1, 2), 2 / 3),  # two of three right, none wrong
        ((1, 2, 4), 1 / 3),  # two right, one wrong
        ((1, 4, 5), 0.0),  # one right, two wrong: never below 0
        ((4,), 0.0),
    ],
)
def test_partial_multi_earns_right_picks_minus_wrong_picks(picked, credit):
    assert judge(PARTIAL, Response(choice_ids=picked)).credit == pytest.approx(credit)


def test_order_is_right_only_in_the_whole_right_order():
    assert judge(ORDER, Response(choice_ids=(11, 12, 13, 14))).correct is True
    assert judge(ORDER, Response(choice_ids=(11, 12, 14, 13))).correct is False


def test_a_poll_has_no_right_answer():
    assert judge(POLL, Response(choice_id=21)) == Verdict(None, 0.0)


@pytest.mark.parametrize(
    ("typed_text", "rules", "matched"),
    [
        ("went", {}, "went"),
        ("  WENT ", {}, "went"),
        ("Ｗｅｎｔ", {}, "went"),  # full-width letters: NFKC
        ("went.", {}, None),
        ("went.", {"ignore_trailing_period": True}, "went"),
        ("wnet", {}, None),
        ("wnet", {"max_typos": 2}, "went"),  # a swap is two edits
        ("wen", {"max_typos": 1}, "went"),
        ("gone", {"max_typos": 1}, None),
    ],
)
def test_typed_answers_match_after_normalising_and_within_the_typos_allowed(
    typed_text, rules, matched
):
    key = typed("went", "had gone", **rules)
    verdict = judge(key, Response(text=typed_text))
    assert verdict.matched_answer == matched
    assert verdict.correct is (matched is not None)


def test_runs_of_spaces_and_accents_as_the_question_says():
    assert judge(typed("had gone"), Response(text="had   gone")).matched_answer == "had gone"
    assert judge(typed("café"), Response(text="cafe")).correct is False
    assert judge(typed("café", ignore_accents=True), Response(text="CAFE")).correct is True


def test_the_closest_accepted_answer_is_the_one_matched():
    rules = TextRules(("bought", "brought"), max_typos=2)
    assert match_text(rules, "brougt") == "brought"
    assert match_text(rules, "bougt") == "bought"


def test_blank_text_matches_nothing_and_the_options_never_empty_a_text():
    assert match_text(TextRules(("went",), max_typos=2), "   ") is None
    assert normalise(" . ", ignore_trailing_period=True) == "."
    assert normalise("word . .", ignore_trailing_period=True) == "word"
    assert normalise("\u0301", ignore_accents=True) == "\u0301"
    # a spacing accent: NFKC makes it a space and a combining one
    assert normalise("\u00af", ignore_accents=True) == "\u0304"
    assert match_text(TextRules(("\u00af",), 0, True), "\u00af") == "\u00af"


@given(st.text(max_size=40), st.booleans(), st.booleans())
def test_normalising_twice_is_normalising_once(text, accents, period):
    once = normalise(text, accents, period)
    assert normalise(once, accents, period) == once


@given(
    st.text(min_size=1, max_size=40),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
)
def test_an_accepted_answer_always_matches_itself(accepted, typos, accents, period):
    rules = TextRules((accepted,), typos, accents, period)
    if not accepted.strip():
        return  # the create schema refuses a blank answer
    assert match_text(rules, accepted) == accepted


# --- scoring each type -----------------------------------------------------------------


def test_a_partly_right_answer_earns_its_share_of_the_time_points_and_ends_the_streak():
    verdict = judge(PARTIAL, Response(choice_ids=(1, 2)))
    score = compute_score(WINDOW, verdict, at(15), [True, True])
    # 750 time points at half time, two thirds of them
    assert (score.correct, score.base_points, score.streak, score.streak_bonus) == (
        False,
        500,
        0,
        0,
    )


def test_a_fully_right_multi_answer_extends_the_streak():
    score = compute_score(WINDOW, judge(MULTI, Response(choice_ids=(1, 2, 3))), at(0.2), [True])
    assert (score.points, score.streak) == (1100, 2)


def test_a_poll_earns_nothing_and_leaves_the_streak_as_it_was():
    score = compute_score(WINDOW, judge(POLL, Response(choice_id=21)), at(1), [True, True])
    assert (score.correct, score.points, score.streak) == (None, 0, 2)
    assert not counts_for_streaks("poll", voided=False)
    assert counts_for_streaks("type_answer", voided=False)
    assert not counts_for_streaks("single", voided=True)


def test_a_typed_answer_scores_like_a_right_choice():
    verdict = judge(typed("went"), Response(text="Went"))
    assert compute_score(WINDOW, verdict, at(2), []).points == 967


# --- showing an order question ---------------------------------------------------------


@given(st.integers(1, 10**9), st.integers(3, 6))
def test_items_are_shown_shuffled_the_same_way_and_never_in_the_right_order(question_id, n):
    right = list(range(100, 100 + n))
    shown = shown_order(question_id, right)
    assert sorted(shown) == right
    assert shown != right
    assert shown_order(question_id, right) == shown


def test_alike_items_of_an_order_may_swap_places():
    key = answer_key("order", [(1, False), (2, False), (3, False)], choice_texts=["a", "a", "b"])
    assert judge(key, Response(choice_ids=(2, 1, 3))).correct is True
    assert judge(key, Response(choice_ids=(3, 1, 2))).correct is False
