"""Hostile model output shown to an agent in the console stays inert (the console side of the widget test).

The widget side is ``tests/browser/test_widget.py::
test_hostile_model_output_is_shown_as_text_and_nothing_executes_or_loads``; docs/reliability.md lists both.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import host_page_show, model_env
from tests.browser.test_widget import HOSTILE_ANSWER
from tests.browser.widget import answer_wait, widget_ask, widget_open

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_hostile_model_output_is_inert_in_the_agent_console(
    product_start, host_page, browser_context_new, model_server_start
):
    model = model_server_start(text=HOSTILE_ANSWER, chunks=12, interval_ms=5)
    product = product_start(allowed_origins=[host_page.origin], **model_env(model))
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "show me something")
    answer_wait(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()

    agent, watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent.goto(product.url + "/console/")
    agent.get_by_label("Username").fill("sam")
    agent.get_by_label("Password").fill("supportbot-agent")
    agent.get_by_role("button", name="Sign in").click()
    agent.get_by_role("status").filter(has_text="Live").wait_for()
    agent.locator("#waiting li").filter(has_text="talk to a person").click()
    shown = agent.locator("#chat-log .msg.assistant").first
    shown.wait_for()
    agent.wait_for_timeout(500)  # time any injected handler would need to fire

    log = agent.locator("#chat-log")
    assert "<script>alert('script tag')</script>" in (shown.text_content() or "")
    dangerous = log.locator("script, img, iframe, svg, object, embed").count()
    hrefs = [link.get_attribute("href") or "" for link in log.locator("a").all()]
    assert dangerous == 0
    assert not any(href.lower().startswith("javascript:") for href in hrefs), hrefs
    assert watch.dialogs == [] and watch.page_errors == []
    assert watch.foreign_requests(allowed_origins={product.url}) == []
