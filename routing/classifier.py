"""A small learned complexity classifier that runs without scikit-learn at decision time.

Training (``train_router``) fits a logistic regression with scikit-learn over two kinds
of features: TF-IDF weighted word and character n-grams, and the named complexity
features of :func:`routing.signals.text_complexity_features` (quantities, several asks,
comparisons, symptom lists, business orders, ...). Its probabilities are then calibrated
on the development split (one temperature and one bias per class) and the Thinking
threshold is chosen there for recall. Vocabulary, idf, weights and calibration are
stored as JSON; prediction re-computes the same features in plain Python, so starting
the product never imports scikit-learn or numpy and a decision costs well under a
millisecond.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path

from routing.signals import text_complexity_features

COMPLEXITY_LABELS: tuple[str, ...] = ("mini", "instant", "thinking", "human")
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "router_model.json.gz"

CALIBRATION_TEMPERATURE_RANGE = (0.25, 4.0)
CALIBRATION_MAX_BIAS = 3.0

_WORD = re.compile(r"\w+")
_CHAR_NGRAM_SIZES = (2, 3, 4)
# Words whose scored n-grams :class:`ComplexityClassifier` remembers (about 5 MB when full); customers reuse
# most words, and a new one costs what every word cost before.
WORD_MEMO_SIZE = 5_000


def _word_features(word: str) -> list[str]:
    """One word's own features: the word, and its character 2-4-grams with a space either side."""
    padded = f" {word} "
    features = [f"w:{word}"]
    for size in _CHAR_NGRAM_SIZES:
        features += [padded[i : i + size] for i in range(len(padded) - size + 1)]
    return [features[0], *(f"c:{gram}" for gram in features[1:])]


def text_features(text: str) -> list[str]:
    """Word uni/bigrams and character 2-4-grams inside words; shared by training and prediction."""
    words = _WORD.findall(text.lower())
    features = [f"w:{word}" for word in words]
    features += [f"b:{left} {right}" for left, right in zip(words, words[1:], strict=False)]
    for word in words:
        features += _word_features(word)[1:]
    # Message length matters for complexity but is invisible to n-grams; a few coarse buckets carry it.
    features.append(f"len:{min(len(words) // 8, 6)}")
    return features


@dataclass(frozen=True)
class ComplexityClassifier:
    """Multinomial logistic regression over sublinear TF-IDF n-grams and named complexity features."""

    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per n-gram, one column per label
    intercepts: tuple[float, ...]
    thinking_threshold: float = 0.5
    signal_weights: dict[str, tuple[float, ...]] = field(default_factory=dict)  # complexity feature -> per label
    temperature: float = 1.0  # calibration: scores are divided by it ...
    calibration_bias: tuple[float, ...] = ()  # ... and shifted per label before the softmax

    @cached_property
    def _scaled_columns(self) -> tuple[list[float], ...]:
        """Label by label, each n-gram's weight times its idf: the score of one occurrence before normalising."""
        if not self.weights:
            return tuple([] for _ in self.intercepts)
        return tuple(
            [weight * idf for weight, idf in zip(column, self.idf, strict=True)]
            for column in zip(*self.weights, strict=True)
        )

    @cached_property
    def _squared_idf(self) -> list[float]:
        return [idf * idf for idf in self.idf]

    @cached_property
    def _word_parts(self) -> dict[str, tuple[tuple[int, ...], tuple[float, ...], float]]:
        """A memo of :meth:`_word_part`, emptied when it reaches :data:`WORD_MEMO_SIZE` words."""
        return {}

    def words_forget(self) -> None:
        """Empty the memo of scored words, as in a process that has just started."""
        self._word_parts.clear()

    def _word_part(self, word: str) -> tuple[tuple[int, ...], tuple[float, ...], float]:
        """One word's known n-grams (the word and its character n-grams, as in :func:`text_features`), their summed
        per-label scores and summed squared idf, as if each occurred once in the message."""
        part = self._word_parts.get(word)
        if part is None:
            known = [self.vocabulary.get(feature) for feature in _word_features(word)]
            indices = tuple(index for index in known if index is not None)
            part = self._part(indices)
            if len(self._word_parts) >= WORD_MEMO_SIZE:
                self._word_parts.clear()
            self._word_parts[word] = part
        return part

    def _part(self, indices: Sequence[int]) -> tuple[tuple[int, ...], tuple[float, ...], float]:
        sums = tuple(sum(map(column.__getitem__, indices)) for column in self._scaled_columns)
        return tuple(indices), sums, sum(map(self._squared_idf.__getitem__, indices))

    def scores(self, text: str) -> list[float]:
        """Uncalibrated per-label scores (logits), in the order of :attr:`labels`.

        The same sublinear TF-IDF over :func:`text_features` that training used, computed word by word: a word's
        n-grams are scored once and remembered, and only n-grams that occur more than once in the message are
        corrected from ``count`` to ``1 + log(count)``. This runs before every reply, so it avoids a Python step
        per n-gram (a long message has several hundred).
        """
        words = _WORD.findall(text.lower())
        others = [self.vocabulary.get(f"b:{left} {right}") for left, right in zip(words, words[1:], strict=False)]
        others.append(self.vocabulary.get(f"len:{min(len(words) // 8, 6)}"))
        memo = self._word_parts
        parts = [memo.get(word) or self._word_part(word) for word in words]
        parts.append(self._part([index for index in others if index is not None]))
        totals = [sum(label_sums) for label_sums in zip(*(sums for _, sums, _ in parts), strict=True)]
        squared = sum(part_squared for _, _, part_squared in parts)
        counts = Counter(chain.from_iterable(indices for indices, _, _ in parts))
        repeated = [index for index, count in counts.items() if count > 1]
        if repeated:
            # Each repeated n-gram was summed `count` times; TF-IDF weighs it 1 + log(count).
            times = list(map(counts.__getitem__, repeated))
            tf = [1.0 + math.log(count) for count in times]
            excess = list(map(operator.sub, tf, times))
            for label, scaled in enumerate(self._scaled_columns):
                totals[label] += sum(map(operator.mul, map(scaled.__getitem__, repeated), excess))
            squared_excess = map(operator.sub, map(operator.mul, tf, tf), times)
            squared += sum(map(operator.mul, map(self._squared_idf.__getitem__, repeated), squared_excess))
        norm = math.sqrt(squared) if squared > 0 else 1.0
        scores = [intercept + total / norm for intercept, total in zip(self.intercepts, totals, strict=True)]
        for name, value in text_complexity_features(text).items():
            if (row := self.signal_weights.get(name)) is not None:
                for column, weight in enumerate(row):
                    scores[column] += weight * value
        return scores

    def probabilities(self, text: str) -> dict[str, float]:
        calibrated = calibrated_softmax(self.scores(text), temperature=self.temperature, bias=self.calibration_bias)
        return dict(zip(self.labels, calibrated, strict=True))

    def predict(self, text: str) -> tuple[str, float]:
        """The label and its probability; Thinking wins whenever it reaches the tuned threshold."""
        probabilities = self.probabilities(text)
        label = label_decide(probabilities, thinking_threshold=self.thinking_threshold)
        return label, probabilities[label]


def calibrated_softmax(scores: Sequence[float], *, temperature: float, bias: Sequence[float] = ()) -> list[float]:
    shifts = bias or (0.0,) * len(scores)
    adjusted = [score / temperature + shift for score, shift in zip(scores, shifts, strict=True)]
    top = max(adjusted)
    exps = [math.exp(score - top) for score in adjusted]
    total = sum(exps)
    return [exp / total for exp in exps]


def label_decide(probabilities: Mapping[str, float], *, thinking_threshold: float) -> str:
    """The likeliest label, except that Thinking wins over a likeliest Instant once it reaches the threshold.

    The threshold is low because missing a complex question costs more than over-serving a simple one; that
    trade is between Instant and Thinking. Small talk or a request for a person is not pulled up by it.
    """
    likeliest = max(probabilities, key=probabilities.__getitem__)
    if likeliest == "instant" and probabilities.get("thinking", 0.0) >= thinking_threshold:
        return "thinking"
    return likeliest


def classifier_to_json(classifier: ComplexityClassifier) -> dict[str, object]:
    terms = sorted(classifier.vocabulary, key=classifier.vocabulary.__getitem__)
    return {
        "format": 2,
        "labels": list(classifier.labels),
        "terms": terms,
        "idf": [round(value, 5) for value in classifier.idf],
        "weights": [[round(value, 5) for value in row] for row in classifier.weights],
        "intercepts": list(classifier.intercepts),
        "signal_weights": {
            name: [round(value, 5) for value in row] for name, row in sorted(classifier.signal_weights.items())
        },
        "temperature": classifier.temperature,
        "calibration_bias": list(classifier.calibration_bias),
        "thinking_threshold": classifier.thinking_threshold,
    }


def classifier_from_json(data: dict[str, object]) -> ComplexityClassifier:
    """A classifier from its JSON form; format 1 files (n-grams only, uncalibrated) still load."""
    terms = data["terms"]
    assert isinstance(terms, list)
    signal_weights = data.get("signal_weights") or {}
    assert isinstance(signal_weights, dict)
    return ComplexityClassifier(
        labels=tuple(data["labels"]),  # type: ignore[arg-type]
        vocabulary={term: index for index, term in enumerate(terms)},
        idf=tuple(data["idf"]),  # type: ignore[arg-type]
        weights=tuple(tuple(row) for row in data["weights"]),  # type: ignore[attr-defined]
        intercepts=tuple(data["intercepts"]),  # type: ignore[arg-type]
        thinking_threshold=float(data["thinking_threshold"]),  # type: ignore[arg-type]
        signal_weights={str(name): tuple(row) for name, row in signal_weights.items()},
        temperature=float(data.get("temperature", 1.0)),  # type: ignore[arg-type]
        calibration_bias=tuple(data.get("calibration_bias") or ()),  # type: ignore[arg-type]
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
class DevSet:
    """A development split: rows the model is not fitted on, where settings and the threshold are chosen."""

    name: str
    rows: Sequence[tuple[str, str]]
    thinking_recall_target: float  # the threshold is set low enough for Thinking recall to reach this here
    weight: float = 1.0  # a row's weight when the final model is refitted on training and dev rows


@dataclass(frozen=True)
class TrainingReport:
    rows: int
    features: int
    signal_features: int
    regularisation: float
    signal_scale: float
    temperature: float
    thinking_threshold: float
    dev_recall: dict[str, dict[str, float]]  # dev set -> label -> recall of rules + classifier at the threshold
    dev_log_loss: tuple[float, float]  # before and after calibration
    refitted: bool = False  # the final weights were fitted on training + dev rows (dev figures are from before)


@dataclass
class _Candidate:
    regularisation: float
    signal_scale: float
    model: object
    temperature: float
    bias: tuple[float, ...]
    threshold: float
    recall: dict[str, dict[str, float]]
    log_loss: tuple[float, float]

    @property
    def score(self) -> float:
        # Mean over dev sets of the mean per-class recall: every class and every kind of data counts the same.
        return sum(sum(recall.values()) / len(recall) for recall in self.recall.values()) / len(self.recall)


def classifier_train(
    *,
    rows: Sequence[tuple[str, str]],
    dev: Sequence[DevSet],
    weights: Sequence[float] | None = None,
    rule_label: Callable[[str], str | None] | None = None,
    max_features: int = 20000,
    regularisations: Sequence[float] = (4.0, 16.0, 64.0),
    signal_scales: Sequence[float] = (0.5, 1.0),
    refit_with_dev: bool = False,
) -> tuple[ComplexityClassifier, TrainingReport]:
    """Fit on ``rows``; regularisation, feature scale, calibration and the Thinking threshold are chosen on ``dev``.

    ``weights`` weigh the training rows (e.g. written support messages above derived labels); ``rule_label``
    is the router's rule decision for a text (or None when no rule fires), so the threshold is set for what
    the classifier still decides after the rules. With ``refit_with_dev`` the chosen settings are fitted once
    more on training and dev rows together, keeping the calibration and threshold chosen on dev: measured on
    halves of the dev splits, that refit gained accuracy and kept Thinking recall.
    """
    from scipy.sparse import hstack

    texts = [text for text, _ in rows]
    targets = [label for _, label in rows]
    union = _feature_union(max_features=max_features).fit(texts)
    ngrams, signal_dicts = (transformer for _, transformer in union.transformer_list)
    train_ngrams, train_signals = ngrams.transform(texts), signal_dicts.transform(texts)
    dev_texts = [text for dev_set in dev for text, _ in dev_set.rows]
    dev_ngrams, dev_signals = ngrams.transform(dev_texts), signal_dicts.transform(dev_texts)
    ruled = [rule_label(text) if rule_label else None for text in dev_texts]
    best: _Candidate | None = None
    for signal_scale in signal_scales:
        train_matrix = hstack([train_ngrams, train_signals * signal_scale]).tocsr()
        dev_matrix = hstack([dev_ngrams, dev_signals * signal_scale]).tocsr()
        for regularisation in regularisations:
            model = _logistic_regression(regularisation=regularisation)
            model.fit(train_matrix, targets, sample_weight=weights)
            candidate = _candidate_evaluate(
                model=model, scores=model.decision_function(dev_matrix), dev=dev, ruled=ruled
            )
            candidate.regularisation, candidate.signal_scale = regularisation, signal_scale
            if best is None or candidate.score > best.score:
                best = candidate
    assert best is not None
    union.set_params(transformer_weights={"signals": best.signal_scale})
    fitted = _fitted_pipeline(union=union, model=best.model)
    if refit_with_dev:
        fitted = _refit(rows=rows, weights=weights, dev=dev, best=best, max_features=max_features)
    classifier = classifier_from_pipeline(
        fitted, thinking_threshold=best.threshold, temperature=best.temperature, calibration_bias=best.bias
    )
    report = TrainingReport(
        rows=len(rows),
        features=len(classifier.vocabulary),
        signal_features=len(classifier.signal_weights),
        regularisation=best.regularisation,
        signal_scale=best.signal_scale,
        temperature=round(best.temperature, 3),
        thinking_threshold=round(best.threshold, 4),
        dev_recall=best.recall,
        dev_log_loss=best.log_loss,
        refitted=refit_with_dev,
    )
    return classifier, report


def _refit(  # type: ignore[no-untyped-def]
    *,
    rows: Sequence[tuple[str, str]],
    weights: Sequence[float] | None,
    dev: Sequence[DevSet],
    best: _Candidate,
    max_features: int,
):
    all_rows = [*rows, *(row for dev_set in dev for row in dev_set.rows)]
    all_weights = [*(weights or [1.0] * len(rows)), *(dev_set.weight for dev_set in dev for _ in dev_set.rows)]
    union = _feature_union(max_features=max_features, signal_scale=best.signal_scale)
    pipeline = _fitted_pipeline(union=union, model=_logistic_regression(regularisation=best.regularisation))
    return pipeline.fit(
        [text for text, _ in all_rows], [label for _, label in all_rows], model__sample_weight=all_weights
    )


def _candidate_evaluate(
    *, model: object, scores: Sequence[Sequence[float]], dev: Sequence[DevSet], ruled: Sequence[str | None]
) -> _Candidate:
    labels = [str(label) for label in model.classes_]  # type: ignore[attr-defined]
    gold = [label for dev_set in dev for _, label in dev_set.rows]
    # Each dev set weighs the same in calibration, so a small written set is not drowned by a large derived one.
    row_weights = [1.0 / len(dev_set.rows) for dev_set in dev for _ in dev_set.rows]
    temperature, bias, log_loss = _calibration_fit(scores=scores, gold=gold, labels=labels, weights=row_weights)
    probabilities = [
        dict(zip(labels, calibrated_softmax(row, temperature=temperature, bias=bias), strict=True)) for row in scores
    ]
    thresholds, recall, start = [], {}, 0
    for dev_set in dev:
        end = start + len(dev_set.rows)
        thresholds.append(
            _threshold_for_recall(
                probabilities=probabilities[start:end],
                gold=gold[start:end],
                ruled=ruled[start:end],
                target=dev_set.thinking_recall_target,
            )
        )
        start = end
    threshold = min(thresholds)
    start = 0
    for dev_set in dev:
        end = start + len(dev_set.rows)
        recall[dev_set.name] = _recall_per_label(
            probabilities=probabilities[start:end], gold=gold[start:end], ruled=ruled[start:end], threshold=threshold
        )
        start = end
    return _Candidate(0.0, 0.0, model, temperature, bias, threshold, recall, log_loss)


def _calibration_fit(
    *, scores: Sequence[Sequence[float]], gold: Sequence[str], labels: Sequence[str], weights: Sequence[float]
) -> tuple[float, tuple[float, ...], tuple[float, float]]:
    """Temperature and per-label bias minimising the weighted log loss; returns them and the loss before/after."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    logits = np.asarray(scores, dtype=float)
    columns = np.array([labels.index(label) for label in gold])
    row_weights = np.asarray(weights) / np.sum(weights)

    def loss(parameters: np.ndarray) -> float:
        temperature = math.exp(parameters[0])
        bias = np.concatenate([[0.0], parameters[1:]])  # one bias is fixed: only differences matter
        log_probabilities = log_softmax(logits / temperature + bias, axis=1)
        return float(-np.sum(row_weights * log_probabilities[np.arange(len(columns)), columns]))

    start = np.zeros(len(labels))
    # Bounded, so a small or separable dev split cannot push the scores to certainty (temperature near 0).
    bounds = [(math.log(CALIBRATION_TEMPERATURE_RANGE[0]), math.log(CALIBRATION_TEMPERATURE_RANGE[1]))]
    bounds += [(-CALIBRATION_MAX_BIAS, CALIBRATION_MAX_BIAS)] * (len(labels) - 1)
    result = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    temperature = math.exp(float(result.x[0]))
    bias = (0.0, *(float(value) for value in result.x[1:]))
    return temperature, bias, (round(loss(start), 4), round(float(result.fun), 4))


def _threshold_for_recall(
    *, probabilities: Sequence[Mapping[str, float]], gold: Sequence[str], ruled: Sequence[str | None], target: float
) -> float:
    """The highest Thinking threshold (at most 0.5) at which rules + classifier reach ``target`` Thinking recall.

    Rows a rule decides, and rows whose likeliest label is Thinking, are settled whatever the threshold; only
    rows whose likeliest label is Instant can be pulled up by it (see :func:`label_decide`).
    """
    thinking_rows = [index for index, label in enumerate(gold) if label == "thinking"]
    undecided = [index for index in thinking_rows if ruled[index] is None]
    settled = sum(1 for index in thinking_rows if ruled[index] == "thinking") + sum(
        1 for index in undecided if _likeliest(probabilities[index]) == "thinking"
    )
    needed = math.ceil(target * len(thinking_rows)) - settled
    scores = sorted(
        (
            probabilities[index].get("thinking", 0.0)
            for index in undecided
            if _likeliest(probabilities[index]) == "instant"
        ),
        reverse=True,
    )
    if needed <= 0 or not scores:
        return 0.5
    # Floored a little below the row's score: prediction recomputes it in plain Python, which may differ from
    # numpy in the last bits, and the row must stay above the threshold.
    return min(0.5, math.floor(scores[min(needed, len(scores)) - 1] * 1e6) / 1e6)


def _likeliest(probabilities: Mapping[str, float]) -> str:
    return max(probabilities, key=probabilities.__getitem__)


def _recall_per_label(
    *, probabilities: Sequence[Mapping[str, float]], gold: Sequence[str], ruled: Sequence[str | None], threshold: float
) -> dict[str, float]:
    hits: Counter[str] = Counter()
    totals = Counter(gold)
    for row, label, rule in zip(probabilities, gold, ruled, strict=True):
        predicted = rule or label_decide(row, thinking_threshold=threshold)
        hits[label] += predicted == label
    return {label: round(hits[label] / totals[label], 3) for label in COMPLEXITY_LABELS if totals[label]}


def _signal_dicts(texts: Sequence[str]) -> list[dict[str, float]]:
    return [text_complexity_features(text) for text in texts]


def _feature_union(*, max_features: int, signal_scale: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    ngrams = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, min_df=2, max_features=max_features)
    signals = make_pipeline(FunctionTransformer(_signal_dicts), DictVectorizer())
    # The named features are not normalised with the n-grams: a "3+ quantities" flag keeps its weight in a long text.
    return FeatureUnion([("ngrams", ngrams), ("signals", signals)], transformer_weights={"signals": signal_scale})


def _logistic_regression(*, regularisation: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    # Balanced weights: human and mini are rare but must not be drowned by instant. Newton-CG converges in a
    # handful of iterations on these sparse features where lbfgs needs a hundred (about ten times slower).
    return LogisticRegression(C=regularisation, max_iter=200, class_weight="balanced", solver="newton-cg")


def _fitted_pipeline(*, union, model):  # type: ignore[no-untyped-def]
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", union), ("model", model)])


def classifier_pipeline(*, regularisation: float, max_features: int, signal_scale: float = 1.0):  # type: ignore[no-untyped-def]
    """The scikit-learn pipeline whose fitted parameters :class:`ComplexityClassifier` reproduces."""
    union = _feature_union(max_features=max_features, signal_scale=signal_scale)
    return _fitted_pipeline(union=union, model=_logistic_regression(regularisation=regularisation))


def classifier_from_pipeline(  # type: ignore[no-untyped-def]
    fitted, *, thinking_threshold: float, temperature: float = 1.0, calibration_bias: Sequence[float] = ()
) -> ComplexityClassifier:
    union, model = fitted.steps[0][1], fitted.steps[1][1]
    ngrams, signal_pipeline = (transformer for _, transformer in union.transformer_list)
    signal_names = signal_pipeline.steps[-1][1].feature_names_
    signal_scale = (union.transformer_weights or {}).get("signals", 1.0)
    ngram_count = len(ngrams.vocabulary_)
    coefficients = model.coef_.T  # one row per feature, one column per label
    return ComplexityClassifier(
        labels=tuple(str(label) for label in model.classes_),
        vocabulary={term: int(index) for term, index in ngrams.vocabulary_.items()},
        idf=tuple(float(value) for value in ngrams.idf_),
        weights=tuple(tuple(float(value) for value in row) for row in coefficients[:ngram_count]),
        intercepts=tuple(float(value) for value in model.intercept_),
        thinking_threshold=thinking_threshold,
        # The scale multiplied each named feature's value in training; folded into its weights here.
        signal_weights={
            str(name): tuple(float(value) * signal_scale for value in row)
            for name, row in zip(signal_names, coefficients[ngram_count:], strict=True)
        },
        temperature=temperature,
        calibration_bias=tuple(calibration_bias),
    )
