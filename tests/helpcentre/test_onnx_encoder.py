from __future__ import annotations

import numpy as np
import pytest

from helpcentre.embeddings import SentenceEncoder, _layer_norm, sentence_encoder_get
from helpcentre.onnx_encoder import onnx_available, onnx_layers_build


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    loaded = sentence_encoder_get()
    if loaded is None or not onnx_available():
        pytest.skip("the embedding model package or onnxruntime is not installed")
    return loaded


@pytest.mark.parametrize(
    "sentence",
    ["hello", "can I pay for the mattress in monthly instalments?", "warranty " * 300],
)
def test_single_sentences_match_the_numpy_forward_pass(encoder: SentenceEncoder, sentence: str) -> None:
    # encode() batches through numpy; encode_one() goes through the ONNX graph.
    assert np.allclose(encoder.encode_one(sentence), encoder.encode([sentence])[0], atol=1e-5)


def test_the_graph_pools_before_normalising(encoder: SentenceEncoder) -> None:
    layers = onnx_layers_build(encoder=encoder)
    ids = np.array(encoder.tokenizer.encode("how long is the trial?").ids)
    hidden = _layer_norm(
        encoder.word_embeddings[ids] + encoder.position_embeddings[: len(ids)], encoder.embedding_norm, encoder.eps
    )
    pooled = layers.pooled(hidden)
    assert pooled.shape == (encoder.dimension,)
    assert abs(float(np.linalg.norm(pooled)) - 1.0) > 1e-3
    assert np.allclose(pooled / np.linalg.norm(pooled), encoder.encode_one("how long is the trial?"), atol=1e-6)
