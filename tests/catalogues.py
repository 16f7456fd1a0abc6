"""Reading the translation catalogues as translators write them (locale/*/LC_MESSAGES/*.po), for tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.utils.translation import to_locale

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = REPO_ROOT / "locale"
WIDGET_JS = REPO_ROOT / "static" / "supportbot" / "widget.js"
# Django's %(name)s, and str.format's {name} in the lines the server writes to customers.
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def po_path(*, language: str, domain: str) -> Path:
    return LOCALE_DIR / to_locale(language) / "LC_MESSAGES" / f"{domain}.po"


def po_entries(path: Path) -> dict[tuple[str | None, str], str]:
    """(msgctxt, msgid) -> msgstr for every entry of a .po file but the header; enough of the format for ours."""
    entries: dict[tuple[str | None, str], str] = {}
    for block in path.read_text().split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            keyword = re.match(r"^(msgctxt|msgid|msgstr) ", line)
            if keyword:
                current = keyword.group(1)
                fields[current] = ""
            if current and (keyword or line.startswith('"')):
                fields[current] += json.loads(line[line.index('"') :])
        if fields.get("msgid"):
            entries[(fields.get("msgctxt"), fields["msgid"])] = fields["msgstr"]
    return entries


def widget_catalogue(language: str) -> dict[str, str]:
    """The widget's msgid -> translation for ``language`` (the widget has no contexts)."""
    entries = po_entries(po_path(language=language, domain="djangojs"))
    return {msgid: text for (_context, msgid), text in entries.items()}


def widget_msgids() -> set[str]:
    """Every gettext("...") in widget.js, its JavaScript escapes decoded (as makemessages reads them)."""
    literals = re.findall(r'gettext\("((?:[^"\\]|\\.)*)"\)', WIDGET_JS.read_text())
    return {json.loads(f'"{literal}"') for literal in literals}
