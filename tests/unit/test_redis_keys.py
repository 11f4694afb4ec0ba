"""Redis keys: a quiz's keys share one Cluster slot; other keys stand alone."""

from __future__ import annotations

from redis.crc import key_slot

from shared import redis_keys


def keys_of(code: str) -> list[str]:
    return [
        redis_keys.quiz_state(code),
        redis_keys.leaderboard(code),
        redis_keys.leaderboard_names(code),
        redis_keys.leaderboard_version(code),
        redis_keys.leaderboard_staging(code, "token1"),
        redis_keys.leaderboard_names_staging(code, "token1"),
        redis_keys.leaderboard_rebuild_lock(code),
        redis_keys.quiz_live_channel(code),
    ]


def test_every_key_of_a_quiz_hashes_to_one_slot():
    for code in ("K7QX2M", "ABC234", "ZZZZZZ"):
        keys = keys_of(code)
        assert len(set(keys)) == len(keys)
        assert {key_slot(k.encode()) for k in keys} == {key_slot(code.encode())}


def test_quizzes_spread_over_the_slots():
    slots = {key_slot(redis_keys.leaderboard(f"Q{n:05d}").encode()) for n in range(1000)}
    assert len(slots) > 900


def test_live_channels_name_their_quiz():
    channel = redis_keys.quiz_live_channel("K7QX2M")
    assert channel == "quiz:{K7QX2M}:live"
    assert redis_keys.quiz_code_of_live_channel(channel) == "K7QX2M"
    for other in ("quiz:K7QX2M:live", "quiz:{}:live", "quiz:{K7QX2M}:state", "other:{A}:live"):
        assert redis_keys.quiz_code_of_live_channel(other) is None
