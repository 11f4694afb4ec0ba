"""Each question type over HTTP: its create body, its answer body, its score, its statistics
and its export columns; the wrong shape of either body is a 422 that writes nothing."""

from __future__ import annotations

import copy
import csv
import io
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text

from tests.helpers import HOST, bearer, join, mixed_quiz_body, row_counts

SINGLE, TRUE_FALSE, MULTI, TYPED, ORDER, POLL = range(6)
# the types of tests/helpers.py's mixed quiz, in its order
TYPES = ["single", "true_false", "multi", "type_answer", "order", "poll"]


@pytest.fixture
def settings(settings):
    """A player answers six questions within a second here, and fuzzed bodies come faster
    still: the per-player limit is not what these tests are about."""
    return replace(settings, rate_limits=False)


def create(client, body):
    return client.post("/api/v1/quizzes", json=body, headers=HOST)


@pytest.fixture
def mixed(client):
    response = create(client, mixed_quiz_body())
    assert response.status_code == 201, response.json
    return response.json


def answer(client, code, player, question_id, key=None, **response):
    headers = bearer(player)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": question_id, **response},
        headers=headers,
    )


def result_of(client, accepted):
    assert accepted.status_code == 202, accepted.json
    status = client.get(accepted.json["status_url"]).json
    assert status["state"] == "SUCCESS", status
    return status["result"]


def open_next(client, code):
    response = client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    assert response.status_code == 200, response.json
    return response.json


# --- creating --------------------------------------------------------------------------


def test_a_mixed_quiz_keeps_each_type_and_shows_players_nothing_of_the_key(client, mixed):
    host = mixed["questions"]
    assert [q["type"] for q in host] == TYPES
    assert [(c["text"], c["correct"]) for c in host[TRUE_FALSE]["choices"]] == [
        ("True", True),
        ("False", False),
    ]
    assert host[MULTI]["partial"] is True
    assert host[TYPED]["accepted_answers"] == ["brought"]
    assert (host[TYPED]["max_typos"], host[TYPED]["ignore_trailing_period"]) == (1, True)
    assert host[TYPED]["choices"] == []
    assert [c["text"] for c in host[ORDER]["choices"]] == ["sing", "sang", "sung"]
    assert host[POLL]["points"] == 0

    public = client.get(f"/api/v1/quizzes/{mixed['quiz_id']}").json["questions"]
    for question in public:
        assert "accepted_answers" not in question
        assert all(set(c) == {"choice_id", "text"} for c in question["choices"])
    shown = [c["choice_id"] for c in public[ORDER]["choices"]]
    right = [c["choice_id"] for c in host[ORDER]["choices"]]
    assert sorted(shown) == sorted(right) and shown != right
    # the same shuffle on every read
    again = client.get(f"/api/v1/quizzes/{mixed['quiz_id']}").json["questions"][ORDER]
    assert [c["choice_id"] for c in again["choices"]] == shown


def body_with(index, **changes):
    body = mixed_quiz_body()
    question = body["questions"][index]
    for field, value in changes.items():
        if value is None:
            question.pop(field, None)
        else:
            question[field] = value
    return body


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (body_with(POLL, choices=[{"text": "a", "correct": True}, {"text": "b"}]), "correct"),
        (body_with(POLL, points=1000), "points"),
        (body_with(TRUE_FALSE, correct=None), "correct"),
        (body_with(TRUE_FALSE, choices=[{"text": "a", "correct": True}]), "choices"),
        (body_with(TYPED, accepted_answers=None), "accepted_answers"),
        (body_with(TYPED, accepted_answers=[]), "accepted_answers"),
        (body_with(TYPED, accepted_answers=["x" * 101]), "accepted_answers"),
        (body_with(TYPED, max_typos=3), "max_typos"),
        (body_with(ORDER, choices=[{"text": "a"}, {"text": "b"}]), "choices"),
        (body_with(MULTI, choices=[{"text": "a", "correct": False}] * 2), "choices"),
        (body_with(SINGLE, partial=True), "partial"),
        (body_with(SINGLE, type="essay"), "type"),
        (body_with(TYPED, choices=[{"text": "brought", "correct": True}]), "choices"),
    ],
)
def test_a_question_of_the_wrong_shape_for_its_type_is_422_and_writes_nothing(
    client, engine, body, where
):
    before = row_counts(engine)
    response = create(client, body)
    assert response.status_code == 422, response.json
    assert where in response.json["message"]
    assert row_counts(engine) == before


@examples(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            ["type", "text", "choices", "correct", "accepted_answers", "max_typos", "partial"]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["text", "correct"]), inner, max_size=2)
            ),
            max_leaves=6,
        ),
    )
)
def test_any_question_body_is_201_or_422_never_500(client, question):
    body = {"title": "Fuzzed", "questions": [question]}
    assert create(client, body).status_code in (201, 422)


# --- answering ---------------------------------------------------------------------------


@pytest.fixture
def game(client, mixed):
    code = mixed["quiz_id"]
    return mixed, code, join(client, code, "Ann"), join(client, code, "Bob")


def ids(question):
    return [c["choice_id"] for c in question["choices"]]


@pytest.mark.parametrize(
    ("index", "response", "type_name"),
    [
        (SINGLE, {"text": "went"}, "single"),
        (TRUE_FALSE, {"choice_ids": [1]}, "true_false"),
        (MULTI, {"choice_id": 1}, "multi"),
        (TYPED, {"choice_ids": [1, 2]}, "type_answer"),
        (ORDER, {"text": "sing sang sung"}, "order"),
        (POLL, {"text": "bring"}, "poll"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_422_naming_the_type(
    client, engine, game, index, response, type_name
):
    quiz, code, ann, _ = game
    question = quiz["questions"][index]
    client.post(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/open", headers=HOST)
    before = row_counts(engine)
    refused = answer(client, code, ann, question["question_id"], **response)
    assert refused.status_code == 422, refused.json
    assert f"a {type_name} question" in refused.json["message"]
    assert row_counts(engine) == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=6,
)


@examples(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(st.sampled_from(["choice_id", "choice_ids", "text", "other"]), JSON_VALUES),
    st.sampled_from(range(6)),
)
def test_any_answer_body_is_a_202_or_a_clear_4xx_never_500(client, game, response, index):
    quiz, code, _, bob = game
    question = quiz["questions"][index]
    client.post(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/open", headers=HOST)
    sent = answer(client, code, bob, question["question_id"], **response)
    assert sent.status_code in (202, 409, 422), sent.json
    assert sent.is_json


@pytest.mark.parametrize(
    "response",
    [
        {},
        {"choice_id": 1, "text": "x"},
        {"choice_ids": []},
        {"choice_ids": [1] * 7},
        {"text": ""},
        {"text": "x" * 101},
        {"text": "a\x00b"},
        {"choice_ids": "1,2"},
    ],
)
def test_a_body_with_none_or_several_responses_or_bad_values_is_422(client, engine, game, response):
    quiz, code, ann, _ = game
    before = row_counts(engine)
    refused = answer(client, code, ann, quiz["questions"][TYPED]["question_id"], **response)
    assert refused.status_code == 422, refused.json
    assert row_counts(engine) == before


def test_multi_answers_must_name_choices_of_the_question_once(client, engine, game):
    quiz, code, ann, _ = game
    question = quiz["questions"][MULTI]
    client.post(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/open", headers=HOST)
    first = ids(question)[0]
    twice = answer(client, code, ann, question["question_id"], choice_ids=[first, first])
    assert twice.status_code == 422 and "more than once" in twice.json["message"]
    foreign = ids(quiz["questions"][SINGLE])[0]
    other = answer(client, code, ann, question["question_id"], choice_ids=[first, foreign])
    assert other.status_code == 422 and "not choices" in other.json["message"]


def test_an_order_must_name_every_item(client, game):
    quiz, code, ann, _ = game
    question = quiz["questions"][ORDER]
    client.post(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/open", headers=HOST)
    short = answer(client, code, ann, question["question_id"], choice_ids=ids(question)[:2])
    assert short.status_code == 422 and "every choice" in short.json["message"]


def play_everything(client, game):
    """Ann answers every question right (a typo in the typed one); Bob partly or wrong."""
    quiz, code, ann, bob = game
    q = quiz["questions"]
    results = {"Ann": [], "Bob": []}
    sent = [
        ({"choice_id": ids(q[SINGLE])[0]}, {"choice_id": ids(q[SINGLE])[1]}),
        ({"choice_id": ids(q[TRUE_FALSE])[0]}, {"choice_id": ids(q[TRUE_FALSE])[1]}),
        # sing, bring, think are right: Bob picks two of them and walk
        (
            {"choice_ids": [ids(q[MULTI])[3], ids(q[MULTI])[0], ids(q[MULTI])[1]]},
            {"choice_ids": [ids(q[MULTI])[0], ids(q[MULTI])[1], ids(q[MULTI])[2]]},
        ),
        ({"text": "  Brougt. "}, {"text": "bringed"}),
        ({"choice_ids": ids(q[ORDER])}, {"choice_ids": list(reversed(ids(q[ORDER])))}),
        ({"choice_id": ids(q[POLL])[0]}, {"choice_id": ids(q[POLL])[0]}),
    ]
    for question, (mine, theirs) in zip(q, sent, strict=True):
        open_next(client, code)
        results["Ann"].append(
            result_of(client, answer(client, code, ann, question["question_id"], **mine))
        )
        results["Bob"].append(
            result_of(client, answer(client, code, bob, question["question_id"], **theirs))
        )
    open_next(client, code)  # closes the poll: the quiz is finished
    return results


def test_each_type_is_scored_by_its_rule(client, engine, game):
    results = play_everything(client, game)
    assert [r["correct"] for r in results["Ann"]] == [True, True, True, True, True, None]
    assert [r["correct"] for r in results["Bob"]] == [False, False, False, False, False, None]
    ann_points = [r["points"] for r in results["Ann"]]
    # fast right answers: a growing streak bonus, and the poll earns nothing
    assert all(p >= 1000 for p in ann_points[:5]) and ann_points[5] == 0
    assert [ann_points[i] - ann_points[0] for i in (1, 2)] >= [50, 150]
    bob = [r["points"] for r in results["Bob"]]
    # two right picks minus one wrong of three right: a third of the time points, no bonus
    assert bob[0] == bob[1] == 0 and 300 <= bob[2] <= 334 and bob[3:] == [0, 0, 0]
    assert results["Ann"][-1]["total_score"] == sum(ann_points)
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT a.answer_text, a.matched_answer FROM answers a "
                "JOIN questions q ON q.id = a.question_id WHERE q.type = 'type_answer' "
                "ORDER BY a.id"
            )
        ).all()
    assert [tuple(row) for row in stored] == [("  Brougt. ", "brought"), ("bringed", None)]


def test_a_retried_typed_answer_replays_and_another_text_with_the_key_is_422(client, game):
    quiz, code, ann, _ = game
    question = quiz["questions"][TYPED]
    client.post(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/open", headers=HOST)
    first = answer(client, code, ann, question["question_id"], key="k-1", text="brought")
    again = answer(client, code, ann, question["question_id"], key="k-1", text="brought")
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["task_id"] == first.json["task_id"]
    other = answer(client, code, ann, question["question_id"], key="k-1", text="brung")
    assert other.status_code == 422
    without_key = answer(client, code, ann, question["question_id"], text="brung")
    assert without_key.status_code == 409


def test_my_results_show_what_was_sent_and_a_poll_is_neither_right_nor_wrong(client, game):
    play_everything(client, game)
    _, code, ann, _ = game
    mine = client.get(f"/api/v1/quizzes/{code}/participants/me", headers=bearer(ann)).json
    rows = mine["results"]
    assert rows[TYPED]["text"] == "  Brougt. "
    assert len(rows[MULTI]["choice_ids"]) == 3
    assert [r["correct"] for r in rows] == [True, True, True, True, True, None]
    # the poll neither extends nor breaks the streak
    assert [r["streak"] for r in rows] == [1, 2, 3, 4, 5, 5]


# --- statistics and export ---------------------------------------------------------------


def test_statistics_show_each_types_reveal(client, game):
    play_everything(client, game)
    quiz, code, _, _ = game
    q = quiz["questions"]

    def stats(index):
        response = client.get(f"/api/v1/quizzes/{code}/questions/{q[index]['question_id']}/stats")
        assert response.status_code == 200, response.json
        return response.json

    multi = stats(MULTI)
    assert {c["text"]: c["count"] for c in multi["choices"]} == {
        "sing": 2,
        "bring": 2,
        "walk": 1,
        "think": 1,
    }
    assert (multi["type"], multi["correct"]) == ("multi", 1)
    typed = stats(TYPED)
    assert typed["accepted_answers"] == ["brought"]
    assert [(t["text"], t["count"], t["accepted"]) for t in typed["typed"]] == [
        ("brougt", 1, True),
        ("bringed", 1, False),
    ]
    assert typed["other_typed"] == {"count": 0, "distinct": 0}
    order = stats(ORDER)
    assert order["correct_order"] == ids(q[ORDER])
    assert [(o["choice_ids"], o["correct"]) for o in order["orders"]] == [
        (ids(q[ORDER]), True),
        (list(reversed(ids(q[ORDER]))), False),
    ]
    # the reversed order of three leaves the middle item in its place
    assert [c["count"] for c in order["choices"]] == [1, 2, 1]
    poll = stats(POLL)
    assert (poll["correct"], poll["percent_correct"], poll["fastest_correct"]) == (None, None, None)
    assert [c["count"] for c in poll["choices"]] == [2, 0, 0]
    assert all(c["correct"] is None for c in poll["choices"])


def test_more_than_ten_spellings_are_listed_ten_and_the_rest_counted(client):
    body = copy.deepcopy(mixed_quiz_body())
    body["questions"] = [body["questions"][TYPED]]
    quiz = create(client, body).json
    code, question = quiz["quiz_id"], quiz["questions"][0]
    open_next(client, code)
    spellings = ["brought"] * 3 + ["BROUGHT"] + [f"guess{n}" for n in range(12)]
    for n, spelling in enumerate(spellings):
        player = join(client, code, f"P{n}")
        assert (
            answer(client, code, player, question["question_id"], text=spelling).status_code == 202
        )
    open_next(client, code)
    stats = client.get(f"/api/v1/quizzes/{code}/questions/{question['question_id']}/stats").json
    assert stats["typed"][0] == {"text": "brought", "count": 4, "percent": 25.0, "accepted": True}
    assert len(stats["typed"]) == 10
    assert stats["other_typed"] == {"count": 3, "distinct": 3}
    assert stats["correct"] == 4


def test_the_export_has_what_was_typed_picked_and_ordered(client, game):
    play_everything(client, game)
    quiz, code, ann, _ = game
    response = client.get(f"/api/v1/quizzes/{code}/export.csv", headers=HOST)
    assert response.status_code == 200
    rows = [
        r
        for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))
        if r["row"] == "answer" and r["participant_id"] == str(ann["participant_id"])
    ]
    assert [r["question_type"] for r in rows] == TYPES
    assert (rows[TYPED]["typed_answer"], rows[TYPED]["matched_answer"]) == (
        "  Brougt. ",
        "brought",
    )
    assert rows[MULTI]["choice"] == "think; sing; bring"
    assert rows[ORDER]["choice"] == "sing > sang > sung"
    assert rows[POLL]["correct"] == ""
    summary = next(
        r
        for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))
        if r["row"] == "summary" and r["participant_id"] == str(ann["participant_id"])
    )
    assert summary["correct_answers"] == "5"


def test_a_regrade_is_for_choice_keyed_types_only(client, game):
    play_everything(client, game)
    quiz, code, _, _ = game
    order = quiz["questions"][ORDER]
    refused = client.put(
        f"/api/v1/quizzes/{code}/questions/{order['question_id']}/answer-key",
        json={"correct_choice_ids": ids(order)[:1]},
        headers=HOST,
    )
    assert refused.status_code == 409 and "order question" in refused.json["message"]
    multi = quiz["questions"][MULTI]
    # walk becomes the only right pick: nobody picked exactly that set
    regraded = client.put(
        f"/api/v1/quizzes/{code}/questions/{multi['question_id']}/answer-key",
        json={"correct_choice_ids": [ids(multi)[2]]},
        headers=HOST,
    )
    assert regraded.status_code == 200, regraded.json
    stats = client.get(f"/api/v1/quizzes/{code}/questions/{multi['question_id']}/stats").json
    assert stats["correct"] == 0
