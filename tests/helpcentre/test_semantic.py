from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpcentre import semantic
from helpcentre.embeddings import SentenceEncoder
from helpcentre.semantic import EmbeddingCache, SemanticIndex


class _RefusingEncoder:
    """Stands in for the encoder where every vector must come from the cache."""

    dimension = 384

    def encode(self, sentences):  # type: ignore[no-untyped-def]
        raise AssertionError(f"encoded {list(sentences)!r} instead of reading the cache")


def test_cache_written_to_disk_is_read_back_without_encoding(tmp_path: Path, encoder: SentenceEncoder) -> None:
    texts = ["Warranty", "cash on delivery"]
    first = EmbeddingCache(tmp_path).vectors_for(texts, encoder=encoder)
    reread = EmbeddingCache(tmp_path).vectors_for(texts[::-1], encoder=_RefusingEncoder())  # type: ignore[arg-type]
    assert np.array_equal(reread, first[::-1])


def test_damaged_cache_file_only_means_encoding_again(tmp_path: Path, encoder: SentenceEncoder) -> None:
    (tmp_path / "all-MiniLM-L6-v2.npz").write_bytes(b"not a numpy file")
    vectors = EmbeddingCache(tmp_path).vectors_for(["Warranty"], encoder=encoder)
    assert vectors.shape == (1, encoder.dimension)


def test_nearest_scores_each_article_by_its_best_unit(encoder: SentenceEncoder) -> None:
    units = [
        ("WARRANTY", "Warranty"),
        ("COD", "Cash on delivery"),
        ("WARRANTY", "how many years of guarantee do I get"),
        ("COD", "can I pay when it arrives"),
    ]
    index = SemanticIndex(units, encoder=encoder, cache=EmbeddingCache(None))
    query = "can I pay the courier in cash when the parcel comes"
    scores = index.nearest(query, limit=2)
    vector = encoder.encode_one(query)
    for key in ("WARRANTY", "COD"):
        expected = max(float(encoder.encode_one(text) @ vector) for k, text in units if k == key)
        assert scores[key] == pytest.approx(expected, abs=1e-5)
    assert list(scores) == ["COD", "WARRANTY"]
    assert list(index.nearest(query, limit=1)) == ["COD"]
    assert list(index.nearest(query, limit=1, also=["WARRANTY", "NO_SUCH_ARTICLE"])) == ["COD", "WARRANTY"]


def _demo_units() -> list[tuple[str, str]]:
    from helpcentre.crossvalidate import demo_articles_load

    return [(article.key, text) for article in demo_articles_load() for text in (article.title, *article.phrasings)]


QUESTIONS = [
    "how long is the trial?",
    "can I pay in instalments",
    "the bed base app won't pair with my phone",
    "where is my order",
    "what's the weather tomorrow?",
]


def test_prefiltered_nearest_gives_exact_scores_and_keeps_the_extra_articles(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = _demo_units()
    exact = SemanticIndex(units, encoder=encoder, cache=EmbeddingCache(None))
    monkeypatch.setattr(semantic, "PREFILTER_MIN_UNITS", 1)
    monkeypatch.setattr(semantic, "PREFILTER_DIMENSIONS", 32)
    monkeypatch.setattr(semantic, "PREFILTER_UNITS", 40)
    prefiltered = SemanticIndex(units, encoder=encoder, cache=EmbeddingCache(None))
    assert exact.prefilter is None and prefiltered.prefilter is not None
    assert prefiltered.prefilter.projected.shape == (len(units), 32)
    everything = len(exact.keys)
    for question in QUESTIONS:
        truth = exact.nearest(question, limit=everything)
        far = list(truth)[-1]  # the article least like the question: never among the candidates
        found = prefiltered.nearest(question, limit=3, also=[far])
        assert list(found)[:1] == list(truth)[:1]
        assert far in found
        for key, score in found.items():
            assert score == pytest.approx(truth[key], abs=1e-5)
