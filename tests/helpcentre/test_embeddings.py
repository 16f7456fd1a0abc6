from __future__ import annotations

import numpy as np

from helpcentre.embeddings import SentenceEncoder


def test_matches_the_reference_model(encoder: SentenceEncoder) -> None:
    # Published outputs of all-MiniLM-L6-v2 in sentence-transformers (its README example and
    # the sbert.net quickstart similarities), so the numpy forward pass is the same model.
    example = encoder.encode_one("This is an example sentence")
    assert np.allclose(example[:4], [0.0676568, 0.0634959, 0.0487131, 0.0793050], atol=1e-5)
    vectors = encoder.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    similarities = vectors @ vectors.T
    assert np.allclose(
        [similarities[0, 1], similarities[0, 2], similarities[1, 2]], [0.6660, 0.1046, 0.1411], atol=1e-3
    )


def test_unit_vectors_whatever_the_batch(encoder: SentenceEncoder) -> None:
    alone = encoder.encode_one("how long is the trial?")
    # Padded next to a much longer sentence, the short one must come out the same.
    batch = encoder.encode(
        ["a much longer question about delivery, returns, refunds and the warranty terms", "how long is the trial?"]
    )
    assert np.allclose(batch[1], alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_paraphrases_are_close_and_unrelated_text_is_not(encoder: SentenceEncoder) -> None:
    question, paraphrase, unrelated = encoder.encode(
        [
            "can I pay for the mattress in monthly instalments?",
            "do you offer EMI on mattresses",
            "who won the cricket match",
        ]
    )
    assert float(question @ paraphrase) > 0.5
    assert float(question @ unrelated) < 0.2
