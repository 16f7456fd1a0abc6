"""The admin as staff use it: a canned response edited there is what an agent's console offers next."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot_save
from tests.browser.widget import widget_ask, widget_open

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_TITLE = "Refund on its way"
NEW_TEXT = "Your refund left us today; your bank shows it within 3-5 working days."


def _admin_sign_in(page, product_url: str) -> None:
    page.goto(product_url + "/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("supportbot-admin")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Canned responses").wait_for()


def _agent_sign_in(page, product_url: str) -> None:
    page.goto(product_url + "/console/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("supportbot-agent")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()


def test_a_canned_response_edited_in_the_admin_is_offered_in_the_console(product_start, browser_context_new):
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    admin, admin_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    customer, _ = browser_context_new(local_origins={product.url})
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})

    _admin_sign_in(admin, product.url)
    for section in ("Tickets", "Agent profiles", "Summaries", "Attachments"):
        admin.get_by_role("link", name=section, exact=True).first.wait_for()
    admin.get_by_role("link", name="Canned responses").first.click()
    first = admin.locator("#result_list tbody tr th a").first
    old_title = first.text_content() or ""
    assert old_title
    first.click()
    admin.get_by_label("Title").fill(NEW_TITLE)
    admin.get_by_label("Text").fill(NEW_TEXT)
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.locator(".messagelist").filter(has_text="was changed successfully").wait_for()
    admin.locator("#result_list").filter(has_text=NEW_TITLE).wait_for()
    screenshot_save(admin, "admin-canned-responses")

    customer.goto(product.url + "/")
    widget_open(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()

    _agent_sign_in(agent, product.url)
    card = agent.locator("#waiting li").filter(has_text="talk to a person")
    card.wait_for()
    card.click()
    offered = agent.locator("#canned option").all_text_contents()
    assert NEW_TITLE in offered and old_title not in offered
    agent.get_by_label("Canned response").select_option(label=NEW_TITLE)
    assert agent.get_by_label("Reply").input_value() == NEW_TEXT

    assert admin_watch.page_errors == [] and agent_watch.page_errors == []
    assert agent_watch.console_errors == []
