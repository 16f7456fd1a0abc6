"""Text the server cannot take: the widget never loops on it, in Chromium against the real server.

Half an emoji (a lone UTF-16 surrogate, which a broken IME or a cut-and-paste can leave in a text
box) once dropped the socket; the widget then re-sent the message after every reconnect. Browsers
that can repair text (``String.prototype.toWellFormed``) send it repaired; on one that cannot, the
server refuses it and the widget shows it as not sent, once, and never sends it again.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import host_page_show
from tests.browser.widget import answer_wait, widget_open

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Counts sockets the page opens and message frames it sends, before the widget's script runs.
SOCKET_COUNTER_JS = """
window.__sockets = 0;
window.__messageFrames = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) { window.__sockets += 1; return new NativeWebSocket(...args); };
window.WebSocket.prototype = NativeWebSocket.prototype;
const send = NativeWebSocket.prototype.send;
NativeWebSocket.prototype.send = function (data) {
  try { if (JSON.parse(data).type === "message") window.__messageFrames.push(data); } catch (e) {}
  return send.call(this, data);
};
"""
OLD_BROWSER_JS = "delete String.prototype.toWellFormed;"
BROKEN_EMOJI_JS = "node => { node.value = 'I love it \\uD83D'; }"  # the surrogate pair's first half only


def type_broken_emoji(page) -> None:
    box = page.get_by_role("textbox", name="Type your message")
    box.evaluate(BROKEN_EMOJI_JS)
    box.press("Enter")


def test_an_old_browser_sees_the_broken_emoji_refused_once_and_never_resent(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin])
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.add_init_script(SOCKET_COUNTER_JS + OLD_BROWSER_JS)
    page.goto(host_page_show(host_page, product))
    widget_open(page)

    type_broken_emoji(page)
    refused = page.locator(".msg.customer.unsent")
    refused.wait_for()
    assert "I love it" in (refused.locator(".body").text_content() or "")
    # The server's code, worded by the widget (its English here; other languages in test_widget_i18n.py).
    assert "cannot be sent" in (refused.locator(".notice").text_content() or "")
    page.wait_for_timeout(3000)  # long enough for a reconnect loop to show itself
    assert page.evaluate("() => window.__sockets") == 1  # no reconnect
    assert len(page.evaluate("() => window.__messageFrames")) == 1  # sent once, refused once
    assert page.locator(".msg.customer[data-seq]").count() == 0  # nothing stored
    assert page.locator(".msg.customer.unsent").count() == 1

    # The chat carries on: the next message is stored and answered.
    box = page.get_by_role("textbox", name="Type your message")
    box.fill("how long is the trial?")
    box.press("Enter")
    assert "100-night" in (answer_wait(page).text_content() or "")
    assert page.evaluate("() => window.__sockets") == 1
    assert watch.page_errors == []


def test_a_browser_that_repairs_text_sends_the_broken_emoji_repaired(product_start, host_page, browser_context_new):
    product = product_start(allowed_origins=[host_page.origin])
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.add_init_script(SOCKET_COUNTER_JS)
    page.goto(host_page_show(host_page, product))
    widget_open(page)

    type_broken_emoji(page)
    stored = page.locator(".msg.customer[data-seq]")
    stored.wait_for()
    assert (stored.locator(".body").text_content() or "") == "I love it \ufffd"
    answer_wait(page)
    assert page.evaluate("() => window.__sockets") == 1
    assert page.locator(".msg.customer.unsent").count() == 0
    assert watch.page_errors == []
