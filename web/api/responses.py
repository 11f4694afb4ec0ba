"""The error responses many operations share, documented once.

No operation declares a catch-all `default` response (web/extensions.py turns
flask-smorest's off): every status an operation can answer is listed with what it means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from web.api.schemas import ErrorSchema

SHARED = {
    400: "the body is not JSON (or not UTF-8)",
    401: "X-Host-Key missing",
    403: "X-Host-Key wrong",
    413: "the body is over 16 KiB, with or without a Content-Length",
    429: "too many requests from this player or client address; retry after Retry-After "
    "seconds (QUIZ_RATE_LIMITS in the README's configuration)",
    503: "PostgreSQL or Redis is unavailable; retry after Retry-After seconds",
}
# what an operation that reads a JSON body, or one that uses the databases, can answer
BODY = (400, 413)
BACKING = (503,)
# what an operation of the host's (X-Host-Key) can answer
HOST_KEY = (401, 403)
# what an operation with a rate limit can answer (web/rate_limits.py)
LIMITED = (429,)


def shared_errors(blp: Blueprint, *statuses: int) -> Callable[[Any], Any]:
    """Document `statuses` (from SHARED) on a view of `blp`."""

    def document(view: Any) -> Any:
        for status in statuses:
            view = blp.alt_response(status, schema=ErrorSchema, description=SHARED[status])(view)
        return view

    return document
