"""The console page: its new tools (search, tags, reasons, transfer, notes, notifications) in every language."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.conf import settings

from conversations.models import ContactReason, ConversationTag

pytestmark = pytest.mark.django_db
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
NEW_STRINGS = (
    "note-by",
    "customer-typing",
    "new-waiting",
    "reoffered",
    "transferred-to",
    "transferred-queue",
    "write-note",
    "no-results",
)


def console_strings(page: str) -> dict[str, str]:
    block = re.search(r'<div id="console-strings" hidden(.*?)></div>', page, re.S)
    assert block is not None
    return {key: html.unescape(value) for key, value in re.findall(r'data-([\w-]+)="([^"]*)"', block.group(1))}


def test_the_console_lists_the_staff_managed_tags_and_reasons(client, agent):
    vip = ConversationTag.objects.create(name="vip")
    ContactReason.objects.filter(name="Warranty and defects").update(active=False)
    client.force_login(agent)
    page = client.get("/console/").content.decode()
    labels = json.loads(re.search(r'<script id="labels-data" type="application/json">(.*?)</script>', page).group(1))
    assert labels["tags"] == [{"id": vip.pk, "name": "vip"}]
    names = [reason["name"] for reason in labels["reasons"]]
    assert "Smart base problems" in names and "Warranty and defects" not in names  # only active reasons
    assert f'<input type="checkbox" value="{vip.pk}"> vip' in page
    for control in ('id="search-text"', 'id="tag-filter"', 'id="transfer-to"', 'id="note-mode"', 'id="notify-btn"'):
        assert control in page


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_consoles_new_words_are_translated_with_their_placeholders(client, agent, language):
    client.force_login(agent)
    english = console_strings(client.get("/console/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    page = client.get("/console/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    translated = console_strings(page)
    for key in NEW_STRINGS:
        assert translated[key] != english[key], (language, key)
        assert sorted(re.findall(r"%\(\w+\)s", translated[key])) == sorted(re.findall(r"%\(\w+\)s", english[key]))
    assert "Search conversations" not in page and "Contact reasons" not in page
