"""The Flask API: `gunicorn "web:create_app()"`."""

from web.app import create_app

__all__ = ["create_app"]
