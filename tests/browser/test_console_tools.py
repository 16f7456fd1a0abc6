"""The console's tools as agents and customers live them, in Chromium: a desktop notification when a chat
waits, typing indicators both ways, internal notes that never reach the widget (its socket is
inspected), and a transfer that moves the chat to the other agent's console."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import host_page_show, screenshot_save
from tests.browser.widget import answer_wait, widget_ask, widget_open

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Records every notification the page shows (and every permission request), then lets the browser's own
# Notification do the rest: the test sees what the console asked the Notification API for.
NOTIFICATION_RECORDER_JS = """
(() => {
  const Native = window.Notification;
  window.__notifications = [];
  window.__permissionRequests = 0;
  function Recorded(title, options) {
    window.__notifications.push({title: title, tag: (options || {}).tag || ''});
    return new Native(title, options);
  }
  Object.defineProperty(Recorded, 'permission', {get: () => Native.permission});
  Recorded.requestPermission = (callback) => {
    window.__permissionRequests += 1;
    return Native.requestPermission(callback);
  };
  window.Notification = Recorded;
})();
"""

# Every frame the widget's websocket receives, as the page got it.
SOCKET_RECORDER_JS = """
(() => {
  const Native = window.WebSocket;
  window.__widgetFrames = [];
  window.WebSocket = function (url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener('message', (event) => window.__widgetFrames.push(event.data));
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


def agent_sign_in(page, product_url: str, *, username: str = "sam", password: str = "supportbot-agent") -> None:
    page.goto(product_url + "/console/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()


def customer_asks_for_a_person(customer, host_page, product) -> None:
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "how long is the trial?")
    answer_wait(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()


def claim_first_waiting(agent, customer) -> None:
    agent.locator("#waiting li").first.click()
    agent.get_by_role("button", name="Claim").click()
    customer.locator(".event").filter(has_text="joined the chat").wait_for()
    agent.wait_for_function("() => !document.getElementById('reply-text').disabled")


def test_an_agent_gets_a_desktop_notification_when_a_chat_waits(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent.context.grant_permissions(["notifications"], origin=product.url)
    agent.add_init_script(NOTIFICATION_RECORDER_JS)
    agent_sign_in(agent, product.url)
    assert agent.evaluate("() => Notification.permission") == "granted"
    assert agent.evaluate("() => window.__notifications") == []  # nobody waits yet

    customer_asks_for_a_person(customer, host_page, product)
    agent.wait_for_function("() => window.__notifications.some((n) => n.title === 'A customer is waiting')")
    # Sam is the only agent online, so the chat is also assigned to him: told as well, once each.
    agent.wait_for_function("() => window.__notifications.some((n) => n.title === 'A chat was assigned to you.')")
    titles = [shown["title"] for shown in agent.evaluate("() => window.__notifications")]
    assert sorted(titles) == ["A chat was assigned to you.", "A customer is waiting"]
    assert agent_watch.page_errors == []


def test_notification_permission_is_asked_once(product_start, browser_context_new):
    product = product_start()
    agent, _ = browser_context_new(local_origins={product.url})
    agent.add_init_script(NOTIFICATION_RECORDER_JS)
    agent_sign_in(agent, product.url)
    assert agent.evaluate("() => Notification.permission") == "default"
    agent.get_by_role("button", name="Turn on desktop notifications").wait_for()
    assert agent.evaluate("() => window.__permissionRequests") == 0  # never asked unprompted on load
    agent.locator("h1").click()
    agent.wait_for_function("() => window.__permissionRequests === 1")  # the agent's first click
    agent.locator("h1").click()
    agent.reload()
    agent.get_by_role("status").filter(has_text="Live").wait_for()
    agent.locator("h1").click()
    # Not again on the next click, nor after a reload: the browser remembers it was asked.
    assert agent.evaluate("() => window.__permissionRequests") == 0


def test_the_customer_sees_sam_is_typing_and_sam_sees_the_customer(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, customer_watch = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    customer_asks_for_a_person(customer, host_page, product)
    agent_sign_in(agent, product.url)
    claim_first_waiting(agent, customer)

    agent.get_by_label("Reply").press_sequentially("Let me check", delay=40)
    typing = customer.locator(".composing")
    typing.filter(has_text="Sam is typing…").wait_for()
    screenshot_save(customer, "widget-agent-typing")
    agent.get_by_label("Reply").press("Enter")
    customer.locator(".msg.agent").filter(has_text="Let me check").wait_for()
    typing.wait_for(state="hidden")  # the reply replaces the indicator

    customer.get_by_role("textbox", name="Type your message").press_sequentially("It is order 4411", delay=40)
    agent.locator("#chat-composing").filter(has_text="The customer is typing…").wait_for()
    assert customer_watch.page_errors == [] and agent_watch.page_errors == []


def test_a_note_never_appears_in_the_widget(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    customer.add_init_script(SOCKET_RECORDER_JS)
    agent, agent_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    customer_asks_for_a_person(customer, host_page, product)
    agent_sign_in(agent, product.url)
    claim_first_waiting(agent, customer)

    note = "Internal: refund approved by Kim, do not promise more than 20%"
    agent.get_by_label("Internal note (only staff see it)").check()
    agent.get_by_label("Reply").fill(note)
    agent.get_by_label("Reply").press("Enter")
    agent.locator("#chat-log .msg.note").filter(has_text=note).wait_for()
    agent.get_by_label("Internal note (only staff see it)").uncheck()
    agent.get_by_label("Reply").fill("I've sorted the refund for you.")
    agent.get_by_label("Reply").press("Enter")
    customer.locator(".msg.agent").filter(has_text="sorted the refund").wait_for()
    screenshot_save(agent, "console-internal-note")

    def widget_received() -> str:
        return "\n".join(customer.evaluate("() => window.__widgetFrames"))

    frames = widget_received()
    assert "sorted the refund" in frames  # the recorder did see the socket's traffic
    assert "refund approved by Kim" not in frames and '"type": "note"' not in frames
    assert "refund approved by Kim" not in customer.evaluate("() => window.__supportbotWidget.shadowRoot.textContent")
    seqs = [json.loads(raw).get("seq") for raw in widget_received().splitlines() if '"seq"' in raw]
    shown = sorted({seq for seq in seqs if seq})
    assert shown == list(range(1, shown[-1] + 1))  # every seq, no gap for the note

    customer.reload()  # a fresh socket replays the conversation from seq 0 (the panel opens again by itself)
    customer.locator(".msg.agent").filter(has_text="sorted the refund").wait_for(state="attached")
    assert "refund approved by Kim" not in widget_received()
    assert agent_watch.page_errors == []


def test_a_transfer_moves_the_chat_to_the_other_agents_console(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    sam, sam_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    alex, alex_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent_sign_in(alex, product.url, username="admin", password="supportbot-admin")
    agent_sign_in(sam, product.url)
    customer_asks_for_a_person(customer, host_page, product)
    sam.locator("#waiting li").first.wait_for()
    claim_first_waiting(sam, customer)

    sam.get_by_label("Transfer to").select_option(label="Alex")
    sam.get_by_role("button", name="Transfer", exact=True).click()
    customer.locator(".event").filter(has_text="Sam transferred the chat to Alex.").wait_for()
    card = alex.locator("#mine li").filter(has_text="talk to a person")
    card.wait_for()
    sam.locator("#mine li").first.wait_for(state="detached")
    # The chat Sam still has open says whose it is now, without a reload (it is in none of his lists).
    sam.locator("#chat-meta").filter(has_text="with an agent → Alex").wait_for(timeout=5_000)
    assert sam.locator("#claim-btn").is_disabled() and sam.locator("#transfer-btn").is_disabled()
    card.click()
    alex.wait_for_function("() => !document.getElementById('reply-text').disabled")
    alex.get_by_label("Reply").fill("Hi, Alex here. I'll take it from here.")
    alex.get_by_label("Reply").press("Enter")
    customer.locator(".msg.agent").filter(has_text="Alex here").wait_for()
    assert sam.locator("#reply-text").is_disabled()  # no longer Sam's chat
    screenshot_save(alex, "console-after-transfer")
    assert sam_watch.page_errors == [] and alex_watch.page_errors == []


def test_a_chat_sent_back_to_the_queue_tells_the_customer_their_place_in_line(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, watch = browser_context_new(local_origins={product.url, host_page.origin})
    sam, _ = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent_sign_in(sam, product.url)
    customer_asks_for_a_person(customer, host_page, product)
    sam.locator("#waiting li").first.wait_for()
    claim_first_waiting(sam, customer)

    sam.get_by_label("Transfer to").select_option(label="Back to the queue")
    sam.get_by_role("button", name="Transfer", exact=True).click()
    customer.locator(".event").filter(has_text="passed the chat to the next person").wait_for()
    # The event carries the place in line: shown as the first handoff's was, not a bare "waiting".
    customer.locator(".state").filter(has_text="next in line").wait_for(timeout=10_000)
    assert watch.page_errors == []


def test_a_chat_offered_to_an_agent_who_stops_taking_chats_no_longer_names_them(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    sam, sam_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    alex, alex_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent_sign_in(alex, product.url, username="admin", password="supportbot-admin")
    alex.get_by_label("Taking chats").uncheck()  # Alex watches the queue but takes no chats
    agent_sign_in(sam, product.url)
    sam.wait_for_function("() => ![...document.querySelectorAll('#transfer-to option')].some(o => o.text === 'Alex')")
    customer_asks_for_a_person(customer, host_page, product)
    # Automatic assignment offers it to Sam, the one agent taking chats: every console says so.
    alex.locator("#waiting li").filter(has_text="→ Sam").wait_for()
    sam.locator("#waiting li.assigned-to-me").wait_for()

    sam.get_by_label("Taking chats").uncheck()
    # Sam is offline now and nobody else takes chats: it waits for whoever comes, and no card names Sam.
    alex.locator("#waiting li").filter(has_text="→ Sam").wait_for(state="detached", timeout=10_000)
    sam.locator("#waiting li.assigned-to-me").wait_for(state="detached", timeout=10_000)
    assert alex.locator("#waiting li").count() == 1 and "→" not in alex.locator("#waiting li").inner_text()
    assert sam_watch.page_errors == [] and alex_watch.page_errors == []


def _summary_shows(pattern: str) -> str:
    return f"() => /{pattern}/.test(document.getElementById('chat-summary').textContent)"


def test_a_chat_followed_by_another_agent_shows_its_newest_summary(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    customer, _ = browser_context_new(local_origins={product.url, host_page.origin})
    sam, sam_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    alex, alex_watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})
    agent_sign_in(alex, product.url, username="admin", password="supportbot-admin")
    alex.get_by_label("Taking chats").uncheck()
    agent_sign_in(sam, product.url)
    customer.goto(host_page_show(host_page, product))
    widget_open(customer)
    widget_ask(customer, "how long is the trial?")
    answer_wait(customer)
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()

    alex.locator("#waiting li").first.click()  # Alex follows the chat
    alex.wait_for_function(_summary_shows("trial"))
    sam.locator("#waiting li").first.wait_for()
    claim_first_waiting(sam, customer)
    widget_ask(customer, "Also, order 4411 went to the wrong address")
    sam.locator("#chat-log .msg.customer").filter(has_text="4411").wait_for()
    sam.get_by_role("button", name="Hand back to bot").click()
    customer.get_by_role("button", name="Talk to a person").wait_for(state="visible")  # back with the bot
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="connecting you with a person").nth(1).wait_for()
    sam.locator("#waiting li").first.click()
    sam.get_by_role("button", name="Claim").click()
    customer.locator(".event").filter(has_text="joined the chat").nth(1).wait_for()
    alex.locator("#waiting li").first.wait_for(state="detached")

    # Sam's chat is in none of Alex's lists: the summary Alex sees is still the newest one, with the order.
    alex.wait_for_function(_summary_shows("4411"), timeout=10_000)
    assert sam_watch.page_errors == [] and alex_watch.page_errors == []
