"""The Flask subclass of the API: ensure_sync answered from memory, with Flask's answers."""

from __future__ import annotations

from flask import Flask

from web.app import QuizFlask


def test_plain_functions_and_methods_come_back_as_they_are_each_time():
    app = QuizFlask(__name__)

    def view() -> str:
        return "plain"

    class Resource:
        def get(self) -> str:
            return "method"

    for _ in range(2):  # the second answer comes from memory
        assert app.ensure_sync(view) is view
        method = Resource().get  # a new bound method at every request, as MethodView's
        assert app.ensure_sync(method) == method
    assert app.ensure_sync(len) is len  # not weakly referable: asked every time


def test_a_coroutine_function_is_still_given_to_flask_to_run():
    async def view() -> str:
        return "async"

    flask_answer = _outcome(Flask(__name__), view)
    for _ in range(2):
        assert _outcome(QuizFlask(__name__), view) == flask_answer


def _outcome(app: Flask, func):
    """What ensure_sync does with `func`: the error it raises (no asgiref), or whether it
    returned the function as it was."""
    try:
        return app.ensure_sync(func) is func
    except RuntimeError as exc:
        return str(exc)
