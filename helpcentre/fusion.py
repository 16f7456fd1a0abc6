"""Fusing TF-IDF and sentence-embedding scores into one ranking with one confidence scale.

Pure Python and numpy (no Django), so cross-validation scores questions exactly as the
product does. Without the embedding model the TF-IDF score stands alone and has its own
threshold, because the two scales differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from helpcentre.index import ArticleIndex
from helpcentre.semantic import SemanticIndex

# Chosen by 5-fold cross-validation on the HINT3 SOFMattress train split, near-duplicate
# sentences kept in one fold, other bots' train questions standing in for out-of-scope ones
# (python -m helpcentre.crossvalidate, see the README for the full command).
# Weight: the largest TF-IDF share whose top-1 accuracy is within one standard error of the
# best (0.909 against 0.921 for embeddings alone), since words and codes the model never saw
# still count. Fused threshold: the lowest that still abstains on 80% of the out-of-scope
# questions (96% of in-scope ones answered). TF-IDF alone separates the two far less well:
# the same rule would answer only 79%, so it keeps the earlier rule, 90% answered.
TFIDF_THRESHOLD = 0.63
SEMANTIC_WEIGHT = 0.9
FUSED_THRESHOLD = 0.52
# Passages worth giving an LLM: in cross-validation 98% of in-scope questions' best article
# scored above this (TF-IDF alone keeps its earlier rule, half the threshold).
FUSED_PROMPT_FLOOR = 0.50
# Nearest articles by meaning that are also scored by TF-IDF; with 10% of the weight on
# TF-IDF, an article outside them would need a lead in meaning it does not have.
SEMANTIC_CANDIDATES = 10


@dataclass(frozen=True)
class FusionSettings:
    semantic_weight: float = SEMANTIC_WEIGHT
    fused_threshold: float = FUSED_THRESHOLD
    tfidf_threshold: float = TFIDF_THRESHOLD
    fused_prompt_floor: float = FUSED_PROMPT_FLOOR

    def threshold(self, *, semantic: bool) -> float:
        return self.fused_threshold if semantic else self.tfidf_threshold

    def prompt_floor(self, *, semantic: bool) -> float:
        return self.fused_prompt_floor if semantic else self.tfidf_threshold / 2


def articles_rank(
    *,
    index: ArticleIndex,
    semantic: SemanticIndex | None,
    query: str,
    limit: int,
    extra_keys: Iterable[str] = (),
    settings: FusionSettings = FusionSettings(),
    always: Iterable[str] = (),
) -> list[tuple[str, float]]:
    """The ``limit`` best (article key, score) pairs, best first, then any of ``always`` not among them.

    Without embeddings: the TF-IDF best plus ``extra_keys`` (database full-text hits), scored
    by TF-IDF. With them, candidates are the nearest articles by meaning plus ``extra_keys``,
    each scored exactly on both scales; the TF-IDF walk over all units is skipped, since with
    most of the weight on meaning an article far from the query in meaning cannot win (and the
    walk is most of the time a search takes in a large help centre).
    """
    kept = [key for key in dict.fromkeys(always) if key in index.units_by_key]
    extra = [key for key in dict.fromkeys([*extra_keys, *kept]) if key in index.units_by_key]
    if semantic is None:
        lexical = {match.key: match.score for match in index.search(query, limit=limit)}
        unscored = [key for key in extra if key not in lexical]
        lexical.update((match.key, match.score) for match in index.score_articles(query, keys=unscored))
        return _with_kept(sorted(lexical.items(), key=lambda item: item[1], reverse=True), limit, kept)
    meaning = semantic.nearest(query, limit=max(limit, SEMANTIC_CANDIDATES), also=extra)
    lexical = {match.key: match.score for match in index.score_articles(query, keys=meaning)}
    weight = settings.semantic_weight
    fused = {key: max(0.0, weight * score + (1.0 - weight) * lexical.get(key, 0.0)) for key, score in meaning.items()}
    ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)
    return [(key, round(score, 6)) for key, score in _with_kept(ranked, limit, kept)]


def _with_kept(ranked: list[tuple[str, float]], limit: int, kept: list[str]) -> list[tuple[str, float]]:
    top = ranked[:limit]
    shown = {key for key, _ in top}
    return top + [(key, score) for key, score in ranked[limit:] if key in kept and key not in shown]
