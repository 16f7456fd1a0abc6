"""The widget's catalogue endpoint, and the catalogues themselves: complete, consistent, compiled."""

from __future__ import annotations

import gettext
import re

import pytest
from django.conf import settings

from conversations.widget_i18n import widget_language_choose
from tests.catalogues import PLACEHOLDER, po_entries, po_path, widget_msgids

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def test_a_browser_language_finds_its_offered_language_and_region_variants_fall_back():
    assert widget_language_choose(asked=["hi-IN", "hi", "en-US"]) == "hi"
    assert widget_language_choose(asked=["ja", "de-AT"]) == "de"
    assert widget_language_choose(asked=["pt-PT"]) == "pt-br"
    assert widget_language_choose(asked=["es_MX"]) == "es"


def test_nothing_offered_gives_the_shops_default(settings):
    settings.LANGUAGE_CODE = "es"
    assert widget_language_choose(asked=["ja", "zh-CN"]) == "es"
    assert widget_language_choose(asked=[""]) == "es"
    assert widget_language_choose(asked=["../../etc/passwd", "<script>"]) == "es"


def test_catalogue_is_the_first_offered_language_in_json_any_site_may_read_and_cache(client):
    response = client.get("/api/widget/i18n", {"lang": "ja,hi-IN,en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public, max-age=")
    body = response.json()
    assert body["language"] == "hi" and body["direction"] == "ltr"
    assert body["messages"]["Send"] == "भेजें"
    assert set(body["messages"]) == widget_msgids()
    assert len(response.content) < 8_000  # fetched on every page load of every shop


def test_english_is_built_into_the_widget_so_its_catalogue_is_empty(client):
    body = client.get("/api/widget/i18n", {"lang": "en-GB"}).json()
    assert body == {"language": "en", "direction": "ltr", "messages": {}}


def test_arabic_is_served_right_to_left(client):
    body = client.get("/api/widget/i18n", {"lang": "ar-EG"}).json()
    assert body["language"] == "ar" and body["direction"] == "rtl"


def test_catalogue_revalidates_by_etag_with_a_304_a_shop_site_can_read(client):
    first = client.get("/api/widget/i18n", {"lang": "es"})
    again = client.get("/api/widget/i18n", {"lang": "es"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == "*"
    other = client.get("/api/widget/i18n", {"lang": "de"})
    assert other["ETag"] != first["ETag"]


def test_catalogue_answers_only_reads(client):
    assert client.post("/api/widget/i18n", {"lang": "hi"}).status_code == 405


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_widget_string_is_translated_with_its_placeholders(language):
    entries = po_entries(po_path(language=language, domain="djangojs"))
    assert {msgid for _context, msgid in entries} == widget_msgids(), "run makemessages -d djangojs (locale/README.md)"
    for (_context, msgid), translation in entries.items():
        assert translation.strip(), f"{language}: {msgid!r} is not translated"
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(msgid)), (language, msgid)


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_po_file_is_complete_and_compiled(language, domain):
    po = po_path(language=language, domain=domain)
    entries = po_entries(po)
    with po.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for (context, msgid), translation in entries.items():
        assert translation.strip(), f"{language} {domain}: {msgid!r} is not translated"
        placeholders = PLACEHOLDER.findall(msgid.replace("%%", "%"))
        assert sorted(PLACEHOLDER.findall(translation.replace("%%", "%"))) == sorted(placeholders), msgid
        shown = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        assert shown == translation, f"{language} {domain}: the .mo is older than the .po (compilemessages)"


# A sentence's end with a letter straight after it: two strings run together ("...par e-mail.Laissez...").
# Addresses are left out: "you@example.com" is no sentence.
RUN_TOGETHER = re.compile(r"[.!?\u0964\u061f](?=[^\W\d_])")
ADDRESS = re.compile(r"\S+@\S+|https?://\S+")


def _run_together(text: str) -> int:
    return len(RUN_TOGETHER.findall(ADDRESS.sub("", text)))


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_no_translation_runs_two_sentences_together(language, domain):
    entries = po_entries(po_path(language=language, domain=domain))
    joined = [
        (msgid, translation)
        for (_context, msgid), translation in entries.items()
        if _run_together(translation) > _run_together(msgid)
    ]
    assert joined == [], f"{language} {domain}: a sentence runs into the next"
