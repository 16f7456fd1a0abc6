"""The widget as customers meet it: on a shop's own page (another origin, a hostile theme), in Chromium."""
from __future__ import annotations

import pytest

from tests.browser.conftest import WIDGET_TITLE, host_page_show
from tests.browser.widget import answer_body_text, answer_wait, stream_record, stream_states, widget_ask, widget_open

# Slow enough that the test (and a person) sees the answer arrive word by word.
STREAMING_ENV = {"SUPPORTBOT_OFFLINE_WORD_DELAY_MS": "60"}


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
    for shorter, longer in zip(intermediate, intermediate[1:]):
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
