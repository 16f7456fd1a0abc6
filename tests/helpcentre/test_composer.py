from __future__ import annotations

import pytest

from helpcentre.composer import NOT_SURE_TEXT, compose_answer
from helpcentre.models import Article


@pytest.mark.django_db
def test_short_cited_answer_about_the_trial(demo_helpcentre) -> None:
    answer = compose_answer("how long is the trial?")
    article = Article.objects.get(key="100_NIGHT_TRIAL_OFFER")
    assert answer.confident and answer.top_key == article.key
    assert "100 nights" in answer.text
    assert len(answer.text) < len(article.body) / 2  # the relevant part, not the whole article
    # One citation line: the widget links the citation, so the text does not repeat it.
    assert [c.url for c in answer.citations] == [article.url]
    assert "Read more" not in answer.text and article.url not in answer.text


@pytest.mark.django_db
def test_abstains_when_the_help_centre_has_no_answer(demo_helpcentre) -> None:
    answer = compose_answer("what's the weather tomorrow?")
    assert not answer.confident
    assert answer.text == NOT_SURE_TEXT and answer.citations == []


@pytest.mark.django_db
def test_answers_from_the_section_that_matches(demo_helpcentre) -> None:
    answer = compose_answer("my LiftBase shows error E05, what does it mean?")
    assert answer.top_key == "LIFTBASE_ERROR_CODES"
    assert "E05" in answer.text


@pytest.mark.django_db
def test_follow_up_uses_the_previous_question(demo_helpcentre) -> None:
    alone = compose_answer("and the queen one?")
    followed = compose_answer("and the queen one?", history=["What is the price of the Ergo mattress?"])
    assert not alone.confident
    assert followed.confident and followed.top_key == "MATTRESS_COST"
