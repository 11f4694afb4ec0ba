"""Settings of the operations side: parsing, Flower's login rules, the broker that wins."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from shared.celery import make_celery
from shared.config import Environment, Settings, SettingsError
from worker.flower import DEV_BASIC_AUTH, basic_auth, flower_command, flower_environment

ROOT = Path(__file__).resolve().parents[2]


def test_operations_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "QUIZ_LOG_LEVEL": "debug",
            "FLOWER_PORT": "5601",
            "SENTRY_DSN": "https://key@example.invalid/1",
            "SENTRY_TRACES_SAMPLE_RATE": "0.25",
            "SOURCE_COMMIT": "abc1234",
            "NEW_RELIC_LICENSE_KEY": "k" * 40,
            "QUIZ_READY_TIMEOUT_S": "0.5",
        }
    )
    assert settings.log_level == "DEBUG"
    assert settings.flower_port == 5601
    assert settings.sentry_traces_sample_rate == 0.25
    assert (settings.source_commit, settings.ready_timeout_s) == ("abc1234", 0.5)
    # secrets stay out of the settings' repr (and so out of any log of it)
    assert "k" * 40 not in repr(settings) and "example.invalid" not in repr(settings)
    with pytest.raises(SettingsError, match="SENTRY_TRACES_SAMPLE_RATE"):
        Settings.from_env({"SENTRY_TRACES_SAMPLE_RATE": "2"})
    with pytest.raises(SettingsError, match="QUIZ_LOG_LEVEL"):
        Settings.from_env({"QUIZ_LOG_LEVEL": "chatty"})


def test_every_variable_the_settings_read_is_documented_in_env_example():
    source = (ROOT / "shared" / "config.py").read_text()
    read = set(re.findall(r'environ(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert len(read) > 20
    assert sorted(read - documented) == []


@pytest.mark.parametrize("env", [Environment.TESTING, Environment.PRODUCTION])
def test_flower_needs_a_login_outside_development(env):
    with pytest.raises(SettingsError, match="FLOWER_BASIC_AUTH must be set"):
        basic_auth(Settings(env=env))


def test_flower_in_development_falls_back_to_the_documented_login():
    assert basic_auth(Settings(env=Environment.DEVELOPMENT)) == DEV_BASIC_AUTH


@pytest.mark.parametrize("value", ["nopassword", "a:b,broken", "user: spaced", ":pw"])
def test_a_malformed_flower_login_is_refused(value):
    with pytest.raises(SettingsError, match="user:password"):
        basic_auth(Settings(env=Environment.PRODUCTION, flower_basic_auth=value))


def test_flower_gets_its_login_in_the_environment_not_the_command_line():
    settings = Settings(
        env=Environment.PRODUCTION, flower_basic_auth="ops:s3cret", flower_port=5601
    )
    env = flower_environment(settings, {"PATH": "/bin"})
    assert env["FLOWER_BASIC_AUTH"] == "ops:s3cret"
    assert flower_command(settings)[1:] == [
        "-m",
        "celery",
        "-A",
        "worker",
        "flower",
        "--port=5601",
        "--address=127.0.0.1",
    ]


def test_the_settings_broker_wins_over_a_celery_broker_url_variable(monkeypatch):
    # Celery reads CELERY_BROKER_URL on its own; `make test` exports one for the servers
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    settings = replace(Settings(), celery_broker_url="redis://127.0.0.1:6379/12")
    app = make_celery(settings)
    try:
        assert app.connection_for_write().as_uri().endswith("/12")
        assert app.connection_for_read().as_uri().endswith("/12")
    finally:
        app.close()
