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
    labelled_messages_read,
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


TOY_DEV = [
    ("hello friend", "mini"),
    ("what is the price of the pillow", "instant"),
    ("the motor is broken", "thinking"),
    ("the base is stuck", "thinking"),
    ("talk to a human agent", "human"),
]


@pytest.fixture
def toy_classifier() -> ComplexityClassifier:
    pytest.importorskip("sklearn")
    from routing.classifier import DevSet, classifier_train

    classifier, report = classifier_train(
        rows=TOY_ROWS, dev=[DevSet("toy", TOY_DEV, 1.0)], regularisations=(4.0,), signal_scales=(1.0,)
    )
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
    fitted = classifier_pipeline(regularisation=4.0, max_features=20000, signal_scale=0.5)
    fitted.fit(list(texts), list(labels))
    pure = classifier_from_pipeline(fitted, thinking_threshold=0.5)
    assert pure.signal_weights, "the named complexity features are part of the model"
    # Texts whose named features differ (quantities, several asks, a symptom list), so those weights are exercised.
    # Repeated words and n-grams ("the the", "stuck ... stuck") take 1 + log(count), which the word-by-word scoring
    # corrects for after summing; an empty message and one with no known n-gram have nothing to normalise.
    for text in (
        "the motor is stuck",
        "hello",
        "talk to agent about the price",
        "2 beds, 3 sofas and 40 chairs?",
        "the the the base is stuck stuck, the motor is stuck and the base is broken",
        "",
        "zzqx",
    ):
        expected = dict(zip(fitted.classes_, fitted.predict_proba([text])[0], strict=True))
        for label, probability in pure.probabilities(text).items():
            assert math.isclose(probability, expected[label], abs_tol=1e-9)


def test_scored_words_are_remembered_within_a_bound(
    toy_classifier: ComplexityClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("routing.classifier.WORD_MEMO_SIZE", 3)
    toy_classifier.words_forget()
    first = toy_classifier.scores("the base is stuck")
    assert len(toy_classifier._word_parts) <= 3
    # The memo only saves work: the same message scores the same with it full, emptied, or refilled.
    assert toy_classifier.scores("the base is stuck") == first
    toy_classifier.words_forget()
    assert toy_classifier.scores("the base is stuck") == first


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


def test_calibration_divides_by_the_temperature_and_shifts_by_the_bias() -> None:
    classifier = ComplexityClassifier(
        labels=("instant", "thinking"),
        vocabulary={},
        idf=(),
        weights=(),
        intercepts=(1.0, 0.0),
        temperature=2.0,
        calibration_bias=(0.0, 0.25),
    )
    expected_thinking = 1 / (1 + math.exp(1.0 / 2.0 - 0.25))
    assert math.isclose(classifier.probabilities("anything")["thinking"], expected_thinking, rel_tol=1e-12)


def test_named_features_move_the_scores() -> None:
    # No n-grams at all: only the weight of "three or more quantities" can make this Thinking.
    classifier = ComplexityClassifier(
        labels=("instant", "thinking"),
        vocabulary={},
        idf=(),
        weights=(),
        intercepts=(0.0, -1.0),
        signal_weights={"quantities:3+": (0.0, 3.0)},
    )
    assert classifier.predict("do you sell desks")[0] == "instant"
    assert classifier.predict("40 desks, 40 chairs and 6 tables by 1 September")[0] == "thinking"


def test_threshold_is_chosen_on_the_dev_split_to_reach_the_recall_target() -> None:
    pytest.importorskip("sklearn")
    from routing.classifier import DevSet, classifier_train

    # Thinking rows on dev that look like instant ones (a plain ask, no symptom): only a low threshold recalls them.
    dev = [*TOY_DEV, ("what is the price of the motor pillow", "thinking"), ("price of the base pillow", "thinking")]
    strict, strict_report = classifier_train(
        rows=TOY_ROWS, dev=[DevSet("toy", dev, 1.0)], regularisations=(4.0,), signal_scales=(1.0,)
    )
    lenient, _ = classifier_train(
        rows=TOY_ROWS, dev=[DevSet("toy", dev, 0.5)], regularisations=(4.0,), signal_scales=(1.0,)
    )
    assert strict.thinking_threshold < lenient.thinking_threshold
    assert strict_report.dev_recall["toy"]["thinking"] == 1.0
    for text, label in dev:
        if label == "thinking":
            assert strict.predict(text)[0] == "thinking"


def test_threshold_counts_rows_the_rules_decide() -> None:
    pytest.importorskip("sklearn")
    from routing.classifier import DevSet, classifier_train

    dev = [*TOY_DEV, ("what is the price of the motor pillow", "thinking")]
    # A rule that already sends the hard row to Thinking leaves the threshold where the classifier alone needs it.
    ruled, _ = classifier_train(
        rows=TOY_ROWS,
        dev=[DevSet("toy", dev, 1.0)],
        regularisations=(4.0,),
        signal_scales=(1.0,),
        rule_label=lambda text: "thinking" if "motor pillow" in text else None,
    )
    unruled, _ = classifier_train(
        rows=TOY_ROWS, dev=[DevSet("toy", dev, 1.0)], regularisations=(4.0,), signal_scales=(1.0,)
    )
    assert ruled.thinking_threshold > unruled.thinking_threshold


def test_format_one_files_without_named_features_still_load() -> None:
    data = {
        "format": 1,
        "labels": ["instant", "thinking"],
        "terms": ["w:broken"],
        "idf": [1.0],
        "weights": [[0.0, 4.0]],
        "intercepts": [0.0, -1.0],
        "thinking_threshold": 0.5,
    }
    classifier = classifier_from_json(data)
    assert classifier.temperature == 1.0
    assert classifier.predict("broken")[0] == "thinking"
    assert classifier.predict("hello")[0] == "instant"


def test_written_labels_read_category_and_previous(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "text,label,category,domain,previous\n"
        "hi,mini,small_talk,travel,\n"
        "that didn't help,thinking,followup_not_helped,telecom,How do I reset my router?\n",
        encoding="utf-8",
    )
    first, second = labelled_messages_read(path=path)
    assert (first.category, first.previous) == ("small_talk", "")
    assert (second.category, second.previous) == ("followup_not_helped", "How do I reset my router?")
    assert labelled_rows_read(path=path) == [("hi", "mini"), ("that didn't help", "thinking")]


def test_refit_with_dev_learns_words_only_the_dev_split_has() -> None:
    pytest.importorskip("sklearn")
    from routing.classifier import DevSet, classifier_train

    dev = [*TOY_DEV, ("the kettle is leaking", "thinking"), ("the kettle is leaking again", "thinking")]
    kept, kept_report = classifier_train(
        rows=TOY_ROWS, dev=[DevSet("toy", dev, 1.0)], regularisations=(4.0,), signal_scales=(1.0,)
    )
    refitted, refit_report = classifier_train(
        rows=TOY_ROWS,
        dev=[DevSet("toy", dev, 1.0)],
        regularisations=(4.0,),
        signal_scales=(1.0,),
        refit_with_dev=True,
    )
    assert "w:kettle" not in kept.vocabulary
    assert "w:kettle" in refitted.vocabulary
    # Settings, calibration and threshold are the ones chosen on dev before the refit.
    assert refitted.thinking_threshold == kept.thinking_threshold
    assert refitted.temperature == kept.temperature
    assert refit_report.refitted and not kept_report.refitted
