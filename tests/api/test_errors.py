"""Errors that reach the app's handlers from below the views."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, bearer, create_quiz, join, row_counts
from web.db import resources


def test_a_value_postgresql_refuses_is_a_422_not_a_500(app, client):
    # a query whose input PostgreSQL refuses as data (here: not an integer) raises DataError
    @app.get("/test-only/refused")
    def refused() -> str:
        with resources().engine.connect() as conn:
            conn.execute(text("SELECT CAST(:value AS integer)"), {"value": "seven"})
        return "not reached"

    response = client.get("/test-only/refused")
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert response.json["message"] == "a value of the request is not valid"


def body_endpoints(client):
    """Each endpoint that reads a JSON body, with the headers it needs."""
    quiz = create_quiz(client)
    player = join(client, quiz["quiz_id"], "Ann")
    return [
        ("/api/v1/quizzes", HOST),
        (f"/api/v1/quizzes/{quiz['quiz_id']}/participants", {}),
        (f"/api/v1/quizzes/{quiz['quiz_id']}/answers", bearer(player)),
    ]


def test_every_body_endpoint_answers_400_to_what_is_not_json_and_413_to_a_big_body(client, engine):
    for path, headers in body_endpoints(client):
        before = row_counts(engine)
        for raw in (b"{not json", b"\xff\xfe{}"):
            bad = client.post(path, data=raw, content_type="application/json", headers=headers)
            assert (bad.status_code, bad.json["code"]) == (400, 400), (path, raw)
        big = client.post(
            path,
            data=b'{"x": "' + b"a" * 20_000 + b'"}',
            content_type="application/json",
            headers=headers,
        )
        assert (big.status_code, big.json["code"]) == (413, 413), path
        assert row_counts(engine) == before, path
