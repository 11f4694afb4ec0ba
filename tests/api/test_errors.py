"""Errors that reach the app's handlers from below the views."""

from __future__ import annotations

from sqlalchemy import text

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
