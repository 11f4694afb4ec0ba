"""Accepting a submission: recorded once, by one INSERT that is also the answer-once and
idempotency check, with its attempt; a submission that lost to a stored answer is told
apart (replay, key reused, second answer) from what is stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, text

from shared.errors import Conflict, Forbidden, IdempotencyKeyReused
from shared.models import Answer, Participant, table_of
from shared.quiz.question_types import Response
from shared.quiz.task_status import REJECT_MESSAGES, REMOVED_PLAYER

answer_table = table_of(Answer)
participant_table = table_of(Participant)


@dataclass(frozen=True)
class Submission:
    participant_id: int
    question_id: int
    # one of the three, as the question's type wants (shared/quiz/question_types.py)
    choice_id: int | None = None
    # None: the client sent no Idempotency-Key
    idempotency_key: str | None = None
    choice_ids: tuple[int, ...] | None = None
    text: str | None = None

    @property
    def response(self) -> Response:
        return Response(self.choice_id, self.choice_ids, self.text)

    @property
    def effective_key(self) -> str:
        """Without a key the question is the key, so a plain retry is a safe replay."""
        return self.idempotency_key or question_key(self.question_id)

    @property
    def fingerprint(self) -> str:
        """The body's digest: a replay has the same. A single choice's is what it was
        before question types, so answers stored then still replay."""
        body: dict[str, Any] = {"question_id": self.question_id}
        if self.choice_ids is not None:
            body["choice_ids"] = list(self.choice_ids)
        elif self.text is not None:
            body["text"] = self.text
        else:
            body["choice_id"] = self.choice_id
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()

    @property
    def choice_list(self) -> str | None:
        """`choice_ids` as a PostgreSQL array literal: unnest takes no ragged arrays."""
        if self.choice_ids is None:
            return None
        return "{" + ",".join(str(c) for c in self.choice_ids) + "}"


def question_key(question_id: int) -> str:
    """The idempotency key of an answer sent without one."""
    return f"question:{question_id}"


KEY_REUSED_MESSAGE = "this Idempotency-Key was already used with a different body"


@dataclass(frozen=True)
class Acceptance:
    answer_id: int
    task_id: str
    replayed: bool


@dataclass(frozen=True)
class StoredAnswer:
    """The parts of a stored answer that decide how a conflicting submission is answered."""

    answer_id: int
    question_id: int
    task_id: str
    idempotency_key: str | None
    fingerprint: str
    received_at: datetime


# The accepted answers and their attempts, and the attempts refused meanwhile, in one
# statement: the attempt log costs the submit path no round trip of its own.
_ACCEPT = text(
    """
    WITH given AS (
        SELECT * FROM unnest(
            CAST(:participant_ids AS bigint[]), CAST(:question_ids AS bigint[]),
            CAST(:choice_ids AS bigint[]), CAST(:choice_lists AS text[]),
            CAST(:texts AS text[]), CAST(:task_ids AS uuid[]),
            CAST(:idempotency_keys AS text[]), CAST(:fingerprints AS text[]),
            CAST(:received_ats AS timestamptz[]), CAST(:quiz_pks AS bigint[]),
            CAST(:request_ids AS text[])
        ) WITH ORDINALITY AS a (participant_id, question_id, choice_id, choice_list,
                                answer_text, task_id, idempotency_key, fingerprint,
                                received_at, quiz_pk, request_id, n)
    ),
    inserted AS (
        INSERT INTO answers (participant_id, question_id, choice_id, choice_ids, answer_text,
                             state, task_id, idempotency_key, fingerprint, received_at,
                             enqueued_at)
        SELECT a.participant_id, a.question_id, a.choice_id, CAST(a.choice_list AS bigint[]),
               a.answer_text, 'accepted', a.task_id,
               a.idempotency_key, a.fingerprint, a.received_at, a.received_at
        FROM given a
        -- only a player of the quiz the token names, who exists and was not removed by
        -- the host: anything else is left out
        JOIN participants p
          ON p.id = a.participant_id AND p.quiz_id = a.quiz_pk AND p.removed_at IS NULL
        ORDER BY a.n
        ON CONFLICT DO NOTHING
        RETURNING id, task_id
    ),
    accepted AS (
        INSERT INTO attempts (quiz_id, participant_id, question_id, choice_id, received_at,
                              outcome, request_id, answer_id)
        SELECT a.quiz_pk, a.participant_id, a.question_id, a.choice_id, a.received_at,
               'accepted', a.request_id, i.id
        FROM inserted i JOIN given a ON a.task_id = i.task_id
    ),
    refused AS (
        INSERT INTO attempts (quiz_id, participant_id, question_id, choice_id, received_at,
                              outcome, request_id)
        SELECT q.id, r.participant_id, r.question_id, r.choice_id, r.received_at,
               r.outcome, r.request_id
        FROM unnest(
            CAST(:r_quiz_codes AS text[]), CAST(:r_participant_ids AS bigint[]),
            CAST(:r_question_ids AS bigint[]), CAST(:r_choice_ids AS bigint[]),
            CAST(:r_received_ats AS timestamptz[]), CAST(:r_outcomes AS text[]),
            CAST(:r_request_ids AS text[])
        ) AS r (quiz_code, participant_id, question_id, choice_id, received_at, outcome,
                request_id)
        -- a token's quiz or participant deleted since it was issued: nothing to log
        JOIN quizzes q ON q.code = r.quiz_code
        JOIN participants p ON p.id = r.participant_id AND p.quiz_id = q.id
    )
    SELECT id, task_id FROM inserted
    """
)


@dataclass(frozen=True)
class Received:
    """A submission as the API received it, with the task id it will get if accepted."""

    submission: Submission
    task_id: str
    received_at: datetime
    # the quiz the participant's token names
    quiz_pk: int
    request_id: str | None = None


@dataclass(frozen=True)
class RefusedAttempt:
    """A submission with a valid token that was not accepted (nor replayed as one), for
    the attempt log. Question and choice as sent, when the body had them."""

    quiz_code: str
    participant_id: int
    question_id: int | None
    choice_id: int | None
    received_at: datetime
    outcome: str
    request_id: str | None = None


# a bigint column takes no larger id; a body's bigger number is logged as none
_BIGINT_MAX = 2**63 - 1


def _bigint(value: int | None) -> int | None:
    return value if value is not None and -_BIGINT_MAX <= value <= _BIGINT_MAX else None


def insert_answers(
    conn: Connection, received: Sequence[Received], refused: Sequence[RefusedAttempt] = ()
) -> dict[str, int]:
    """Record submissions as accepted in one INSERT, and every attempt of them and of
    `refused` in the same statement; the answer ids of those it inserted, by task id.
    Those it left out lost to an answer already stored (or to an earlier one of
    `received`), or name a participant who does not play that quiz: `resolve_stored`
    says which.

    The INSERT is the authoritative answer-once and idempotency check: concurrent
    duplicates all hit the same unique constraints and exactly one of them inserts. It
    is one statement, so `conn` may be in autocommit mode (one round trip, no BEGIN or
    COMMIT); otherwise this commits.
    """
    if not received and not refused:
        return {}
    rows = conn.execute(
        _ACCEPT,
        {
            "participant_ids": [r.submission.participant_id for r in received],
            "question_ids": [r.submission.question_id for r in received],
            "choice_ids": [r.submission.choice_id for r in received],
            "choice_lists": [r.submission.choice_list for r in received],
            "texts": [r.submission.text for r in received],
            "task_ids": [r.task_id for r in received],
            "idempotency_keys": [r.submission.effective_key for r in received],
            "fingerprints": [r.submission.fingerprint for r in received],
            "received_ats": [r.received_at for r in received],
            "quiz_pks": [r.quiz_pk for r in received],
            "request_ids": [r.request_id for r in received],
            "r_quiz_codes": [a.quiz_code for a in refused],
            "r_participant_ids": [a.participant_id for a in refused],
            "r_question_ids": [_bigint(a.question_id) for a in refused],
            "r_choice_ids": [_bigint(a.choice_id) for a in refused],
            "r_received_ats": [a.received_at for a in refused],
            "r_outcomes": [a.outcome for a in refused],
            "r_request_ids": [a.request_id for a in refused],
        },
    ).all()
    conn.commit()
    return {str(row.task_id): row.id for row in rows}


def resolve_stored(
    conn: Connection, submission: Submission, received_at: datetime, idempotency_ttl_s: int
) -> Acceptance:
    """What a submission the INSERT left out is, by the answers stored before it: a replay
    (the first one's task id), a key reused with another body, or a second answer."""
    removed_at = conn.execute(
        select(participant_table.c.removed_at).where(
            participant_table.c.id == submission.participant_id
        )
    ).scalar()
    if removed_at is not None:
        conn.rollback()
        raise Forbidden(REJECT_MESSAGES[REMOVED_PLAYER])
    rows = conn.execute(
        select(
            answer_table.c.id,
            answer_table.c.question_id,
            answer_table.c.task_id,
            answer_table.c.idempotency_key,
            answer_table.c.fingerprint,
            answer_table.c.received_at,
        ).where(
            answer_table.c.participant_id == submission.participant_id,
            or_(
                answer_table.c.question_id == submission.question_id,
                answer_table.c.idempotency_key == submission.effective_key,
            ),
        )
    ).all()
    conn.rollback()
    if not rows:
        # nothing of this participant to conflict with: the INSERT left it out because
        # the participant does not play the token's quiz (or does not exist)
        raise Forbidden("this token's participant does not play this quiz")
    stored = [
        StoredAnswer(
            answer_id=r.id,
            question_id=r.question_id,
            task_id=str(r.task_id),
            idempotency_key=r.idempotency_key,
            fingerprint=r.fingerprint,
            received_at=r.received_at,
        )
        for r in rows
    ]
    return resolve_conflict(submission, stored, received_at, idempotency_ttl_s)


def resolve_conflict(
    submission: Submission,
    stored: Sequence[StoredAnswer],
    now: datetime,
    idempotency_ttl_s: int,
) -> Acceptance:
    """Decide what a submission that lost the INSERT is: a replay, a key reuse or a conflict."""
    key_cutoff = now - timedelta(seconds=idempotency_ttl_s)
    for answer in stored:
        if answer.idempotency_key != submission.effective_key or answer.received_at < key_cutoff:
            continue
        if answer.fingerprint == submission.fingerprint:
            return Acceptance(answer_id=answer.answer_id, task_id=answer.task_id, replayed=True)
        if submission.idempotency_key is not None:
            raise IdempotencyKeyReused(
                KEY_REUSED_MESSAGE,
                {"idempotency_key": ["used before with another question or answer"]},
            )
    # the same choice for the same question, sent once with a key and once without, is
    # the same answer: a client retrying after a 503 (its commit may have happened) gets
    # the first 202 whether or not it added or dropped the header
    keyless = question_key(submission.question_id)
    for answer in stored:
        if (
            answer.question_id == submission.question_id
            and answer.fingerprint == submission.fingerprint
            and keyless in (answer.idempotency_key, submission.effective_key)
        ):
            return Acceptance(answer_id=answer.answer_id, task_id=answer.task_id, replayed=True)
    raise Conflict(f"question {submission.question_id} has already been answered")
