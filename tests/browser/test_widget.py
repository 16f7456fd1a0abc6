"""The widget as customers meet it: on a shop's own page (another origin, a hostile theme), in Chromium."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.browser.conftest import WIDGET_TITLE, host_page_show, model_env, screenshot_save
from tests.browser.widget import (
    FIRST_ANSWER_TIMEOUT_MS,
    answer_body_text,
    answer_wait,
    stream_record,
    stream_states,
    widget_ask,
    widget_open,
)
from tests.catalogues import widget_catalogue

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Slow enough that the test (and a person) sees the answer arrive word by word.
STREAMING_ENV = {"SUPPORTBOT_OFFLINE_WORD_DELAY_MS": "40"}


def test_widget_on_a_hostile_shop_page_streams_word_by_word_and_links_the_article(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], **STREAMING_ENV)
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.goto(host_page_show(host_page, product))

    launcher = page.get_by_role("button", name=f"Open chat: {WIDGET_TITLE}")
    box = launcher.bounding_box()
    assert box is not None and 50 <= box["width"] <= 70 and 50 <= box["height"] <= 70, box
    widget_open(page)
    panel = page.get_by_role("dialog", name=WIDGET_TITLE)
    panel_box = panel.bounding_box()
    assert panel_box is not None and 300 <= panel_box["width"] <= 400 and panel_box["height"] >= 300, panel_box
    # The theme's 40px Comic Sans and magenta stop at the shadow root.
    font = page.locator(".log").evaluate("node => getComputedStyle(node).fontSize")
    assert font == "15px"

    stream_record(page)
    widget_ask(page, "how long is the trial?")
    answer = answer_wait(page)
    final = answer_body_text(page)
    states = stream_states(page)
    assert "100-night" in final
    intermediate = [state for state in states if state != final]
    assert len(intermediate) >= 5, states
    for shorter, longer in pairwise(intermediate):
        assert len(shorter) < len(longer) and longer.startswith(shorter), (shorter, longer)
    assert all(final.startswith(state.rstrip()) for state in intermediate), (intermediate, final)

    cited = answer.locator(".cites a").first
    assert cited.get_attribute("href") == f"{product.url}/help/100-night-trial/"
    with page.context.expect_page() as opened:
        cited.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url == f"{product.url}/help/100-night-trial/"
    assert "100-night" in (article.locator("h1").text_content() or "")
    assert watch.page_errors == [] and watch.console_errors == []


FIRST_DRAFT = (
    "Your order ships within two working days from our warehouse in Leeds, and the courier texts you "
    "a one-hour delivery window the evening before it arrives at your door."
)
# A real model does not repeat itself word for word: the answer given after the restart differs.
SECOND_DRAFT = (
    "Orders leave our Leeds warehouse within two working days; the evening before delivery the "
    "courier sends you a text with a one-hour window, and you can rearrange it from that message."
)


@pytest.mark.parametrize(
    "crash",
    [
        pytest.param(False, id="sigterm"),
        # Killed outright with a shared Redis cache: the dead process's answer lease outlives it.
        pytest.param(True, id="sigkill-shared-redis", marks=pytest.mark.redis),
    ],
)
def test_server_restart_mid_answer_shows_reconnecting_then_the_full_answer_once(
    crash, product_start, host_page, browser_context_new, model_server_start, request
):
    model = model_server_start(text=FIRST_DRAFT, chunks=30, interval_ms=100)
    shared = {"REDIS_URL": request.getfixturevalue("redis_url")} if crash else {}
    product = product_start(allowed_origins=[host_page.origin], **model_env(model), **shared)
    page, _ = browser_context_new(local_origins={product.url, host_page.origin})
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    stream_record(page)
    widget_ask(page, "when will my order arrive?")
    page.wait_for_function("() => window.__streamStates.length >= 4", timeout=FIRST_ANSWER_TIMEOUT_MS)

    product.stop(crash=crash)
    states_before_restart = len(stream_states(page))
    state_bar = page.get_by_role("status")
    state_bar.filter(has_text="Reconnecting").wait_for()
    assert page.locator(".msg.assistant[data-seq]").count() == 0  # it really was cut mid-answer
    model.text = SECOND_DRAFT
    product.start()

    answer_wait(page)
    state_bar.wait_for(state="hidden")
    assert answer_body_text(page) == SECOND_DRAFT
    assert page.locator(".msg.assistant").count() == 1
    assert page.locator(".msg.customer").count() == 1
    # After the restart the new answer streams from its start: never the cut draft with the new one spliced on.
    resumed = stream_states(page)[states_before_restart:]
    assert any(len(state) < len(SECOND_DRAFT) for state in resumed[:-1]), resumed
    assert all(SECOND_DRAFT.startswith(state) or FIRST_DRAFT.startswith(state) for state in resumed), resumed


HOSTILE_ANSWER = (
    "Here you go <script>alert('script tag')</script> and <img src=x onerror=\"alert('img onerror')\"> "
    "then [click me](javascript:alert('javascript link')) and <a href=\"javascript:alert('raw anchor')\">this</a> "
    'plus ![tracking pixel](http://tracker.invalid/pixel.png) and <iframe src="http://evil.invalid/"></iframe> '
    "<svg onload=\"alert('svg onload')\"></svg> done."
)


def test_hostile_model_output_is_shown_as_text_and_nothing_executes_or_loads(
    product_start, host_page, browser_context_new, model_server_start
):
    model = model_server_start(text=HOSTILE_ANSWER, chunks=12, interval_ms=10)
    product = product_start(allowed_origins=[host_page.origin], **model_env(model))
    local = {product.url, host_page.origin}
    page, watch = browser_context_new(local_origins=local)
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    widget_ask(page, "show me something")
    answer = answer_wait(page)
    page.wait_for_timeout(500)  # give any injected handler the time it would need to fire

    body = answer.locator(".body")
    assert "<script>alert('script tag')</script>" in (body.text_content() or "")
    assert body.locator("script, img, iframe, svg, object, embed").count() == 0
    hrefs = [link.get_attribute("href") or "" for link in body.locator("a").all()]
    # Links to pages that were not in the model's prompt leave the stored answer (the image's and the
    # iframe's); the javascript: links stay text.
    assert hrefs == [], hrefs
    assert "tracker.invalid" not in (body.text_content() or "") and "javascript:alert" in (body.text_content() or "")
    assert watch.dialogs == []
    assert watch.page_errors == [] and watch.console_errors == []
    assert watch.foreign_requests(allowed_origins=local) == []


PHISHING_ANSWER = (
    "For a refund, [claim it here](https://phish.invalid/claim) or go to https://phish.invalid/now "
    "and enter your card details, then wait for our email about the refund you asked us for today."
)
# Records, each time the streaming bubble (no seq yet) changes, its text, how many links it holds and its
# "Looking into this more deeply" line.
DRAFT_RECORDER_JS = """
() => {
  const log = window.__supportbotWidget.shadowRoot.querySelector('.log');
  window.__draftStates = [];
  new MutationObserver(() => {
    const drafts = log.querySelectorAll('.msg.assistant:not([data-seq])');
    if (!drafts.length) return;
    const draft = drafts[drafts.length - 1];
    const body = draft.querySelector('.body');
    window.__draftStates.push(
      {text: body.textContent, links: body.querySelectorAll('a').length, deep: draft.querySelector('.deep').textContent}
    );
  }).observe(log, {childList: true, subtree: true, characterData: true});
}
"""


def test_a_link_in_the_streaming_draft_is_never_clickable_and_the_stored_answer_drops_it(
    product_start, host_page, browser_context_new, model_server_start
):
    model = model_server_start(text=PHISHING_ANSWER, chunks=20, interval_ms=60)
    product = product_start(allowed_origins=[host_page.origin], **model_env(model))
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    page.evaluate(DRAFT_RECORDER_JS)
    widget_ask(page, "how do I get a refund?")
    answer = answer_wait(page)

    drafts = page.evaluate("() => window.__draftStates")
    assert any("phish.invalid" in state["text"] for state in drafts), drafts  # the draft really showed it
    assert all(state["links"] == 0 for state in drafts), drafts
    body = answer.locator(".body")
    assert "phish.invalid" not in (body.text_content() or "") and body.locator("a").count() == 0
    assert watch.foreign_requests(allowed_origins={product.url, host_page.origin}) == []


FOCUSED_IN_WIDGET_JS = """
() => {
  const shadow = window.__supportbotWidget.shadowRoot;
  const inWidget = document.activeElement && document.activeElement.tagName === 'SUPPORTBOT-WIDGET';
  const node = inWidget ? shadow.activeElement : null;
  return node ? (node.getAttribute('aria-label') || node.getAttribute('role') || node.textContent) : null;
}
"""


def _focused(page) -> str | None:
    return page.evaluate(FOCUSED_IN_WIDGET_JS)


def _tab_until(page, label: str, *, key: str = "Tab", presses: int = 12) -> None:
    for _ in range(presses):
        page.keyboard.press(key)
        if _focused(page) == label:
            return
    raise AssertionError(f"{key} never reached {label!r}; focus ended on {_focused(page)!r}")


def test_keyboard_only_customer_opens_asks_and_reads_an_announced_answer(product_start, browser_context_new):
    product = product_start(**STREAMING_ENV)
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(product.url + "/")  # the demo shop, with the widget's one script tag
    page.wait_for_function("() => window.__supportbotWidget !== undefined")

    _tab_until(page, "Open chat: Lullmoor Sleep Co. support")
    page.keyboard.press("Enter")
    assert _focused(page) == "Type your message"
    log = page.get_by_role("log", name="Conversation")
    assert log.get_attribute("aria-live") == "polite"
    page.get_by_role("status").wait_for(state="hidden")
    page.keyboard.type("how long is the trial?")
    page.keyboard.press("Enter")

    streaming = log.locator(".msg.assistant[aria-busy=true] .body")
    page.wait_for_function(
        "() => { const b = window.__supportbotWidget.shadowRoot.querySelector('.msg.assistant[aria-busy=true] .body');"
        " return b !== null && b.textContent.split(' ').length >= 8; }"
    )
    mid_stream = streaming.text_content() or ""
    assert not log.locator(".msg.assistant[aria-busy=true] .typing").is_visible()  # text replaced the dots
    screenshot_save(page, "widget-mid-stream")
    answer = answer_wait(page)
    final = answer_body_text(page)
    assert final.startswith(mid_stream.rstrip()) and len(final) > len(mid_stream)
    # The stored answer replaces the busy draft inside the live region: announced once, complete.
    assert answer.get_attribute("aria-busy") is None
    assert log.locator(".msg.assistant").count() == 1
    assert _focused(page) == "Type your message"  # the customer can keep typing

    _tab_until(page, "Conversation", key="Shift+Tab")  # the log itself takes focus, to scroll and read
    page.keyboard.press("Escape")
    assert _focused(page) == "Open chat: Lullmoor Sleep Co. support"
    assert page.get_by_role("dialog").count() == 0 or not page.get_by_role("dialog").is_visible()
    assert watch.page_errors == [] and watch.console_errors == []


# Holds the widget's hello back for a moment, so the page is open but the socket not yet ready.
SLOW_HELLO_JS = """
(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === 'string' && data.includes('"hello"')) {
      setTimeout(() => send.call(this, data), 1500);
      return;
    }
    return send.call(this, data);
  };
})();
"""


def test_talk_to_a_person_pressed_before_the_socket_is_ready_is_sent_once_it_is(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin])
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.add_init_script(SLOW_HELLO_JS)
    page.goto(host_page_show(host_page, product))
    page.wait_for_function("() => window.__supportbotWidget !== undefined")
    page.locator(".launcher").click()
    page.get_by_role("button", name="Talk to a person").click()  # before the hello has even gone out

    page.locator(".event").filter(has_text="connecting you with a person").wait_for(timeout=15_000)
    assert watch.page_errors == []


def test_with_nobody_online_the_waiting_customer_may_leave_an_email_and_stays_in_line(
    product_start, browser_context_new
):
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(product.url + "/")
    page.locator(".launcher").click()
    page.get_by_role("button", name="Talk to a person").click()
    page.locator(".event").filter(has_text="Nobody from the team is online").wait_for(timeout=15_000)
    form = page.get_by_role("form", name="Leave a message for our team")
    form.wait_for(state="visible")
    assert "we'll reply by email" in form.inner_text()
    form.get_by_label("Your email").fill("pat@example.com")
    form.get_by_label("Your message for our team").fill("My base is stuck at E04, please email me.")
    form.get_by_role("button", name="Send to the team").click()
    page.locator(".event").filter(has_text="We'll reply to pat@example.com as soon as we can").wait_for()
    assert form.is_hidden()
    state = page.locator(".state").inner_text()
    assert "Waiting for a person" in state or "in line" in state, state  # still in line for a person
    assert watch.page_errors == []


def demo_page_widget_open(product_start, browser_context_new):
    """The product's demo shop page in a new browser, its widget open; answers stream quickly."""
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(product.url + "/")
    widget_open(page)
    return page, watch


def test_the_panel_stays_open_across_a_reload_and_the_shops_next_page_and_closed_once_closed(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5")
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    widget_ask(page, "how long is the trial?")
    answer_wait(page)
    panel = page.get_by_role("dialog", name=WIDGET_TITLE)

    page.reload()
    page.wait_for_function("() => window.__supportbotWidget !== undefined")
    # Open again by itself, with the conversation so far: nobody clicked the launcher.
    panel.wait_for(state="visible")
    assert page.locator(".launcher").get_attribute("aria-expanded") == "true"
    page.locator(".msg.customer").filter(has_text="how long is the trial?").wait_for()
    answer_wait(page, timeout_ms=15_000)

    page.goto(host_page.origin + "/products/mattress")  # another page of the same shop
    page.wait_for_function("() => window.__supportbotWidget !== undefined")
    panel.wait_for(state="visible")
    page.locator(".msg.customer").filter(has_text="how long is the trial?").wait_for()

    page.get_by_role("button", name="Close chat").click()
    assert panel.is_hidden()
    page.reload()
    page.wait_for_function("() => window.__supportbotWidget !== undefined")
    page.wait_for_timeout(300)  # time enough for a wrong reopening to show
    assert panel.is_hidden() and page.locator(".launcher").get_attribute("aria-expanded") == "false"
    assert watch.page_errors == [] and watch.console_errors == []


def test_a_chat_only_the_bot_answered_can_be_rated_once(product_start, browser_context_new):
    page, watch = demo_page_widget_open(product_start, browser_context_new)
    rate = page.get_by_role("button", name="Rate this chat")
    assert rate.is_hidden()  # nothing to rate before the bot has answered
    widget_ask(page, "how long is the trial?")
    answer_wait(page)
    rate.wait_for(state="visible")
    rate.click()
    page.get_by_role("button", name="5 of 5 stars, very happy").click()
    page.get_by_role("button", name="Send rating").click()
    page.locator(".event").filter(has_text="Thank you for your feedback").wait_for()
    assert rate.is_hidden() and page.get_by_role("group", name="How did we do?").is_hidden()
    page.reload()  # the replay keeps it rated: no offer again
    widget_open(page)
    page.locator(".event").filter(has_text="Thank you for your feedback").wait_for()
    assert page.get_by_role("button", name="Rate this chat").is_hidden()
    assert watch.page_errors == []


def test_the_length_limit_counts_an_emoji_as_one_character_as_the_server_does(product_start, browser_context_new):
    page, watch = demo_page_widget_open(product_start, browser_context_new)
    emoji = "\U0001f600" * 2500  # 2,500 characters, 5,000 UTF-16 units: under the 4,000-character limit
    widget_ask(page, emoji)
    page.locator(".msg.customer").filter(has_text="\U0001f600").first.wait_for(timeout=15_000)
    assert "limited to" not in page.locator(".error").inner_text()

    widget_ask(page, "x" * 4001)
    page.locator(".error").filter(has_text="Messages are limited to 4000 characters.").wait_for()
    assert watch.page_errors == []


def test_a_message_typed_while_offline_is_shown_at_once_and_stored_once_when_back(product_start, browser_context_new):
    page, watch = demo_page_widget_open(product_start, browser_context_new)
    widget_ask(page, "how long is the trial?")
    answer_wait(page)
    page.context.set_offline(True)
    widget_ask(page, "and can I return it after that?")
    # Shown as typed (faded) straight away: the customer does not type it again.
    page.locator(".msg.customer.sending").filter(has_text="can I return it after that").wait_for(timeout=5_000)
    page.context.set_offline(False)
    stored = page.locator(".msg.customer:not(.sending)").filter(has_text="can I return it after that")
    stored.wait_for(timeout=30_000)
    assert page.locator(".msg.customer").filter(has_text="can I return it after that").count() == 1
    assert watch.page_errors == []


TRANSCRIPT_JS = """
() => Array.from(window.__supportbotWidget.shadowRoot.querySelectorAll('.log .msg')).map(
  node => (node.classList.contains('customer') ? 'customer: ' : 'assistant: ') + node.querySelector('.body').textContent
)
"""


def test_a_question_sent_while_an_answer_streams_keeps_its_place_live_and_after_a_reload(
    product_start, browser_context_new
):
    product = product_start(**STREAMING_ENV)
    page, watch = browser_context_new(local_origins={product.url})
    page.goto(product.url + "/")
    widget_open(page)
    widget_ask(page, "how long is the trial?")
    draft = page.locator(".msg.assistant[aria-busy=true] .body")
    draft.wait_for(timeout=FIRST_ANSWER_TIMEOUT_MS)
    page.wait_for_function(  # a few words in: the first answer is still streaming
        "() => (window.__supportbotWidget.shadowRoot.querySelector('.msg.assistant[aria-busy=true] .body')"
        " || {}).textContent?.split(' ').length > 2"
    )
    widget_ask(page, "can I return a pillow?")
    page.locator(".msg.assistant[data-seq]").nth(1).wait_for(timeout=FIRST_ANSWER_TIMEOUT_MS)
    live = page.evaluate(TRANSCRIPT_JS)

    page.reload()
    widget_open(page)
    page.locator(".msg.assistant[data-seq]").nth(1).wait_for(timeout=15_000)
    replayed = page.evaluate(TRANSCRIPT_JS)

    assert [line.split(":")[0] for line in live] == ["customer", "assistant", "customer", "assistant"], live
    assert live[0] == "customer: how long is the trial?" and live[2] == "customer: can I return a pillow?"
    assert "trial" in live[1].lower() and "pillow" in live[3].lower(), live
    assert replayed == live
    assert watch.page_errors == []


def test_the_deeper_look_line_goes_when_a_quicker_tier_answers_instead(
    product_start, host_page, browser_context_new, model_server_start
):
    from bench.openai_server import Fault

    model = model_server_start(text="Hold FLAT for ten seconds, then let the base settle.", chunks=30, interval_ms=80)
    model.script(Fault.http_error(status=404), model="gpt-5.5-thinking")  # Thinking's model is missing
    product = product_start(allowed_origins=[host_page.origin], **model_env(model))
    page, watch = browser_context_new(local_origins={product.url, host_page.origin})
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    page.evaluate(DRAFT_RECORDER_JS)

    widget_ask(page, "my LiftBase shows E04 and I already tried unplugging it")
    answer = answer_wait(page)

    seen = [state["deep"] for state in page.evaluate("() => window.__draftStates") if state["text"]]
    assert seen and set(seen) == {""}, seen  # the draft never claimed a deeper look once words showed
    assert "backup model" in (answer.text_content() or "")
    assert watch.page_errors == [] and watch.console_errors == []


PARENTHESES_TEXT = (
    "[Get refund now](https://evil.example/r_(1)) and [the trial](/help/100-night-trial/(a)) "
    "but never [run me](javascript:alert(1)) or [this](javascript:alert((1)))"
)


def test_a_link_with_parentheses_in_its_address_is_one_link_and_javascript_never_is(product_start, browser_context_new):
    page, watch = demo_page_widget_open(product_start, browser_context_new)
    widget_ask(page, PARENTHESES_TEXT)
    body = page.locator(".msg.customer[data-seq] .body").first
    body.wait_for(timeout=15_000)

    links = [(link.text_content(), link.get_attribute("href")) for link in body.locator("a").all()]
    assert links == [
        ("Get refund now", "https://evil.example/r_(1)"),
        ("the trial", f"{page.url.rstrip('/')}/help/100-night-trial/(a)"),
    ], links
    # No stray ")" after a link, and a javascript: address is shown as its label alone, never as a link.
    assert body.text_content() == "Get refund now and the trial but never run me or [this](javascript:alert((1)))"
    assert watch.dialogs == [] and watch.page_errors == []


CUT_ANSWER = "You can return the mattress within the first hundred nights if it does not suit yo"


def _model_stops_at_its_length_limit(monkeypatch) -> None:
    """The local model server ends each stream as a model at its output token cap does: finish_reason "length"."""
    from bench import openai_server

    chunk = openai_server._chunk

    def length_chunk(*args, finish_reason, **kwargs):
        return chunk(*args, finish_reason="length" if finish_reason == "stop" else finish_reason, **kwargs)

    monkeypatch.setattr(openai_server, "_chunk", length_chunk)


# The stored answer's text, and the notes under it but the backup model's (a note of its own, about another thing).
CUT_ANSWER_SAID_JS = """
(backupNote) => {
  const shadow = window.__supportbotWidget.shadowRoot;
  const answer = [...shadow.querySelectorAll('.log .msg.assistant[data-seq]')].pop();
  return {
    body: answer.querySelector('.body').textContent,
    notes: [...answer.querySelectorAll('.notice')].map((node) => node.textContent).filter((t) => t !== backupNote),
    drafts: shadow.querySelectorAll('.log .msg.assistant:not([data-seq])').length,
  };
}
"""
TRUNCATED_NOTE = "This answer reached its length limit, so it may stop mid-sentence."


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("outcome", ["truncated", "incomplete"])
def test_an_answer_that_is_not_whole_says_so_once_live_and_after_a_reload(
    outcome, language, product_start, browser_context_new, model_server_start, monkeypatch
):
    from bench.openai_server import Fault
    from conversations.answering import INCOMPLETE_TEXT

    words = widget_catalogue(language) if language != "en" else {}
    model = model_server_start(text=CUT_ANSWER, chunks=12, interval_ms=20)
    if outcome == "truncated":
        _model_stops_at_its_length_limit(monkeypatch)
    else:  # every call, on every tier, breaks off mid-answer
        model.script(*[Fault.cut(after_chunks=4)] * 30)
    product = product_start(**model_env(model))
    page, watch = browser_context_new(local_origins={product.url}, locale=None if language == "en" else language)
    page.goto(product.url + "/")
    widget_open(page)
    widget_ask(page, "can I return the mattress?", box_name=words.get("Type your message", "Type your message"))
    answer_wait(page)
    page.wait_for_timeout(300)  # any late frame about this answer has arrived
    backup_note = words.get("Answered by a backup model.", "Answered by a backup model.")
    live = page.evaluate(CUT_ANSWER_SAID_JS, backup_note)

    assert live["body"].startswith(CUT_ANSWER[:20]) and live["drafts"] == 0, live
    # Said once: a truncated answer's text does not say so, and the widget does, in its language (the
    # draft's notice went with the draft); an incomplete answer's stored text says so, and the widget adds nothing.
    if outcome == "truncated":
        assert live["notes"] == [words.get(TRUNCATED_NOTE, TRUNCATED_NOTE)], live
        assert INCOMPLETE_TEXT not in live["body"], live
    else:
        assert live["notes"] == [] and live["body"].endswith(INCOMPLETE_TEXT), live
        assert live["body"].count(INCOMPLETE_TEXT) == 1, live

    page.reload()
    widget_open(page)
    answer_wait(page, timeout_ms=15_000)
    assert page.evaluate(CUT_ANSWER_SAID_JS, backup_note) == live
    assert watch.page_errors == [] and watch.console_errors == []
