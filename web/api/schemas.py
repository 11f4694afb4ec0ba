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
from shared.quiz.question_types import (
    MAX_TEXT_LENGTH,
    MAX_TYPOS,
    QuestionType,
    Shape,
    shown_order,
)
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


class ChoiceTextCreateSchema(Schema):
    """A choice of a poll, or an item to put in order: no `correct` flag."""

    text = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), not_blank, one_line],
        metadata={"description": VISIBLE_TEXT, "pattern": ONE_LINE_PATTERN},
    )


class ChoiceCreateSchema(ChoiceTextCreateSchema):
    correct = JsonBoolean(required=True)


class QuestionCreateBaseSchema(Schema):
    """What every question has, whatever its type."""

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


def _type_field(question_type: QuestionType, *, default: bool = False) -> fields.String:
    """The `type` of one kind of question: the discriminator of QuestionCreate."""
    if default:
        return fields.String(
            load_default=question_type.value,
            validate=validate.OneOf([question_type.value]),
            metadata={"description": f"`{question_type.value}` (the default)"},
        )
    return fields.String(required=True, validate=validate.OneOf([question_type.value]))


def _choices_field(minimum: int, description: str, item: type[Schema]) -> fields.List:
    return fields.List(
        fields.Nested(item),
        required=True,
        validate=validate.Length(min=minimum, max=6),
        metadata={"description": description},
    )


class SingleQuestionCreateSchema(QuestionCreateBaseSchema):
    """One choice: a player picks one; any choice flagged correct is right."""

    type = _type_field(QuestionType.SINGLE, default=True)
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


class TrueFalseQuestionCreateSchema(QuestionCreateBaseSchema):
    """A statement, true or false: two fixed choices, `True` and `False`."""

    type = _type_field(QuestionType.TRUE_FALSE)
    correct = JsonBoolean(required=True, metadata={"description": "whether the statement is true"})


class MultiQuestionCreateSchema(SingleQuestionCreateSchema):
    """Pick all that apply: right only when the picks are exactly the correct choices,
    or with `partial`, a share of the points."""

    type = _type_field(QuestionType.MULTI)
    # not `partial`: that name is marshmallow's own option of a schema
    partial_credit = JsonBoolean(
        data_key="partial",
        load_default=False,
        metadata={
            "description": "points in proportion to right picks minus wrong picks (never "
            "below 0) instead of all or nothing"
        },
    )


class OrderQuestionCreateSchema(QuestionCreateBaseSchema):
    """Put the items in order: right only when the whole order is."""

    type = _type_field(QuestionType.ORDER)
    choices = _choices_field(
        3,
        "3 to 6 items in the right order (players see them shuffled); items alike may swap places",
        ChoiceTextCreateSchema,
    )


class PollQuestionCreateSchema(QuestionCreateBaseSchema):
    """A poll: choices without a right one, 0 points, no effect on streaks."""

    type = _type_field(QuestionType.POLL)
    points = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.OneOf([0]),
        metadata={"description": "0: a poll earns nothing"},
    )
    choices = _choices_field(2, "2 to 6 choices, none of them correct", ChoiceTextCreateSchema)


class TypeAnswerQuestionCreateSchema(QuestionCreateBaseSchema):
    """Type the answer: right when the text matches one of the accepted answers."""

    type = _type_field(QuestionType.TYPE_ANSWER)
    accepted_answers = fields.List(
        fields.String(
            validate=[validate.Length(min=1, max=MAX_TEXT_LENGTH), not_blank, one_line],
            metadata={"pattern": ONE_LINE_PATTERN},
        ),
        required=True,
        validate=validate.Length(min=1, max=10),
        metadata={
            "description": "1 to 10 answers taken as right, never shown to players before the "
            "question closes. Compared after Unicode NFKC, case folding and trimming and "
            "joining spaces"
        },
    )
    max_typos = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_TYPOS),
        metadata={"description": "also take answers this many edits (Levenshtein) from one"},
    )
    ignore_accents = JsonBoolean(
        load_default=False, metadata={"description": "`café` matches `cafe`"}
    )
    ignore_trailing_period = JsonBoolean(
        load_default=False, metadata={"description": "`went.` matches `went`"}
    )


TYPE_NAMES = frozenset(t.value for t in QuestionType)
QUESTION_CREATE_SCHEMAS: dict[QuestionType, type[QuestionCreateBaseSchema]] = {
    QuestionType.SINGLE: SingleQuestionCreateSchema,
    QuestionType.TRUE_FALSE: TrueFalseQuestionCreateSchema,
    QuestionType.MULTI: MultiQuestionCreateSchema,
    QuestionType.TYPE_ANSWER: TypeAnswerQuestionCreateSchema,
    QuestionType.ORDER: OrderQuestionCreateSchema,
    QuestionType.POLL: PollQuestionCreateSchema,
}


def component_name(schema: type[Schema]) -> str:
    """A schema's name in the OpenAPI components, as flask-smorest names them."""
    return schema.__name__.removesuffix("Schema")


class QuestionCreateField(fields.Field):
    """A question of any type, loaded by its type's schema: OpenAPI's `oneOf`, with `type`
    as the discriminator (web/api/openapi.py adds it)."""

    default_error_messages = {"invalid": "Not a question object."}

    def __init__(self, **kwargs: Any) -> None:
        refs = [
            {"$ref": f"#/components/schemas/{component_name(schema)}"}
            for schema in QUESTION_CREATE_SCHEMAS.values()
        ]
        super().__init__(metadata={"oneOf": refs}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        kind = value.get("type", QuestionType.SINGLE.value)
        if not isinstance(kind, str) or kind not in TYPE_NAMES:
            raise ValidationError(
                {"type": [f"Must be one of: {', '.join(t.value for t in QuestionType)}."]}
            )
        return QUESTION_CREATE_SCHEMAS[QuestionType(kind)]().load(value)


class QuizCreateSchema(Schema):
    title = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), not_blank, one_line],
        metadata={"description": VISIBLE_TEXT, "pattern": ONE_LINE_PATTERN},
    )
    questions = fields.List(
        QuestionCreateField(), required=True, validate=validate.Length(min=1, max=100)
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


class ShownChoices(fields.List):
    """A question's choices as players see them: an `order` question's items shuffled (the
    same way every time), never in the right order."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is not None and obj.type == QuestionType.ORDER:
            by_id = {c.id: c for c in value}
            value = [by_id[i] for i in shown_order(obj.id, [c.id for c in value])]
        return super()._serialize(value, attr, obj, **kwargs)


class QuestionSchema(Schema):
    question_id = fields.Integer(attribute="id")
    position = fields.Integer()
    type = fields.String(
        metadata={
            "enum": [t.value for t in QuestionType],
            "description": "what an answer carries: `choice_id` (single, true_false, poll), "
            "`choice_ids` (multi: the picks; order: every item in order) or `text` "
            "(type_answer)",
        }
    )
    partial_credit = fields.Boolean(
        attribute="partial",
        data_key="partial",
        metadata={"description": "multi: a share of the points for some right picks"},
    )
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
    choices: fields.Field = ShownChoices(
        fields.Nested(ChoiceSchema),
        metadata={"description": "none for type_answer; for order, the items shuffled"},
    )


class HostQuestionSchema(QuestionSchema):
    choices = fields.List(
        fields.Nested(HostChoiceSchema),
        metadata={"description": "in position order: for order, the right order"},
    )
    accepted_answers = fields.List(
        fields.String(), metadata={"description": "type_answer: the answers taken as right"}
    )
    max_typos = fields.Integer()
    ignore_accents = fields.Boolean()
    ignore_trailing_period = fields.Boolean()


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
    correct = fields.Boolean(allow_none=True, metadata={"description": "null for a poll"})
    count = fields.Integer(
        metadata={
            "description": "answers that picked it; for order, answers that put it in its "
            "right place"
        }
    )
    percent = fields.Float(metadata={"description": "share of the answers, 0-100"})


class TypedStatsSchema(Schema):
    text = fields.String(metadata={"description": "a spelling as compared (normalised)"})
    count = fields.Integer()
    percent = fields.Float(metadata={"description": "share of the answers, 0-100"})
    accepted = fields.Boolean(metadata={"description": "it matched an accepted answer"})


class OrderStatsSchema(Schema):
    choice_ids = fields.List(fields.Integer(), metadata={"description": "an order sent"})
    count = fields.Integer()
    percent = fields.Float(metadata={"description": "share of the answers, 0-100"})
    correct = fields.Boolean()


class RestStatsSchema(Schema):
    count = fields.Integer(metadata={"description": "answers beyond the ten listed"})
    distinct = fields.Integer(metadata={"description": "different values among them"})


class ResponseTimesSchema(Schema):
    median = fields.Float(allow_none=True, metadata={"description": "ms from the open"})
    p90 = fields.Float(allow_none=True, metadata={"description": "ms from the open"})


class FastestCorrectSchema(Schema):
    participant_id = fields.Integer()
    display_name = fields.String()
    response_ms = fields.Integer(metadata={"description": "ms from the open to its receipt"})


class QuestionStatsSchema(Schema):
    question_id = fields.Integer()
    type = fields.String(metadata={"enum": [t.value for t in QuestionType]})
    participants = fields.Integer(metadata={"description": "players in the quiz"})
    answered = fields.Integer(metadata={"description": "players who answered in time"})
    correct = fields.Integer(
        allow_none=True,
        metadata={"description": "of them, how many were fully right (null for a poll)"},
    )
    percent_correct = fields.Float(
        allow_none=True, metadata={"description": "correct / answered, 0-100 (null for a poll)"}
    )
    choices = fields.List(fields.Nested(ChoiceStatsSchema))
    accepted_answers = fields.List(
        fields.String(), metadata={"description": "type_answer: the answers taken as right"}
    )
    typed = fields.List(
        fields.Nested(TypedStatsSchema),
        metadata={"description": "type_answer: the ten most typed spellings, most first"},
    )
    other_typed = fields.Nested(
        RestStatsSchema, metadata={"description": "type_answer: the other spellings together"}
    )
    correct_order = fields.List(
        fields.Integer(), metadata={"description": "order: the choice ids in the right order"}
    )
    orders = fields.List(
        fields.Nested(OrderStatsSchema),
        metadata={"description": "order: the ten most sent orders, most first"},
    )
    other_orders = fields.Nested(
        RestStatsSchema, metadata={"description": "order: the other orders together"}
    )
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
    choice_ids = fields.List(
        fields.Integer(), allow_none=True, metadata={"description": "multi and order: as sent"}
    )
    text = fields.String(allow_none=True, metadata={"description": "type_answer: as typed"})
    correct = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "fully right and in time; null until scored, with no answer, or "
            "for a poll"
        },
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
    """One of `choice_id`, `choice_ids` or `text`, as the question's type wants: the body
    is checked against the question once it is known (web/api/answers.py)."""

    question_id = fields.Integer(required=True, strict=True)
    choice_id = fields.Integer(
        strict=True, metadata={"description": "single, true_false and poll questions"}
    )
    choice_ids = fields.List(
        fields.Integer(strict=True),
        validate=validate.Length(min=1, max=6),
        metadata={
            "description": "multi: the choices picked; order: every item, in the chosen order"
        },
    )
    text = fields.String(
        validate=[validate.Length(min=1, max=MAX_TEXT_LENGTH), not_blank, one_line],
        metadata={
            "description": f"type_answer: what the player typed (at most {MAX_TEXT_LENGTH} "
            "characters)",
            "pattern": ONE_LINE_PATTERN,
        },
    )

    @validates_schema
    def one_response(self, data: dict[str, Any], **_: Any) -> None:
        given = [name for name in RESPONSE_FIELDS if name in data]
        if len(given) != 1:
            raise ValidationError(
                "Send exactly one of choice_id, choice_ids or text, as the question's type wants."
            )


RESPONSE_FIELDS = tuple(shape.value for shape in Shape)


class TaskAcceptedSchema(Schema):
    task_id = fields.String()
    status_url = fields.String()


class TaskResultSchema(Schema):
    answer_id = fields.Integer()
    question_id = fields.Integer()
    correct = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "fully right (a partly right multi answer is false); null for a poll"
        },
    )
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
