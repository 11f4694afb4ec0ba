"""Question types: what a player sends for each, and whether it is right.

Pure functions of a question's answer key and a player's response, so the worker, a
score correction, the results and the export all judge an answer the same way, and a
later reader never needs what an earlier one decided. The points themselves come from
shared/quiz/scoring.py: a verdict says how much of them an answer earns (its credit).
"""

from __future__ import annotations

import enum
import random
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein


class QuestionType(enum.StrEnum):
    SINGLE = "single"
    TRUE_FALSE = "true_false"
    MULTI = "multi"
    TYPE_ANSWER = "type_answer"
    ORDER = "order"
    POLL = "poll"


class Shape(enum.StrEnum):
    """The field of the answer body a type is answered with."""

    CHOICE = "choice_id"
    CHOICES = "choice_ids"
    TEXT = "text"


SHAPE_OF = {
    QuestionType.SINGLE: Shape.CHOICE,
    QuestionType.TRUE_FALSE: Shape.CHOICE,
    QuestionType.POLL: Shape.CHOICE,
    QuestionType.MULTI: Shape.CHOICES,
    QuestionType.ORDER: Shape.CHOICES,
    QuestionType.TYPE_ANSWER: Shape.TEXT,
}
# types whose right answer is a set of choices flagged correct (a regrade can change it)
KEYED_BY_CHOICES = frozenset({QuestionType.SINGLE, QuestionType.TRUE_FALSE, QuestionType.MULTI})

MAX_TEXT_LENGTH = 100
MAX_TYPOS = 2
TRUE_FALSE_TEXTS = ("True", "False")


@dataclass(frozen=True)
class TextRules:
    """How a typed answer is matched against a question's accepted answers."""

    accepted: tuple[str, ...]
    max_typos: int = 0
    ignore_accents: bool = False
    ignore_trailing_period: bool = False


@dataclass(frozen=True)
class AnswerKey:
    """What decides right and wrong for one question."""

    type: QuestionType = QuestionType.SINGLE
    # every choice, in position order: for `order` that is the right order
    choice_ids: tuple[int, ...] = ()
    correct_ids: frozenset[int] = frozenset()
    # the choices' texts, in the same order: two items of an order alike may swap places
    choice_texts: tuple[str, ...] = ()
    # `multi` only: points in proportion to right picks minus wrong picks
    partial: bool = False
    text: TextRules | None = None


@dataclass(frozen=True)
class Response:
    """What a player sent: one of the three, as the question's type wants."""

    choice_id: int | None = None
    # the picked choices (`multi`), or every choice in the chosen order (`order`)
    choice_ids: tuple[int, ...] | None = None
    text: str | None = None

    @property
    def shape(self) -> Shape | None:
        given = [
            shape
            for shape, value in (
                (Shape.CHOICE, self.choice_id),
                (Shape.CHOICES, self.choice_ids),
                (Shape.TEXT, self.text),
            )
            if value is not None
        ]
        return given[0] if len(given) == 1 else None


@dataclass(frozen=True)
class Verdict:
    """`correct`: fully right (None for a poll, which has no right answer); `credit`: the
    share of the question's points it earns when in time, 0 to 1."""

    correct: bool | None
    credit: float
    # `type_answer`: the accepted answer the text matched
    matched_answer: str | None = None

    @classmethod
    def of(cls, correct: bool) -> Verdict:
        return cls(correct, 1.0 if correct else 0.0)


class ResponseMismatch(ValueError):
    """A response that does not fit its question: `field` names the body's field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_response(
    question_type: QuestionType, choice_ids: Collection[int], response: Response
) -> None:
    """Whether `response` is an answer to a question of this type with these choices.

    :raises ResponseMismatch: the wrong field for the type, a choice of another question,
        a choice twice, or an order that leaves a choice out
    """
    wanted = SHAPE_OF[question_type]
    if response.shape != wanted:
        raise ResponseMismatch(
            wanted.value,
            f"a {question_type.value} question is answered with `{wanted.value}` alone",
        )
    if wanted is Shape.CHOICE:
        if response.choice_id not in choice_ids:
            raise ResponseMismatch(
                "choice_id", f"choice {response.choice_id} is not a choice of this question"
            )
    elif wanted is Shape.CHOICES:
        picked = response.choice_ids or ()
        if not picked:
            raise ResponseMismatch("choice_ids", "pick one choice at least")
        if len(set(picked)) != len(picked):
            raise ResponseMismatch("choice_ids", "a choice is named more than once")
        strangers = sorted(set(picked) - set(choice_ids))
        if strangers:
            raise ResponseMismatch(
                "choice_ids", f"choices {strangers} are not choices of this question"
            )
        if question_type is QuestionType.ORDER and len(picked) != len(choice_ids):
            raise ResponseMismatch("choice_ids", "an order names every choice of the question")


def judge(key: AnswerKey, response: Response) -> Verdict:
    """Right, wrong or partly right, whatever the time: shared/quiz/scoring.py adds that.

    The response fits the key (check_response); one that does not is wrong.
    """
    if key.type is QuestionType.POLL:
        return Verdict(None, 0.0)
    if key.type in (QuestionType.SINGLE, QuestionType.TRUE_FALSE):
        return Verdict.of(response.choice_id in key.correct_ids)
    if key.type is QuestionType.MULTI:
        return _judge_multi(key, frozenset(response.choice_ids or ()))
    if key.type is QuestionType.ORDER:
        placed = placed_right(key, response.choice_ids or ())
        return Verdict.of(len(placed) == len(key.choice_ids) and all(placed))
    assert key.text is not None, "a type_answer question has text rules"
    matched = match_text(key.text, response.text or "")
    return Verdict(matched is not None, 1.0 if matched is not None else 0.0, matched)


def _judge_multi(key: AnswerKey, picked: frozenset[int]) -> Verdict:
    if picked == key.correct_ids:
        return Verdict.of(True)
    if not key.partial or not key.correct_ids:
        return Verdict.of(False)
    right = len(picked & key.correct_ids)
    wrong = len(picked - key.correct_ids)
    return Verdict(False, max(0, right - wrong) / len(key.correct_ids))


def placed_right(key: AnswerKey, sent: Sequence[int]) -> list[bool]:
    """For each item of an order sent, whether it is in its right place: the item there,
    or one with the same text (alike items are interchangeable)."""
    texts = dict(zip(key.choice_ids, key.choice_texts, strict=False))
    return [
        given == right or (given in texts and texts.get(given) == texts.get(right))
        for given, right in zip(sent, key.choice_ids, strict=False)
    ]


# --- typed answers ----------------------------------------------------------------------


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _normalise_once(text: str, ignore_accents: bool, ignore_trailing_period: bool) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    # neither option ever leaves nothing of a text that was not blank: "." stays "."
    if ignore_accents:
        # "¯" is a space and a combining macron once NFKC has it: without the accent,
        # only a space would be left
        stripped = unicodedata.normalize("NFKC", _strip_accents(folded))
        folded = stripped if stripped.strip() else folded
    folded = " ".join(folded.split())
    if ignore_trailing_period:
        folded = folded.rstrip(". ") or folded
    return folded


def normalise(text: str, ignore_accents: bool = False, ignore_trailing_period: bool = False) -> str:
    """Typed text as it is compared: Unicode NFKC, case folded, spaces trimmed and runs of
    them made one; with the options, accents dropped and trailing periods too (unless
    nothing would be left). Only blank text normalises to nothing.

    Applied until nothing changes (a case fold can make text that NFKC changes again), so
    normalising twice gives what normalising once does.
    """
    current = text
    for _ in range(8):
        following = _normalise_once(current, ignore_accents, ignore_trailing_period)
        if following == current:
            break
        current = following
    return current


def match_text(rules: TextRules, typed: str) -> str | None:
    """The accepted answer `typed` matches, or None: equal once normalised, or within
    `max_typos` edits (Levenshtein) of one; the closest wins, the first among equals."""
    given = normalise(typed, rules.ignore_accents, rules.ignore_trailing_period)
    if not given:
        return None
    best: tuple[int, str] | None = None
    for accepted in rules.accepted:
        wanted = normalise(accepted, rules.ignore_accents, rules.ignore_trailing_period)
        distance = Levenshtein.distance(given, wanted, score_cutoff=rules.max_typos)
        if distance <= rules.max_typos and (best is None or distance < best[0]):
            best = (distance, accepted)
            if distance == 0:
                break
    return best[1] if best is not None else None


# --- putting in order ---------------------------------------------------------------------


def shown_order(question_id: int, choice_ids: Sequence[int]) -> list[int]:
    """The order an `order` question's items are shown in: shuffled the same way for
    every player and every read (seeded by the question), and never the right order."""
    shown = list(choice_ids)
    if len(shown) < 2:
        return shown
    random.Random(question_id).shuffle(shown)
    if shown == list(choice_ids):
        shown = shown[1:] + shown[:1]
    return shown


def answer_key(
    question_type: str,
    choices: Sequence[tuple[int, bool]],
    *,
    choice_texts: Sequence[str] = (),
    partial: bool = False,
    accepted_answers: Sequence[str] = (),
    max_typos: int = 0,
    ignore_accents: bool = False,
    ignore_trailing_period: bool = False,
) -> AnswerKey:
    """A question's key from what is stored of it.

    :param choices: (choice id, correct) of every choice, in position order
    :param choice_texts: their texts, in the same order
    """
    kind = QuestionType(question_type)
    return AnswerKey(
        type=kind,
        choice_ids=tuple(choice_id for choice_id, _ in choices),
        correct_ids=frozenset(choice_id for choice_id, correct in choices if correct),
        choice_texts=tuple(choice_texts),
        partial=partial,
        text=TextRules(tuple(accepted_answers), max_typos, ignore_accents, ignore_trailing_period)
        if kind is QuestionType.TYPE_ANSWER
        else None,
    )
