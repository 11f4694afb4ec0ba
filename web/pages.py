"""The live pages: the host's console, a big-screen board and a player page, plain HTML
and JavaScript.

No build step and nothing from a CDN: the scripts and styles are served from
web/static/live/ and use the public API and its stream like any other client.
"""

from __future__ import annotations

import segno
from flask import Blueprint, render_template, url_for

from shared.codes import normalize_code
from web import headers

# templates in web/templates; scripts and styles in web/static/live (the app's static folder)
bp = Blueprint("pages", __name__)
bp.after_request(headers.live_page)


def join_qr(play_url: str) -> str:
    """An inline SVG QR code of the player page's URL, drawn here: no image service."""
    qr = segno.make(play_url, error="m")
    return qr.svg_inline(scale=8, border=2, dark="#14213d", light="#ffffff", title="Join")


@bp.get("/quizzes/<join_code:code>/board")
def board(code: str) -> str:
    """The big screen: the lobby with a QR code to join, each question with its countdown,
    the reveal with the leaderboard's movements, and the podium; from the live stream."""
    quiz_code = normalize_code(code)
    play_url = url_for("pages.play", code=quiz_code, _external=True)
    return render_template(
        "board.html",
        quiz_code=quiz_code,
        play_url=play_url.split("://", 1)[-1],
        join_qr=join_qr(play_url),
    )


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
