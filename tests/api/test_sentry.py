"""Sentry: an unhandled error in a request and in a task each make one event, tagged.

The events go to a transport that keeps them in memory: nothing leaves the machine. The
SDK is initialised by shared.monitoring.init_sentry, as web and worker do it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sentry_sdk
from flask import Flask
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

import worker.observability  # noqa: F401  connects the task signals, as the worker does
from shared.config import Settings
from shared.monitoring import init_sentry
from tests.helpers import TEST_HOST_KEY
from web import create_app
from worker.base import resources_for
from worker.tasks.scoring import score_answer

# never contacted: the transport below replaces the network
FAKE_DSN = "http://public@127.0.0.1:9/1"


class CapturingTransport(Transport):
    """Keeps every error event it is given."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                self.events.append(item.payload.json)


@pytest.fixture
def sentry_settings(settings: Settings) -> Settings:
    return replace(
        settings, sentry_dsn=FAKE_DSN, source_commit="abc1234", sentry_traces_sample_rate=0.0
    )


@pytest.fixture
def transport(sentry_settings: Settings) -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    assert init_sentry(sentry_settings, "web", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    # an inactive client with no integrations: the rest of the suite runs as without Sentry
    sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)


@pytest.fixture
def sentry_app(sentry_settings: Settings, transport: CapturingTransport) -> Iterator[Flask]:
    app = create_app(sentry_settings)  # init_sentry again: kept, same DSN
    celery = app.extensions["celery"]
    celery.conf.update(task_always_eager=True, task_eager_propagates=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the view broke")

    yield app
    resources_for(celery).close()
    app.extensions["quiz.resources"].close()


def test_sentry_is_off_without_a_dsn(settings):
    assert init_sentry(settings, "web") is False


def test_the_client_sends_no_personal_data(sentry_app):
    client = sentry_sdk.get_client()
    options = client.options
    assert client.should_send_default_pii() is False
    assert options["environment"] == "testing"
    assert options["release"] == "abc1234"
    assert options["traces_sample_rate"] == 0.0
    names = {type(i).__name__ for i in client.integrations.values()}
    assert {"FlaskIntegration", "CeleryIntegration"} <= names


def test_an_unhandled_error_in_a_request_is_one_event_tagged_with_its_request_id(
    sentry_app, transport
):
    response = sentry_app.test_client().get(
        "/boom",
        headers={
            "X-Request-ID": "req-boom-1",
            "X-Host-Key": TEST_HOST_KEY,
            "Authorization": "Bearer some-participant-token",
        },
    )
    assert response.status_code == 500
    assert response.json["code"] == 500
    sentry_sdk.flush()

    assert len(transport.events) == 1
    event = transport.events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == "req-boom-1"
    assert event["tags"]["component"] == "web"
    assert event["release"] == "abc1234"
    text = str(event)
    assert TEST_HOST_KEY not in text and "some-participant-token" not in text


def test_an_unhandled_error_in_a_task_is_one_event_tagged_with_its_task_id(sentry_app, transport):
    task_id = str(uuid.uuid4())
    # an answer that does not exist: score_answer raises NotFound, which nothing handles
    result = score_answer.apply((987654, 1), task_id=task_id, headers={"request_id": "req-task-1"})
    assert result.failed()
    sentry_sdk.flush()

    assert len(transport.events) == 1
    event = transport.events[0]
    assert event["exception"]["values"][-1]["type"] == "NotFound"
    assert event["tags"]["task_id"] == task_id
    assert event["tags"]["task_name"] == "quiz.scoring.score_answer"
    assert event["tags"]["request_id"] == "req-task-1"
