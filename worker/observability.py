"""Logs, Sentry, New Relic and request ids for the Celery processes (worker and beat).

Wired through Celery's signals, so `celery -A worker worker|beat` gets all of it:
- setup_logging: JSON lines on stdout at the `-l` level; Celery then leaves logging alone.
- worker_init / beat_init: New Relic and Sentry start in the parent, before the pool forks
  and before any task is traced (what both libraries document for Celery).
- task_prerun / task_postrun: the task id, its name and the request id the web sent in
  the message headers (web/dispatch.py) are bound to every log line and Sentry event of
  the run, so `grep <request id>` finds the HTTP request and the task that scored it.
- before_task_publish: a message sent from inside a task (a retry, a re-sent answer)
  carries the request id on.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from shared import logging as quiz_logging
from shared.config import Settings
from shared.monitoring import init_newrelic, init_sentry, tag_event

REQUEST_ID_HEADER = "request_id"

_log_level: list[int | str] = ["INFO"]


def request_id_of(request: Any) -> str | None:
    """The request id a task message carries (a header; eager runs keep it in .headers)."""
    value = getattr(request, REQUEST_ID_HEADER, None)
    if not value:
        value = (getattr(request, "headers", None) or {}).get(REQUEST_ID_HEADER)
    return value if isinstance(value, str) and value else None


def _settings_of(sender: Any) -> Settings:
    from celery import current_app

    app = getattr(sender, "app", None) or current_app
    settings: Settings = app.conf.quiz_settings
    return settings


@signals.setup_logging.connect(weak=False, dispatch_uid="quiz.setup_logging")
def _setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    _log_level[0] = loglevel or logging.INFO
    quiz_logging.configure_logging("worker", _log_level[0])


@signals.worker_init.connect(weak=False, dispatch_uid="quiz.worker_init")
def _start_worker_monitoring(sender: Any = None, **_: Any) -> None:
    settings = _settings_of(sender)
    init_newrelic(settings)
    init_sentry(settings, "worker")


@signals.beat_init.connect(weak=False, dispatch_uid="quiz.beat_init")
def _start_beat_monitoring(sender: Any = None, **_: Any) -> None:
    quiz_logging.configure_logging("beat", _log_level[0])
    settings = _settings_of(sender)
    init_newrelic(settings)
    init_sentry(settings, "beat")


@signals.task_prerun.connect(weak=False, dispatch_uid="quiz.task_prerun")
def _bind_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None:
        return
    request_id = request_id_of(task.request)
    task.request.quiz_log_token = quiz_logging.bind(
        task_id=task_id, task_name=task.name, request_id=request_id
    )
    tag_event(task_id=task_id, task_name=task.name, request_id=request_id)


@signals.task_postrun.connect(weak=False, dispatch_uid="quiz.task_postrun")
def _unbind_task(task: Any = None, **_: Any) -> None:
    token = getattr(getattr(task, "request", None), "quiz_log_token", None)
    if token is None:
        return
    quiz_logging.reset(token)


@signals.before_task_publish.connect(weak=False, dispatch_uid="quiz.before_task_publish")
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = quiz_logging.current(REQUEST_ID_HEADER)
    if request_id and headers is not None and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id
