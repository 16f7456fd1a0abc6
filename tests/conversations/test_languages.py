from __future__ import annotations

import pytest

from conversations.languages import shop_languages, text_language_detect


def test_shop_languages_are_the_offered_ones_by_primary_subtag_default_first(settings):
    settings.LANGUAGE_CODE = "es"
    settings.LANGUAGES = [("en", "English"), ("es", "Español"), ("pt-br", "Português (Brasil)")]
    assert shop_languages() == ("es", "en", "pt")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿Cuánto tarda el reembolso de mi devolución?", "es"),
        ("गद्दा वापस करने की प्रक्रिया क्या है?", "hi"),
        ("How long does the refund take after the pickup?", "en"),
        ("Wie lange dauert die Rückerstattung?", "de"),
    ],
)
def test_a_clear_sentence_is_detected_in_its_language(text, language):
    assert text_language_detect(text=text) == language


@pytest.mark.parametrize("text", ["ok", "hola", "trial period kitna hai sir", "12345 ??", "y" * 4000])
def test_short_or_unclear_text_gets_the_fallback(text):
    # Romanised Hindi reads as English or Spanish at low confidence: it keeps the conversation's language.
    assert text_language_detect(text=text, fallback="fr") == "fr"


def test_without_a_fallback_the_shop_default_is_used(settings):
    settings.LANGUAGE_CODE = "hi"
    assert text_language_detect(text="ok") == "hi"


def test_a_language_the_shop_does_not_offer_is_never_returned(settings):
    settings.LANGUAGES = [("en", "English"), ("hi", "Hindi")]
    settings.LANGUAGE_CODE = "en"
    assert text_language_detect(text="¿Cuánto tarda el reembolso de mi devolución?") in {"en", "hi"}
