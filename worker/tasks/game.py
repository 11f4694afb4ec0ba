"""The game's clock: questions whose timer ran out are closed without the host."""

from __future__ import annotations

import logging

from celery import shared_task

from shared import task_names
from shared.quiz import quizzes
from worker.base import QuizTask, utcnow

log = logging.getLogger(__name__)


@shared_task(bind=True, base=QuizTask, name=task_names.CLOSE_TIMED_OUT_QUESTIONS)
def close_timed_out_questions(self: QuizTask) -> int:
    """Beat runs this every QUIZ_QUESTION_TIMER_INTERVAL_S: each closing is published on
    the quiz's live stream, so the board and the players see time's up."""
    resources = self.resources
    with resources.session_factory() as session:
        closed = quizzes.close_timed_out(session, resources.redis, utcnow())
    if closed:
        log.info("close_timed_out_questions.closed", extra={"quizzes": closed})
    return len(closed)
