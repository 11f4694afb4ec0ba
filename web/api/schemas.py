"""Request and response schemas; field names are the contract in DESIGN.md.

Views pass request schemas as instances (`@blp.arguments(AnswerSubmitSchema())`): given a
class, webargs builds a new instance for every request.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import flask_smorest.error_handler
from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from shared.leaderboard.ranking import AROUND_ME, DEFAULT_LIMIT, MAX_LIMIT
from shared.models import AnswerState, AttemptOutcome, QuestionStatus, QuizStatus
from shared.quiz.quizzes import DEFAULT_POINTS, DEFAULT_TIME_LIMIT_S
from shared.quiz.scoring import ALLOWED_POINTS
from shared.quiz.task_status import TaskState

MAX_TIME_LIMIT_S = 600


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


# control characters (NUL among them, which PostgreSQL refuses in text) and lone
# surrogates (which no encoding stores) are never part of a title, a choice or a name
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})
_LINE_BREAKS = frozenset("\n\t")


def one_line(value: str) -> None:
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        raise ValidationError("Must not contain control characters.")


def lines(value: str) -> None:
    """Text that may span lines: newlines and tabs are allowed, other controls are not."""
    if any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in _LINE_BREAKS for ch in value
    ):
        raise ValidationError("Must not contain control characters other than newlines and tabs.")


VISIBLE_TEXT = "visible text: not only spaces, no control characters"

# The same rules as JSON Schema patterns, so the OpenAPI says what the validators above
# refuse and a client (or a generator such as schemathesis) can tell valid text from the
# document alone. tests/unit/web/test_text_patterns.py checks them against the validators.
# Category Cc; lone surrogates (Cs), which the validators refuse too, are left out: they
# are not UTF-8, and regex engines that work on UTF-8 (jsonschema-rs) refuse such a class.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_BREAKS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # the same but \t and \n
# what str.strip() strips (str.isspace()), control characters aside
_SPACES = r"\t\n \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# the end of the text, in ECMA and Python regexes alike (Python's `$` also matches before a
# final newline, so a Python-based generator would send "text\n" as valid)
_END = r"(?![\s\S])"


def _text_pattern(refused: str) -> str:
    """Only allowed characters, and one that is not a space at least."""
    return f"^[^{refused}]*[^{refused}{_SPACES}][^{refused}]*{_END}"


ONE_LINE_PATTERN = _text_pattern(_CONTROLS)
LINES_PATTERN = _text_pattern(_CONTROLS_BUT_BREAKS)


# flask-smorest's own error body: {code, status, message, errors?}
ErrorSchema = flask_smorest.error_handler.ErrorSchema


# --- creating a quiz -----------------------------------------------------------------


class JsonBoolean(fields.Boolean):
    """A boolean of a JSON body: true or false only, as its schema says (not 0, 1 or "yes";
    marshmallow's own takes those, and 0 == False in Python)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


class ChoiceCreateSchema(Schema):
    text = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), not_blank, one_line],
        metadata={"description": VISIBLE_TEXT, "pattern": ONE_LINE_PATTERN},
    )
    correct = JsonBoolean(required=True)


class QuestionCreateSchema(Schema):
    text = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=500), not_blank, lines],
        metadata={
            "description": "not only spaces; newlines and tabs, no other control characters",
            "pattern": LINES_PATTERN,
        },
    )
    time_limit_s = fields.Integer(
        strict=True,
        load_default=DEFAULT_TIME_LIMIT_S,
        validate=validate.Range(min=5, max=MAX_TIME_LIMIT_S),
        metadata={"description": "seconds players have to answer"},
    )
    points = fields.Integer(
        strict=True,
        load_default=DEFAULT_POINTS,
        validate=validate.OneOf(ALLOWED_POINTS),
        metadata={"description": "0 (no points), 1000 (standard) or 2000 (double points)"},
    )
    choices = fields.List(
        fields.Nested(ChoiceCreateSchema),
        required=True,
        validate=validate.Length(min=2, max=6),
        metadata={
            "description": "2 to 6 choices, at least one of them correct",
            # "not every choice is wrong": OpenAPI 3.0 has no `contains`
            "not": {"items": {"properties": {"correct": {"enum": [False]}}}},
        },
    )

    @validates_schema
    def one_correct_choice_at_least(self, data: dict[str, Any], **_: Any) -> None:
        if not any(choice["correct"] for choice in data.get("choices", [])):
            raise ValidationError("At least one choice must be correct.", "choices")


class QuizCreateSchema(Schema):
    title = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), not_blank, one_line],
        metadata={"description": VISIBLE_TEXT, "pattern": ONE_LINE_PATTERN},
    )
    questions = fields.List(
        fields.Nested(QuestionCreateSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    allow_late_join = JsonBoolean(
        load_default=True,
        metadata={"description": "players may join once the game has started (at 0 points)"},
    )
    streak_bonus = JsonBoolean(
        load_default=True,
        metadata={"description": "right answers in a row earn +100, +200, … up to +500"},
    )
    speed_weighting = JsonBoolean(
        load_default=True,
        metadata={
            "description": "points fall from full to half over the time limit; false: full "
            "points for any right answer in time"
        },
    )


# --- reading a quiz ------------------------------------------------------------------


class ChoiceSchema(Schema):
    choice_id = fields.Integer(attribute="id")
    text = fields.String()


class HostChoiceSchema(ChoiceSchema):
    correct = fields.Boolean(attribute="is_correct")


class QuestionSchema(Schema):
    question_id = fields.Integer(attribute="id")
    position = fields.Integer()
    text = fields.String()
    time_limit_s = fields.Integer()
    points = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in QuestionStatus]})
    opened_at = fields.AwareDateTime(allow_none=True)
    closes_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "answers received after this are refused"}
    )
    voided = fields.Function(
        lambda question: question.voided_at is not None,
        dump_only=True,
        metadata={
            "type": "boolean",
            "description": "the host voided it: it earns nothing and counts for no streak",
        },
    )
    choices = fields.List(fields.Nested(ChoiceSchema))


class HostQuestionSchema(QuestionSchema):
    choices = fields.List(fields.Nested(HostChoiceSchema))


class QuizSchema(Schema):
    quiz_id = fields.String(attribute="code", metadata={"description": "the join code"})
    title = fields.String()
    status = fields.String(
        metadata={
            "enum": [s.value for s in QuizStatus],
            "description": "lobby until the first question opens, running, then finished "
            "when the last question closes or the host finishes the quiz",
        }
    )
    questions = fields.List(fields.Nested(QuestionSchema))
    allow_late_join = fields.Boolean()
    scoring = fields.Function(
        lambda quiz: {
            "version": quiz.scoring_version,
            "streak_bonus": quiz.streak_bonus,
            "speed_weighting": quiz.speed_weighting,
        },
        dump_only=True,
        metadata={
            "type": "object",
            "description": "the scoring rules the quiz is played with: their version "
            "(today's rules are 1) and the host's options",
        },
    )
    server_time = fields.Function(
        lambda _quiz: datetime.now(UTC).isoformat(),
        dump_only=True,
        metadata={
            "type": "string",
            "format": "date-time",
            "description": "the server's clock when this was sent: count down to `closes_at` "
            "from it (time left = closes_at - server_time), not from the device's clock",
        },
    )


class HostQuizSchema(QuizSchema):
    questions = fields.List(fields.Nested(HostQuestionSchema))


# --- the attempt log ------------------------------------------------------------------


class AttemptsArgsSchema(Schema):
    participant_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    question_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "the `next_after` of the page before (0: the first page)"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class AttemptSchema(Schema):
    attempt_id = fields.Integer(attribute="id")
    participant_id = fields.Integer()
    question_id = fields.Integer(allow_none=True, metadata={"description": "as sent"})
    choice_id = fields.Integer(allow_none=True, metadata={"description": "as sent"})
    received_at = fields.AwareDateTime()
    outcome = fields.String(metadata={"enum": [o.value for o in AttemptOutcome]})
    request_id = fields.String(allow_none=True)
    answer_id = fields.Integer(allow_none=True, metadata={"description": "when accepted"})


class AttemptsPageSchema(Schema):
    attempts = fields.List(fields.Nested(AttemptSchema))
    next_after = fields.Integer(
        allow_none=True, metadata={"description": "pass as `after` for the next page; null: last"}
    )


# --- score corrections ---------------------------------------------------------------


class AnswerKeySchema(Schema):
    correct_choice_ids = fields.List(
        fields.Integer(strict=True),
        required=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "the question's right choices from now on (one or more)"},
    )


class TotalChangeSchema(Schema):
    participant_id = fields.Integer()
    before = fields.Integer()
    after = fields.Integer()


class CorrectionSchema(Schema):
    correction_id = fields.Integer(attribute="id")
    kind = fields.String(metadata={"enum": ["answer_key", "void"]})
    question_id = fields.Integer()
    epoch = fields.Integer(
        metadata={"description": "the quiz's score corrections so far, this one included"}
    )
    corrected_at = fields.AwareDateTime()
    details = fields.Dict(
        metadata={"description": "for a regrade: the correct choice ids before and after"}
    )
    totals = fields.List(
        fields.Nested(TotalChangeSchema),
        metadata={"description": "every total the correction changed"},
    )

    @pre_dump
    def _total_changes(self, correction: Any, **_: Any) -> dict[str, Any]:
        """The stored `{participant id: [before, after]}` as a list, by participant."""
        return {
            "id": correction.id,
            "kind": correction.kind,
            "question_id": correction.question_id,
            "epoch": correction.epoch,
            "corrected_at": correction.corrected_at,
            "details": correction.details,
            "totals": [
                {"participant_id": int(pid), "before": pair[0], "after": pair[1]}
                for pid, pair in sorted(correction.totals.items(), key=lambda kv: int(kv[0]))
            ],
        }


# --- statistics ------------------------------------------------------------------------


class ChoiceStatsSchema(Schema):
    choice_id = fields.Integer()
    text = fields.String()
    correct = fields.Boolean()
    count = fields.Integer(metadata={"description": "answers with this choice"})
    percent = fields.Float(metadata={"description": "share of the answers, 0-100"})


class ResponseTimesSchema(Schema):
    median = fields.Float(allow_none=True, metadata={"description": "ms from the open"})
    p90 = fields.Float(allow_none=True, metadata={"description": "ms from the open"})


class FastestCorrectSchema(Schema):
    participant_id = fields.Integer()
    display_name = fields.String()
    response_ms = fields.Integer(metadata={"description": "ms from the open to its receipt"})


class QuestionStatsSchema(Schema):
    question_id = fields.Integer()
    participants = fields.Integer(metadata={"description": "players in the quiz"})
    answered = fields.Integer(metadata={"description": "players who answered in time"})
    correct = fields.Integer(metadata={"description": "of them, how many chose right"})
    percent_correct = fields.Float(metadata={"description": "correct / answered, 0-100"})
    choices = fields.List(fields.Nested(ChoiceStatsSchema))
    response_ms = fields.Nested(
        ResponseTimesSchema,
        metadata={"description": "receipt time minus open time, over every answer"},
    )
    fastest_correct = fields.Nested(FastestCorrectSchema, allow_none=True)


class AnswerProgressSchema(Schema):
    question_id = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in QuestionStatus]})
    answered = fields.Integer(metadata={"description": "answers received so far"})
    participants = fields.Integer(metadata={"description": "players in the quiz"})
    closes_at = fields.AwareDateTime(allow_none=True)


# --- joining -------------------------------------------------------------------------


class JoinSchema(Schema):
    display_name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=40), not_blank, one_line],
        metadata={"description": VISIBLE_TEXT, "pattern": ONE_LINE_PATTERN},
    )


class RemovalArgsSchema(Schema):
    ban = fields.Boolean(
        load_default=False,
        metadata={"description": "also refuse this display name in the quiz from now on"},
    )
    erase = fields.Boolean(
        load_default=False,
        metadata={
            "description": "also erase the player's personal data: the name becomes a "
            "tombstone, their answers and events are deleted (a ban goes with the name)"
        },
    )


class ParticipantJoinedSchema(Schema):
    participant_id = fields.Integer(attribute="id")
    display_name = fields.String()
    token = fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})


class QuestionResultSchema(Schema):
    question_id = fields.Integer()
    position = fields.Integer()
    closed = fields.Boolean(metadata={"description": "the question has closed (reveal)"})
    answered = fields.Boolean()
    state = fields.String(
        allow_none=True,
        metadata={
            "enum": [s.value for s in AnswerState],
            "description": "the answer's state; null when there was none",
        },
    )
    choice_id = fields.Integer(allow_none=True)
    correct = fields.Boolean(
        allow_none=True,
        metadata={"description": "right and in time; null until scored, or with no answer"},
    )
    points = fields.Integer(
        allow_none=True, metadata={"description": "streak bonus included; null until scored"}
    )
    streak_bonus = fields.Integer(allow_none=True)
    streak = fields.Integer(
        metadata={"description": "right answers in a row, ending with this question"}
    )
    voided = fields.Boolean(metadata={"description": "the host voided the question"})


class MyResultsSchema(Schema):
    participant_id = fields.Integer()
    display_name = fields.String()
    score = fields.Integer(metadata={"description": "the player's total"})
    quiz_status = fields.String(metadata={"enum": [s.value for s in QuizStatus]})
    results = fields.List(
        fields.Nested(QuestionResultSchema),
        metadata={
            "description": "each question that opened, in the order they opened, that the "
            "player answered or that has closed (a missed one counts as not answered)"
        },
    )


# --- answering -----------------------------------------------------------------------


class AnswerSubmitSchema(Schema):
    question_id = fields.Integer(required=True, strict=True)
    choice_id = fields.Integer(required=True, strict=True)


class TaskAcceptedSchema(Schema):
    task_id = fields.String()
    status_url = fields.String()


class TaskResultSchema(Schema):
    answer_id = fields.Integer()
    question_id = fields.Integer()
    correct = fields.Boolean()
    points = fields.Integer()
    total_score = fields.Integer(metadata={"description": "the participant's total after it"})


class TaskErrorSchema(Schema):
    code = fields.String()
    message = fields.String()


class TaskStatusSchema(Schema):
    task_id = fields.String()
    state = fields.String(metadata={"enum": [s.value for s in TaskState]})
    result = fields.Nested(TaskResultSchema)
    error = fields.Nested(TaskErrorSchema)


# --- leaderboard ---------------------------------------------------------------------


class LeaderboardQueryArgsSchema(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"entries from the top (default {DEFAULT_LIMIT})"},
    )
    participant_id = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "also answer with this participant's row and neighbours"},
    )


class LeaderboardReadArgsSchema(LeaderboardQueryArgsSchema):
    after_question = fields.Integer(
        validate=validate.Range(min=1, max=10_000),
        metadata={
            "description": "the board as it stood once this many questions had closed (in "
            "the order they closed), from PostgreSQL, with each row's rank movement and "
            "right answers; 409 until then"
        },
    )


class StreamHeadersSchema(Schema):
    last_event_id = fields.String(
        data_key="Last-Event-ID",
        metadata={
            "description": "sent by browsers when they reconnect: the `id` of the last event "
            "they got (the board's `version`). When the board has not changed since, the "
            "stream skips the snapshot; otherwise it starts with a fresh one."
        },
    )


class StreamEventSchema(Schema):
    """One event of a leaderboard stream: before 3.2, OpenAPI describes an event stream by
    the schema of each of its events (fields as the EventSource API reads them)."""

    event = fields.String(required=True, metadata={"enum": ["leaderboard", "quiz"]})
    id = fields.String(metadata={"description": "the board's `version` (leaderboard events)"})
    data = fields.String(
        required=True,
        metadata={
            "description": "one line of JSON: the board as GET …/leaderboard answers it "
            "(`leaderboard`), or the quiz as GET /quizzes/{quiz_id} does (`quiz`)"
        },
    )


class LeaderboardEntrySchema(Schema):
    rank = fields.Integer(metadata={"description": "equal scores share a rank: 1, 2, 2, 4"})
    participant_id = fields.Integer()
    display_name = fields.String()
    score = fields.Integer()


class LeaderboardSchema(Schema):
    quiz_id = fields.String(metadata={"description": "the join code"})
    total_participants = fields.Integer()
    entries = fields.List(fields.Nested(LeaderboardEntrySchema))
    me = fields.Nested(
        LeaderboardEntrySchema,
        metadata={"description": "the row of `participant_id`, when it was given"},
    )
    around_me = fields.List(
        fields.Nested(LeaderboardEntrySchema),
        metadata={
            "description": f"with `participant_id`: its row and up to {AROUND_ME} neighbours "
            "on each side"
        },
    )
    version = fields.Integer(
        metadata={"description": "grows with every change of the board (the stream's event id)"}
    )


class StandingEntrySchema(LeaderboardEntrySchema):
    correct_answers = fields.Integer(
        metadata={"description": "with `after_question`: right answers in time so far"}
    )
    previous_rank = fields.Integer(
        allow_none=True,
        metadata={
            "description": "with `after_question`: the rank after the question before (null "
            "after the first, or for a player who joined since)"
        },
    )
    movement = fields.Integer(
        allow_none=True,
        metadata={
            "description": "with `after_question`: places moved up (positive) or down "
            "(negative) since the question before"
        },
    )


class LeaderboardReadSchema(LeaderboardSchema):
    """GET …/leaderboard: the live board, or with `after_question` the board after it."""

    after_question = fields.Integer(
        metadata={"description": "with `after_question`: the questions closed by then"}
    )
    question_id = fields.Integer(
        metadata={"description": "with `after_question`: the last question they counted"}
    )
    entries = fields.List(
        fields.Nested(StandingEntrySchema),
        metadata={"description": "with `after_question`, each with its movement and right answers"},
    )
    me = fields.Nested(
        StandingEntrySchema,
        metadata={"description": "the row of `participant_id`, when it was given"},
    )
