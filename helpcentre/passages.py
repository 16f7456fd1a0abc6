"""Choosing the few sentences of an article that answer a question, instead of the whole article."""

from __future__ import annotations

from helpcentre.index import ArticleIndex, SectionScore
from helpcentre.text import STOP_WORDS, text_sentences, text_words, word_stem

PASSAGE_MAX_CHARS = 450
# The opening paragraph is written to answer the article's main question; another section
# wins only when it clearly matches better ("is COD available for custom sizes?").
LEAD_SECTION_BONUS = 2.0
# A heading that names what the customer asked about ("How to claim") is a strong hint,
# unless that word is also in the article title and so says nothing about the section.
HEADING_MATCH_BONUS = 1.5
QUESTION_WORDS = frozenset("how what when where which who why".split())


def _stems(text: str) -> set[str]:
    return {word_stem(word=w) for w in text_words(text=text) if w not in STOP_WORDS and w not in QUESTION_WORDS}


def _section_weight(section: SectionScore, *, position: int, distinctive: set[str]) -> float:
    weight = section.score
    if position == 0 and not section.heading:
        weight *= LEAD_SECTION_BONUS
    if distinctive & _stems(section.heading):
        weight *= HEADING_MATCH_BONUS
    return weight


def passage_select(*, index: ArticleIndex, key: str, title: str, query: str, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """The best-matching section of article ``key``, cut to a few sentences."""
    sections = index.section_scores(index.query_vector(query), key=key)
    if not sections:
        return ""
    distinctive = _stems(query) - _stems(title)
    weights = [_section_weight(s, position=i, distinctive=distinctive) for i, s in enumerate(sections)]
    best = sections[max(range(len(sections)), key=lambda i: (weights[i], -i))]
    return _section_cut(best, query_stems=_stems(query), max_chars=max_chars)


def _sentence_order(sentences: list[str], query_stems: set[str]) -> list[int]:
    """First sentence, then those sharing most words with the question, then the rest in order."""
    overlap = [len(query_stems & _stems(sentence)) for sentence in sentences]
    rest = sorted(range(1, len(sentences)), key=lambda i: (-overlap[i], i))
    return [0, *rest]


def _section_cut(section: SectionScore, *, query_stems: set[str], max_chars: int) -> str:
    sentences = text_sentences(text=section.text)
    if not sentences:
        return ""
    chosen: list[int] = []
    used = len(section.heading)
    for position in _sentence_order(sentences, query_stems):
        if chosen and used + len(sentences[position]) > max_chars:
            break
        chosen.append(position)
        used += len(sentences[position]) + 1
    lines = [
        sentences[i] if len(sentences[i]) <= max_chars else sentences[i][: max_chars - 1].rstrip() + "…"
        for i in sorted(chosen)
    ]
    body = "\n".join(lines)
    return f"{section.heading}:\n{body}" if section.heading else body
