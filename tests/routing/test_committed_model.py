"""The committed router model against the written development split: a guard against a bad retrain.

The model's final weights were fitted on training and development rows, so these figures are in-sample;
they catch a broken model file or training run, not generalisation (see docs/benchmarks.md for held-out).
"""

from __future__ import annotations

from pathlib import Path

from routing.classifier import classifier_load, labelled_messages_read
from routing.router_eval import router_evaluate
from routing.tiers import default_catalogue

DATA = Path(__file__).resolve().parents[2] / "routing" / "data"


def test_committed_model_routes_the_written_dev_split() -> None:
    classifier = classifier_load()
    assert classifier is not None
    evaluation = router_evaluate(
        rows=labelled_messages_read(path=DATA / "written_dev.csv"), catalogue=default_catalogue(), classifier=classifier
    )
    assert evaluation.accuracy >= 0.93
    assert evaluation.per_class["thinking"]["recall"] >= 0.95
    assert evaluation.per_class["human"]["recall"] >= 0.95
    assert evaluation.per_category is not None
    assert min(scores["recall"] for scores in evaluation.per_category.values()) >= 0.75


def test_committed_model_is_calibrated_and_thresholded() -> None:
    classifier = classifier_load()
    assert classifier is not None
    assert 0.0 < classifier.thinking_threshold <= 0.5
    assert classifier.signal_weights, "the named complexity features are in the model"
    assert classifier.calibration_bias
