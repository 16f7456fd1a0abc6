"""The widget's strings in the visitor's language: one small JSON catalogue per language.

Translators edit ``locale/<lang>/LC_MESSAGES/djangojs.po`` (extracted from ``widget.js`` by
``makemessages -d djangojs``, see ``locale/README.md``); this serves the compiled ``.mo`` as
``{"language", "direction", "messages": {msgid: translation}}``. The widget's English is its msgids,
so English needs no catalogue. Public, the same for everyone who asks with the same list, and
changed only by a deploy: any site may read it, caches may keep it, and an ETag revalidates it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.translation import get_language_info, get_supported_language_variant
from django.utils.translation.trans_real import DjangoTranslation
from django.views.decorators.http import require_GET

# The widget asks with data-lang then the browser's languages, best first; past ten it is noise.
MAX_LANGUAGES_ASKED = 10
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
CATALOGUE_MAX_AGE_S = 3600
CATALOGUE_DOMAIN = "djangojs"


@dataclass(frozen=True)
class WidgetCatalogue:
    language: str
    body: bytes
    etag: str


def widget_language_choose(*, asked: Iterable[str]) -> str:
    """The first language asked for that the shop offers (``hi-IN`` finds ``hi``), else the shop's default."""
    for tag in list(asked)[:MAX_LANGUAGES_ASKED]:
        tag = tag.strip()
        if not LANGUAGE_TAG.match(tag):
            continue
        try:
            return get_supported_language_variant(tag.replace("_", "-"))
        except LookupError:
            continue
    return get_supported_language_variant(settings.LANGUAGE_CODE)


@cache
def widget_catalogue_get(*, language: str) -> WidgetCatalogue:
    """The compiled catalogue for ``language``, read once per process (``.mo`` files change only with a deploy)."""
    # Only the project's own locale folder: the installed apps' djangojs catalogues (the admin's
    # calendar words) are not the widget's and would only make every download larger.
    translation = DjangoTranslation(language, domain=CATALOGUE_DOMAIN, localedirs=[str(settings.LOCALE_PATHS[0])])
    # gettext has no public way to list a catalogue; Django's own JavaScriptCatalog reads _catalog too.
    # Plural entries (tuple keys) and the header (empty msgid) are left out: the widget has neither.
    catalog = translation._catalog  # type: ignore[attr-defined]
    messages = {msgid: text for msgid, text in catalog.items() if isinstance(msgid, str) and msgid and text}
    body = json.dumps(
        {
            "language": language,
            "direction": "rtl" if get_language_info(language)["bidi"] else "ltr",
            "messages": dict(sorted(messages.items())),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return WidgetCatalogue(language=language, body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@require_GET
def widget_catalogue(request: HttpRequest) -> HttpResponse:
    """``GET /api/widget/i18n?lang=hi-IN,hi,en`` answers with the catalogue of the first offered language."""
    language = widget_language_choose(asked=request.GET.get("lang", "").split(","))
    catalogue = widget_catalogue_get(language=language)
    response = HttpResponse(catalogue.body, content_type="application/json")
    response["ETag"] = catalogue.etag
    response["Cache-Control"] = f"public, max-age={CATALOGUE_MAX_AGE_S}"
    # A 304 when the ETag matches, built afresh: the two headers below are set on either answer.
    answer = get_conditional_response(request, etag=catalogue.etag, response=response) or response
    answer["Content-Language"] = catalogue.language
    # No credentials and nothing private: "*" lets one cached copy serve every shop's site.
    answer["Access-Control-Allow-Origin"] = "*"
    return answer
