"""Nearest-neighbour search over sentence embeddings of article titles and phrasings.

An article scores as the cosine similarity between the query and its closest unit (title or
alternative phrasing): cross-validation on the HINT3 SOFMattress train split found the best
single unit a better judge than an article's centroid. Vectors are cached on disk by text, so
re-indexing after an edit only encodes the new phrasings.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from routing.knowledge.embeddings import SentenceEncoder

CACHE_FILE_NAME = "all-MiniLM-L6-v2.npz"


def _text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


class EmbeddingCache:
    """Text → vector, kept in one ``.npz`` file; written whole and swapped in atomically."""

    def __init__(self, folder: Path | None):
        self.path = folder / CACHE_FILE_NAME if folder else None
        self.vectors: dict[bytes, np.ndarray] = {}
        if self.path and self.path.is_file():
            try:
                with np.load(self.path) as stored:
                    self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                self.vectors = {}  # a damaged cache is only a slower start

    def vectors_for(self, texts: Sequence[str], *, encoder: SentenceEncoder) -> np.ndarray:
        keys = [_text_key(text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            encoded = encoder.encode([by_key[k] for k in missing])
            self.vectors.update(zip(missing, encoded, strict=True))
            self._save()
        if not keys:
            return np.zeros((0, encoder.dimension), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Another process may write at the same time: each writes a whole file and renames it.
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(
                    stream,
                    keys=np.array(list(self.vectors), dtype="S40"),
                    vectors=np.stack(list(self.vectors.values())),
                )
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)


class SemanticIndex:
    """Unit vectors grouped by article; :meth:`article_scores` is safe to call from many threads."""

    def __init__(self, units: Sequence[tuple[str, str]], *, encoder: SentenceEncoder, cache: EmbeddingCache):
        """``units``: (article key, text) pairs; one article's units may appear in any order."""
        ordered = sorted(range(len(units)), key=lambda i: units[i][0])
        self.encoder = encoder
        self.keys: list[str] = []
        starts: list[int] = []
        for position, unit in enumerate(ordered):
            key = units[unit][0]
            if not self.keys or self.keys[-1] != key:
                self.keys.append(key)
                starts.append(position)
        self.starts = np.array(starts, dtype=np.intp)
        self.position = {key: number for number, key in enumerate(self.keys)}
        self.matrix = np.ascontiguousarray(cache.vectors_for([units[i][1] for i in ordered], encoder=encoder))
        self.query_vector = functools.lru_cache(maxsize=256)(self._query_vector_build)

    def _query_vector_build(self, query: str) -> np.ndarray:
        return self.encoder.encode_one(query)

    def article_scores(self, query: str) -> np.ndarray:
        """Each article's best unit cosine, in the order of :attr:`keys`."""
        if not self.keys:
            return np.zeros(0, dtype=np.float32)
        vector = self.query_vector(query)
        with self.encoder.single_threaded():
            similarities = self.matrix @ vector
        return np.maximum.reduceat(similarities, self.starts)

    def best(self, scores: np.ndarray, *, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` best (key, score) pairs of an :meth:`article_scores` result, best first."""
        if limit >= len(scores):
            top = np.argsort(-scores)
        else:
            candidates = np.argpartition(-scores, limit)[:limit]
            top = candidates[np.argsort(-scores[candidates])]
        return [(self.keys[i], float(scores[i])) for i in top]
