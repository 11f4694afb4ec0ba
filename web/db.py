"""Request-scoped database session and the process's shared connections."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from shared.resources import Resources


def resources() -> Resources:
    return current_app.extensions["quiz.resources"]


def get_session() -> Session:
    """One session per request, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = resources().session_factory()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask, resources: Resources) -> None:
    app.extensions["quiz.resources"] = resources
    app.teardown_appcontext(_close_session)
