"""Detecting the language of customer messages: load time, memory, latency and accuracy.

    python -m bench.bench_language

Runs in a fresh process so the memory figure is the detector's own: the resident set before and
after the shop's languages' models are loaded. Accuracy is on the Hindi and Spanish evaluation set
(helpcentre/data/kb_eval_hi_es.csv, by script) and on HINT3-style English (the English phrasings
of the demo help centre). Writes the ``language`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import csv
import os
import resource
import statistics
import time
from collections import Counter
from pathlib import Path

from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
EVALUATION = ROOT / "helpcentre" / "data" / "kb_eval_hi_es.csv"


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def _english_phrasings() -> list[str]:
    from helpcentre.services import DEMO_FOLDER, articles_read_folder

    return [phrasing for article in articles_read_folder(path=DEMO_FOLDER) for phrasing in article.phrasings]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
    import django

    django.setup()
    from conversations.languages import MIN_CONFIDENCE, language_detector_get, shop_languages, text_language_detect

    rows = list(csv.DictReader(EVALUATION.open(encoding="utf-8")))
    samples = [(row["sentence"], row["language"], f"{row['language']} ({row['script']})") for row in rows]
    samples += [(text, "en", "en (Latn)") for text in _english_phrasings()]
    languages = shop_languages()
    before = _rss_mb()
    started = time.perf_counter()
    detector = language_detector_get(languages)
    # A model loads the first time its language is a candidate: one text per script loads them all.
    for text in ("the mattress", "गद्दा", "فراش"):
        detector.compute_language_confidence_values(text)
    load_s = time.perf_counter() - started
    after = _rss_mb()
    timings, right, total = [], Counter[str](), Counter[str]()
    for text, language, group in samples:
        started = time.perf_counter()
        detected = text_language_detect(text=text, fallback="en")
        timings.append((time.perf_counter() - started) * 1000)
        total[group] += 1
        right[group] += detected == language
    timings.sort()
    table = ["| messages | count | detected right (romanised Hindi: falls back to en) |", "|---|---:|---:|"]
    table += [f"| {group} | {total[group]} | {right[group] / total[group]:.3f} |" for group in sorted(total)]
    body = "\n".join(
        [
            f"lingua-language-detector, high-accuracy mode, restricted to the shop's {len(languages)} languages "
            f"({', '.join(languages)}); confidence below {MIN_CONFIDENCE}, fewer than 4 letters or one word, or "
            "plain unaccented letters with too few of the detected language's common words (keyboard mashing): "
            "the conversation's language so far, else the shop's default (here `en`).",
            "",
            f"Loading every model: {load_s:.2f} s and {after - before:.0f} MB resident "
            f"(the process: {after:.0f} MB). Per message: p50 {statistics.median(timings):.2f} ms, "
            f"p99 {timings[int(len(timings) * 0.99)]:.2f} ms, over {len(timings)} messages.",
            "",
            *table,
            "",
            "Romanised Hindi (Latn) is counted right only as `hi`; lingua has no model for it and calls it "
            "English or Spanish at low confidence, so it keeps the conversation's language (for a new "
            "conversation, the shop's default), whose help centre has the Hinglish phrasings. An English "
            "phrasing that falls back to `en` counts as right, as it does in the product.",
        ]
    )
    section_write(
        "language", title="Language of customer messages", command="python -m bench.bench_language", body=body
    )
    print(body)


if __name__ == "__main__":
    main()
