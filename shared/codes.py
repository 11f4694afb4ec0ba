"""Join codes: what a quiz is called outside (the API's `quiz_id`), read off a big screen
and typed on phones."""

from __future__ import annotations

import secrets

# no 0/O or 1/I: codes are read off a big screen and typed on phones
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
# what a join code may look like where one is read (a URL): letters and digits, any case
CODE_PATTERN = r"[A-Za-z0-9]{1,16}"


def normalize_code(quiz_code: str) -> str:
    """Join codes are case-insensitive; they are stored upper-case."""
    return quiz_code.strip().upper()


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
