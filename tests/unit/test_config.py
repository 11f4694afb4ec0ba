"""Settings.from_env: one place for names, types and defaults."""

import os

import pytest

from shared.config import Environment, Settings, SettingsError


def test_defaults_point_at_local_postgres_and_redis(tmp_path):
    settings = Settings.from_env({"QUIZ_DEV_SECRETS_FILE": str(tmp_path / "s.json")})
    assert settings.env is Environment.DEVELOPMENT
    assert settings.database_url.startswith("postgresql+psycopg2://")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.port == 8000


def test_unset_development_secrets_are_random_and_kept_for_the_checkout(tmp_path):
    kept = tmp_path / ".run" / "dev-secrets.json"
    env = {"QUIZ_DEV_SECRETS_FILE": str(kept)}
    first, again = Settings.from_env(env, dotenv=False), Settings.from_env(env, dotenv=False)
    # every process of the checkout agrees, and only its owner can read them
    assert (first.host_key, first.secret_key) == (again.host_key, again.secret_key)
    assert len(first.host_key) >= 16 and len(first.secret_key) >= 40
    assert kept.stat().st_mode & 0o777 == 0o600
    assert first.uses_development_secrets
    # another checkout has others
    other = Settings.from_env({"QUIZ_DEV_SECRETS_FILE": str(tmp_path / "o.json")}, dotenv=False)
    assert (other.host_key, other.secret_key) != (first.host_key, first.secret_key)
    # a key that is set wins, and is not taken for a generated one
    chosen = Settings.from_env({**env, "QUIZ_HOST_KEY": "chosen"}, dotenv=False)
    assert chosen.host_key == "chosen" and chosen.secret_key == first.secret_key
    assert not chosen.uses_development_secrets


def test_where_no_secrets_file_can_be_written_a_process_makes_its_own(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the directory should be
    env = {"QUIZ_DEV_SECRETS_FILE": str(blocked / "dev-secrets.json")}
    with pytest.warns(UserWarning, match="cannot be kept"):
        settings = Settings.from_env(env, dotenv=False)
    assert len(settings.secret_key) >= 40


def test_broker_defaults_to_redis_url_and_can_be_rabbitmq():
    assert Settings.from_env({"REDIS_URL": "redis://r:6379/3"}).celery_broker_url == (
        "redis://r:6379/3"
    )
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    assert Settings.from_env({"CELERY_BROKER_URL": amqp}).celery_broker_url == amqp


def test_a_lost_task_message_is_sent_again_well_within_the_recovery_bound():
    # an answer whose message a fault lost (Redis restarted without its data, a worker main
    # process killed holding messages) is scored once beat sends it again: at most
    # requeue_after_s + requeue_interval_s after it was sent; make chaos allows 30 s for
    # the whole recovery, and a 30 s wait (the first default) alone took 31-37 s
    settings = Settings.from_env({}, dotenv=False)
    assert settings.requeue_after_s + settings.requeue_interval_s <= 15


def test_numbers_are_converted_and_bad_ones_named():
    assert Settings.from_env({"PORT": "9000", "QUIZ_REQUEUE_INTERVAL_S": "2.5"}).port == 9000
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})
    with pytest.raises(SettingsError, match="QUIZ_ENV"):
        Settings.from_env({"QUIZ_ENV": "staging"})


def test_production_refuses_to_start_without_its_secrets():
    with pytest.raises(SettingsError, match="QUIZ_HOST_KEY and SECRET_KEY"):
        Settings.from_env({"QUIZ_ENV": "production"})
    settings = Settings.from_env(
        {"QUIZ_ENV": "production", "QUIZ_HOST_KEY": "h", "SECRET_KEY": "s"}
    )
    assert (settings.host_key, settings.secret_key) == ("h", "s")


def test_dotenv_fills_gaps_but_the_real_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PORT=9100\nQUIZ_HOST_KEY=from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    # load_dotenv writes into os.environ: give it a copy that the test throws away
    monkeypatch.setattr(
        os, "environ", {k: v for k, v in os.environ.items() if k != "QUIZ_HOST_KEY"}
    )
    os.environ["PORT"] = "9200"
    settings = Settings.from_env()
    assert settings.port == 9200
    assert settings.host_key == "from-dotenv"


def test_scoring_batches_and_task_events_are_settings():
    defaults = Settings.from_env({})
    assert (defaults.scoring_batch_size, defaults.scoring_batch_wait_s) == (100, 0.05)
    assert defaults.task_events is False
    settings = Settings.from_env(
        {
            "QUIZ_SCORING_BATCH_SIZE": "25",
            "QUIZ_SCORING_BATCH_WAIT_S": "0.2",
            "QUIZ_TASK_EVENTS": "1",
        }
    )
    assert (settings.scoring_batch_size, settings.scoring_batch_wait_s) == (25, 0.2)
    assert settings.task_events is True
    assert Settings.from_env({"QUIZ_TASK_EVENTS": "off"}).task_events is False
    for name, bad in (
        ("QUIZ_SCORING_BATCH_SIZE", "0"),
        ("QUIZ_SCORING_BATCH_WAIT_S", "-1"),
        ("QUIZ_TASK_EVENTS", "maybe"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})


def test_the_metrics_login_is_user_and_password():
    login = Settings.from_env({"QUIZ_METRICS_BASIC_AUTH": "prom:s3cret"}, dotenv=False)
    assert login.metrics_basic_auth == "prom:s3cret"
    for bad in ("prom", "prom:", ":s3cret", "prom: s3cret"):
        with pytest.raises(SettingsError, match="QUIZ_METRICS_BASIC_AUTH"):
            Settings.from_env({"QUIZ_METRICS_BASIC_AUTH": bad}, dotenv=False)


def test_rate_limits_and_stream_caps_are_settings_with_one_switch():
    defaults = Settings.from_env({}, dotenv=False)
    assert defaults.rate_limits is True
    assert defaults.rate_limit_answers == "5/second"
    assert defaults.trusted_proxies == 0
    settings = Settings.from_env(
        {
            "QUIZ_RATE_LIMITS": "off",
            "QUIZ_RATE_LIMIT_JOINS": " 10/second;500 per minute ",
            "QUIZ_STREAMS_PER_ADDRESS": "50",
            "QUIZ_TRUSTED_PROXIES": "1",
        },
        dotenv=False,
    )
    assert settings.rate_limits is False
    assert settings.rate_limit_joins == "10/second;500 per minute"
    assert (settings.streams_per_address, settings.trusted_proxies) == (50, 1)
    for name, bad in (
        ("QUIZ_RATE_LIMIT_ANSWERS", "fast"),
        ("QUIZ_RATE_LIMIT_STREAMS", "10 per fortnight"),
        ("QUIZ_STREAMS_PER_PROCESS", "0"),
        ("QUIZ_TRUSTED_PROXIES", "-1"),
        ("QUIZ_RATE_LIMITS", "sometimes"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad}, dotenv=False)
