"""Per-question statistics from choices and answers: counts, shares, times, fastest."""

import pytest

from shared.quiz.stats import AnswerFacts, ChoiceFacts, summarize

pytestmark = pytest.mark.unit

CHOICES = [
    ChoiceFacts(1, "went", True),
    ChoiceFacts(2, "goed", False),
    ChoiceFacts(3, "gone", False),
]


def answer(pid: int, choice: int, ms: int) -> AnswerFacts:
    return AnswerFacts(pid, f"P{pid}", choice, ms)


def test_counts_shares_times_and_the_fastest_right_answer():
    answers = [answer(1, 1, 4000), answer(2, 2, 1000), answer(3, 1, 2500), answer(4, 1, 2500)]
    stats = summarize(7, participants=5, choices=CHOICES, answers=answers)
    assert (stats["participants"], stats["answered"], stats["correct"]) == (5, 4, 3)
    assert stats["percent_correct"] == 75.0
    assert [(c["choice_id"], c["count"], c["percent"]) for c in stats["choices"]] == [
        (1, 3, 75.0),
        (2, 1, 25.0),
        (3, 0, 0.0),
    ]
    assert stats["response_ms"]["median"] == 2500
    # inclusive quantiles of 1000, 2500, 2500, 4000: 90 % of the way is 3550
    assert stats["response_ms"]["p90"] == pytest.approx(3550)
    # the fastest wrong answer does not count; equal times go to the lower id
    assert stats["fastest_correct"] == {
        "participant_id": 3,
        "display_name": "P3",
        "response_ms": 2500,
    }


def test_a_question_nobody_answered_has_no_times_and_no_fastest():
    stats = summarize(7, participants=3, choices=CHOICES, answers=[])
    assert (stats["answered"], stats["percent_correct"]) == (0, 0.0)
    assert stats["response_ms"] == {"median": None, "p90": None}
    assert stats["fastest_correct"] is None


def test_one_answer_is_its_own_median_and_p90():
    stats = summarize(7, participants=1, choices=CHOICES, answers=[answer(1, 2, 1234)])
    assert stats["response_ms"] == {"median": 1234, "p90": 1234.0}
    assert stats["fastest_correct"] is None
