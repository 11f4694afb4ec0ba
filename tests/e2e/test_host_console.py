"""One whole game run from the host's console, with two players on /play and the board.

Screenshots of the host, board and player pages at the reveal and the podium are kept in
.run/e2e-screenshots/ (a test artefact; .run/ is not part of the repository).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import call
from tests.helpers import TEST_HOST_KEY, quiz_body
from tests.live_stack import ROOT

SCREENSHOTS = ROOT / ".run" / "e2e-screenshots"
WAIT_MS = 20000


def join(browser, base: str, code: str, name: str):
    page = browser.new_context(viewport={"width": 375, "height": 667}).new_page()
    page.goto(f"{base}/play?code={code}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(
        page.get_by_role("heading", name=re.compile("Waiting for the game to start"))
    ).to_be_visible(timeout=WAIT_MS)
    return page


def snap(pages: dict, moment: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{moment}-{name}.png"))


def game() -> dict:
    """Three questions; the second is worth double, so whoever gets it right leads after it."""
    body = quiz_body(questions=3)
    body["questions"][1]["points"] = 2000
    return body


# who picks which choice in each question: Bob leads after the first, Ann after the others
PICKS = [
    {"Ann": "wrong", "Bob": "right"},
    {"Ann": "right", "Bob": "wrong"},
    {"Ann": "right", "Bob": "wrong"},
]


def test_a_whole_game_from_the_host_console(stack, browser):
    host = browser.new_page(viewport={"width": 1280, "height": 800})
    host.goto(f"{stack}/host")
    host.get_by_label("Host key").fill(TEST_HOST_KEY)
    host.get_by_role("button", name="Continue").click()
    host.get_by_text("Or paste a quiz as JSON").click()
    host.get_by_label("Quiz JSON").fill(json.dumps(game()))
    host.get_by_role("button", name="Create the quiz").click()
    expect(host).to_have_url(re.compile(r"/host/[A-Z0-9]{6}$"), timeout=WAIT_MS)
    code = host.locator("#join-code").inner_text()
    assert "key" not in host.url.lower()

    # the board's lobby: the join code, a QR code of the player page, the players arriving
    board = browser.new_page(viewport={"width": 1280, "height": 720})
    board.goto(f"{stack}/quizzes/{code}/board")
    expect(board.locator("#lobby")).to_be_visible(timeout=WAIT_MS)
    expect(board.locator("#join-qr svg")).to_be_visible()
    expect(board.locator("#play-url")).to_have_text(re.compile(rf"/play\?code={code}$"))
    ann, bob = join(browser, stack, code, "Ann"), join(browser, stack, code, "Bob")
    ann_id = json.loads(ann.evaluate("sessionStorage.getItem('quiz.player')"))["participant_id"]
    players = {"Ann": ann, "Bob": bob}
    expect(host.locator("#player-count")).to_have_text("2", timeout=WAIT_MS)
    expect(host.locator("#players")).to_contain_text("Ann")
    expect(board.locator("#lobby-count")).to_have_text("2", timeout=WAIT_MS)
    expect(board.locator("#lobby-players")).to_contain_text("Bob")
    snap({"host": host, "board": board, "player": ann}, "lobby")

    host.get_by_role("button", name="Start the game").click()
    scores = {}
    for number, picks in enumerate(PICKS, start=1):
        expect(host.locator("#question-title")).to_have_text(
            f"Question {number} of 3", timeout=WAIT_MS
        )
        expect(host.locator("#countdown")).to_have_text(re.compile(r"\d+ s left"))
        expect(board.locator("#question-heading")).to_have_text(
            f"Question {number} of 3", timeout=WAIT_MS
        )
        expect(board.locator("#countdown")).to_have_text(re.compile(r"^\d+ s$"))
        assert 0 < float(board.locator("#countdown-bar").get_attribute("aria-valuenow")) <= 30
        for name, choice in picks.items():
            players[name].get_by_role("button", name=choice, exact=True).click()
            expect(players[name].locator("#answer-status")).to_have_text(
                re.compile("^Answer received"), timeout=WAIT_MS
            )
        expect(host.locator("#answered")).to_have_text("2 of 2 answered", timeout=WAIT_MS)
        expect(board.locator("#answers-received")).to_have_text("2 of 2 answered", timeout=WAIT_MS)
        if number == 1:
            snap({"host": host, "board": board, "player": bob}, "question")
        if number == 3:
            # a player who reloads mid-game keeps her token, her score and the game
            ann.reload()
            expect(ann.locator("#player-name")).to_have_text("Ann", timeout=WAIT_MS)
            expect(ann.locator("#my-score")).to_have_text(scores["Ann"], timeout=WAIT_MS)
            expect(ann.locator("#answer-status")).to_have_text(re.compile("^Answer received"))
        host.get_by_role("button", name="Close the question").click()
        expect(host.locator("#reveal-title")).to_have_text(
            f"Question {number} of 3: the answers", timeout=WAIT_MS
        )
        expect(host.locator("#reveal-summary")).to_contain_text(
            "1 of 2 answers right (50%)", timeout=WAIT_MS
        )
        expect(host.locator("#distribution .correct")).to_contain_text("right: 1")
        expect(host.locator("#game-error")).to_have_text("")
        # the board's reveal: the right choice and the distribution, then the standings
        expect(board.locator("#reveal-heading")).to_have_text(
            f"Question {number} of 3: the answers", timeout=WAIT_MS
        )
        expect(board.locator("#reveal-distribution .correct")).to_contain_text("✓ right: 1 (50%)")
        expect(board.locator("#reveal-distribution .bar").nth(1)).to_contain_text("wrong: 1")
        leader = "Bob" if number == 1 else "Ann"
        expect(board.locator("#standings li").first).to_contain_text(leader, timeout=WAIT_MS)
        # each phone: right or wrong, the points, the streak, the rank
        for name, choice in picks.items():
            status = players[name].locator("#answer-status")
            if choice == "right":
                expect(status).to_have_text(
                    re.compile(r"^Correct! \+\d+ points\."), timeout=WAIT_MS
                )
            else:
                expect(status).to_have_text("Not this time: 0 points.", timeout=WAIT_MS)
            place = "1st" if name == leader else "2nd"
            # closing the last question ends the quiz: then the final rank shows (below)
            if number < 3:
                expect(players[name].locator("#final-standing")).to_have_text(
                    f"You are {place} of 2.", timeout=WAIT_MS
                )
        # the totals of the board after this question, as the API serves them from PostgreSQL
        standings = call(
            "GET", f"{stack}/api/v1/quizzes/{code}/leaderboard?after_question={number}"
        )
        scores = {e["display_name"]: str(e["score"]) for e in standings["entries"]}
        for name, page in players.items():
            expect(page.locator("#my-score")).to_have_text(scores[name], timeout=WAIT_MS)
        expect(board.locator("#standings li").first.locator(".score")).to_have_text(scores[leader])
        if number == 2:
            # Ann moved up past Bob
            ann_row = board.locator("#standings li", has_text="Ann")
            expect(ann_row.locator(".movement")).to_have_text("▲ 1")
            expect(ann_row.locator(".movement")).to_have_attribute("aria-label", "up 1 place")
            expect(
                board.locator("#standings li", has_text="Bob").locator(".movement")
            ).to_have_text("▼ 1")
            snap({"host": host, "board": board, "player": ann}, "reveal")
        if number == 3:
            expect(ann.locator("#answer-status")).to_contain_text("Streak of 2 (+100 bonus).")
            expect(
                board.locator("#standings li", has_text="Ann").locator(".movement")
            ).to_have_text("=")
        host.get_by_role("button", name=re.compile("Next question|Show the podium")).click()

    expect(host.locator("#podium-list li").first).to_have_text(
        f"1. Ann: {scores['Ann']} (2 right)", timeout=WAIT_MS
    )
    expect(host.locator("#podium-list li").nth(1)).to_have_text(
        f"2. Bob: {scores['Bob']} (1 right)"
    )
    # the board's podium, and the final table with points and right answers
    expect(board.locator("#podium")).to_be_visible(timeout=WAIT_MS)
    expect(board.locator("#podium-steps .step-1")).to_contain_text("Ann", timeout=WAIT_MS)
    expect(board.locator("#podium-steps .step-2")).to_contain_text("Bob")
    final = board.locator("#final-table tbody tr")
    expect(final).to_have_count(2)
    expect(final.nth(0).locator("td")).to_have_text(["1", "Ann", scores["Ann"], "2"])
    expect(final.nth(1).locator("td")).to_have_text(["2", "Bob", scores["Bob"], "1"])
    expect(ann.get_by_role("heading", name=re.compile("finished"))).to_be_visible(timeout=WAIT_MS)
    expect(ann.locator("#final-standing")).to_have_text(
        f"You finished 1st of 2 with {scores['Ann']} points.", timeout=WAIT_MS
    )
    expect(bob.locator("#final-standing")).to_have_text(
        f"You finished 2nd of 2 with {scores['Bob']} points.", timeout=WAIT_MS
    )
    # the results export, downloaded from the console (the host key goes in a header)
    with host.expect_download() as downloaded:
        host.get_by_role("button", name="Download the results (CSV)").click()
    exported = Path(downloaded.value.path()).read_text()
    assert exported.startswith("row,participant_id,display_name")
    assert f"summary,{ann_id},Ann," in exported.replace("\r\n", "\n")
    expect(host.locator("#game-error")).to_have_text("")
    snap({"host": host, "board": board, "player": ann}, "podium")
    assert (SCREENSHOTS / "podium-board.png").stat().st_size > 0
