from __future__ import annotations

from helpcentre.terms import focus_of_passage, focus_of_question, stem_variants


def test_extra_days_ask_for_a_duration_and_paying_extra_for_a_price():
    assert focus_of_question("how many extra days does it take?") == {"duration"}
    assert focus_of_question("do I pay extra?") == {"price"}
    assert focus_of_question("when do I get my refund?") == {"duration"}
    assert "duration" in focus_of_passage("Custom mattresses take 4 extra working days.")


def test_a_base_word_meets_its_ed_form_and_its_noun_in_ment():
    assert "replac" in stem_variants("replace")  # "replaced" stems to "replac"
    assert "replace" in stem_variants("replac")
    assert "replace" in stem_variants("replacement") and "replacement" in stem_variants("replace")
