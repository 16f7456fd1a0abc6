from __future__ import annotations

import math
from pathlib import Path

import pytest

from routing.classifier import (
    ComplexityClassifier,
    classifier_from_json,
    classifier_load,
    classifier_save,
    classifier_to_json,
    labelled_rows_read,
    text_features,
)
from routing.router import classify_complexity

# A toy set, enough for each label to be learnable: the words carry the class.
TOY_ROWS = [
    *[(f"hello there friend {n}", "mini") for n in range(12)],
    *[(f"what is the price of the pillow {n}", "instant") for n in range(12)],
    *[(f"the motor is broken and the base is stuck {n}", "thinking") for n in range(12)],
    *[(f"let me talk to a human agent {n}", "human") for n in range(12)],
]


@pytest.fixture
def toy_classifier() -> ComplexityClassifier:
    pytest.importorskip("sklearn")
    from routing.classifier import classifier_train

    classifier, report = classifier_train(rows=TOY_ROWS, regularisations=(4.0,), folds=3)
    assert report.rows == len(TOY_ROWS)
    return classifier


def test_features_hold_words_bigrams_and_character_ngrams() -> None:
    features = text_features("Base stuck")
    assert "w:base" in features
    assert "b:base stuck" in features
    assert "c: ba" in features
    assert any(feature.startswith("len:") for feature in features)


def test_trained_classifier_separates_the_toy_classes(toy_classifier: ComplexityClassifier) -> None:
    assert toy_classifier.predict("the base is broken")[0] == "thinking"
    assert toy_classifier.predict("hello friend")[0] == "mini"
    assert toy_classifier.predict("price of the pillow?")[0] == "instant"


def test_pure_python_probabilities_match_scikit_learn(toy_classifier: ComplexityClassifier) -> None:
    from routing.classifier import classifier_from_pipeline, classifier_pipeline

    texts, labels = zip(*TOY_ROWS, strict=True)
    fitted = classifier_pipeline(regularisation=4.0, max_features=20000).fit(list(texts), list(labels))
    pure = classifier_from_pipeline(fitted, thinking_threshold=0.5)
    for text in ("the motor is stuck", "hello", "talk to agent about the price"):
        expected = dict(zip(fitted.classes_, fitted.predict_proba([text])[0], strict=True))
        for label, probability in pure.probabilities(text).items():
            assert math.isclose(probability, expected[label], abs_tol=1e-9)


def test_json_round_trip_keeps_predictions(toy_classifier: ComplexityClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.json.gz"
    classifier_save(classifier=toy_classifier, path=path)
    loaded = classifier_load(path=path)
    assert loaded is not None
    original = toy_classifier.probabilities("the base is stuck")
    for label, probability in loaded.probabilities("the base is stuck").items():
        assert math.isclose(probability, original[label], abs_tol=1e-4)


def test_json_holds_plain_values(toy_classifier: ComplexityClassifier) -> None:
    data = classifier_to_json(toy_classifier)
    assert classifier_from_json(data).labels == toy_classifier.labels
    assert len(data["terms"]) == len(data["weights"])  # type: ignore[arg-type]


def test_missing_model_file_means_no_classifier(tmp_path: Path) -> None:
    assert classifier_load(path=tmp_path / "absent.json.gz") is None


def test_rules_override_the_classifier(toy_classifier: ComplexityClassifier) -> None:
    # The toy model has never seen an error code, but the rule makes it Thinking anyway.
    label, reason = classify_complexity("hello there, error E04", classifier=toy_classifier)
    assert label == "thinking"
    assert "error code" in reason


def test_classifier_decides_when_no_rule_fires(toy_classifier: ComplexityClassifier) -> None:
    label, reason = classify_complexity("the motor is broken", classifier=toy_classifier)
    assert label == "thinking"
    assert reason.startswith("classifier")


def test_committed_model_loads_and_routes_problems_to_thinking() -> None:
    classifier = classifier_load()
    assert classifier is not None
    assert classifier.predict("my card payment was declined twice today")[0] == "thinking"


def test_labelled_rows_reject_an_unknown_label_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text,label\nhi,mini\nhow much?,cheap\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        labelled_rows_read(path=path)


def test_labelled_rows_need_text_and_label_columns(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("sentence,label\nhi,mini\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text"):
        labelled_rows_read(path=path)
