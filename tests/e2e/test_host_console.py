"""One whole game run from the host's console, with two players on /play and the board.

Screenshots of the host, board and player pages at the reveal and the podium are kept in
.run/e2e-screenshots/ (a test artefact; .run/ is not part of the repository).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.helpers import TEST_HOST_KEY, quiz_body
from tests.live_stack import ROOT

SCREENSHOTS = ROOT / ".run" / "e2e-screenshots"
WAIT_MS = 20000


def join(browser, base: str, code: str, name: str):
    page = browser.new_context(viewport={"width": 375, "height": 667}).new_page()
    page.goto(f"{base}/play?code={code}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Waiting for the next question…")).to_be_visible(
        timeout=WAIT_MS
    )
    return page


def snap(pages: dict, moment: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{moment}-{name}.png"))


def test_a_whole_game_from_the_host_console(stack, browser):
    host = browser.new_page(viewport={"width": 1280, "height": 800})
    host.goto(f"{stack}/host")
    host.get_by_label("Host key").fill(TEST_HOST_KEY)
    host.get_by_role("button", name="Continue").click()
    host.get_by_text("Or paste a quiz as JSON").click()
    host.get_by_label("Quiz JSON").fill(json.dumps(quiz_body(questions=3)))
    host.get_by_role("button", name="Create the quiz").click()
    expect(host).to_have_url(re.compile(r"/host/[A-Z0-9]{6}$"), timeout=WAIT_MS)
    code = host.locator("#join-code").inner_text()
    assert "key" not in host.url.lower()

    board = browser.new_page(viewport={"width": 1280, "height": 720})
    board.goto(f"{stack}/quizzes/{code}/board")
    ann, bob = join(browser, stack, code, "Ann"), join(browser, stack, code, "Bob")
    expect(host.locator("#player-count")).to_have_text("2", timeout=WAIT_MS)
    expect(host.locator("#players")).to_contain_text("Ann")

    host.get_by_role("button", name="Start the game").click()
    for number in (1, 2, 3):
        expect(host.locator("#question-title")).to_have_text(
            f"Question {number} of 3", timeout=WAIT_MS
        )
        expect(host.locator("#countdown")).to_have_text(re.compile(r"\d+ s left"))
        # Ann answers right, Bob wrong
        ann.get_by_role("button", name="right", exact=True).click()
        bob.get_by_role("button", name="wrong", exact=True).click()
        expect(host.locator("#answered")).to_have_text("2 of 2 answered", timeout=WAIT_MS)
        if number == 2:
            # a player who reloads mid-game keeps her token, her score and the game
            score = ann.locator("#my-score").inner_text()
            ann.reload()
            expect(ann.locator("#my-score")).to_have_text(score, timeout=WAIT_MS)
            expect(ann.locator("#player-name")).to_have_text("Ann")
        host.get_by_role("button", name="Close the question").click()
        expect(host.locator("#reveal-title")).to_have_text(
            f"Question {number} of 3: the answers", timeout=WAIT_MS
        )
        expect(host.locator("#reveal-summary")).to_contain_text(
            "1 of 2 answers right (50%)", timeout=WAIT_MS
        )
        expect(host.locator("#distribution .correct")).to_contain_text("right: 1")
        expect(host.locator("#game-error")).to_have_text("")
        if number == 1:
            snap({"host": host, "board": board, "player": ann}, "reveal")
        host.get_by_role("button", name=re.compile("Next question|Show the podium")).click()

    expect(host.locator("#podium-list li").first).to_contain_text("1. Ann", timeout=WAIT_MS)
    expect(host.locator("#podium-list li").nth(1)).to_contain_text("2. Bob")
    expect(ann.get_by_role("heading", name=re.compile("finished"))).to_be_visible(timeout=WAIT_MS)
    expect(host.locator("#game-error")).to_have_text("")
    snap({"host": host, "board": board, "player": ann}, "podium")
    assert (SCREENSHOTS / "podium-host.png").stat().st_size > 0
