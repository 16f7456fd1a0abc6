from __future__ import annotations

import re
import unicodedata

import pytest

from helpcentre.text import language_stemmer, text_features, text_words


def test_latin_accents_are_folded_and_other_scripts_kept():
    assert text_words(text="¿Cómo devuelvo el colchón?") == ["como", "devuelvo", "el", "colchon"]
    assert text_words(text="Как вернуть матрас?") == ["как", "вернуть", "матрас"]
    assert text_words(text="गद्दा कैसे लौटाऊं?") == ["गद्दा", "कैसे", "लौटाऊं"]


@pytest.mark.parametrize("text", ["Don’t charge ₹2,000 — ½ price, naïve café", "E04 on the remote's screen"])
def test_text_in_latin_letters_gives_the_words_of_the_plain_ascii_fold(text):
    # What text_words gave before other scripts were kept: English figures rest on it.
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    assert text_words(text=text) == re.findall(r"[a-z0-9]+(?:[.'][a-z0-9]+)*%?", folded)


def test_a_language_stems_with_snowball_and_drops_its_stop_words():
    words, _ = text_features(text="las devoluciones del colchón", language="es")
    assert words == ["w:devolu", "w:colchon", "b:devolu_colchon"]
    assert language_stemmer("en") is None
    assert language_stemmer("hi") is not None
