"""The live pages: the host's console, a big-screen board and a player page, plain HTML
and JavaScript.

No build step and nothing from a CDN: the scripts and styles are served from
web/static/live/ and use the public API and its stream like any other client.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from shared.quiz.quizzes import normalize_code
from web import headers

# templates in web/templates; scripts and styles in web/static/live (the app's static folder)
bp = Blueprint("pages", __name__)
bp.after_request(headers.live_page)


@bp.get("/quizzes/<join_code:code>/board")
def board(code: str) -> str:
    """The big-screen leaderboard of a quiz, animated from the live stream."""
    return render_template("board.html", quiz_code=normalize_code(code))


@bp.get("/play")
def play() -> str:
    """The player page: join by code and name, answer the open question, see score and rank."""
    return render_template("play.html")


@bp.get("/host")
@bp.get("/host/<join_code:code>")
def host(code: str | None = None) -> str:
    """The host's console: create a quiz, then run it (lobby, questions, reveal, podium).

    The host key never appears in the page or a URL: the host types it once per tab.
    """
    return render_template("host.html", quiz_code=normalize_code(code) if code else None)
