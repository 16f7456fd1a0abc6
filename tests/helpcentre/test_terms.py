from __future__ import annotations

import pytest

from helpcentre.terms import (
    asks_about_it,
    focus_of_passage,
    focus_of_question,
    stem_variants,
    tells_a_step_done_in_vain,
)


def test_extra_days_ask_for_a_duration_and_paying_extra_for_a_price():
    assert focus_of_question("how many extra days does it take?") == {"duration"}
    assert focus_of_question("do I pay extra?") == {"price"}
    assert focus_of_question("when do I get my refund?") == {"duration"}
    assert "duration" in focus_of_passage("Custom mattresses take 4 extra working days.")


def test_a_base_word_meets_its_ed_form_and_its_noun_in_ment():
    assert "replac" in stem_variants("replace")  # "replaced" stems to "replac"
    assert "replace" in stem_variants("replac")
    # A noun in -ation meets its verb.
    assert "confirm" in stem_variants("confirmation")
    assert "cancel" in stem_variants("cancellation")
    assert "install" in stem_variants("installation")
    assert "replace" in stem_variants("replacement") and "replacement" in stem_variants("replace")


def test_the_final_question_of_a_story():
    from helpcentre.terms import final_question

    assert final_question("I bought it in May. It sags. Can I return it? Thanks.") == "Can I return it?"
    assert final_question("Can I return it?") is None  # one sentence: the message is the question
    assert final_question("It arrived torn. Foam is coming out.") is None  # no question asked
    # In a chat an emoji ends a sentence as a full stop does.
    assert final_question("the carpenter says the size is different 😩 can I cancel?") == "can I cancel?"
    assert final_question("thanks 👍") is None


def test_more_asks_for_more_of_the_article_but_how_much_more_asks_an_amount():
    from helpcentre.terms import wants_more

    assert wants_more("what more can I try?")
    assert wants_more("anything else?")
    assert not wants_more("how much more time?")
    assert not wants_more("how many more days will it take?")


@pytest.mark.parametrize(
    "text",
    [
        "I put fresh batteries in the remote but the bed still ignores it",
        "my remote doesn't work, I already replaced the batteries",
        "replaced the batteries, didn't help",
        "I've tried that already",
        "ya cambié las pilas y nada",
        "ya las cambié y sigue sin funcionar",
        "I put new batteries in, nothing",
        "j'ai déjà changé les piles",
        "ich habe die Batterien schon gewechselt",
        "já troquei as pilhas",
    ],
)
def test_a_step_done_in_vain_is_read_in_each_wording(text: str) -> None:
    assert tells_a_step_done_in_vain(text)


@pytest.mark.parametrize(
    "text",
    [
        "how do I replace the batteries?",
        "can I return it if I already paid?",
        "I already have an account, how do I log in",
        "is the order already shipped",
        "do I need to reset it after I changed the batteries",
        "¿cómo cambio las pilas?",
        "I replaced the batteries, is there anything else I should check?",
    ],
)
def test_a_question_about_a_step_is_no_step_done_in_vain(text: str) -> None:
    assert not tells_a_step_done_in_vain(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("when does it start?", True),
        ("what's it made of?", True),
        ("does it come with a cover?", True),
        ("will it fit in my lift?", True),
        ("what time is it?", False),
        ("is it raining?", False),
        ("when does the sale start?", False),
    ],
)
def test_a_property_asked_of_it_is_told_from_other_questions(text: str, expected: bool) -> None:
    assert asks_about_it(text) is expected
