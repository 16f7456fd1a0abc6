"""Text handling shared by the index and the composer: tokens, features, sections, sentences."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import snowballstemmer

# Letters of scripts past Greek (Cyrillic, Devanagari, Arabic, CJK...) with their combining marks:
# text_normalize keeps them as they are, where Latin letters lose their accents.
WORD_PATTERN = re.compile(r"[a-z0-9\u0370-\U0010ffff]+(?:[.'][a-z0-9\u0370-\U0010ffff]+)*%?")
# The blocks of those scripts' letters, leaving out punctuation and symbols ("’", "—", "₹") so that
# English text takes the plain ASCII fold.
NON_LATIN = re.compile(r"[\u0370-\u1fff\u2c00-\u2dff\u3040-\ud7ff\uf900-\ufaff]")
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
# Irregular past forms meet their verb, as -ed forms do ("held for 48 hours" answers "how long do you
# hold it?"). Forms that are also other common words ("left", "fell", "found" as in "founded") are not here.
IRREGULAR_FORMS = {
    "held": "hold",
    "paid": "pay",
    "bought": "buy",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "kept": "keep",
    "told": "tell",
    "brought": "bring",
    "broke": "break",
    "chose": "choose",
    "chosen": "choose",
    "sold": "sell",
    "spent": "spend",
    "slept": "sleep",
    "felt": "feel",
    "worn": "wear",
    "wore": "wear",
    "torn": "tear",
    "tore": "tear",
    "sank": "sink",
    "sunk": "sink",
    "began": "begin",
    "begun": "begin",
    "woke": "wake",
    "woken": "wake",
    "built": "build",
    "bent": "bend",
    "shook": "shake",
    "shaken": "shake",
    "gotten": "get",
}


def text_normalize(*, text: str) -> str:
    """Lowercase text with Latin letters ASCII-folded ("devolución" → "devolucion"); letters and
    marks of other scripts (Devanagari, Cyrillic, Arabic...) are kept, everything else dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not NON_LATIN.search(decomposed):
        return decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return unicodedata.normalize("NFC", "".join(_kept_characters(decomposed))).lower()


def _kept_characters(decomposed: str) -> list[str]:
    kept: list[str] = []
    for character in decomposed:
        if character.isascii():
            kept.append(character)
        elif ord(character) >= 0x370 and unicodedata.category(character)[0] in "LMN":
            # A combining mark after an ASCII letter is a Latin accent: dropped, as the ASCII fold does.
            if unicodedata.category(character)[0] != "M" or not (kept and kept[-1].isascii()):
                kept.append(character)
    return kept


_PADDED_CODE = re.compile(r"([a-z]{1,3})0+(\d+)")


@functools.lru_cache(maxsize=65_536)
def word_stem(*, word: str) -> str:
    """A deliberately light suffix stripper: plural and -ing/-ed forms meet their base word, and a code
    written without its leading zeros meets the code ("e4" and "e04")."""
    padded = _PADDED_CODE.fullmatch(word)
    if padded:
        return padded.group(1) + padded.group(2)
    word = SPELLING_VARIANTS.get(word, word)
    word = IRREGULAR_FORMS.get(word, word)
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


# Snowball's stemmer per language (primary subtag), for help-centre articles in other languages
# than English; the light English stripper above stays the shop language's (its figures rest on it).
SNOWBALL_ALGORITHMS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "es": "spanish",
    "fr": "french",
    "hi": "hindi",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
# Words that carry no topic in the languages of the demo help centre's translations.
LANGUAGE_STOP_WORDS = {
    "es": frozenset(
        "a al con de del el en es esta este la las lo los me mi mis para por que se su sus un una y o"
        " yo tu te le les hay como cual cuando donde puedo quiero tengo".split()
    ),
    "hi": frozenset(
        "का की के को में से पर है हैं था थी थे हो और या तो भी ही मैं मेरा मेरी मेरे मुझे हम आप आपका"
        " क्या कैसे कब कहाँ कितना कितने कितनी यह वह इस उस एक ना नहीं कर करना करें करूँ".split()
    ),
}
_stemmers = threading.local()


def language_stemmer(language: str) -> Callable[[str], str] | None:
    """A word → stem function for ``language`` (Snowball), None for English and unknown languages.
    Snowball stemmers keep state, so one per thread."""
    algorithm = SNOWBALL_ALGORITHMS.get(language.split("-")[0].lower())
    if algorithm is None:
        return None
    cache: dict[str, Any] = _stemmers.__dict__
    if algorithm not in cache:
        cache[algorithm] = snowballstemmer.stemmer(algorithm)
    return cast(Callable[[str], str], cache[algorithm].stemWord)


def text_words(*, text: str) -> list[str]:
    return WORD_PATTERN.findall(text_normalize(text=text))


def text_features(
    *, text: str, char_sizes: tuple[int, ...] = (3, 4, 5), language: str = ""
) -> tuple[list[str], list[str]]:
    """Word features (stems and stem bigrams) and character n-grams within padded words.

    ``language`` (other than English) stems with Snowball and leaves out that language's stop words.
    """
    words = text_words(text=text)
    stemmer = language_stemmer(language) if language else None
    stop_words = LANGUAGE_STOP_WORDS.get(language.split("-")[0].lower(), STOP_WORDS) if stemmer else STOP_WORDS
    stems = [stemmer(word) if stemmer else word_stem(word=word) for word in words]
    content = [stem for stem, word in zip(stems, words, strict=True) if word not in stop_words]
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
