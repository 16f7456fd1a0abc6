"""Token counts made locally: for context windows, spend checks and ledger rows marked as estimated.

Billing always uses the provider's reported usage; these estimates stand in only where no
usage exists (the offline engine, a call cut before its usage arrived) and for choosing a tier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

# Latin script (English, Spanish...): o200k_base gives 3.7 to 3.8 characters a token on the help
# centre's Markdown (docs/benchmarks.md, "Token estimates by script"), so 4 undercounts those by
# about 5%; kept, as every English estimate and its tests rest on it.
CHARS_PER_TOKEN = 4
# Other scripts take more tokens a character; measured with o200k_base, the tokenizer of the
# GPT-4o and GPT-5 families (python -m bench.bench_tokens), rounded down. Anything else: 1.
SCRIPT_CHARS_PER_TOKEN = {
    "latin": CHARS_PER_TOKEN,
    "devanagari": 2.3,
    "arabic": 2.4,
    "cyrillic": 3.6,
    "cjk": 1.4,
    "greek": 2.5,
}
OTHER_CHARS_PER_TOKEN = 1.0
SCRIPT_PATTERNS = {
    # Latin letters with accents (Latin-1 to Latin Extended-B, and the combining accents of NFD text).
    "latin": re.compile(r"[\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]"),
    "greek": re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"),
    "cyrillic": re.compile(r"[\u0400-\u052f]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"),
    # Devanagari and the Brahmic scripts after it (Bengali, Gurmukhi, Gujarati, Tamil... Sinhala).
    "devanagari": re.compile(r"[\u0900-\u0dff]"),
    # Kana, Han, Hangul and fullwidth forms.
    "cjk": re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"),
}
# What a vision model bills for one high-detail image, roughly; its base64 text is not prose to count.
IMAGE_TOKENS_ESTIMATE = 1100
# Role markers and separators each message adds on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4


def tokens_estimate(*, chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def script_char_counts(text: str) -> dict[str, int]:
    """How many characters of ``text`` each script has; ASCII counts as ``latin``, unknown as ``other``."""
    counts = {script: len(pattern.findall(text)) for script, pattern in SCRIPT_PATTERNS.items()}
    ascii_chars = sum(character.isascii() for character in text)
    counts["other"] = len(text) - ascii_chars - sum(counts.values())
    counts["latin"] += ascii_chars
    return counts


def text_tokens_estimate(text: str) -> int:
    """Tokens ``text`` likely takes: its characters of each script at that script's rate."""
    if text.isascii():
        return tokens_estimate(chars=len(text))
    counts = script_char_counts(text)
    tokens = sum(count / SCRIPT_CHARS_PER_TOKEN.get(script, OTHER_CHARS_PER_TOKEN) for script, count in counts.items())
    return math.ceil(tokens - 1e-9)


def input_tokens_estimate(*, messages: Iterable[dict[str, Any]]) -> int:
    """A cheap local count of prompt tokens: text parts by length, images at a flat rate."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += text_tokens_estimate(content)
        elif isinstance(content, list):
            total += sum(_part_tokens_estimate(part) for part in content)
    return total


def _part_tokens_estimate(part: Any) -> int:
    if not isinstance(part, dict):
        return 0
    if part.get("type") == "text":
        return text_tokens_estimate(str(part.get("text", "")))
    if part.get("type") in ("image_url", "input_image"):
        return IMAGE_TOKENS_ESTIMATE
    return 0
