"""Choosing the few sentences of an article that answer a question, instead of the whole article."""
from __future__ import annotations

from routing.knowledge.index import ArticleIndex
from routing.knowledge.text import text_sentences

PASSAGE_MAX_CHARS = 450
# The opening paragraph is written to answer the article's main question; prefer it unless
# another section clearly matches better (for example "is COD available for custom sizes?").
LEAD_SECTION_BONUS = 1.6


def passage_select(*, index: ArticleIndex, key: str, query: str, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """The best-matching section of article ``key``, cut to a few sentences."""
    sections = index.section_scores(query, key=key)
    if not sections:
        return ""
    boosted = [(text, score * (LEAD_SECTION_BONUS if position == 0 else 1.0)) for position, (text, score) in enumerate(sections)]
    position = max(range(len(boosted)), key=lambda i: (boosted[i][1], -i))
    return _section_cut(boosted[position][0], max_chars=max_chars, has_heading=position > 0 or "\n" in boosted[position][0])


def _section_cut(section: str, *, max_chars: int, has_heading: bool) -> str:
    heading, _, text = section.partition("\n")
    if not text:
        heading, text = "", heading
    lines: list[str] = []
    used = len(heading)
    for sentence in text_sentences(text=text):
        if lines and used + len(sentence) > max_chars:
            break
        lines.append(sentence if len(sentence) <= max_chars else sentence[: max_chars - 1].rstrip() + "…")
        used += len(sentence) + 1
    body = "\n".join(lines)
    return f"{heading}:\n{body}" if heading and has_heading else body
