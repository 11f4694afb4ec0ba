"""`gunicorn web.wsgi:app`: a shim for servers that want a module-level app."""

from web import create_app

app = create_app()
