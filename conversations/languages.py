"""The language a customer writes in, detected per message with lingua (its models ship in its wheel).

Only the languages the shop offers (``LANGUAGES``) are candidates: fewer models to load and fewer
near neighbours to confuse. A short or ambiguous message ("ok", "hola", romanised Hindi such as
"trial period kitna hai sir", which lingua reads as English or Spanish at about 0.3–0.4) is not
trusted: below ``MIN_CONFIDENCE`` the message gets the conversation's language so far (its last
confidently detected customer message), else the shop's default. Romanised Hindi thus stays in the
shop's language, whose help centre (English, with Hinglish phrasings) answers it best.
"""

from __future__ import annotations

import functools

from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Chosen on helpcentre/data/kb_eval_hi_es.csv and short English support messages (docs/benchmarks.md,
# "Language of customer messages"): a confident Spanish sentence scores over 0.9, while "hola" or
# Hinglish stays under 0.45.
MIN_CONFIDENCE = 0.6
# Fewer letters than this say too little (lingua guesses "ok" as English or German at 0.44/0.41).
MIN_LETTERS = 4
# One word, however long, is not a sentence: "yyyy…" reads as Spanish ("y") with full confidence.
MIN_WORDS = 2


def shop_languages() -> tuple[str, ...]:
    """The primary subtags of the languages the shop offers (``pt-br`` → ``pt``), default first."""
    codes = [settings.LANGUAGE_CODE, *(code for code, _ in settings.LANGUAGES)]
    return tuple(dict.fromkeys(code.split("-")[0].lower() for code in codes))


def _lingua_language(code: str) -> Language | None:
    iso = getattr(IsoCode639_1, code.upper(), None)
    return Language.from_iso_code_639_1(iso) if iso is not None else None


@functools.lru_cache(maxsize=4)
def language_detector_get(languages: tuple[str, ...]) -> LanguageDetector:
    """One detector per set of languages per process; each language's model loads on first use
    (seven languages: about 2 s and 150 MB in all in high-accuracy mode, see docs/benchmarks.md)."""
    known = [language for language in map(_lingua_language, languages) if language is not None]
    if len(known) < 2:
        known += [Language.ENGLISH, Language.SPANISH]  # lingua needs two candidates; the result is ignored anyway
    return LanguageDetectorBuilder.from_languages(*set(known)).build()


def text_language_detect(*, text: str, fallback: str = "") -> str:
    """The language code (``en``, ``hi``, ``es``, ...) ``text`` is written in, among the shop's
    languages; ``fallback`` (else the shop's default) when the text is too short or unclear."""
    fallback = fallback or settings.LANGUAGE_CODE.split("-")[0].lower()
    languages = shop_languages()
    if len(languages) < 2 or sum(character.isalpha() for character in text) < MIN_LETTERS:
        return fallback
    if sum(any(character.isalpha() for character in word) for word in text.split()) < MIN_WORDS:
        return fallback
    values = language_detector_get(languages).compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return fallback
    iso = values[0].language.iso_code_639_1.name.lower()
    return iso if iso in languages else fallback


# One text per script the shop's languages are written in: lingua loads a language's model the
# first time that language is a candidate, and every Latin-script language is one for Latin text.
WARM_UP_TEXTS = ("the mattress", "गद्दा", "الفراش")


def language_detector_warm() -> dict[str, object]:
    """Load the models of every language the shop offers, so no customer's first message waits for
    them (about 2 s and 150 MB for seven languages); the readiness check calls it."""
    languages = shop_languages()
    if len(languages) >= 2:
        detector = language_detector_get(languages)
        for text in WARM_UP_TEXTS:
            detector.compute_language_confidence_values(text)
    return {"languages": list(languages)}
