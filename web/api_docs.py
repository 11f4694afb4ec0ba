"""Swagger UI's files, served by the app from the `swagger-ui-bundle` package.

flask-smorest's Swagger UI page (/quiz-api-doc) loads them from OPENAPI_SWAGGER_UI_URL.
Served from here they are the pinned version the package ships: the page works offline
and loads nothing from a CDN.
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/quiz-api-doc/assets/"

bp = Blueprint("api_docs", __name__)


@bp.get(f"{ASSETS_URL}<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    """One of Swagger UI's files (404 for anything else)."""
    return send_from_directory(swagger_ui_path, filename, max_age=24 * 3600)
