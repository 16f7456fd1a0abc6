"""The query encoder on one ONNX Runtime thread against two: time and CPU per query.

Run with ``python -m bench.bench_encoder``; writes the ``encoder-threads`` section of
docs/benchmarks.md. The queries are the customer messages of ``routing/data/written_dev.csv``
(the router's development split: greetings to long troubleshooting). Both sessions run on the same
encoder weights, query by query in alternation, so the machine's noise falls on both; CPU is the
process's (``time.process_time``, every thread), wall time ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

from bench.report import section_write

QUERIES = Path(__file__).resolve().parent.parent / "routing" / "data" / "written_dev.csv"
THREADS = (1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the queries")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import django

    django.setup()
    from helpcentre.embeddings import sentence_encoder_get
    from helpcentre.onnx_encoder import onnx_available, onnx_layers_build

    encoder = sentence_encoder_get()
    if encoder is None or not onnx_available():
        raise SystemExit("needs the embedding model and onnxruntime (requirements/model.txt)")
    with QUERIES.open(newline="") as file:
        queries = [row["text"] for row in csv.DictReader(file)]
    sessions = {threads: onnx_layers_build(encoder=encoder, threads=threads) for threads in THREADS}
    hidden = [encoder.embedded(query) for query in queries]
    wall: dict[int, list[float]] = {threads: [] for threads in THREADS}
    cpu: dict[int, list[float]] = {threads: [] for threads in THREADS}
    for rows in hidden[:20]:  # warm both sessions
        for layers in sessions.values():
            layers.pooled(rows)
    for round_ in range(args.rounds):
        for rows in hidden:
            order = THREADS if round_ % 2 == 0 else THREADS[::-1]
            for threads in order:
                started, started_cpu = time.perf_counter(), time.process_time()
                sessions[threads].pooled(rows)
                wall[threads].append((time.perf_counter() - started) * 1000)
                cpu[threads].append((time.process_time() - started_cpu) * 1000)
    lines = [
        f"{len(queries)} queries × {args.rounds} rounds per session, alternating; the six layers only "
        "(the tokenizer and the embedding lookup are the same for both). Load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end.",
        "",
        "| ONNX Runtime threads | queries | wall p50 ms | wall mean ms | CPU mean ms | CPU / wall |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for threads in THREADS:
        mean_wall, mean_cpu = statistics.fmean(wall[threads]), statistics.fmean(cpu[threads])
        lines.append(
            f"| {threads} | {len(wall[threads])} | {statistics.median(wall[threads]):.2f} | {mean_wall:.2f} "
            f"| {mean_cpu:.2f} | {mean_cpu / mean_wall:.2f} |"
        )
    one, two = statistics.fmean(cpu[1]), statistics.fmean(cpu[2])
    lines += [
        "",
        f"Two threads cost {100 * (two - one) / one:+.0f} % CPU per query for "
        f"{100 * (statistics.fmean(wall[2]) - statistics.fmean(wall[1])) / statistics.fmean(wall[1]):+.0f} % "
        "wall time. The product uses one (`helpcentre/onnx_encoder.py`): under load every conversation "
        "waits for the process's CPU, and a lone query's few milliseconds more are not felt.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_report:
        section_write(
            "encoder-threads",
            title="Query encoder: one thread or two",
            command="python -m bench.bench_encoder",
            body=body,
        )


if __name__ == "__main__":
    main()
