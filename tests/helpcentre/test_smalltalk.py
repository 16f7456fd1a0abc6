from __future__ import annotations

import pytest

from helpcentre.smalltalk import (
    ACKNOWLEDGEMENT,
    GOODBYE,
    GREETING,
    HOW_ARE_YOU,
    THANKS,
    small_talk_read,
    small_talk_reply,
)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("hello there", (GREETING,)),
        ("Good morning!", (GREETING,)),
        ("hello, how are you?", (GREETING, HOW_ARE_YOU)),
        ("hello, hope you're well", (GREETING, HOW_ARE_YOU)),
        ("evening! anybody around?", (GREETING,)),
        ("hi team, good day to you", (GREETING,)),
        ("no worries, appreciate the quick answer", (ACKNOWLEDGEMENT, THANKS)),
        ("bye for now", (GOODBYE,)),
        ("yo", (GREETING,)),
        ("thank you so much", (THANKS,)),
        ("thanks and bye", (THANKS, GOODBYE)),
        ("no that's all", ("ack", GOODBYE)),
        ("yes please", ("ack",)),
    ],
)
def test_messages_that_are_only_small_talk(text: str, kinds: tuple[str, ...]) -> None:
    talk = small_talk_read(text)
    assert talk.only and talk.kinds == kinds


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("hi, do you make round mattresses?", "do you make round mattresses?"),
        ("ok and is the ortho available in 6 inch?", "and is the ortho available in 6 inch?"),
        ("ok never mind. what is your return policy?", "what is your return policy?"),
        ("how long is the trial? thanks", "how long is the trial"),
        ("hiking mattress?", "hiking mattress?"),  # "hi" only as a word of its own
        ("what's the weather tomorrow?", "what's the weather tomorrow?"),
    ],
)
def test_a_question_is_left_once_the_small_talk_is_set_aside(text: str, rest: str) -> None:
    talk = small_talk_read(text)
    assert not talk.only and talk.rest == rest


def test_replies_are_short_lines_in_the_shops_voice(settings) -> None:
    settings.SUPPORTBOT_SHOP_NAME = "Dreamwell"
    assert (
        small_talk_reply(talk=small_talk_read("hi")) == "Hello! I'm the Dreamwell assistant. How can I help you today?"
    )
    assert small_talk_reply(talk=small_talk_read("good evening")).startswith("Good evening!")
    assert small_talk_reply(talk=small_talk_read("thanks!")).startswith("You're welcome!")
    assert "Goodbye" in small_talk_reply(talk=small_talk_read("ok thanks, bye"))
    assert "not sure" not in small_talk_reply(talk=small_talk_read("how are you?"))


def test_questions_about_the_assistant_are_small_talk_that_points_to_a_person() -> None:
    for text in ("are you a bot?", "how old are you?", "what's your name?"):
        talk = small_talk_read(text)
        assert talk.only, text
        assert "talk to a person" in small_talk_reply(talk=talk)
    assert small_talk_read("are you a real person? I want to talk to one").rest == "I want to talk to one"


@pytest.mark.parametrize(
    "text",
    [
        "super, thanks mate",
        "ok will do, thanks",
        "that's everything, thank you",
        "brilliant!",
        "thank you doctor bot 😄",
        "thanks yaar",
        "thank you chatbot",
    ],
)
def test_more_ways_of_closing_a_conversation_are_small_talk(text):
    assert small_talk_read(text).only


@pytest.mark.parametrize(
    "text",
    [
        "super soft mattress?",
        "I'll check the tracking page tomorrow",
        "right size for a cot?",
        "morning delivery possible?",
        "evening slots for delivery?",
    ],
)
def test_words_that_also_start_a_question_are_not_taken_for_small_talk(text):
    assert small_talk_read(text).rest == text


@pytest.mark.parametrize(
    "text", ["tell me a joke", "do you know any jokes?", "tell me something funny, it's been a long day"]
)
def test_asking_for_a_joke_is_small_talk_with_a_reply_of_its_own(text) -> None:
    talk = small_talk_read(text)
    assert talk.only and talk.kinds == ("joke",)
    assert "jokes" in small_talk_reply(talk=talk)


def test_a_long_day_is_set_aside_only_beside_small_talk() -> None:
    assert small_talk_read("thanks, it's been a long day").only
    assert small_talk_read("it's been a long day").rest == "it's been a long day"
