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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpcentre.embeddings import SentenceEncoder

CACHE_FILE_NAME = "all-MiniLM-L6-v2.npz"
# From this many units (titles and phrasings) on, one pass over the whole matrix is bound by
# memory bandwidth (61 MB at 40,000 units, ~3.5 ms): a pass over a 128-dimensional principal
# component projection picks the candidate units instead, and only their articles are scored
# exactly. On bench.bench_retrieval's 40,000 units 99% of the exact ten nearest articles are
# among the candidates (all ten for 94% of queries); scores are exact either way, so the
# confidence threshold means the same.
PREFILTER_MIN_UNITS = 20_000
PREFILTER_DIMENSIONS = 128
PREFILTER_UNITS = 400


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


@dataclass(frozen=True)
class _Prefilter:
    """Unit vectors projected on their leading principal components, for picking candidates."""

    components: np.ndarray  # (384, PREFILTER_DIMENSIONS)
    projected: np.ndarray  # (units, PREFILTER_DIMENSIONS): the centred unit vectors, projected

    @classmethod
    def fit(cls, matrix: np.ndarray) -> _Prefilter:
        centred = matrix - matrix.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)  # eigenvalues ascending
        components = np.ascontiguousarray(vectors[:, ::-1][:, :PREFILTER_DIMENSIONS], dtype=np.float32)
        return cls(components=components, projected=np.ascontiguousarray(centred @ components, dtype=np.float32))

    def units(self, vector: np.ndarray, *, count: int) -> np.ndarray:
        """The ``count`` units likeliest to be nearest ``vector`` (the mean's share is the same for all)."""
        approximate = self.projected @ (vector @ self.components)
        if count >= len(approximate):
            return np.arange(len(approximate))
        return np.argpartition(-approximate, count)[:count]


def _best_first(scores: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the ``limit`` highest scores, highest first."""
    if limit >= len(scores):
        return np.argsort(-scores, kind="stable")
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.argsort(-scores[top], kind="stable")]


class SemanticIndex:
    """Unit vectors grouped by article; :meth:`nearest` is safe to call from many threads."""

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
        self.ends = np.append(self.starts[1:], len(self.matrix)).astype(np.intp)
        self.unit_article = np.repeat(np.arange(len(self.keys)), self.ends - self.starts)
        self.prefilter = _Prefilter.fit(self.matrix) if len(self.matrix) >= PREFILTER_MIN_UNITS else None
        self.query_vector = functools.lru_cache(maxsize=256)(self._query_vector_build)

    def _query_vector_build(self, query: str) -> np.ndarray:
        return self.encoder.encode_one(query)

    def nearest(self, query: str, *, limit: int, also: Iterable[str] = ()) -> dict[str, float]:
        """Each article's best unit cosine for the ``limit`` articles nearest ``query`` (best first),
        then for the articles keyed in ``also`` (unknown keys are left out)."""
        if not self.keys:
            return {}
        vector = self.query_vector(query)
        extra = np.array([self.position[key] for key in also if key in self.position], dtype=np.intp)
        with self.encoder.single_threaded():
            if self.prefilter is None:
                articles = np.arange(len(self.keys))
                scores = np.maximum.reduceat(self.matrix @ vector, self.starts)
            else:
                candidates = self.unit_article[self.prefilter.units(vector, count=PREFILTER_UNITS)]
                articles = np.union1d(candidates, extra)
                scores = self._best_units(articles, vector)
        top = _best_first(scores, limit)
        result = {self.keys[articles[i]]: float(scores[i]) for i in top}
        where = np.searchsorted(articles, extra)
        result.update(
            (self.keys[a], float(scores[w])) for a, w in zip(extra, where, strict=True) if self.keys[a] not in result
        )
        return result

    def _best_units(self, articles: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """The best unit cosine of each of ``articles`` (sorted positions), scoring only their units."""
        lengths = self.ends[articles] - self.starts[articles]
        offsets = np.cumsum(lengths) - lengths
        rows = np.repeat(self.starts[articles] - offsets, lengths) + np.arange(int(lengths.sum()))
        return np.maximum.reduceat(self.matrix[rows] @ vector, offsets)
