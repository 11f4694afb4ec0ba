"""The attempt log, read back: every submission with a valid token, accepted or not.

Rows are written with the answers (shared/quiz/submissions.py, web/intake.py) and never
updated; only erasure and retention delete them. Pages are keyed by id, so reading a
long log costs the same on its last page as on its first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Attempt
from shared.quiz.quizzes import get_quiz

MAX_PAGE = 500


def attempts_page(
    session: Session,
    quiz_code: str,
    *,
    participant_id: int | None = None,
    question_id: int | None = None,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """Up to `limit` attempts with an id above `after`, oldest first, and the `after` of
    the next page (None on the last)."""
    quiz = get_quiz(session, quiz_code)
    query = select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.id > after)
    if participant_id is not None:
        query = query.where(Attempt.participant_id == participant_id)
    if question_id is not None:
        query = query.where(Attempt.question_id == question_id)
    rows = list(session.scalars(query.order_by(Attempt.id).limit(min(limit, MAX_PAGE) + 1)))
    page = rows[:limit]
    return {"attempts": page, "next_after": page[-1].id if len(rows) > limit else None}
