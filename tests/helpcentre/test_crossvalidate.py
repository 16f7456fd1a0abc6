from __future__ import annotations

from helpcentre.crossvalidate import (
    Corpus,
    FoldResult,
    demo_articles_load,
    folds_assign,
    near_duplicate_groups,
    threshold_choose,
)
from helpcentre.semantic import EmbeddingCache


def test_sentences_differing_only_in_case_and_spaces_share_a_fold() -> None:
    rows = [
        ("Is COD available?", "COD"),
        ("is  cod available?", "COD"),
        ("EMI options", "EMI"),
        ("Warranty", "WARRANTY"),
    ]
    corpus = Corpus(articles=demo_articles_load(), rows=rows, out_of_scope=[], encoder=None, cache=EmbeddingCache(None))
    groups = near_duplicate_groups(corpus=corpus)
    assert sorted(map(sorted, groups)) == [[0, 1], [2], [3]]
    folds = folds_assign(groups=groups, folds=2)
    assert any({0, 1} <= set(fold) for fold in folds)
    assert sorted(i for fold in folds for i in fold) == [0, 1, 2, 3]


def test_threshold_abstains_on_the_target_share_of_out_of_scope() -> None:
    result = FoldResult(
        in_scope=[("COD", "COD", 0.9), ("EMI", "EMI", 0.4)], out_of_scope_scores=[i / 10 for i in range(10)]
    )
    threshold = threshold_choose(result=result)
    assert sum(score < threshold for score in result.out_of_scope_scores) == 8
