from __future__ import annotations

import math

import pytest

from bench.bench_tokens import corpora
from routing.tokens import SCRIPT_CHARS_PER_TOKEN, script_char_counts, text_tokens_estimate


def test_ascii_text_keeps_four_characters_a_token():
    assert text_tokens_estimate("x" * 9) == 3
    assert text_tokens_estimate("How do I return the mattress?") == math.ceil(29 / 4)


def test_characters_are_counted_by_script():
    counts = script_char_counts("गद्दा? ok é Как 東京")
    assert (counts["devanagari"], counts["cyrillic"], counts["cjk"]) == (5, 3, 2)
    assert counts["latin"] == 8 and counts["other"] == 0  # "?", "o", "k", "é" and four spaces


def test_devanagari_costs_more_tokens_a_character_than_latin():
    hindi = "गद्दा कैसे लौटाऊं"  # 15 Devanagari characters and 2 spaces
    assert text_tokens_estimate(hindi) == math.ceil(15 / SCRIPT_CHARS_PER_TOKEN["devanagari"] + 2 / 4)
    assert text_tokens_estimate(hindi) > len(hindi) / 4


def test_a_script_without_a_rate_counts_a_token_a_character():
    assert text_tokens_estimate("ሰላም") == 3  # Ethiopic


@pytest.mark.parametrize("corpus", [name for name, _, _ in corpora()])
def test_estimates_stay_within_a_tenth_of_o200k_on_the_calibration_corpora(corpus):
    bpe_openai = pytest.importorskip("bpe_openai")
    encoder = bpe_openai.get_encoding("o200k_base")
    text = next(text for name, _, text in corpora() if name == corpus)
    ratio = text_tokens_estimate(text) / len(encoder.encode(text))
    assert 0.9 <= ratio <= 1.1, ratio
