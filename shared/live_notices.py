"""Live notices: how the workers, the consumer and the API's writes tell every web process
that a quiz changed, over Redis pub/sub (one channel per quiz). A notice carries no data
of its own but what changed; each web process reads the board or the quiz once and fans
it out to its stream clients (web/live.py).
"""

from __future__ import annotations

import json
from typing import Any

import redis

from shared import redis_keys

BOARD_CHANGED = "board"
QUIZ_CHANGED = "quiz"
# a regrade or void: the board and the quiz changed, and `detail` says how
CORRECTION = "correction"


def publish(
    client: redis.Redis,
    quiz_code: str,
    kind: str = BOARD_CHANGED,
    detail: dict[str, Any] | None = None,
) -> None:
    """Tell the web processes that a quiz's board (or its questions) changed; they read it."""
    notice: dict[str, Any] = {"kind": kind}
    if detail is not None:
        notice["detail"] = detail
    client.publish(redis_keys.quiz_live_channel(quiz_code), json.dumps(notice))
