"""Participant tokens: signed, bound to quiz and participant, and they expire."""

import time

import pytest

from shared.errors import NotAuthenticated
from shared.tokens import issue_participant_token, read_participant_token


def test_a_token_names_its_quiz_and_participant():
    claims = read_participant_token("s3cret", issue_participant_token("s3cret", "ABC234", 7), 60)
    assert (claims.quiz_code, claims.participant_id) == ("ABC234", 7)


def test_a_token_signed_with_another_key_is_refused():
    token = issue_participant_token("other", "ABC234", 7)
    with pytest.raises(NotAuthenticated, match="not valid"):
        read_participant_token("s3cret", token, 60)


def test_a_tampered_token_is_refused():
    token = issue_participant_token("s3cret", "ABC234", 7)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(NotAuthenticated):
        read_participant_token("s3cret", forged, 60)


def test_an_old_token_has_expired(monkeypatch):
    token = issue_participant_token("s3cret", "ABC234", 7)
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(NotAuthenticated, match="expired"):
        read_participant_token("s3cret", token, 60)
