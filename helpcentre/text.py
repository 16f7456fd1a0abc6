"""Text handling shared by the index and the composer: tokens, features, sections, sentences."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

WORD_PATTERN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*%?")
SENTENCE_END = re.compile(r"(?<=[^\d\s][.!?])\s+(?=[A-Z0-9*\"(])")
MARKDOWN_NOISE = re.compile(r"[*_`>#|]+")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")

# Words that carry no topic; kept out of word features but still seen by character n-grams.
STOP_WORDS = frozenset(
    "a an the is are was were be been am i me my we our you your it its this that these those of to in on"
    " for with at by from and or as do does did can could would should will shall may might please".split()
)
# A short list of spelling variants common in support chats, folded before features are made.
SPELLING_VARIANTS = {
    "orthopaedic": "orthopedic",
    "instalment": "installment",
    "instalments": "installments",
    "customise": "customize",
    "customised": "customized",
    "customisation": "customization",
    "colour": "color",
    "cancelling": "canceling",
    "cancelled": "canceled",
}


def text_normalize(*, text: str) -> str:
    """Lowercase ASCII-folded text; spelling variants folded to one form."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return folded


@functools.lru_cache(maxsize=65_536)
def word_stem(*, word: str) -> str:
    """A deliberately light suffix stripper: plural and -ing/-ed forms meet their base word."""
    word = SPELLING_VARIANTS.get(word, word)
    if len(word) < 4 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("ing") and len(word) >= 6:
        return word[:-3]
    if word.endswith("ed") and len(word) >= 5:
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def text_words(*, text: str) -> list[str]:
    return WORD_PATTERN.findall(text_normalize(text=text))


def text_features(*, text: str, char_sizes: tuple[int, ...] = (3, 4, 5)) -> tuple[list[str], list[str]]:
    """Word features (stems and stem bigrams) and character n-grams within padded words."""
    words = text_words(text=text)
    stems = [word_stem(word=word) for word in words]
    content = [stem for stem, word in zip(stems, words, strict=True) if word not in STOP_WORDS]
    word_features = [f"w:{stem}" for stem in content]
    word_features += [f"b:{first}_{second}" for first, second in zip(content, content[1:], strict=False)]
    char_features: list[str] = []
    for word in words:
        padded = f" {word} "
        # A short word yields each n-gram once, not once per size.
        grams = {padded[i : i + size] for size in char_sizes for i in range(max(1, len(padded) - size + 1))}
        char_features += grams
    return word_features, char_features


def markdown_plain(*, text: str) -> str:
    """Markdown reduced to readable plain text for indexing and short answers."""
    text = LINK.sub(r"\1", text)
    return MARKDOWN_NOISE.sub("", text).strip()


@dataclass(frozen=True)
class Section:
    heading: str
    text: str  # plain text, one line per paragraph, list item or table row


def markdown_sections(*, body: str) -> list[Section]:
    """Split a Markdown body at ``##`` headings; the text before the first one has no heading."""
    sections: list[Section] = []
    heading, lines = "", list[str]()
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            if any(lines):
                sections.append(Section(heading=heading, text="\n".join(lines)))
            heading, lines = markdown_plain(text=line), []
        elif line and not set(line) <= set("|-: "):
            lines.append(_table_row_plain(line) if line.startswith("|") else markdown_plain(text=line))
    if any(lines):
        sections.append(Section(heading=heading, text="\n".join(lines)))
    return sections


def _table_row_plain(line: str) -> str:
    cells = [markdown_plain(text=cell) for cell in line.strip("|").split("|")]
    return ", ".join(cell for cell in cells if cell)


def text_sentences(*, text: str) -> list[str]:
    """Sentences of a section; each list item or paragraph line stands on its own."""
    sentences: list[str] = []
    for line in text.splitlines():
        sentences += [part.strip() for part in SENTENCE_END.split(line) if part.strip()]
    return sentences
