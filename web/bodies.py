"""A request body without a Content-Length (`Transfer-Encoding: chunked`) under the same
limit as one with it.

Werkzeug stops reading such a body at MAX_CONTENT_LENGTH and hands the view what it got,
so a 2 MB chunked body was cut at 16 KiB and accepted. This middleware reads it first, at
most one byte past the limit, and hands the app that body with its Content-Length (one
past the limit when it is too long), which Werkzeug refuses with 413 exactly as it
refuses a declared Content-Length that is too large.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from flask import Flask


class ChunkedBodyLimit:
    def __init__(self, wsgi_app: Any, max_bytes: int) -> None:
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # only a server that terminates the input (gunicorn does) makes reading it safe
        if (
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
            and environ.get("wsgi.input_terminated")
            and not environ.get("CONTENT_LENGTH")
        ):
            body = _read_at_most(environ["wsgi.input"], self.max_bytes + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            # no longer chunked for the app: Werkzeug ignores a length beside "chunked"
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    left = limit
    while left > 0:
        part = stream.read(min(left, 64 * 1024))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def init_app(app: Flask) -> None:
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])  # type: ignore[method-assign]
