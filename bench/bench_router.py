"""Router quality on the held-out splits and decision latency, written to docs/benchmarks.md.

Run with ``python -m bench.bench_router``. Quality: the written held-out split against the
targets (per class and per category), the derived held-out split against the router's
figures before the complexity features (``routing/data/router_before.json``: no class may
fall more than 0.02 below), and the three fresh sets written after the router was frozen.
Latency: every held-out message routed after a two-turn history, wall-clock and CPU time
per decision; the target is a p99 of at most 2 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import section_write
from routing.classifier import ComplexityClassifier, LabelledMessage, classifier_load, labelled_messages_read
from routing.router import HistoryItem, route_message
from routing.router_eval import RouterEvaluation, evaluation_format, router_evaluate
from routing.tiers import default_catalogue

DATA = Path(__file__).resolve().parents[1] / "routing" / "data"
WRITTEN_HELDOUT = DATA / "written_heldout.csv"
DERIVED_HELDOUT = DATA / "router_heldout.csv"
FRESH = DATA / "written_fresh.csv"
FRESH_2 = DATA / "written_fresh_2.csv"
FRESH_3 = DATA / "written_fresh_3.csv"
BEFORE = DATA / "router_before.json"
# A short conversation so the repeat and "didn't help" checks do real work.
HISTORY = (
    HistoryItem(role="user", text="My adjustable base stopped moving after a power cut"),
    HistoryItem(role="assistant", text="Please unplug it for a minute and try again.", tier="thinking"),
)
P99_TARGET_MS = 2.0
FLOOR_MARGIN = 0.02


def decision_times_ms(
    *, texts: Sequence[str], classifier: ComplexityClassifier | None, rounds: int, clock: Callable[[], float]
) -> list[float]:
    catalogue = default_catalogue()
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = clock()
            route_message(text=text, history=HISTORY, catalogue=catalogue, context_tokens=1200, classifier=classifier)
            timings.append((clock() - started) * 1000)
    return timings


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def written_targets(evaluation: RouterEvaluation) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the written held-out split."""
    categories = evaluation.per_category or {}
    worst = min(categories.items(), key=lambda item: item[1]["recall"]) if categories else ("-", {"recall": 0.0})
    simple = evaluation.tier_share["mini"] + evaluation.tier_share["instant"]
    ratio = evaluation.cost_vs_all_thinking / evaluation.cost_perfect_vs_all_thinking
    recall = {label: scores["recall"] for label, scores in evaluation.per_class.items()}
    below = [name for name, scores in categories.items() if scores["recall"] < 0.85]
    return [
        ("accuracy >= 0.92", f"{evaluation.accuracy:.3f}", evaluation.accuracy >= 0.92),
        ("Thinking recall >= 0.93", f"{recall['thinking']:.3f}", recall["thinking"] >= 0.93),
        ("human recall >= 0.97", f"{recall['human']:.3f}", recall["human"] >= 0.97),
        (
            "every category's recall >= 0.85",
            f"lowest {worst[0]} {worst[1]['recall']:.3f}" + (f"; below: {', '.join(below)}" if below else ""),
            not below,
        ),
        ("Instant + Mini share >= 0.5", f"{simple:.3f}", simple >= 0.5),
        (
            "cost vs all-Thinking within 10 % of a perfect router's",
            f"{evaluation.cost_vs_all_thinking:.3f} vs {evaluation.cost_perfect_vs_all_thinking:.3f} (x{ratio:.3f})",
            ratio <= 1.10,
        ),
    ]


def derived_floor_rows(*, evaluation: RouterEvaluation, before: dict[str, object]) -> list[str]:
    per_class = before["per_class"]
    assert isinstance(per_class, dict)
    rows = []
    for label, scores in evaluation.per_class.items():
        earlier = per_class[label]["recall"]
        floor = earlier - FLOOR_MARGIN
        met = "met" if scores["recall"] >= floor else "**not met**"
        rows.append(f"| {label} | {earlier:.3f} | {floor:.3f} | {scores['recall']:.3f} | {met} |")
    return rows


def quality_lines(*, classifier: ComplexityClassifier | None) -> list[str]:
    catalogue = default_catalogue()
    before = json.loads(BEFORE.read_text())["evaluations"]
    written = router_evaluate(
        rows=labelled_messages_read(path=WRITTEN_HELDOUT), catalogue=catalogue, classifier=classifier
    )
    derived = router_evaluate(
        rows=labelled_messages_read(path=DERIVED_HELDOUT), catalogue=catalogue, classifier=classifier
    )
    fresh = router_evaluate(rows=labelled_messages_read(path=FRESH), catalogue=catalogue, classifier=classifier)
    fresh_2 = router_evaluate(rows=labelled_messages_read(path=FRESH_2), catalogue=catalogue, classifier=classifier)
    fresh_3 = router_evaluate(rows=labelled_messages_read(path=FRESH_3), catalogue=catalogue, classifier=classifier)
    lines = [
        "How far the held-out splits were looked at while the router was developed, and every earlier "
        'measurement of them, is in `routing/data/RULES.md` ("Held-out measurements, in order").',
        "",
        "### Written held-out split",
        "",
        "Support messages written for this project and labelled by the rubric in `routing/data/RULES.md`; "
        "two-turn rows replay their earlier message first. "
        "`python manage.py evaluate_router routing/data/written_heldout.csv`:",
        "",
        "```",
        evaluation_format(written).strip(),
        "```",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(
            f"| {target} | {measured} | {'met' if met else '**not met**'} |"
            for target, measured, met in written_targets(written)
        ),
        "",
        _before_line(name="written_heldout", before=before),
        "",
        "### Derived held-out split against the router before these changes",
        "",
        "Labels derived from Banking77, NLU++ and HINT3 by the rules in `routing/data/RULES.md` (attribution "
        "there). `python manage.py evaluate_router routing/data/router_heldout.csv`; the earlier recall is "
        "`routing/data/router_before.json`.",
        "",
        "| class | recall before | floor (−0.02) | recall now | floor met |",
        "|---|---|---|---|---|",
        *derived_floor_rows(evaluation=derived, before=before["router_heldout"]),
        "",
        "```",
        evaluation_format(derived).strip(),
        "```",
        "",
        "### Fresh set, written after the router was frozen",
        "",
        "Written by the same rubric once every setting was fixed, and used only for measuring (at the freeze "
        "and after the defect fixes listed in RULES.md). "
        "`python manage.py evaluate_router routing/data/written_fresh.csv`:",
        "",
        "```",
        evaluation_format(fresh).strip(),
        "```",
        "",
        _before_line(name="written_fresh", before=before),
        "",
        "### Second fresh set, written from the rubric alone",
        "",
        "Written long after the freeze from `routing/data/RULES.md` alone, without reading the other sets or the "
        "router, in eleven kinds of shop and service (five of them new: pet supplies, car rental, online "
        "groceries, a gym app, home insurance), and used only for measuring. A held-back set of this kind must "
        "reach Thinking recall >= 0.90 and human recall >= 0.95. "
        "`python manage.py evaluate_router routing/data/written_fresh_2.csv`:",
        "",
        "```",
        evaluation_format(fresh_2).strip(),
        "```",
        "",
        "### Third fresh set, written from the rubric alone",
        "",
        "Written the same way in twelve kinds of shop and service (bicycles, cosmetics, flights, streaming, "
        "furniture, electronics, telecom, banking, software, opticians, a florist, hotel booking). Routed once "
        "before any change: accuracy 0.930, Thinking recall 0.972, human recall 1.000. Its misses were then read "
        "and five rules changed (RULES.md, measurement 26), so the figures below are no longer blind. "
        "`python manage.py evaluate_router routing/data/written_fresh_3.csv`:",
        "",
        "```",
        evaluation_format(fresh_3).strip(),
        "```",
    ]
    return lines


def _before_line(*, name: str, before: dict[str, dict[str, object]]) -> str:
    earlier = before[name]
    per_class = earlier["per_class"]
    assert isinstance(per_class, dict)
    return (
        f"Before these changes the same file measured accuracy {earlier['accuracy']:.3f}, Thinking recall "
        f"{per_class['thinking']['recall']:.3f}, human recall {per_class['human']['recall']:.3f}, cost vs "
        f"all-Thinking {earlier['cost_vs_all_thinking']:.3f} (`routing/data/router_before.json`)."
    )


def latency_lines(*, classifier: ComplexityClassifier | None, rounds: int, load_ms: float) -> list[str]:
    texts = [row.text for path in (WRITTEN_HELDOUT, DERIVED_HELDOUT) for row in _rows(path)]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        "### Decision latency",
        "",
        f"{len(texts)} held-out messages (written and derived) x {rounds} rounds, each routed after a two-turn "
        f"history; model load {load_ms:.0f} ms. Wall-clock time includes waiting for the CPU when other processes "
        "run; CPU time (`time.thread_time`) is the router's own work. Target: p99 <= 2 ms. "
        f"Load average when the run started: {load}.",
        "",
        "| router | clock | decisions | p50 ms | p99 ms | max ms | mean ms | p99 <= 2 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, model in (("rules only", None), ("rules + classifier", classifier)):
        if name != "rules only" and model is None:
            lines.append(f"| {name} | | no model file | | | | | |")
            continue
        for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.thread_time)):
            timings = decision_times_ms(texts=texts, classifier=model, rounds=rounds, clock=clock)
            p99 = percentile(timings, 0.99)
            met = "met" if p99 <= P99_TARGET_MS else "not met"
            lines.append(
                f"| {name} | {clock_name} | {len(timings)} | {percentile(timings, 0.5):.3f} | {p99:.3f} "
                f"| {max(timings):.3f} | {statistics.fmean(timings):.3f} | {met} |"
            )
    if classifier is not None:
        # The classifier remembers the n-grams of words it has scored; the first pass after start-up sees every
        # word for the first time, so it is measured on its own as well.
        classifier.words_forget()
        timings = decision_times_ms(texts=texts, classifier=classifier, rounds=1, clock=time.thread_time)
        p99 = percentile(timings, 0.99)
        lines.append(
            f"| rules + classifier, first pass after start-up | CPU | {len(timings)} | {percentile(timings, 0.5):.3f} "
            f"| {p99:.3f} | {max(timings):.3f} | {statistics.fmean(timings):.3f} "
            f"| {'met' if p99 <= P99_TARGET_MS else 'not met'} |"
        )
    return lines


def _rows(path: Path) -> list[LabelledMessage]:
    return labelled_messages_read(path=path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the held-out texts")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    classifier = classifier_load()
    load_ms = (time.perf_counter() - started) * 1000
    lines = quality_lines(classifier=classifier)
    lines += ["", *latency_lines(classifier=classifier, rounds=args.rounds, load_ms=load_ms)]
    body = "\n".join(lines)
    print(body)
    if not args.no_report:
        section_write(
            "router",
            title="Router: held-out quality and decision latency",
            command="python -m bench.bench_router",
            body=body,
        )


if __name__ == "__main__":
    main()
