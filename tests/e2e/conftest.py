"""The running stack for browser tests: web (gunicorn gevent), worker and consumer.

They run as subprocesses on free ports against the test's own database and Redis DB;
the browser is Debian's chromium driven by Playwright (never `playwright install`).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from tests.live_stack import Process, free_port, start_consumer, start_web, start_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def stack(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Start web, worker and consumer; yield the web's base URL; stop them all."""
    started: list[Process] = []
    port = free_port()
    try:
        started.append(start_consumer(settings, tmp_path))
        started.append(start_worker(settings, tmp_path))
        started.append(start_web(settings, tmp_path, port))
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in reversed(started):
            process.stop()
        for process in started:
            print(f"--- {process.name} ---\n{process.tail()}")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian chromium; its absence fails the test, it never skips."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
            "(`apt-get install chromium`; `make test` installs it when run as root)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: install the dev extra (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """One JSON request to the stack; HTTP errors fail with the server's message."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method} {url}: {exc.code} {exc.read().decode()}") from None
