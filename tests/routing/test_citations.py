from __future__ import annotations

from dataclasses import dataclass

import pytest

from routing.citations import answer_ground


@dataclass(frozen=True)
class Passage:
    key: str
    title: str
    url: str
    text: str = ""


TRIAL = Passage(key="100_NIGHT_TRIAL_OFFER", title="The 100-night sleep trial", url="/help/100-night-trial/")
RETURNS = Passage(key="RETURN_EXCHANGE", title="Returns and exchanges", url="/help/returns/")


def test_links_to_given_passages_become_citations_once_and_stay_in_the_text():
    text = "See [the trial](/help/100-night-trial/) and [it again](https://support.example/help/100-night-trial)."
    grounded = answer_ground(text=text, passages=[TRIAL, RETURNS], own_hosts=["support.example"])
    assert [citation.key for citation in grounded.citations] == ["100_NIGHT_TRIAL_OFFER"]
    assert grounded.text == text and grounded.links_removed == 0


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Claim it [here](https://evil.example/refund) today.", "Claim it here today."),
        ("Claim it at https://evil.example/refund.", "Claim it at (link removed)."),
        ("Read [returns](/help/not-given/) first.", "Read returns first."),
        ("Elsewhere: [trial](https://evil.example/help/100-night-trial/).", "Elsewhere: trial."),
        ("A script: [click](javascript:alert(1))", "A script: click"),
        # Parentheses in the URL, as Markdown renderers read them, and a bare URL in parentheses.
        ("B: [Get refund now](https://evil.example/r_(1)) today", "B: Get refund now today"),
        ("More (see https://evil.example/x) and more", "More (see (link removed)) and more"),
        ("More at (https://evil.example/x).", "More at (link removed)."),
        ("An image: ![our logo](https://evil.example/logo.png) there", "An image: our logo there"),
        ("An image: ![](https://evil.example/pixel.gif) there", "An image: (link removed) there"),
    ],
)
def test_links_to_anything_not_given_are_taken_out(text, kept):
    grounded = answer_ground(text=text, passages=[TRIAL], own_hosts=["support.example"])
    assert grounded.citations == ()
    assert grounded.text == kept and grounded.links_removed == 1


@pytest.mark.parametrize(
    "text",
    [
        "[a](https://evil.example/r_((1))) b",
        "[a](https://evil.example/x y) b",
        "[a]( https://evil.example/x ) b",
        "[a](<https://evil.example/x>) b",
        "[a]\n(https://evil.example/x) b",
        "[[a]](https://evil.example/x) b",
        "[a](//evil.example/x) b",
        "[a](HTTPS://EVIL.EXAMPLE/x) b",
        "x https://evil.example/a_(b)_c y",
        "<a href='https://evil.example/x'>a</a>",
        # Spaces between angle brackets, an autolink left open, an address glued to a word or a slash, capitals,
        # and a removed link whose words are an address: each is a link to some client.
        "Trial [trial](<http://evil.example/a b>) ok.",
        "Trial [trial](<//evil.example/a b>) ok.",
        "Trial <http://evil.example/a b> ok.",
        "Trial <http://evil.example/a ok.",
        "Trialhttp://evil.example/a ok.",
        "Trial /http://evil.example/a ok.",
        "Trial HTTP://EVIL.EXAMPLE/a ok.",
        "Trial [http://evil.example/a](http://evil.example/a) ok.",
        "Trial [see https://evil.example/a](/help/not-given/) ok.",
    ],
)
def test_no_address_outside_the_help_centre_survives_however_it_is_written(text):
    grounded = answer_ground(text=text, passages=[TRIAL], own_hosts=["support.example"])
    assert "evil.example" not in grounded.text.lower(), grounded.text


def test_bare_paths_and_urls_to_given_passages_cite_too():
    text = "Details: /help/returns/ and https://support.example/help/100-night-trial/."
    grounded = answer_ground(text=text, passages=[TRIAL, RETURNS], own_hosts=["support.example"])
    assert {citation.key for citation in grounded.citations} == {"RETURN_EXCHANGE", "100_NIGHT_TRIAL_OFFER"}
    assert grounded.text == text


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        (
            'Read [the trial](/help/100-night-trial/ "The trial") first.',
            "Read [the trial](/help/100-night-trial/) first.",
        ),
        ("Read [the trial](/help/100-night-trial/ 'The trial').", "Read [the trial](/help/100-night-trial/)."),
        ("Read [see [the trial]](/help/100-night-trial/).", "Read [see the trial](/help/100-night-trial/)."),
        (
            "Read <https://support.example/help/100-night-trial/>.",
            "Read https://support.example/help/100-night-trial/.",
        ),
        ("Read </help/100-night-trial/> now.", "Read /help/100-night-trial/ now."),
        ("Read [the trial](</help/100-night-trial/>) now.", "Read [the trial](/help/100-night-trial/) now."),
    ],
)
def test_links_with_a_title_nested_brackets_or_angle_brackets_cite_and_are_stored_plain(text, stored):
    grounded = answer_ground(text=text, passages=[TRIAL, RETURNS], own_hosts=["support.example"])
    assert [citation.key for citation in grounded.citations] == ["100_NIGHT_TRIAL_OFFER"]
    assert grounded.text == stored and grounded.links_removed == 0


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('Read [this](https://evil.example/x "Trust me") now.', "Read this now."),
        ("Read <https://evil.example/refund> now.", "Read (link removed) now."),
        ("Read [this](<https://evil.example/a b>) now.", "Read this now."),
        ("Read <https://evil.example/a b> now.", "Read (link removed) now."),
        ("Read [https://evil.example/a](https://evil.example/a) now.", "Read (link removed) now."),
    ],
)
def test_titled_and_angle_links_to_anything_not_given_are_taken_out(text, kept):
    grounded = answer_ground(text=text, passages=[TRIAL], own_hosts=["support.example"])
    assert grounded.citations == ()
    assert grounded.links_removed == 1 and grounded.text == kept.replace("  ", " ")


def test_closing_tags_in_an_answer_are_not_links():
    text = "Here you go <script>alert(1)</script> and <b>bold</b> </help-not/>"
    grounded = answer_ground(text=text, passages=[TRIAL], own_hosts=["support.example"])
    assert grounded.text == text and grounded.links_removed == 0 and grounded.citations == ()


def test_a_link_to_an_article_given_in_two_languages_cites_the_version_given_first():
    spanish = Passage(key="RETURN_EXCHANGE", title="Devoluciones", url="/help/devoluciones/")
    grounded = answer_ground(text="Mira [Returns](/help/returns/).", passages=[spanish, RETURNS, TRIAL])
    assert [(citation.key, citation.url) for citation in grounded.citations] == [
        ("RETURN_EXCHANGE", "/help/devoluciones/")
    ]
    assert grounded.links_removed == 0


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("You have 100 nights [1]. Returns are free [2].", ["100_NIGHT_TRIAL_OFFER", "RETURN_EXCHANGE"]),
        ("See [Returns and exchanges] for the steps.", ["RETURN_EXCHANGE"]),
        ("See [returns and exchanges ] and [#1].", ["RETURN_EXCHANGE", "100_NIGHT_TRIAL_OFFER"]),
        ("Nothing by [3], [0], [the trial] or [x](/help/not-given/).", []),
    ],
)
def test_a_passage_referenced_by_its_number_or_title_is_cited_and_the_text_kept(text, cited):
    grounded = answer_ground(text=text, passages=[TRIAL, RETURNS])
    assert [citation.key for citation in grounded.citations] == cited
    assert grounded.text == text.replace("[x](/help/not-given/)", "x")
