"""The quiz state cached in Redis survives its JSON round trip and answers 'is it open'."""

from datetime import UTC, datetime, timedelta

from shared.quiz.state import QuestionState, QuizState

OPENED = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_state_round_trips_through_json():
    state = QuizState(
        quiz_pk=4,
        code="ABC234",
        questions={
            1: QuestionState(
                1, "open", frozenset({10, 11}), OPENED, OPENED + timedelta(seconds=20)
            ),
            2: QuestionState(2, "pending", frozenset({12, 13})),
        },
    )
    assert QuizState.from_json(state.to_json()) == state


def test_a_question_is_open_until_its_timer_runs_out():
    question = QuestionState(1, "open", frozenset({10}), OPENED, OPENED + timedelta(seconds=20))
    assert question.is_open_at(OPENED + timedelta(seconds=20))
    assert not question.is_open_at(OPENED + timedelta(seconds=20.001))


def test_pending_and_closed_questions_are_not_open():
    closes = OPENED + timedelta(seconds=20)
    assert not QuestionState(1, "pending", frozenset()).is_open_at(OPENED)
    assert not QuestionState(1, "closed", frozenset(), OPENED, closes).is_open_at(OPENED)


def test_the_version_grows_with_every_transition():
    def state(*statuses: str) -> QuizState:
        return QuizState(
            quiz_pk=1,
            code="ABC234",
            questions={n: QuestionState(n, s, frozenset()) for n, s in enumerate(statuses)},
        )

    game = [
        ("pending", "pending"),
        ("open", "pending"),
        ("closed", "pending"),
        ("closed", "open"),
        ("closed", "closed"),
    ]
    versions = [state(*statuses).version for statuses in game]
    assert versions == sorted(set(versions))
    assert QuizState.from_json(state("open", "pending").to_json()).version == 1
