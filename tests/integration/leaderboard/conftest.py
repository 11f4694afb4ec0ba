"""Fixtures starting the leaderboard consumer; every process is stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.config import Settings
from tests.live_stack import Process
from tests.live_stack import start_consumer as start_consumer_process


@pytest.fixture
def start_consumer(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """`start_consumer(broker_url=None, settings=None)`: a consumer on the test's database and
    Redis DB (or `settings`)."""
    started: list[Process] = []

    def start(broker_url: str | None = None, settings: Settings = settings) -> Process:
        used = replace(settings, celery_broker_url=broker_url) if broker_url else settings
        consumer = start_consumer_process(used, tmp_path)
        started.append(consumer)
        return consumer

    yield start
    for process in started:
        process.stop()
        print(f"--- {process.name} ---\n{process.tail()}")
