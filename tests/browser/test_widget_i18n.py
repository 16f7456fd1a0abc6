"""The widget in the visitor's language: the browser's languages, the page's data-lang, the shop's default.

"Fully translated" is checked against the catalogue translators edit (locale/<lang>/LC_MESSAGES/djangojs.po):
every word the widget shows, as text or as an accessible name, placeholder or tooltip, must be one of the
language's translations, and none may be an English msgid.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.widget import answer_wait, widget_ask, widget_open
from tests.catalogues import PLACEHOLDER, po_entries, po_path, widget_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOP_NAME = "Lullmoor Sleep Co."  # SUPPORTBOT_SHOP_NAME's default, in the demo shop's data-title
CATALOGUE_PATH = "/api/widget/i18n"

# Every string the widget shows of its own: text with a letter in it, and the attributes people hear.
# Conversation content (message bodies, article titles, server events) is the customer's, the model's
# or the server's words, not the widget's.
WIDGET_WORDS_JS = """
() => {
  const root = window.__supportbotWidget.shadowRoot.querySelector('.root');
  const conversation = (node) => node.closest('.body, .cites a, .event');
  const letter = /\\p{L}/u;
  const words = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (letter.test(text) && !conversation(walker.currentNode.parentElement)) words.push(text);
  }
  for (const node of root.querySelectorAll('[aria-label], [placeholder], [title], [alt]')) {
    if (conversation(node)) continue;
    for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
      const value = node.getAttribute(name);
      if (value && letter.test(value)) words.push(value);
    }
  }
  return {words: words, lang: root.getAttribute('lang'), dir: root.getAttribute('dir')};
}
"""


def _pattern(text: str) -> re.Pattern[str]:
    """A catalogue string as a regular expression: each %(name)s placeholder stands for any text."""
    return re.compile("".join(".+" if PLACEHOLDER.fullmatch(part) else re.escape(part) for part in _split(text)))


def _split(text: str) -> list[str]:
    return [part for part in re.split(f"({PLACEHOLDER.pattern})", text) if part]


def _shop_title(language: str) -> str:
    """The demo shop's data-title, which the page (django.po), not the widget, translates."""
    translation = po_entries(po_path(language=language, domain="django"))[(None, "%(shop)s support")]
    return translation.replace("%(shop)s", SHOP_NAME)


def untranslated_words(words: list[str], *, language: str, title: str) -> tuple[list[str], set[str]]:
    """The words that are not the language's translations (or that are English), and the msgids that were seen."""
    catalogue = widget_catalogue(language)
    english = {msgid: _pattern(msgid) for msgid, text in catalogue.items() if text != msgid}
    translated = {msgid: _pattern(text) for msgid, text in catalogue.items()}
    wrong, seen = [], set()
    for word in words:
        if word == title:
            continue
        if any(pattern.fullmatch(word) for pattern in english.values()) or f"{SHOP_NAME} support" in word:
            wrong.append(word)
            continue
        matches = {msgid for msgid, pattern in translated.items() if pattern.fullmatch(word)}
        if matches:
            seen |= matches
        else:
            wrong.append(word)
    return wrong, seen


def _catalogue_requests(watch) -> list[str]:
    return [url for url in watch.requests if CATALOGUE_PATH in url]


@pytest.mark.parametrize(
    ("browser_locale", "language", "direction"),
    [("hi-IN", "hi", "ltr"), ("es-ES", "es", "ltr"), ("ar-EG", "ar", "rtl")],
)
def test_demo_shop_widget_speaks_the_browsers_language_with_no_english_left(
    product_start, browser_context_new, browser_locale, language, direction
):
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url}, locale=browser_locale)
    page.goto(product.url + "/")
    widget_open(page)
    # The answer's own words are the help centre's (English today), not the widget's: not checked here.
    widget_ask(page, "how long is the trial?", box_name=widget_catalogue(language)["Type your message"])
    answer_wait(page)

    shown = page.evaluate(WIDGET_WORDS_JS)
    title = _shop_title(language)
    wrong, seen = untranslated_words(shown["words"], language=language, title=title)
    assert wrong == [], f"{language}: not translated: {wrong}"
    assert len(seen) >= 25, sorted(seen)  # the check saw most of the widget, not an empty panel
    assert {"You", "Assistant", "Send", "How did we do?", "5 of 5 stars, very happy"} <= seen
    assert (shown["lang"], shown["dir"]) == (language, direction)
    assert len(_catalogue_requests(watch)) == 1  # once per page load

    launcher = page.locator(".launcher").bounding_box()
    panel = page.locator(".panel").bounding_box()
    assert launcher is not None and panel is not None
    if direction == "rtl":  # mirrored: bottom left
        assert launcher["x"] < 100 and panel["x"] < 100, (launcher, panel)
    else:
        assert launcher["x"] > 900 and panel["x"] + panel["width"] > 1000, (launcher, panel)
    assert watch.page_errors == [] and watch.console_errors == []


GERMAN_SHOP_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Ein Shop auf Deutsch</title></head>
<body><h1>Matratzen</h1><p>Ein Shop, der seine Kunden auf Deutsch anspricht.</p>
<script src="{widget_src}" data-lang="de" defer></script>
</body></html>"""


def test_data_lang_on_the_script_tag_wins_and_the_shops_default_serves_unoffered_browsers(
    product_start, host_page, browser_context_new
):
    # A Japanese browser: no Japanese catalogue, so the shop's default (Spanish here) unless the page says German.
    product = product_start(allowed_origins=[host_page.origin], LANGUAGE_CODE="es")
    host_page.html = GERMAN_SHOP_PAGE.format(widget_src=f"{product.url}/static/supportbot/widget.js")
    page, watch = browser_context_new(local_origins={product.url, host_page.origin}, locale="ja-JP")
    page.goto(host_page.origin + "/")
    widget_open(page)
    shown = page.evaluate(WIDGET_WORDS_JS)
    german_title = widget_catalogue("de")["Chat with us"]
    wrong, seen = untranslated_words(shown["words"], language="de", title=german_title)
    assert wrong == [] and len(seen) >= 20, (wrong, sorted(seen))
    assert page.get_by_role("dialog", name="Chatten Sie mit uns").is_visible()
    assert shown["lang"] == "de"

    shop, _ = browser_context_new(local_origins={product.url}, locale="ja-JP")
    shop.goto(product.url + "/")
    shop.wait_for_function("() => window.__supportbotWidget !== undefined")
    spanish = shop.evaluate(WIDGET_WORDS_JS)
    assert spanish["lang"] == "es"
    wrong, _seen = untranslated_words(spanish["words"], language="es", title=_shop_title("es"))
    assert wrong == []
    assert watch.page_errors == []


def _bad_gateway(route) -> None:
    route.fulfill(status=502, body="bad gateway")


def _never_answered(route) -> None:
    """Neither fulfilled nor continued: the request hangs until the widget gives up on it."""


@pytest.mark.parametrize("catalogue_route", [_bad_gateway, _never_answered], ids=["fails", "hangs"])
def test_without_its_catalogue_the_widget_chats_in_english(product_start, browser_context_new, catalogue_route):
    product = product_start()
    page, watch = browser_context_new(local_origins={product.url}, locale="hi-IN")
    # Page routes come before the context's: the catalogue alone fails, as behind a broken proxy.
    page.route(f"**{CATALOGUE_PATH}*", catalogue_route)
    page.goto(product.url + "/")
    widget_open(page)
    shown = page.evaluate(WIDGET_WORDS_JS)
    assert shown["lang"] == "en"
    assert "Type your message" in shown["words"] and "Talk to a person" in shown["words"]
    widget_ask(page, "how long is the trial?")
    assert "100-night" in (answer_wait(page).text_content() or "")
    assert len(_catalogue_requests(watch)) == 1
    assert watch.page_errors == []


def test_a_message_refused_by_the_server_is_shown_as_not_sent_in_the_customers_language(
    product_start, browser_context_new
):
    """The server's error texts are English; the widget words the ones a customer meets by their code."""
    product = product_start(SUPPORTBOT_MESSAGES_PER_MINUTE="1")
    page, watch = browser_context_new(local_origins={product.url}, locale="es-ES")
    page.goto(product.url + "/")
    widget_open(page)
    catalogue = widget_catalogue("es")
    widget_ask(page, "how long is the trial?", box_name=catalogue["Type your message"])
    widget_ask(page, "and the warranty?", box_name=catalogue["Type your message"])

    unsent = page.locator(".customer.unsent")
    unsent.wait_for(timeout=30_000)
    reason = unsent.locator(".notice").inner_text()
    wait = _pattern(catalogue["You are sending messages too fast; please wait %(seconds)s s."])
    assert wait.fullmatch(reason), reason
    assert re.search(r"\d+ s\.$", reason), reason  # the server's number of seconds, not the placeholder
    assert catalogue["Not sent"] in unsent.inner_text() and "and the warranty?" in unsent.inner_text()
    assert watch.page_errors == [] and watch.console_errors == []
