"""Handoff as the two people live it: a customer in the widget, an agent in the console, in two browsers."""

from __future__ import annotations

import pytest

from tests.browser.conftest import host_page_show, screenshot_save
from tests.browser.widget import answer_wait, widget_ask, widget_open

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENT_REPLY = "Hi, I'm Sam. I can move your delivery to Saturday morning, would that suit you?"


def _agent_sign_in(page, product_url: str) -> None:
    page.goto(product_url + "/console/")
    assert "/console/login/" in page.url  # staff only: the console sends strangers to sign in
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("supportbot-agent")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()


def test_handoff_agent_claims_replies_closes_and_the_customer_rates(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, customer_watch = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(
        local_origins={product.url}, viewport={"width": 1280, "height": 800}, accept_dialogs=True
    )

    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "how long is the trial?")
    answer_wait(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()

    _agent_sign_in(agent, product.url)
    card = agent.locator("#waiting li").filter(has_text="talk to a person")
    card.wait_for()
    card.click()
    summary = agent.get_by_label("Summary for the agent")
    agent.wait_for_function("() => /trial/i.test(document.getElementById('chat-summary').textContent)")
    assert "not available" not in (summary.text_content() or "")
    agent.locator("#chat-log .msg.customer").filter(has_text="how long is the trial?").wait_for()

    agent.get_by_role("button", name="Claim").click()
    customer.locator(".event").filter(has_text="Sam joined the chat").wait_for()
    reply_box = agent.get_by_label("Reply")
    agent.wait_for_function("() => !document.getElementById('reply-text').disabled")
    reply_box.fill(AGENT_REPLY)
    reply_box.press("Enter")
    customer.locator(".msg.agent").filter(has_text=AGENT_REPLY).wait_for()  # live, no reload
    agent.locator("#chat-log .msg.agent").filter(has_text=AGENT_REPLY).wait_for()
    screenshot_save(agent, "console-live-conversation")

    agent.get_by_role("button", name="Close chat").click()
    customer.locator(".event").filter(has_text="closed the chat").wait_for()
    # The agent's header follows the close at once: no stale "waiting" with a Claim button to press.
    agent.locator("#chat-meta").filter(has_text="closed").wait_for(timeout=5_000)
    assert agent.locator("#claim-btn").is_disabled() and agent.locator("#close-btn").is_disabled()
    rating = customer.get_by_role("group", name="How did we do?")
    rating.wait_for()
    customer.get_by_role("button", name="5 of 5 stars, very happy").click()
    customer.get_by_label("Comment (optional)").fill("Sam sorted it in a minute.")
    customer.get_by_role("button", name="Send rating").click()
    customer.locator(".event").filter(has_text="Thank you for your feedback").wait_for()
    rating.wait_for(state="hidden")
    assert customer.locator(".msg.assistant").count() == 1  # the bot stayed silent once a person took over

    # The chat is over: no box to write into a conversation nobody reads, but a new chat, which works.
    assert customer.get_by_label("Type your message").is_hidden()
    customer.get_by_role("button", name="Start a new chat").click()
    widget_ask(customer, "how long is the trial?")
    answer_wait(customer)
    assert customer.locator(".event").filter(has_text="closed the chat").count() == 0  # a fresh transcript
    assert customer_watch.page_errors == [] and agent_watch.page_errors == []
    assert customer_watch.console_errors == [] and agent_watch.console_errors == []


# Lets the test drop the console's socket and hold off its reconnection, as a network blip does.
SOCKET_BLIP_JS = """
(() => {
  const Native = window.WebSocket;
  window.__blip = { hold: false, sockets: [] };
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    if (window.__blip.hold) {
      setTimeout(() => socket.close(), 0);
    }
    window.__blip.sockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def test_a_reply_written_while_the_console_is_reconnecting_reaches_the_customer_once(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent.add_init_script(SOCKET_BLIP_JS)
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()
    _agent_sign_in(agent, product.url)
    agent.locator("#waiting li").filter(has_text="talk to a person").click()
    agent.get_by_role("button", name="Claim").click()
    customer.locator(".event").filter(has_text="Sam joined the chat").wait_for()
    agent.wait_for_function("() => !document.getElementById('reply-text').disabled")

    agent.evaluate("() => { window.__blip.hold = true; window.__blip.sockets.forEach((s) => s.close()); }")
    agent.get_by_role("status").filter(has_text="Reconnecting").wait_for()
    reply_box = agent.get_by_label("Reply")
    reply_box.fill("Your refund code is R-123.")
    reply_box.press("Enter")
    agent.wait_for_timeout(1500)  # a reconnection or two fail meanwhile
    agent.evaluate("() => { window.__blip.hold = false; }")
    agent.get_by_role("status").filter(has_text="Live").wait_for(timeout=20_000)

    customer.locator(".msg.agent").filter(has_text="R-123").wait_for()
    agent.locator("#chat-log .msg.agent").filter(has_text="R-123").wait_for()
    customer.wait_for_timeout(500)
    assert customer.locator(".msg.agent").filter(has_text="R-123").count() == 1
    assert agent_watch.page_errors == []


def test_the_console_fits_a_phone_wide_screen(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin])
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 375, "height": 800})
    _agent_sign_in(agent, product.url)
    agent.locator("#waiting li").filter(has_text="talk to a person").click()
    agent.locator("#chat-log .msg.customer").filter(has_text="talk to a person").wait_for()
    widths = agent.evaluate(
        """() => ({
          page: document.documentElement.scrollWidth,
          reply: document.getElementById('reply-text').getBoundingClientRect().width,
          log: document.getElementById('chat-log').getBoundingClientRect().toJSON(),
        })"""
    )
    screenshot_save(agent, "console-375")
    wide = agent.evaluate(
        "() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 376)"
        ".slice(0, 8).map((e) => e.tagName + '#' + e.id + '.' + e.className + ':' + e.getBoundingClientRect().right)"
    )
    assert widths["page"] <= 375, (widths, wide)  # nothing scrolls sideways
    assert widths["reply"] >= 250 and widths["log"]["width"] >= 300 and widths["log"]["x"] >= 0, widths
    assert agent_watch.page_errors == []


SUMMARY_SETTLED_JS = """
(selector) => {
  const line = document.querySelector(selector + ' .summary-line');
  return line !== null && !/^Summary: (none|pending|being written)$/.test(line.textContent);
}
"""


def test_the_cards_show_what_the_customer_wrote_last(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()
    _agent_sign_in(agent, product.url)
    agent.locator("#waiting li").filter(has_text="talk to a person").wait_for()
    # The summary's own doorbell has rung: what follows can only show through the customer's message.
    agent.wait_for_function(SUMMARY_SETTLED_JS, arg="#waiting li", timeout=60_000)

    widget_ask(customer, "While I wait: my order number is 4411")
    agent.locator("#waiting li").filter(has_text="order number is 4411").wait_for(timeout=10_000)

    agent.locator("#waiting li").first.click()
    agent.get_by_role("button", name="Claim").click()
    agent.locator("#mine li").first.wait_for()
    widget_ask(customer, "It was delivered to the wrong address")
    agent.locator("#mine li").filter(has_text="wrong address").wait_for(timeout=10_000)
    assert agent_watch.page_errors == []


OVERFLOWING_JS = """
() => [document.documentElement, document.querySelector('.side'), document.getElementById('chat-log'),
       ...document.querySelectorAll('.side .card')]
  .filter((node) => node.scrollWidth > node.clientWidth + 1)
  .map((node) => `${node.tagName}#${node.id}.${node.className}: ${node.scrollWidth} > ${node.clientWidth}`)
"""


def test_on_a_phone_a_tapped_card_opens_its_chat_in_view_and_long_words_wrap(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "a" * 200)  # one long word: a pasted code, a URL, a key held down
    answer_wait(customer)
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 390, "height": 844})
    _agent_sign_in(agent, product.url)

    agent.locator("#waiting li").filter(has_text="aaaa").click()
    # The chat sits below the lists on a phone: the tap brings it up, its header at the top of the screen.
    agent.wait_for_function("() => Math.abs(document.getElementById('chat').getBoundingClientRect().top) <= 2")
    agent.get_by_role("button", name="Claim").click()
    agent.locator("#mine li").filter(has_text="aaaa").wait_for()
    agent.locator("#chat-log .msg.customer").filter(has_text="aaaa").wait_for()
    screenshot_save(agent, "console-390-long-word", full_page=True)
    assert agent.evaluate(OVERFLOWING_JS) == []  # nothing wider than its box, nothing scrolls sideways
    assert agent_watch.page_errors == []
