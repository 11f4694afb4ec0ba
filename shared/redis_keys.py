"""Every Redis key the project writes, in one place.

Every key of one quiz carries the quiz's join code as a hash tag (`quiz:{K7QX2M}:…`):
on a Redis Cluster they all live in one slot, so a quiz's board, names and version can
be read and written by one script, and quizzes spread over the cluster's nodes. Keys of
one task, answer or participant stand alone; nothing here assumes one Redis for all.
"""

from __future__ import annotations


def _quiz(quiz_code: str) -> str:
    return f"quiz:{{{quiz_code}}}"


def quiz_state(quiz_code: str) -> str:
    return f"{_quiz(quiz_code)}:state"


def task_status(task_id: str) -> str:
    return f"quiz:task:{task_id}"


def question_stats(question_id: int) -> str:
    """A closed question's statistics (JSON), computed once from PostgreSQL."""
    return f"quiz:question:{question_id}:stats"


def participant_score_lock(participant_id: int) -> str:
    return f"quiz:participant:{participant_id}:score-lock"


def answer_deliveries(answer_id: int) -> str:
    return f"quiz:answer:{answer_id}:deliveries"


# --- leaderboards (shared/leaderboard/) ---------------------------------------------------


def leaderboard(quiz_code: str) -> str:
    """Sorted set: member per participant (see ranking.member_of), score = total points."""
    return f"{_quiz(quiz_code)}:leaderboard"


def leaderboard_names(quiz_code: str) -> str:
    """Hash beside the board: board member -> display name, plus a field marking it built."""
    return f"{_quiz(quiz_code)}:leaderboard:names"


def leaderboard_version(quiz_code: str) -> str:
    """Counter bumped with every change of the board; the SSE event id."""
    return f"{_quiz(quiz_code)}:leaderboard:version"


def leaderboard_removed(quiz_code: str) -> str:
    """Set of the board members the host removed: updates on their way skip them."""
    return f"{_quiz(quiz_code)}:leaderboard:removed"


def leaderboard_epochs(quiz_code: str) -> str:
    """Hash: board member -> the score epoch of its total, once a correction happened."""
    return f"{_quiz(quiz_code)}:leaderboard:epochs"


def leaderboard_staging(quiz_code: str, token: str) -> str:
    """Where a rebuild writes the board before it swaps it in; `token` keeps rebuilds apart."""
    return f"{_quiz(quiz_code)}:leaderboard:rebuild:{token}"


def leaderboard_names_staging(quiz_code: str, token: str) -> str:
    """Where a rebuild writes the names before it swaps them in."""
    return f"{_quiz(quiz_code)}:leaderboard:rebuild:{token}:names"


def leaderboard_rebuild_lock(quiz_code: str) -> str:
    """Held while a missing board is rebuilt, so concurrent readers rebuild it once."""
    return f"{_quiz(quiz_code)}:leaderboard:rebuild-lock"


def standings_after(quiz_code: str, k: int) -> str:
    """The board as it stood once k questions had closed, kept once its answers are scored."""
    return f"{_quiz(quiz_code)}:standings:{k}"


def quiz_live_channel(quiz_code: str) -> str:
    """Pub/sub channel: notices that the quiz's board or question changed."""
    return f"{_quiz(quiz_code)}:live"


# every quiz's live channel, for one subscription per web process
QUIZ_LIVE_PATTERN = "quiz:*:live"


def quiz_code_of_live_channel(channel: str) -> str | None:
    """The join code a live channel belongs to (None: not a live channel)."""
    prefix, _, rest = channel.partition(":")
    tagged, _, suffix = rest.rpartition(":")
    if (
        prefix != "quiz"
        or suffix != "live"
        or not tagged.startswith("{")
        or not tagged.endswith("}")
    ):
        return None
    return tagged[1:-1] or None


def board_repairs() -> str:
    """How many board entries the reconciler repaired, ever (a Prometheus counter's value)."""
    return "quiz:metrics:board-repairs"
