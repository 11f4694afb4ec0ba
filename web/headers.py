"""Headers every response carries, and the content security policy of the live pages.

The live pages load their scripts, styles and stream from this origin only and are never
framed (no clickjacking of /play). Every response says its Content-Type is meant
(`nosniff`), so a JSON body is never run as a script or a page.
"""

from __future__ import annotations

from flask import Flask, Response

# scripts and styles are files under /static (no inline code), the stream is same-origin
LIVE_PAGES_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _common(response: Response) -> Response:
    # no view sets these: set, not setdefault, whose test for a header absent raises and
    # catches an exception inside werkzeug on every response
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def live_page(response: Response) -> Response:
    """For the blueprint of the live pages (web/pages.py)."""
    response.headers["Content-Security-Policy"] = LIVE_PAGES_POLICY
    # for browsers that predate frame-ancestors
    response.headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_common)
