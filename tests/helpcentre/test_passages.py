from __future__ import annotations

from helpcentre.passages import answer_extract, passage_select
from helpcentre.terms import terms_carry, terms_of


def _rare(stem: str) -> float:
    return 2.0


CODES = """When something goes wrong, the base shows an error code.

| Code | Meaning | What to do |
|---|---|---|
| E01 | Head motor not responding | Check the head motor cable. |
| E04 | Position sensor lost | Run a recalibration (steps below). |

## Recalibrate (E04, or after moving the base)

1. Press and hold FLAT for 10 seconds.
2. Release when the light flashes white.

## Noise

A light hum is normal. Grinding usually means a loose bolt: tighten it with the Allen key.
"""

PRICES = """Prices include GST.

| Size | Ergo 6" | Ergo 8" | Ortho 6" | Ortho 8" |
|---|---|---|---|---|
| Queen (78×60) | ₹16,999 | ₹20,499 | ₹18,499 | ₹21,999 |
| King (78×72) | ₹19,999 | ₹23,999 | ₹21,499 | ₹25,999 |

## Custom sizes

Custom sizes cost the next larger size plus a 10% customisation charge. They take 4 extra working days.
"""

TRIAL = """Every mattress comes with a 100-night trial.

## How it works

1. Sleep on it for at least 21 nights first.
2. Ask for a pickup any time before night 100; the refund reaches you within 5–7 working days.

## Good to know

- One trial return per household.
- Prefer another firmness? See *Returns and exchanges*.
"""


def test_passage_is_the_matching_section_after_the_articles_first_sentence() -> None:
    body = (
        "Ten years, from delivery. Stains are not covered.\n\n## Claims\n\nSend photos of the dent.\n\n## Other\n\nNo."
    )
    passage = passage_select(body=body, title="Warranty", query="how do I make a claim with photos", idf=_rare)
    # What the article is about in one sentence, then the section that answers; nothing else.
    assert passage == "Ten years, from delivery.\n\nClaims:\nSend photos of the dent."


def test_an_error_code_gets_its_row_and_the_steps_the_row_points_to() -> None:
    passage = passage_select(body=CODES, title="Error codes", query="my base shows E04", idf=_rare)
    assert passage.startswith("E04 — Meaning: Position sensor lost")
    assert "Press and hold FLAT for 10 seconds" in passage
    assert "E01" not in passage and "When something goes wrong" not in passage


def test_a_price_question_gets_the_row_and_column_it_names() -> None:
    passage = passage_select(body=PRICES, title="Mattress prices", query="price of the queen ergo 8 inch", idf=_rare)
    assert passage == "Queen (78×60), Ergo 8 inch: ₹20,499"
    ergo = passage_select(body=PRICES, title="Mattress prices", query="how much is the ergo?", idf=_rare)
    assert "King (78×72) — Ergo 6 inch: ₹19,999 · Ergo 8 inch: ₹23,999" in ergo and "Ortho" not in ergo


def test_a_follow_up_swaps_one_word_and_keeps_the_others() -> None:
    first = terms_of("price of the queen ergo 8 inch")
    then = terms_carry(latest=terms_of("what about the ortho?"), earlier=first)
    extract = answer_extract(body=PRICES, title="Mattress prices", terms=then, idf=_rare, follow_up=True)
    assert extract.text == "Queen (78×60), Ortho 8 inch: ₹21,999"


def test_a_detail_question_gets_the_item_that_holds_the_detail() -> None:
    extract = answer_extract(
        body=TRIAL, title="The 100-night trial", terms=terms_of("when do I get my refund?"), idf=_rare, follow_up=True
    )
    assert "5–7 working days" in extract.text
    assert "21 nights" not in extract.text  # the other step is not part of the answer


def test_a_how_to_question_gets_all_the_steps() -> None:
    passage = passage_select(
        body=TRIAL, title="The 100-night trial", query="how does the trial work, what are the steps?", idf=_rare
    )
    assert "1. Sleep on it" in passage and "2. Ask for a pickup" in passage


def test_a_heading_that_names_the_problem_wins_over_an_opening_that_restates_it() -> None:
    passage = passage_select(body=CODES, title="Error codes", query="grinding noise from the base", idf=_rare)
    assert "loose bolt" in passage


def test_words_pointing_at_another_article_do_not_make_a_part_match() -> None:
    passage = passage_select(body=TRIAL, title="The 100-night trial", query="exchanges", idf=_rare)
    assert "Prefer another firmness" not in passage and passage.startswith("Every mattress")


def test_a_question_that_only_names_the_article_gets_its_opening() -> None:
    passage = passage_select(body=PRICES, title="Mattress prices", query="prices", idf=_rare)
    assert "Queen (78×60) — Ergo 6 inch" in passage and "Custom sizes cost" not in passage


REMOTE = """The remote talks to the base by radio.

## Replace the batteries

1. Slide off the back cover.
2. Fit two new AAA batteries.

## Still not working

- Lost the remote? The app does everything the remote does. Replacement remotes cost ₹1,499.
"""


def test_a_follow_up_asking_for_a_detail_gets_the_part_that_holds_one_not_a_shared_word():
    asked = terms_carry(latest=terms_of("how much is a new one?"), earlier=terms_of("I lost the remote"))
    # "new" is a rare word here, and only the batteries' step has it.
    extract = answer_extract(
        body=REMOTE, title="The remote", terms=asked, idf=lambda stem: 5.0 if stem == "new" else 1.0, follow_up=True
    )
    assert "₹1,499" in extract.text and "AAA" not in extract.text


CUSTOM = """Any mattress can be made to your size.

## Good to know

- Price: the next larger standard size plus a 10% charge.
- Custom mattresses are made to order and take 4 extra working days.
- Cash on delivery is not available.
"""


def test_extra_days_are_a_duration_asked_and_given():
    asked = terms_carry(latest=terms_of("how many extra days does it take?"), earlier=terms_of("custom sizes"))
    extract = answer_extract(body=CUSTOM, title="Custom sizes", terms=asked, idf=_rare, follow_up=True)
    assert "4 extra working days" in extract.text and "10% charge" not in extract.text


WARRANTY = """Every mattress has a 10-year warranty from the date of delivery.

## What is covered

- Sagging deeper than 1 inch.

## How to claim

1. Send photos of the problem in chat.
2. We reply within 3 working days.

## Good to know

The warranty needs no registration: your order is your warranty card.
"""


def test_a_question_in_other_words_than_the_article_still_finds_its_part():
    # "register" is only in the article as "registration": the synonym counts, the opening does not answer.
    passage = passage_select(body=WARRANTY, title="Warranty", query="do I need to register my warranty?", idf=_rare)
    assert "needs no registration" in passage and "Sagging" not in passage
