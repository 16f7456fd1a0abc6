"""Router quality on the held-out labels and decision latency: rules only, then rules + classifier.

Run with ``python -m bench.bench_router``; prints a markdown table. The target is a p99
decision time of at most 10 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from bench.report import section_write
from routing.classifier import ComplexityClassifier, classifier_load, labelled_rows_read
from routing.router import HistoryItem, route_message
from routing.router_eval import evaluation_format, router_evaluate
from routing.tiers import default_catalogue

HELDOUT = Path(__file__).resolve().parents[1] / "routing" / "data" / "router_heldout.csv"
# A short conversation so the repeat and "didn't help" checks do real work.
HISTORY = (
    HistoryItem(role="user", text="My adjustable base stopped moving after a power cut"),
    HistoryItem(role="assistant", text="Please unplug it for a minute and try again.", tier="thinking"),
)


def decision_times_ms(*, texts: Sequence[str], classifier: ComplexityClassifier | None, rounds: int) -> list[float]:
    catalogue = default_catalogue()
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            route_message(text=text, history=HISTORY, catalogue=catalogue, context_tokens=1200, classifier=classifier)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the held-out texts")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    rows = labelled_rows_read(path=HELDOUT)
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    classifier = classifier_load()
    load_ms = (time.perf_counter() - started) * 1000
    lines = [
        "Routing quality on the held-out split of the derived labels (`routing/data/router_heldout.csv`; rules and "
        "attribution in `routing/data/RULES.md`), the same as "
        "`python manage.py evaluate_router routing/data/router_heldout.csv`:",
        "",
        "```",
        evaluation_format(router_evaluate(rows=rows, catalogue=default_catalogue(), classifier=classifier)).strip(),
        "```",
        "",
        f"Decision latency: {len(texts)} held-out messages x {args.rounds} rounds; model load {load_ms:.0f} ms.",
        "",
        "| router | decisions | p50 ms | p99 ms | max ms | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, model in (("rules only (baseline)", None), ("rules + classifier", classifier)):
        if name != "rules only (baseline)" and model is None:
            lines.append(f"| {name} | no model file | | | | |")
            continue
        timings = decision_times_ms(texts=texts, classifier=model, rounds=args.rounds)
        lines.append(
            f"| {name} | {len(timings)} | {percentile(timings, 0.5):.3f} | {percentile(timings, 0.99):.3f} "
            f"| {max(timings):.3f} | {statistics.fmean(timings):.3f} |"
        )
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
