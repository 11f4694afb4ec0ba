"""What every response says about itself, the live pages' policy, and who may read /metrics."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from shared.config import Environment
from web import create_app
from web.headers import LIVE_PAGES_POLICY
from worker.base import resources_for


@pytest.mark.parametrize("path", ["/play", "/quizzes/K7QX2M/board", "/host", "/host/K7QX2M"])
def test_the_live_pages_are_never_framed_and_run_only_their_own_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy == LIVE_PAGES_POLICY
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/api/v1/quizzes/NOPE42", "/healthz", "/openapi.json"])
def test_every_response_says_its_type_is_meant(client, path):
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def basic(login: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()}


@pytest.fixture
def app_with(settings):
    made = []

    def make(**changes):
        app = create_app(replace(settings, **changes))
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        resources_for(app.extensions["celery"]).close()
        app.extensions["quiz.resources"].close()


def test_metrics_with_a_login_set_need_it(app_with):
    client = app_with(metrics_basic_auth="prom:s3cret")
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert refused.json["code"] == 401
    assert client.get("/metrics", headers=basic("prom:wrong")).status_code == 401
    scraped = client.get("/metrics", headers=basic("prom:s3cret"))
    assert scraped.status_code == 200
    assert "quiz_http_requests_total" in scraped.get_data(as_text=True)


def test_metrics_in_production_without_a_login_are_refused(app_with):
    client = app_with(env=Environment.PRODUCTION)
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "QUIZ_METRICS_BASIC_AUTH" in response.json["message"]
