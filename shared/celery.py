"""The one Celery configuration, used by the worker, beat and the web app (to enqueue)."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from shared import task_names
from shared.config import Settings

# kombu re-delivers an unacked message after this long; every retry delay stays far below it
VISIBILITY_TIMEOUT_S = 3600
# retries of transient PostgreSQL/Redis errors: 1 s, 2 s, 4 s … capped well under the timeout
TASK_MAX_RETRIES = 8
TASK_RETRY_BACKOFF_MAX_S = 60
# RabbitMQ confirms every publish; one it has not confirmed by then fails instead of hanging
PUBLISH_CONFIRM_TIMEOUT_S = 2


def make_celery(settings: Settings) -> Celery:
    """Build the Celery app; `settings` rides along in conf for the tasks' resources."""
    app = Celery("quiz", set_as_current=True)
    socket_options = {
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
    }
    app.conf.update(
        broker_url=settings.celery_broker_url,
        # Celery takes a CELERY_BROKER_URL variable over broker_url, but not over these two:
        # the settings given (a test's) win over whatever the environment says
        broker_read_url=settings.celery_broker_url,
        broker_write_url=settings.celery_broker_url,
        # status lives in Redis and PostgreSQL (see shared/quiz/task_status.py), not in a backend
        task_ignore_result=True,
        result_backend=None,
        # one (disabled) backend for the app: Celery keeps one per thread otherwise, and
        # under gevent each greenlet is a thread, so every request would build one anew
        # (reading the installed packages' entry points) in apply_async
        result_backend_thread_safe=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_default_queue=task_names.SCORING_QUEUE,
        task_queues=[Queue(task_names.SCORING_QUEUE, routing_key=task_names.SCORING_QUEUE)],
        task_routes={"quiz.*": {"queue": task_names.SCORING_QUEUE}},
        # at-least-once delivery; the database makes the effect exactly once
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # answers are scored in batches (worker/tasks/scoring.py): each process keeps two
        # batches in hand, so one fills while the other is scored
        worker_prefetch_multiplier=2 * settings.scoring_batch_size,
        task_time_limit=60,
        task_soft_time_limit=45,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S, **socket_options},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        visibility_timeout=VISIBILITY_TIMEOUT_S,
        # a broker outage must become a quick error at the API, never a hung request
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        worker_hijack_root_logger=False,
        # task events for Flower's task pages (QUIZ_TASK_EVENTS); Flower lists workers and
        # queues without them
        worker_send_task_events=settings.task_events,
        beat_schedule={
            name: {
                "task": task,
                "schedule": every_s,
                # a run queued behind a backlog is dropped rather than piled up: the next comes
                "options": {"expires": every_s},
            }
            for name, task, every_s in (
                (
                    "requeue-stale-answers",
                    task_names.REQUEUE_STALE_ANSWERS,
                    settings.requeue_interval_s,
                ),
                ("relay-outbox", task_names.RELAY_OUTBOX, settings.outbox_relay_interval_s),
                ("forget-idempotency-keys", task_names.FORGET_IDEMPOTENCY_KEYS, 600.0),
                (
                    "close-timed-out-questions",
                    task_names.CLOSE_TIMED_OUT_QUESTIONS,
                    settings.question_timer_interval_s,
                ),
                ("reconcile-boards", task_names.RECONCILE_BOARDS, settings.reconcile_interval_s),
                ("delete-old-quizzes", task_names.DELETE_OLD_QUIZZES, 3600.0),
            )
        },
        quiz_settings=settings,
    )
    if settings.celery_broker_url.startswith("redis://"):
        # kombu's Redis transport with one client per channel and plain pipelines for its
        # ack bookkeeping (shared/redis_broker.py)
        app.conf.broker_transport = "shared.redis_broker:Transport"
    if settings.celery_broker_url.startswith(("amqp://", "pyamqp://")):
        # RabbitMQ: durable queues and persistent messages survive a broker restart
        app.conf.task_default_delivery_mode = "persistent"
        # publisher confirms: a publish returns once the queue holds the message, and one the
        # broker refuses raises instead of vanishing (AMQP publishes are otherwise async)
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "confirm_publish": True,
        }
    app.set_default()
    return app
