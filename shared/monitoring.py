"""Sentry and New Relic: each one is off unless its key is set.

- Sentry (SENTRY_DSN): unhandled errors of requests and tasks, tagged with the component
  and, per event, the request id or task id; no personal data (send_default_pii off:
  the SDK's default, left alone), credentials masked.
- New Relic (NEW_RELIC_LICENSE_KEY): `newrelic.agent.initialize()` at the entry points
  (create_app for web, worker/observability.py for worker and beat), before the Flask
  views are registered and the tasks traced, so views and tasks become named
  transactions. The agent reads every other NEW_RELIC_* variable itself. A batch of
  scoring tasks runs outside Celery's tracer, so it opens its own transaction under the
  task's name (`task_transaction`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from shared.config import Settings
from shared.logging import redact

# headers and fields Sentry must never carry, on top of its own list
EXTRA_DENYLIST = [
    "x-host-key",
    "x_host_key",
    "host_key",
    "secret_key",
    "idempotency-key",
    "idempotency_key",
    "flower_basic_auth",
    "license_key",
]

_newrelic_started = False
# whether init_sentry started Sentry in this process: tag_event runs on every request and
# task, and asking the SDK for its client there costs more than this flag
_sentry_started = False


def init_sentry(settings: Settings, component: str, **overrides: Any) -> bool:
    """Start Sentry for this process (once); False when SENTRY_DSN is not set.

    `overrides` go to sentry_sdk.init as they are (tests pass a capturing transport).
    """
    global _sentry_started
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.redis import RedisIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    client = sentry_sdk.get_client()
    if client.is_active() and client.options.get("dsn") == settings.sentry_dsn:
        _sentry_started = True
        return True  # create_app called again in the same process
    integrations: list[Any] = [
        CeleryIntegration(),
        SqlalchemyIntegration(),
        RedisIntegration(),
    ]
    if component == "web":
        # imported only here: worker processes never import Flask
        from sentry_sdk.integrations.flask import FlaskIntegration

        integrations.append(FlaskIntegration())
    options: dict[str, Any] = {
        "dsn": settings.sentry_dsn,
        "environment": settings.env.value,
        "release": settings.source_commit or None,
        "traces_sample_rate": settings.sentry_traces_sample_rate,
        # send_default_pii stays off by being left out: off is the SDK's default, and
        # recent SDKs deprecate the option for `data_collection`, which would also turn
        # the event scrubber below off
        # the defaults (logging, dedupe, threading…) plus the ones above; auto-enabling
        # would import Flask into the workers
        "auto_enabling_integrations": False,
        "integrations": integrations,
        "event_scrubber": EventScrubber(
            denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, send_default_pii=False
        ),
        "before_send": scrub_event,
    }
    options.update(overrides)
    sentry_sdk.init(**options)
    sentry_sdk.get_global_scope().set_tag("component", component)
    _sentry_started = True
    return True


def scrub_event(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Mask credentials in the free text of an event (messages, exception values)."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = redact(logentry[key])
    if isinstance(event.get("message"), str):
        event["message"] = redact(event["message"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = redact(exception["value"])
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact(crumb["message"])
    return event


def tag_event(**tags: str | None) -> None:
    """Tag the events of the current request or task (no-op unless Sentry was started)."""
    if not _sentry_started:
        return
    import sentry_sdk

    for name, value in tags.items():
        if value:
            sentry_sdk.set_tag(name, value)


@contextlib.contextmanager
def task_transaction(task_name: str) -> Iterator[None]:
    """A New Relic transaction named like a Celery task's, when the agent runs; else nothing."""
    if not _newrelic_started:
        yield
        return
    import newrelic.agent

    with newrelic.agent.BackgroundTask(
        newrelic.agent.application(), name=task_name, group="Celery"
    ):
        yield


def init_newrelic(settings: Settings) -> bool:
    """Start the New Relic agent in this process (once); False without a license key."""
    global _newrelic_started
    if not settings.new_relic_license_key:
        return False
    if not _newrelic_started:
        import newrelic.agent

        newrelic.agent.initialize()
        _newrelic_started = True
    return True
