"""A small learned complexity classifier that runs without scikit-learn at decision time.

Training (``train_router``) fits a TF-IDF + logistic regression model with scikit-learn
and stores vocabulary, idf and weights as JSON. Prediction re-computes the same
features in plain Python, so starting the product never imports scikit-learn or numpy
and a decision costs well under a millisecond.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

COMPLEXITY_LABELS: tuple[str, ...] = ("mini", "instant", "thinking", "human")
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "router_model.json.gz"

_WORD = re.compile(r"\w+")
_CHAR_NGRAM_SIZES = (2, 3, 4)


def text_features(text: str) -> list[str]:
    """Word uni/bigrams and character 2-4-grams inside words; shared by training and prediction."""
    words = _WORD.findall(text.lower())
    features = [f"w:{word}" for word in words]
    features += [f"b:{left} {right}" for left, right in zip(words, words[1:], strict=False)]
    for word in words:
        padded = f" {word} "
        for size in _CHAR_NGRAM_SIZES:
            features += [f"c:{padded[i : i + size]}" for i in range(len(padded) - size + 1)]
    # Message length matters for complexity but is invisible to n-grams; a few coarse buckets carry it.
    features.append(f"len:{min(len(words) // 8, 6)}")
    return features


@dataclass(frozen=True)
class ComplexityClassifier:
    """Multinomial logistic regression over sublinear TF-IDF features."""

    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per feature, one column per label
    intercepts: tuple[float, ...]
    thinking_threshold: float = 0.5

    def probabilities(self, text: str) -> dict[str, float]:
        counts = Counter(
            index for feature in text_features(text) if (index := self.vocabulary.get(feature)) is not None
        )
        values = {index: (1.0 + math.log(count)) * self.idf[index] for index, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in values.values())) or 1.0
        scores = list(self.intercepts)
        for index, value in values.items():
            row = self.weights[index]
            for column in range(len(scores)):
                scores[column] += row[column] * value / norm
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        return {label: exp / total for label, exp in zip(self.labels, exps, strict=True)}

    def predict(self, text: str) -> tuple[str, float]:
        """The label and its probability; Thinking wins whenever it reaches the tuned threshold."""
        probabilities = self.probabilities(text)
        if probabilities.get("thinking", 0.0) >= self.thinking_threshold:
            return "thinking", probabilities["thinking"]
        label = max(probabilities, key=probabilities.__getitem__)
        return label, probabilities[label]


def classifier_to_json(classifier: ComplexityClassifier) -> dict[str, object]:
    terms = sorted(classifier.vocabulary, key=classifier.vocabulary.__getitem__)
    return {
        "format": 1,
        "labels": list(classifier.labels),
        "terms": terms,
        "idf": [round(value, 5) for value in classifier.idf],
        "weights": [[round(value, 5) for value in row] for row in classifier.weights],
        "intercepts": list(classifier.intercepts),
        "thinking_threshold": classifier.thinking_threshold,
    }


def classifier_from_json(data: dict[str, object]) -> ComplexityClassifier:
    terms = data["terms"]
    assert isinstance(terms, list)
    return ComplexityClassifier(
        labels=tuple(data["labels"]),  # type: ignore[arg-type]
        vocabulary={term: index for index, term in enumerate(terms)},
        idf=tuple(data["idf"]),  # type: ignore[arg-type]
        weights=tuple(tuple(row) for row in data["weights"]),  # type: ignore[attr-defined]
        intercepts=tuple(data["intercepts"]),  # type: ignore[arg-type]
        thinking_threshold=float(data["thinking_threshold"]),  # type: ignore[arg-type]
    )


def classifier_save(*, classifier: ComplexityClassifier, path: Path = DEFAULT_MODEL_PATH) -> None:
    payload = json.dumps(classifier_to_json(classifier), separators=(",", ":")).encode()
    # mtime=0 keeps the file byte-identical across retrains on the same data.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(payload)


_loaded: dict[Path, ComplexityClassifier | None] = {}


def classifier_load(*, path: Path = DEFAULT_MODEL_PATH) -> ComplexityClassifier | None:
    """The trained classifier, or None when no model file exists (the router then uses its rules alone)."""
    if path not in _loaded:
        try:
            with gzip.open(path, "rb") as handle:
                _loaded[path] = classifier_from_json(json.loads(handle.read()))
        except FileNotFoundError:
            _loaded[path] = None
    return _loaded[path]


@dataclass(frozen=True)
class LabelledMessage:
    """One row of a labelled file: the message, its class, and optionally its kind of case and the turn before it."""

    text: str
    label: str
    category: str = ""
    previous: str = ""  # the customer's earlier message in a two-turn case; empty for a first message


def labelled_messages_read(*, path: Path) -> list[LabelledMessage]:
    """Rows of a ``text,label[,category][,previous]`` CSV, rejecting unknown labels with the line number."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}; expected text,label")
        rows = []
        for record in reader:
            label = (record["label"] or "").strip()
            if label not in COMPLEXITY_LABELS:
                expected = ", ".join(COMPLEXITY_LABELS)
                raise ValueError(f"{path}, line {reader.line_num}: unknown label {label!r}; expected one of {expected}")
            rows.append(
                LabelledMessage(
                    text=record["text"] or "",
                    label=label,
                    category=(record.get("category") or "").strip(),
                    previous=(record.get("previous") or "").strip(),
                )
            )
    return rows


def labelled_rows_read(*, path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs of a labelled CSV; see :func:`labelled_messages_read`."""
    return [(row.text, row.label) for row in labelled_messages_read(path=path)]


@dataclass(frozen=True)
class TrainingReport:
    rows: int
    features: int
    regularisation: float
    thinking_threshold: float
    cross_validated_recall: dict[str, float]


def classifier_train(
    *,
    rows: Sequence[tuple[str, str]],
    max_features: int = 20000,
    regularisations: Sequence[float] = (1.0, 4.0, 16.0),
    thinking_recall_target: float = 0.92,
    folds: int = 5,
) -> tuple[ComplexityClassifier, TrainingReport]:
    """Fit the model; regularisation and the Thinking threshold are chosen by cross-validation on ``rows`` only."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    texts = [text for text, _ in rows]
    targets = [label for _, label in rows]
    labels = [label for label in COMPLEXITY_LABELS if label in set(targets)]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    best: tuple[float, float, dict[str, float]] | None = None
    for regularisation in regularisations:
        model = classifier_pipeline(regularisation=regularisation, max_features=max_features)
        probabilities = cross_val_predict(model, texts, targets, cv=splitter, method="predict_proba")
        threshold = _threshold_for_recall(
            probabilities=probabilities, targets=targets, labels=labels, target=thinking_recall_target
        )
        recall = _recall_per_label(probabilities=probabilities, targets=targets, labels=labels, threshold=threshold)
        if best is None or sum(recall.values()) > sum(best[2].values()):
            best = (regularisation, threshold, recall)
    assert best is not None
    regularisation, threshold, recall = best
    fitted = classifier_pipeline(regularisation=regularisation, max_features=max_features).fit(texts, targets)
    classifier = classifier_from_pipeline(fitted, thinking_threshold=threshold)
    report = TrainingReport(len(rows), len(classifier.vocabulary), regularisation, threshold, recall)
    return classifier, report


def classifier_pipeline(*, regularisation: float, max_features: int):  # type: ignore[no-untyped-def]
    """The scikit-learn pipeline whose fitted parameters :class:`ComplexityClassifier` reproduces."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, min_df=2, max_features=max_features)
    # Balanced weights: human and mini are rare but must not be drowned by instant.
    model = LogisticRegression(C=regularisation, max_iter=2000, class_weight="balanced")
    return make_pipeline(vectorizer, model)


def classifier_from_pipeline(fitted, *, thinking_threshold: float) -> ComplexityClassifier:  # type: ignore[no-untyped-def]
    vectorizer, model = fitted.steps[0][1], fitted.steps[1][1]
    return ComplexityClassifier(
        labels=tuple(str(label) for label in model.classes_),
        vocabulary={term: int(index) for term, index in vectorizer.vocabulary_.items()},
        idf=tuple(float(value) for value in vectorizer.idf_),
        weights=tuple(tuple(float(value) for value in row) for row in model.coef_.T),
        intercepts=tuple(float(value) for value in model.intercept_),
        thinking_threshold=thinking_threshold,
    )


def _threshold_for_recall(
    *, probabilities: Sequence[Sequence[float]], targets: Sequence[str], labels: Sequence[str], target: float
) -> float:
    """The highest Thinking probability threshold whose cross-validated Thinking recall reaches ``target``."""
    column = sorted(labels).index("thinking")
    thinking_scores = sorted(
        (row[column] for row, label in zip(probabilities, targets, strict=True) if label == "thinking"), reverse=True
    )
    position = min(len(thinking_scores) - 1, math.ceil(target * len(thinking_scores)) - 1)
    return min(0.5, float(thinking_scores[position]))


def _recall_per_label(
    *, probabilities: Sequence[Sequence[float]], targets: Sequence[str], labels: Sequence[str], threshold: float
) -> dict[str, float]:
    ordered = sorted(labels)
    column = ordered.index("thinking")
    hits: Counter[str] = Counter()
    totals = Counter(targets)
    for row, label in zip(probabilities, targets, strict=True):
        predicted = "thinking" if row[column] >= threshold else ordered[int(max(range(len(row)), key=row.__getitem__))]
        hits[label] += predicted == label
    return {label: round(hits[label] / totals[label], 3) for label in ordered}
