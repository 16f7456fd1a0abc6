from __future__ import annotations

import random
import string

import pytest

from conversations.answering import UNAVAILABLE_TEXT
from conversations.languages import in_language, shop_languages, text_language_detect
from conversations.models import Message
from conversations.services import conversation_open, customer_text, message_record


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


ENGLISH_QUESTION = "How long is the sleep trial?"


def _customer_languages(*texts: str) -> list[str]:
    conversation, _ = conversation_open(origin="https://shop.example")
    return [
        message_record(conversation_id=conversation.pk, role=Message.Role.CUSTOMER, text=text)[0].language
        for text in texts
    ]


@pytest.mark.parametrize(
    "text",
    [
        "asdkjh qwe zzz",  # lingua: German at 0.62, relative to the other candidates only
        "lkjsdf lkjsdf",
        "xcvb nmmm qwert",
        "see https://shop.example/de/matratze ABC-123",
        "order 12345 ABC-999 XYZ-100",
    ],
)
def test_keyboard_mashing_links_and_codes_get_the_fallback(text):
    assert text_language_detect(text=text, fallback="en") == "en"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿Cuánto dura la prueba del colchón?", "es"),
        ("necesito cambiar la direccion de entrega de mi pedido", "es"),  # no accents: its words tell
        ("ट्रायल कितने दिन का है?", "hi"),
        ("Wie lange dauert die Probezeit?", "de"),
        ("Combien de temps dure l'essai du matelas ?", "fr"),
        ("Quanto tempo dura o teste do colchão?", "pt"),
        ("كم مدة تجربة المرتبة؟", "ar"),
    ],
)
def test_a_full_sentence_after_english_switches_the_conversation(text, language, db):
    assert _customer_languages(ENGLISH_QUESTION, text) == ["en", language]


def test_gibberish_after_english_keeps_english_and_so_does_a_greeting_after_it(db):
    assert _customer_languages(ENGLISH_QUESTION, "asdkjh qwe zzz", "hi", "ok") == ["en", "en", "en", "en"]


def test_a_short_message_after_an_unclear_one_keeps_the_conversations_language(db):
    spanish = "¿Cuánto tarda el reembolso de mi devolución?"
    assert _customer_languages(spanish, "asdkjh qwe zzz", "hi", "ok") == ["es", "es", "es", "es"]


def test_random_keyboard_strings_never_switch_from_english():
    # Letters as a keyboard's rows give them, with spaces; a fixed seed keeps the run repeatable.
    rows = "qwertyuiop asdfghjkl zxcvbnm"
    randomness = random.Random(20240611)
    switched = []
    for _ in range(400):
        length = randomness.randint(3, 40)
        if randomness.random() < 0.5:
            text = "".join(randomness.choice(string.ascii_lowercase + "    ") for _ in range(length))
        else:
            text = ""
            while len(text) < length:
                row = randomness.choice(rows.split())
                start = randomness.randrange(len(row))
                text += row[start : start + randomness.randint(1, 6)] + (" " if randomness.random() < 0.3 else "")
            text = text[:length]
        if randomness.random() < 0.2:
            text = text.upper()
        if text_language_detect(text=text, fallback="en") != "en":
            switched.append(text)
    assert switched == []


@pytest.mark.parametrize(
    ("language", "starts"),
    [("es", "Lo siento"), ("pt", "Desculpe"), ("de", "Entschuldigung"), ("ar", "عذرًا"), ("hi", "माफ़ कीजिए")],
)
def test_a_line_the_server_writes_comes_in_an_offered_language_found_by_its_primary_subtag(language, starts):
    assert in_language(UNAVAILABLE_TEXT, language=language).startswith(starts)


@pytest.mark.parametrize("language", ["", "sw", "xx-yy"])
def test_a_line_in_no_offered_language_comes_in_the_shops(language, settings):
    assert in_language(UNAVAILABLE_TEXT, language=language) == UNAVAILABLE_TEXT
    settings.LANGUAGE_CODE = "fr"
    assert in_language(UNAVAILABLE_TEXT, language=language).startswith("Désolé")


def test_an_empty_line_stays_empty_not_the_catalogues_header():
    assert in_language("", language="fr") == ""


def test_the_customers_lines_follow_the_language_they_write_in_and_keep_their_values(db):
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    line = "{agent} transferred the chat to {receiver}."
    assert customer_text(conversation_id=conversation.pk, text=line, agent="Sam", receiver="Alex") == (
        "Sam transferred the chat to Alex."
    )
    message_record(
        conversation_id=conversation.pk, role="customer", text="¿Cuánto tarda el reembolso de mi devolución?"
    )
    assert customer_text(conversation_id=conversation.pk, text=line, agent="Sam", receiver="Alex") == (
        "Sam ha transferido el chat a Alex."
    )
    message_record(conversation_id=conversation.pk, role="customer", text="ok")  # unclear: keeps Spanish
    assert (
        customer_text(conversation_id=conversation.pk, text="Thank you for your feedback.") == "Gracias por tu opinión."
    )
