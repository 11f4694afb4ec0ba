"""QuizTask: the base of every task, giving it the process's database and Redis connections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from shared.celery import PUBLISH_CONFIRM_TIMEOUT_S
from shared.errors import TRANSIENT_ERRORS
from shared.resources import Resources

__all__ = ["TRANSIENT_ERRORS", "QuizTask", "resources_for", "utcnow"]


def resources_for(app: Celery) -> Resources:
    """One Resources per app and process, built from the settings make_celery stored."""
    resources = getattr(app, "quiz_resources", None)
    if resources is None:
        resources = Resources(app.conf.quiz_settings)
        app.quiz_resources = resources
    return resources


@worker_process_init.connect
def _forget_inherited_connections(**_: object) -> None:
    # a prefork child must not share the parent's sockets
    from celery import current_app

    resources = getattr(current_app, "quiz_resources", None)
    if resources is not None:
        resources.forget_connections()


def utcnow() -> datetime:
    return datetime.now(UTC)


class QuizTask(Task):
    abstract = True

    @property
    def resources(self) -> Resources:
        return resources_for(self.app)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        # with RabbitMQ each send waits for the broker's confirm: bound that wait
        options.setdefault("confirm_timeout", PUBLISH_CONFIRM_TIMEOUT_S)
        return super().apply_async(args, kwargs, **options)
