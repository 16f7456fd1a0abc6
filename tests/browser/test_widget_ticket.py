"""The ticket form as a customer meets it when nobody can take the chat: offered while no message for the
team is waiting, never twice, and never at the cost of the conversation on a phone-sized screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import host_page_show, screenshot_save
from tests.browser.widget import answer_wait, widget_ask, widget_open
from tests.catalogues import widget_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOG_HEIGHT_JS = "() => window.__supportbotWidget.shadowRoot.querySelector('.log').getBoundingClientRect().height"


def _closed_today() -> str:
    """Business hours on tomorrow's weekday only (the product runs in UTC): the team is away all of today."""
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%a").lower() + " 09:00-17:00"


def test_the_ticket_form_is_offered_once_and_leaves_the_conversation_room(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_BUSINESS_HOURS=_closed_today())
    customer, watch = browser_context_new(
        local_origins={product.url, host_page.origin}, viewport={"width": 390, "height": 560}
    )
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="offline right now").wait_for()
    form = customer.get_by_role("form", name="Leave a message for our team")
    form.wait_for()
    screenshot_save(customer, "widget-ticket-390")
    # The form shrinks (and scrolls) before the conversation does: a few lines of it stay in sight.
    assert customer.evaluate(LOG_HEIGHT_JS) >= 90, customer.evaluate(LOG_HEIGHT_JS)

    form.get_by_label("Your email").fill("pat@example.com")
    form.get_by_label("Your message for our team").fill("My base stopped working, please call back.")
    form.get_by_role("button", name="Send to the team").click()
    customer.locator(".event").filter(has_text="reply to pat@example.com").wait_for()
    form.wait_for(state="hidden")

    # Asked again while that message waits: told so, and no second form that could only be refused.
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="We already have your message").wait_for()
    customer.wait_for_timeout(300)
    assert form.is_hidden()
    assert watch.page_errors == []


# Where the log sits, and where its newest event and the newest answer sit, as the customer sees them.
LOG_VIEW_JS = """
() => {
  const shadow = window.__supportbotWidget.shadowRoot;
  const log = shadow.querySelector('.log').getBoundingClientRect();
  const seen = (node) => {
    const box = node.getBoundingClientRect();
    return {top: box.top, bottom: box.bottom};
  };
  const events = shadow.querySelectorAll('.log .event');
  const answers = shadow.querySelectorAll('.log .msg.assistant[data-seq]');
  return {
    log: {top: log.top, bottom: log.bottom, height: log.height},
    event: seen(events[events.length - 1]),
    answer: seen(answers[answers.length - 1]),
  };
}
"""


@pytest.mark.parametrize(
    "viewport",
    [
        pytest.param({"width": 1280, "height": 720}, id="desktop"),  # Chromium's default window
        pytest.param({"width": 375, "height": 667}, id="phone"),
    ],
)
def test_with_nobody_online_the_ticket_form_leaves_the_latest_messages_in_view(
    product_start, browser_context_new, viewport
):
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    page, watch = browser_context_new(local_origins={product.url}, viewport=viewport)
    page.goto(product.url + "/")
    widget_open(page)
    widget_ask(page, "how long is the trial?")
    answer_wait(page)
    page.get_by_role("button", name="Talk to a person").click()
    page.locator(".event").filter(has_text="Nobody from the team is online").wait_for()
    page.get_by_role("form", name="Leave a message for our team").wait_for()
    page.wait_for_timeout(200)  # the form's appearance has been laid out
    screenshot_save(page, f"widget-nobody-online-{viewport['width']}")

    view = page.evaluate(LOG_VIEW_JS)
    log = view["log"]
    # A usable history: several lines of it, not a sliver beside the form.
    assert log["height"] >= 200, view
    # The handoff message is wholly in sight, and the answer before it at least in part.
    assert log["top"] <= view["event"]["top"] and view["event"]["bottom"] <= log["bottom"] + 1, view
    assert view["answer"]["bottom"] > log["top"] and view["answer"]["top"] < log["bottom"], view
    assert watch.page_errors == []


NOBODY_ONLINE_HEADING = "Leave your email and a message; we'll reply by email."
OUT_OF_HOURS_HEADING = "Leave your email and a message; we'll reply when we open."


@pytest.mark.parametrize("language", ["fr", "de"])
def test_with_nobody_online_the_ticket_forms_heading_is_one_sentence_in_the_customers_language(
    product_start, browser_context_new, language
):
    words = widget_catalogue(language)
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url}, locale=language)
    page.goto(product.url + "/")
    widget_open(page)
    page.get_by_role("button", name=words["Talk to a person"]).click()
    form = page.get_by_role("form", name=words["Leave a message for our team"])
    form.wait_for(state="visible")

    heading = form.locator("p").inner_text()
    # The team is open but nobody is online: the reply comes by email, said once, and not run into the
    # out-of-hours line ("...par e-mail.Laissez votre e-mail...").
    assert heading.count(words[OUT_OF_HOURS_HEADING].split()[0]) == 1, heading
    assert words[OUT_OF_HOURS_HEADING] not in heading, heading
    assert heading == words[NOBODY_ONLINE_HEADING]
    assert watch.page_errors == []
