"""Flower, started as `make run` and compose start it, against the test's real broker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.processes import answers, basic, get
from tests.live_stack import ROOT, Process, environment, free_port
from worker.flower import DEV_BASIC_AUTH

LOGIN = "ops:correct-horse-42"


@pytest.fixture
def start_flower(tmp_path):
    started: list[Process] = []

    def start(env: dict[str, str]) -> str:
        port = free_port()
        env = dict(env, FLOWER_PORT=str(port))
        flower = Process("flower", [sys.executable, "-m", "worker.flower"], env, tmp_path)
        started.append(flower)
        url = f"http://127.0.0.1:{port}/healthcheck"
        flower.wait_until(lambda: answers(url), f"{url} to answer")
        return f"http://127.0.0.1:{port}"

    yield start
    for flower in started:
        flower.stop()


def test_flower_demands_its_basic_auth(settings, start_flower):
    url = start_flower(environment(settings, FLOWER_BASIC_AUTH=LOGIN))

    assert get(f"{url}/")[0] == 401
    assert get(f"{url}/", basic("ops:wrong"))[0] == 401
    assert get(f"{url}/api/workers")[0] == 401
    status, _, body = get(f"{url}/", basic(LOGIN))
    assert status == 200
    assert b"Flower" in body
    assert get(f"{url}/api/workers", basic(LOGIN))[0] == 200
    # the credentials never appear on a command line (ps shows those)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "correct-horse-42" not in ps


def test_flower_refuses_to_start_without_auth_outside_development(settings):
    done = subprocess.run(
        [sys.executable, "-m", "worker.flower"],
        cwd=ROOT,
        env=environment(settings, QUIZ_ENV="production", FLOWER_PORT=free_port()),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "FLOWER_BASIC_AUTH must be set" in done.stderr


def test_flower_in_development_uses_the_documented_login(settings, start_flower):
    url = start_flower(environment(settings, QUIZ_ENV="development"))
    assert get(f"{url}/")[0] == 401
    assert get(f"{url}/", basic(DEV_BASIC_AUTH))[0] == 200
