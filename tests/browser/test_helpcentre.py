"""The public help centre in Chromium: searching it, browsing it by subject, asking on an article's page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot_save
from tests.browser.widget import FIRST_ANSWER_TIMEOUT_MS, widget_ask, widget_open, widget_ready_wait

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_searching_for_an_error_code_finds_the_error_codes_article_with_its_row(product_start, browser_context_new):
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(f"{product.url}/help/")

    assert page.get_by_role("heading", name="liftbase").is_visible()  # articles grouped by subject
    page.get_by_role("searchbox", name="Search the help centre").fill("E04")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/help/?q=E04")

    first = page.locator("ol.results li.result").first
    assert first.get_attribute("data-key") == "LIFTBASE_ERROR_CODES"
    link = first.get_by_role("link")
    assert link.text_content() == "LiftBase: error codes E01 to E08"
    passage = first.locator(".passage").text_content() or ""
    # The matching row, read as a line, and the steps it points to; not the article's opening.
    assert "E04 — Meaning: Position sensor lost" in passage and "hold FLAT" in passage
    assert "When something goes wrong" not in passage
    screenshot_save(page, "help-centre-search")

    link.click()
    page.wait_for_url(f"{product.url}/help/liftbase-error-codes/")
    assert page.get_by_role("heading", level=1).text_content() == "LiftBase: error codes E01 to E08"
    assert watch.page_errors == [] and watch.console_errors == []


def test_a_question_on_an_article_page_is_answered_with_that_article_as_context(product_start, browser_context_new):
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(f"{product.url}/help/liftbase-error-codes/")

    # Alone, "how long do I hold it?" means nothing; on this page it is about the recalibration.
    page.get_by_role("searchbox", name="Your question about LiftBase: error codes E01 to E08").fill(
        "how long do I hold it?"
    )
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer")
    answer.wait_for()
    assert answer.get_attribute("data-kind") == "answer"
    assert "10 seconds" in (answer.text_content() or "")

    page.get_by_role("button", name="Chat with us", exact=True).click()
    assert page.get_by_role("dialog", name="Chat with us").is_visible()  # the chat widget opens
    assert watch.page_errors == [] and watch.console_errors == []


def test_the_chat_opened_on_an_article_page_answers_a_follow_up_from_that_article(product_start, browser_context_new):
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="0")
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(f"{product.url}/help/liftbase-firmware-update/")

    page.get_by_role("button", name="Chat with us", exact=True).click()
    widget_ready_wait(page)
    # Alone, "how long does it take?" names nothing; asked from this page it is about the update.
    answer = _answer_after(page, "how long does it take?")
    assert "about 5 minutes" in answer
    cites = page.locator(".msg.assistant[data-seq]").last.locator(".cites a")
    assert cites.count() == 1 and cites.first.text_content() == "LiftBase: updating the firmware"
    screenshot_save(page, "help-centre-article-chat")
    assert watch.page_errors == [] and watch.console_errors == []


def _answer_after(page, text: str) -> str:
    """Ask in the widget and return the text of the answer stored for it (not an earlier one)."""
    answers = page.locator(".msg.assistant[data-seq]")
    before = answers.count()
    widget_ask(page, text)
    page.wait_for_function(
        "n => window.__supportbotWidget.shadowRoot.querySelectorAll('.msg.assistant[data-seq]').length > n",
        arg=before,
        timeout=FIRST_ANSWER_TIMEOUT_MS,
    )
    return answers.nth(before).locator(".body").text_content() or ""


def test_the_demo_shops_examples_get_the_answers_they_promise_in_the_widget(product_start, browser_context_new):
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="0")
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(f"{product.url}/")
    hint = page.locator(".hint").text_content() or ""
    assert "my LiftBase shows E04 and I already tried unplugging it" in hint
    widget_open(page)

    greeting = _answer_after(page, "hello there")
    assert greeting.startswith("Hello!") and "not sure" not in greeting
    e04 = _answer_after(page, "my LiftBase shows E04 and I already tried unplugging it")
    assert "E04 — Meaning: Position sensor lost" in e04 and "Press and hold FLAT on the remote for 10 seconds" in e04
    assert "Read more" not in e04  # the citation is shown once, as the link under the answer
    cites = page.locator(".msg.assistant[data-seq]").last.locator(".cites a")
    assert cites.count() == 1 and cites.first.text_content() == "LiftBase: error codes E01 to E08"
    off_topic = _answer_after(page, "what's the weather tomorrow?")
    assert "not sure" in off_topic and "E04" not in off_topic
    trial = _answer_after(page, "how long is the trial?")
    assert "100 nights" in trial
    screenshot_save(page, "widget-conversation")
    assert watch.page_errors == [] and watch.console_errors == []
