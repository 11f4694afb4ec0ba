"""create_app: settings, connections, Celery, the API and its error handling."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask

from shared.celery import make_celery
from shared.config import Settings
from shared.resources import Resources
from web import (
    api_docs,
    bodies,
    cli,
    db,
    dispatch,
    errors,
    green,
    headers,
    live,
    observability,
    pages,
    paths,
    rate_limits,
)
from web.api import register_blueprints
from web.boards import BoardRenderer, SharedReads
from web.extensions import api
from web.intake import Intake

MAX_BODY_BYTES = 16 * 1024


class QuizFlask(Flask):
    """Flask that remembers which of its functions are coroutine functions.

    flask-smorest's decorators each ask ensure_sync of the function they wrap on every
    call: fourteen inspect.iscoroutinefunction tests for one leaderboard read, the same
    answer each time. Flask documents ensure_sync as the method to override; functions
    are remembered weakly, a bound method by the function it binds.
    """

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._plain: weakref.WeakKeyDictionary[Callable[..., Any], bool] = (
            weakref.WeakKeyDictionary()
        )

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        key = getattr(func, "__func__", func)
        try:
            plain = self._plain[key]
        except KeyError:
            plain = self._plain[key] = not inspect.iscoroutinefunction(func)
        except TypeError:  # not weakly referable (a builtin): asked every time
            return super().ensure_sync(func)
        return func if plain else self.async_to_sync(func)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    observability.init_process(settings)  # logs, Sentry, New Relic: before any view exists
    app = QuizFlask(__name__)
    observability.init_app(app)  # request ids, request log lines, /metrics
    # no SECRET_KEY: Flask's cookie session is unused (participant tokens are signed with
    # the settings' secret, shared/tokens.py), so no request opens a signed session
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Real-Time Quiz API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/quiz-api-doc",
        # Swagger UI's own files, from the swagger-ui-bundle package (web/api_docs.py)
        OPENAPI_SWAGGER_UI_URL=api_docs.ASSETS_URL,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "hostKey": {"type": "apiKey", "in": "header", "name": "X-Host-Key"},
                    "participantToken": {"type": "http", "scheme": "bearer"},
                }
            }
        },
    )
    bodies.init_app(app)  # a chunked body gets the same 413 as a declared one
    headers.init_app(app)  # nosniff everywhere; the live pages' policy is in web/pages.py
    resources = Resources(settings)
    db.init_app(app, resources)
    # under gunicorn's gevent worker: cooperative PostgreSQL, pools where callers wait
    green.init_app(app)
    # per player and per client address, in Redis (X-Forwarded-For only from trusted proxies)
    rate_limits.init_app(app, settings, resources)
    # the answers a process takes at once: one INSERT, their messages sent together
    app.extensions["quiz.intake"] = Intake(resources, dispatch.enqueue_accepted)
    # readers of a board share Redis calls and each version's rendering (web/boards.py)
    app.extensions["quiz.boards"] = BoardRenderer()
    app.extensions["quiz.board_reads"] = SharedReads(settings.redis_socket_timeout_s)
    live.init_app(app, resources, app.extensions["quiz.boards"])
    app.extensions["celery"] = make_celery(settings)
    paths.init_app(app)
    api.init_app(app)
    register_blueprints(api)
    errors.init_app(app)
    cli.init_app(app)
    # the live pages (/play, /quizzes/<code>/board)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api_docs.bp)
    return app
