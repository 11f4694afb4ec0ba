"""The OpenAPI document and Swagger UI describe every endpoint, its schemas and its errors."""

import re

import jsonschema
import pytest

from tests.helpers import HOST, create_quiz, join, open_question, quiz_body, submit

BODY = {"400", "413", "422"}
BACKING = {"503"}
LIMITED = {"429"}  # rate limited (web/rate_limits.py)
# every status each operation answers, and nothing else (no catch-all "default")
EXPECTED_STATUSES = {
    ("/api/v1/quizzes", "post"): {"201", "401", "403", *BODY, *BACKING},
    ("/api/v1/quizzes/{quiz_id}", "get"): {"200", "404", *LIMITED, *BACKING},
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/open", "post"): {
        "200",
        "401",
        "403",
        "404",
        "409",
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/close", "post"): {
        "200",
        "401",
        "403",
        "404",
        "409",
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/next", "post"): {"200", "401", "403", "404", "409", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/finish", "post"): {"200", "401", "403", "404", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/stats", "get"): {
        "200",
        "404",
        "409",
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/progress", "get"): {
        "200",
        "404",
        *LIMITED,
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/answer-key", "put"): {
        "200",
        "401",
        "403",
        "404",
        "409",
        *BODY,
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/questions/{question_id}/void", "post"): {
        "200",
        "401",
        "403",
        "404",
        "409",
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/corrections", "get"): {"200", "401", "403", "404", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/attempts", "get"): {"200", "401", "403", "404", "422", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/export.csv", "get"): {"200", "401", "403", "404", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/export.json", "get"): {"200", "401", "403", "404", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/participants/me", "get"): {
        "200",
        "401",
        "403",
        "404",
        *LIMITED,
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/participants/{participant_id}", "delete"): {
        "204",
        "401",
        "403",
        "404",
        "422",
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/participants", "post"): {
        "201",
        "403",
        "404",
        "409",
        *BODY,
        *LIMITED,
        *BACKING,
    },
    ("/api/v1/quizzes/{quiz_id}/answers", "post"): {
        "202",
        "401",
        "403",
        "404",
        "409",
        *BODY,
        *LIMITED,
        *BACKING,
    },
    ("/api/v1/tasks/{task_id}", "get"): {"200", "404", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/leaderboard", "get"): {"200", "404", "409", "422", *BACKING},
    ("/api/v1/quizzes/{quiz_id}/leaderboard/stream", "get"): {
        "200",
        "404",
        "422",
        *LIMITED,
        *BACKING,
    },
    ("/healthz", "get"): {"200"},
    ("/readyz", "get"): {"200", "503"},
}


def test_every_operation_documents_each_status_it_answers_and_no_default(client):
    spec = client.get("/openapi.json").json
    operations = {
        (path, method): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }
    assert set(operations) == set(EXPECTED_STATUSES)
    for key, statuses in EXPECTED_STATUSES.items():
        assert operations[key]["summary"], key
        assert set(operations[key]["responses"]) == statuses, key


def test_a_malformed_idempotency_key_is_documented_as_the_422_it_is(client):
    operation = client.get("/openapi.json").json["paths"]["/api/v1/quizzes/{quiz_id}/answers"][
        "post"
    ]
    assert "Idempotency-Key" in operation["responses"]["422"]["description"]
    assert "Idempotency-Key" not in operation["responses"]["400"]["description"]


def test_submit_documents_its_idempotency_header_and_security(client):
    operation = client.get("/openapi.json").json["paths"]["/api/v1/quizzes/{quiz_id}/answers"][
        "post"
    ]
    assert "202" in operation["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert operation["security"] == [{"participantToken": []}]


def test_swagger_ui_is_served_with_every_file_it_loads_from_the_app(client):
    response = client.get("/quiz-api-doc")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "swagger" in page.lower()
    # nothing from another origin: the page works offline, with the pinned files
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(url.startswith("/quiz-api-doc/assets/") for url in loaded), loaded
    for url in loaded:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 1000
    assert client.get("/quiz-api-doc/assets/../setup.cfg").status_code == 404


def request_schema(spec: dict, path: str) -> dict:
    """The JSON body schema of POST `path`, with the components its references point to."""
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return {**body, "components": spec["components"]}


@pytest.mark.parametrize(
    ("mutate", "valid"),
    [
        (lambda b: None, True),
        (lambda b: b["questions"][0].update(text="Past of go?\n\tIn one word"), True),
        (lambda b: b.update(title="Verbs\u3000"), True),
        (lambda b: [c.update(correct=False) for c in b["questions"][0]["choices"]], False),
        (lambda b: b.update(title="\u3000 \xa0"), False),
        (lambda b: b.update(title="Verbs\n"), False),
        (lambda b: b["questions"][0]["choices"][0].update(text="went\x1b[31m"), False),
        (lambda b: b["questions"][0].update(text="\n\t"), False),
    ],
    ids=[
        "valid",
        "lines",
        "wide-space",
        "no-correct",
        "blank",
        "final-newline",
        "escape",
        "only-breaks",
    ],
)
def test_the_document_tells_a_valid_quiz_as_the_api_does(client, mutate, valid):
    body = quiz_body(questions=1)
    mutate(body)
    schema = request_schema(client.get("/openapi.json").json, "/api/v1/quizzes")
    assert jsonschema.Draft7Validator(schema).is_valid(body) is valid
    response = client.post("/api/v1/quizzes", json=body, headers=HOST)
    assert response.status_code == (201 if valid else 422), response.json


@pytest.mark.parametrize(
    ("name", "valid"), [("Ann", True), (" Ann B ", True), ("\xa0", False), ("Ann\x00", False)]
)
def test_the_document_tells_a_valid_display_name_as_the_api_does(client, name, valid):
    quiz = create_quiz(client, questions=1)
    path = "/api/v1/quizzes/{quiz_id}/participants"
    schema = request_schema(client.get("/openapi.json").json, path)
    assert jsonschema.Draft7Validator(schema).is_valid({"display_name": name}) is valid
    response = client.post(path.format(quiz_id=quiz["quiz_id"]), json={"display_name": name})
    assert response.status_code == (201 if valid else 422), response.json


@pytest.mark.parametrize(
    ("key", "valid"),
    [("ann-q1", True), ("~" * 255, True), ("", False), ("x" * 256, False), ("a b", False)],
)
def test_the_document_tells_a_valid_idempotency_key_as_the_api_does(client, key, valid):
    quiz = create_quiz(client, questions=1)
    question = quiz["questions"][0]
    open_question(client, quiz["quiz_id"], question["question_id"])
    player = join(client, quiz["quiz_id"], "Ann")
    path = "/api/v1/quizzes/{quiz_id}/answers"
    (header,) = [
        p
        for p in client.get("/openapi.json").json["paths"][path]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    assert jsonschema.Draft7Validator(header["schema"]).is_valid(key) is valid
    choice_id = question["choices"][0]["choice_id"]
    response = submit(client, quiz["quiz_id"], player, question["question_id"], choice_id, key)
    assert response.status_code == (202 if valid else 422), response.json
