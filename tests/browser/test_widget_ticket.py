"""The ticket form as a customer meets it when nobody can take the chat: offered while no message for the
team is waiting, never twice, and never at the cost of the conversation on a phone-sized screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import host_page_show, screenshot_save
from tests.browser.widget import widget_open

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
