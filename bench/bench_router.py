"""Router decision latency over the held-out messages: rules only, then rules + classifier.

Run with ``python -m bench.bench_router``; prints a markdown table. The target is a p99
decision time of at most 10 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from routing.classifier import ComplexityClassifier, classifier_load, labelled_rows_read
from routing.router import HistoryItem, route_message
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
    args = parser.parse_args()
    texts = [text for text, _ in labelled_rows_read(path=HELDOUT)]
    started = time.perf_counter()
    classifier = classifier_load()
    load_ms = (time.perf_counter() - started) * 1000
    print(f"{len(texts)} held-out messages x {args.rounds} rounds; model load {load_ms:.0f} ms\n")
    print("| router | decisions | p50 ms | p99 ms | max ms | mean ms |")
    print("|---|---|---|---|---|---|")
    for name, model in (("rules only", None), ("rules + classifier", classifier)):
        if name != "rules only" and model is None:
            print(f"| {name} | no model file | | | | |")
            continue
        timings = decision_times_ms(texts=texts, classifier=model, rounds=args.rounds)
        print(
            f"| {name} | {len(timings)} | {percentile(timings, 0.5):.3f} | {percentile(timings, 0.99):.3f} "
            f"| {max(timings):.3f} | {statistics.fmean(timings):.3f} |"
        )


if __name__ == "__main__":
    main()
