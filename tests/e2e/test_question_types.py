"""A quiz of every question type made in the host console's editor and played on /play in a
phone-sized browser: each type's controls, its result on the phone, its reveal on the big
screen, and what was typed in the export.

Screenshots of each type's question and reveal are kept in .run/e2e-screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.test_host_console import SCREENSHOTS, WAIT_MS, join
from tests.helpers import TEST_HOST_KEY

# (type, text, what the editor gets)
QUESTIONS = [
    ("single", "The past of go?", {"choices": ["went", "goed"], "right": [0]}),
    ("true_false", "'Gone' is a past participle.", {"statement": "true"}),
    (
        "multi",
        "Which are irregular?",
        {"choices": ["sing", "walk", "bring", "think"], "right": [0, 2, 3], "partial": True},
    ),
    ("type_answer", "Type the past of 'bring'.", {"accepted": "brought", "max_typos": "1"}),
    ("order", "Base, past, participle of 'sing'", {"choices": ["sing", "sang", "sung"]}),
    ("poll", "Which was hardest?", {"choices": ["bring", "sing"]}),
]


def fill_editor(editor, kind: str, text: str, fields: dict) -> None:
    editor.locator('select[name="type"]').select_option(kind)
    editor.get_by_label("Text", exact=True).fill(text)
    choices = editor.locator('input[name="choice"]')
    for i, choice in enumerate(fields.get("choices", [])):
        choices.nth(i).fill(choice)
    if "right" in fields:
        rights = editor.locator('input[name="right"]')
        for i in range(4):
            rights.nth(i).set_checked(i in fields["right"])
    if fields.get("partial"):
        editor.get_by_label("Partial credit").check()
    if "statement" in fields:
        editor.locator('select[name="statement"]').select_option(fields["statement"])
    if "accepted" in fields:
        editor.get_by_label("Accepted answers").fill(fields["accepted"])
        editor.get_by_label("Typos allowed").fill(fields["max_typos"])


def test_every_question_type_from_the_console_to_the_phone_and_the_board(stack, browser):
    host = browser.new_page(viewport={"width": 1280, "height": 900})
    host.goto(f"{stack}/host")
    host.get_by_label("Host key").fill(TEST_HOST_KEY)
    host.get_by_role("button", name="Continue").click()
    host.get_by_label("Title").fill("Irregular verbs")
    for number, (kind, text, fields) in enumerate(QUESTIONS, start=1):
        if number > 1:
            host.get_by_role("button", name="Add a question").click()
        editor = host.locator(".question-editor").nth(number - 1)
        fill_editor(editor, kind, text, fields)
        # only the fields of the chosen type are shown
        expect(editor.get_by_label("Accepted answers")).to_be_visible(visible=kind == "type_answer")
    host.get_by_role("button", name="Create the quiz").click()
    expect(host).to_have_url(re.compile(r"/host/[A-Z0-9]{6}$"), timeout=WAIT_MS)
    code = host.locator("#join-code").inner_text()

    board = browser.new_page(viewport={"width": 1280, "height": 720})
    board.goto(f"{stack}/quizzes/{code}/board")
    expect(board.locator("#lobby")).to_be_visible(timeout=WAIT_MS)
    ann = join(browser, stack, code, "Ann")
    expect(host.locator("#player-count")).to_have_text("1", timeout=WAIT_MS)
    host.get_by_role("button", name="Start the game").click()

    def question_shown(number: int) -> None:
        expect(ann.locator("#question-heading")).to_contain_text(
            QUESTIONS[number - 1][1], timeout=WAIT_MS
        )

    def received() -> None:
        expect(ann.locator("#answer-status")).to_have_text(
            re.compile("^Answer received"), timeout=WAIT_MS
        )

    def reveal(number: int, screenshot: str) -> None:
        host.get_by_role("button", name="Close the question").click()
        expect(board.locator("#reveal-heading")).to_have_text(
            f"Question {number} of 6: the answers", timeout=WAIT_MS
        )
        expect(board.locator("#reveal-summary")).not_to_be_empty(timeout=WAIT_MS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, page in (("board", board), ("player", ann)):
            page.screenshot(path=str(Path(SCREENSHOTS) / f"type-{screenshot}-{name}.png"))

    def shot(moment: str) -> None:
        """The phone mid-question, its controls in use."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        ann.screenshot(path=str(Path(SCREENSHOTS) / f"type-{moment}-phone.png"))

    def go_on() -> None:
        host.get_by_role("button", name=re.compile("Next question|Show the podium")).click()

    # single: one tap
    question_shown(1)
    ann.get_by_role("button", name="went", exact=True).click()
    received()
    reveal(1, "single")
    expect(board.locator("#reveal-distribution .correct")).to_contain_text("✓ went: 1 (100")
    expect(ann.locator("#answer-status")).to_have_text(
        re.compile(r"^Correct! \+\d+ points\."), timeout=WAIT_MS
    )
    go_on()

    # true or false: the two fixed choices
    question_shown(2)
    expect(board.locator("#question-kind")).to_have_text("True or false?", timeout=WAIT_MS)
    ann.get_by_role("button", name="True", exact=True).click()
    received()
    reveal(2, "true-false")
    expect(ann.locator("#answer-status")).to_contain_text("Streak of 2", timeout=WAIT_MS)
    go_on()

    # pick several: ticks, then send; two of the three right ones, one wrong
    question_shown(3)
    send = ann.get_by_role("button", name="Send my answer")
    expect(send).to_be_disabled()
    for choice in ("sing", "bring", "walk"):
        ann.get_by_role("button", name=choice, exact=True).click()
    ann.get_by_role("button", name="bring", exact=True).click()  # untick
    expect(ann.get_by_role("button", name="bring", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    shot("multi")
    send.click()
    received()
    reveal(3, "multi")
    # one right pick minus one wrong: nothing, and the streak ends
    expect(ann.locator("#answer-status")).to_have_text("Not this time: 0 points.", timeout=WAIT_MS)
    expect(board.locator("#reveal-distribution .correct")).to_have_count(3)
    go_on()

    # type the answer: a typo within the one allowed, sent with the keyboard's Go (Enter)
    question_shown(4)
    field = ann.get_by_label("Your answer")
    expect(field).to_have_attribute("enterkeyhint", "go")
    field.fill("Brougt")
    shot("type-answer")
    field.press("Enter")
    received()
    reveal(4, "type-answer")
    expect(board.locator("#reveal-key")).to_have_text("Accepted: brought")
    expect(board.locator("#reveal-distribution .correct")).to_contain_text("✓ brougt: 1 (100")
    expect(ann.locator("#answer-status")).to_have_text(
        re.compile(r"^You typed “Brougt”\. Correct! \+\d+ points\."), timeout=WAIT_MS
    )
    go_on()

    # put in order: tap first to last (shown shuffled), start again once, then send
    question_shown(5)
    order_send = ann.get_by_role("button", name="Send this order")
    ann.get_by_role("button", name="sung", exact=False).click()
    ann.get_by_role("button", name="Start again").click()
    for item in ("sing", "sang", "sung"):
        ann.locator("#choices .choice", has_text=re.compile(rf"^{item}$")).click()
    expect(ann.locator(".chosen-order li")).to_have_text(["sing", "sang", "sung"])
    shot("order")
    order_send.click()
    received()
    reveal(5, "order")
    expect(board.locator("#reveal-key")).to_have_text("The right order: 1. sing  2. sang  3. sung")
    expect(ann.locator("#answer-status")).to_have_text(
        re.compile(r"^Correct! \+\d+ points\."), timeout=WAIT_MS
    )
    go_on()

    # a poll: no right answer, no points, the streak kept
    question_shown(6)
    expect(board.locator("#question-kind")).to_have_text("Poll: no wrong answer.", timeout=WAIT_MS)
    ann.get_by_role("button", name="bring", exact=True).click()
    received()
    reveal(6, "poll")
    expect(board.locator("#reveal-summary")).to_have_text("1 of 1 players voted.")
    expect(board.locator("#reveal-distribution .correct")).to_have_count(0)
    expect(board.locator("#reveal-distribution .bar").first).to_contain_text("bring: 1 (100")
    expect(ann.locator("#answer-status")).to_contain_text("Thanks for voting!", timeout=WAIT_MS)
    go_on()

    expect(host.locator("#podium-list li").first).to_contain_text("(4 right)", timeout=WAIT_MS)
    with host.expect_download() as downloaded:
        host.get_by_role("button", name="Download the results (CSV)").click()
    exported = Path(downloaded.value.path()).read_text()
    assert ",type_answer,,Brougt,brought,True," in exported
    assert "sing > sang > sung" in exported
