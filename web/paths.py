"""Path parameters: a join code in a URL is letters and digits, or the route does not match.

So a path such as `/quizzes/A%00B` is a 404 before any view runs: no byte PostgreSQL or
Redis would refuse (a NUL, for one) reaches a query from a path.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter

from shared.codes import CODE_PATTERN


class JoinCodeConverter(BaseConverter):
    """`<join_code:quiz_id>`: case-insensitive; views normalise it."""

    regex = CODE_PATTERN


def join_code_schema(converter: BaseConverter) -> dict[str, Any]:
    """The OpenAPI schema of a `join_code` path parameter."""
    return {"type": "string", "pattern": f"^{CODE_PATTERN}$", "description": "the join code"}


def init_app(app: Flask) -> None:
    """Before any blueprint that uses the converters is registered."""
    app.url_map.converters["join_code"] = JoinCodeConverter
