"""Choosing the part of an article that answers a question: a table row, a step, a list item,
a paragraph or a section, instead of the article's opening.

Every sentence, list item and table row is scored by the question's content words (weighted by
how rare they are in the help centre; words of the article's title say little about which part
answers), plus a bonus when it holds the kind of answer asked for (a duration for "how long",
an amount for "how much"). The best one decides the answer's shape:

- a table row: the rows and columns the question names ("Queen", "Ergo 8 inch"), read as lines,
  plus any section whose heading names the row ("E04" → "Recalibrate (E04, …)");
- a step or list item: the whole list when the question asks how to do something, the item
  itself when it asks for a detail (a duration, a fee) or follows up on the article;
- a sentence: its paragraph.

Nothing matching: the article's opening, or for a follow-up the next section not shown yet.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from helpcentre.blocks import (
    LIST,
    LONG_PARAGRAPH_CHARS,
    PARAGRAPH,
    TABLE,
    ArticleSection,
    Block,
    article_sections,
    block_text,
    has_pointers,
    pointers_removed,
    row_text,
)
from helpcentre.terms import (
    Terms,
    focus_of_passage,
    is_code,
    stem_variants,
    tells_a_step_done_in_vain,
    terms_of,
    word_stems,
)

PASSAGE_MAX_CHARS = 750
OPENING_SENTENCE_MAX_CHARS = 200
# A word of the article's title matches every part of it equally: it barely ranks them.
TITLE_WORD_SHARE = 0.2
# A section heading that names a question word counts for each part under it ("After dispatch").
HEADING_SHARE = 1.0
# On a tie, the part under a heading that names the question wins over one that merely mentions it.
HEADING_TIE_BREAK = 0.05
# A word the customer wrote now (or its synonym), as opposed to one carried from earlier turns.
OWN_WORD_MIN_WEIGHT = 0.7
CARRIED_MAX_SHARE = 0.5
# A code ("E04", "LM-482913") names one thing exactly: it outweighs everyday words.
CODE_WEIGHT = 2.0
# The first cell of a table row names it ("E04", "Queen (78×60)").
ROW_LABEL_BONUS = 2.0
# Holding the kind of answer asked for is worth about one moderately rare word.
FOCUS_WEIGHT = 3.0
DETAIL_FOCUS = frozenset({"duration", "price", "limit", "distance", "hours", "days"})
# A part holding the detail asked for answers instead of the best one when it scores at least this share of it.
DETAIL_HOLDER_SHARE = 0.5
# Other items of the same list join the best one when they score at least this share of it.
COMPANION_SHARE = 0.75
# A part of another section scoring this share of the best is quoted after it.
RUNNER_UP_SHARE = 0.8
# Parts of the opening section are preferred this much when a question does not follow up.
LEAD_BONUS = 1.25
# A word the customer wrote (or its close synonym) in a section's heading names that section.
NAMED_SECTION_MIN_WEIGHT = 0.7
NAMED_SECTION_MAX_SHARE = 0.25
# Sections already quoted, when the customer asks for something else.
SHOWN_SHARE = 0.3
# An opening this short (or one that points at steps) is followed by the section after it.
SHORT_OPENING_CHARS = 160
_POINTS_AHEAD = re.compile(
    r"\b(these|the following|the) steps\b|\bas follows\b|\bbelow\b|\bwhat to do\b", re.IGNORECASE
)

Idf = Callable[[str], float]


@dataclass(frozen=True)
class Extract:
    text: str
    section: int  # index of the section the best part is in (-1: nothing)
    score: float  # how well the best part matched (0: nothing did)
    sections: tuple[int, ...] = ()  # every section quoted, whole or in part


@dataclass(frozen=True)
class _Unit:
    section: int
    block: int
    item: int
    score: float


def passage_select(*, body: str, title: str, query: str, idf: Idf, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """The part of an article that best answers ``query`` (a one-off question: search, prompts)."""
    terms = terms_of(query)
    extract = answer_extract(body=body, title=title, terms=terms, idf=idf, max_chars=max_chars)
    return extract_past_a_step_done(
        extract, question=query, body=body, title=title, terms=terms, idf=idf, max_chars=max_chars
    ).text


def extract_past_a_step_done(
    extract: Extract,
    *,
    question: str,
    body: str,
    title: str,
    terms: Terms,
    idf: Idf,
    problem: bool = False,
    max_chars: int = PASSAGE_MAX_CHARS,
) -> Extract:
    """``extract``, or what comes after it when ``question`` tells of a step done in vain ("it doesn't work,
    I already replaced the batteries", "ya cambié las pilas"): the part that matched is what was done already,
    so the next part answers, as for a follow-up asking for more. Not when the article's opening matched."""
    if not (extract.text and extract.section > 0 and tells_a_step_done_in_vain(question)):
        return extract
    again = answer_extract(
        body=body, title=title, terms=terms, idf=idf, shown=extract.sections, problem=problem, max_chars=max_chars
    )
    return again if again.text else extract


def answer_extract(
    *,
    body: str,
    title: str,
    terms: Terms,
    idf: Idf,
    follow_up: bool = False,
    shown: Sequence[int] = (),
    problem: bool = False,
    next_step: bool = False,
    max_chars: int = PASSAGE_MAX_CHARS,
) -> Extract:
    """The part of the article answering ``terms``.

    ``shown``: sections quoted earlier that the customer wants to get past ("what else can I
    try?"); they count for little, and with nothing matching the next one not shown is quoted.
    ``problem``: the message states a problem rather than asks; the article's opening leads.
    ``next_step``: the message tells what the customer did or saw and asks what now: when that is a
    step of a numbered list, the step after it (or the section after the list's last step) answers.
    """
    parts = _article_parts(body)
    sections = parts.sections
    if not sections:
        return Extract(text="", section=-1, score=0.0)
    # Codes stay telling even when the title lists them ("error codes E01 to E08").
    title_stems = {stem for stem in word_stems(title) if not is_code(stem)}
    weights = _carried_capped(
        {
            stem: weight
            * (TITLE_WORD_SHARE if stem in title_stems else CODE_WEIGHT if is_code(stem) else 1.0)
            * idf(stem)
            for stem, weight in terms.weights
        },
        own={stem for stem, weight in terms.weights if weight >= OWN_WORD_MIN_WEIGHT},
    )
    # A synonym stands in for the customer's word; beside that word it adds nothing ("the code" in
    # "Enter the code in Apply coupon" is one match, not two).
    stand_ins = {variant: stem for stem, weight in terms.weights if weight >= 1.0 for variant in stem_variants(stem)}
    scorer = _Scorer(weights=weights, focus=terms.focus_map(), follow_up=follow_up, stand_ins=stand_ins)
    every_unit = units = [scorer.unit(part) for part in parts.parts]
    after = _step_after(sections, max(every_unit, key=lambda unit: unit.score)) if next_step else None
    if after is not None:
        return _extract(sections, after[1], max_chars=max_chars, section=after[0], score=0.0)
    if shown and not any(weight >= OWN_WORD_MIN_WEIGHT for _, weight in terms.weights):
        # "what else can I try?", "I did that already": the next section, in the article's order.
        units = []
    elif shown:
        units = [replace(unit, score=unit.score * SHOWN_SHARE) if unit.section in shown else unit for unit in units]
        if max(units, key=lambda unit: unit.score).section in shown:
            units = []  # "I changed the batteries": what they name was said; what comes next was not
    elif not follow_up and (problem or not _says_more_than_title(parts, terms=terms, title_stems=title_stems)):
        # "how much does a mattress cost?" asks what the whole article is about, and "my remote
        # doesn't light up" where to start: its opening answers (then the section it leads to).
        units = [unit for unit in units if unit.section == 0] or units
    units = _holding_detail(units, parts=parts, scorer=scorer)
    best = max(units, key=lambda unit: unit.score, default=None)
    if best is not None and best.section == 0:
        best = _section_named(parts, every_unit, best=best, terms=terms, title_stems=title_stems)
    if best is None or best.score <= 0.0:
        index = _next_unshown(sections, shown) if shown else 0
        if index is None:
            return Extract(text="", section=-1, score=0.0, sections=tuple(shown))  # everything was said
        lines = _section_lines(sections[index])
        if index == 0 and len(lines) == 1 and len(sections) > 1:
            lines += [("", False), *_section_lines(sections[1])]
        return _extract(sections, lines, max_chars=max_chars, section=index, score=0.0)
    lines = _render(sections, best, units=units, scorer=scorer, follow_up=follow_up)
    lines += _runner_up(sections, best, units=units, lines=lines)
    if not follow_up and best.section > 0 and sections[best.section].blocks[best.block].kind != TABLE:
        # A new question answered from deep in the article first hears what the article is about
        # ("The Lullmoor Ortho is our firm orthopaedic mattress…", then who it is for).
        lines = _opening_sentence(sections[0]) + lines
    return _extract(sections, lines, max_chars=max_chars, section=best.section, score=best.score)


def _step_after(sections: Sequence[ArticleSection], done: _Unit) -> tuple[int, list[_Line]] | None:
    """The step after ``done`` when it is a step of a numbered list ("I held FLAT and LIGHT, it blinks
    blue. now?"), or the section after a list's last step; None when ``done`` is no step."""
    block = sections[done.section].blocks[done.block]
    if done.score <= 0.0 or block.kind != LIST or not block.ordered:
        return None
    if done.item + 1 < len(block.items):
        lines = block_text(block, items=(done.item + 1,)).splitlines()
        return done.section, _heading(sections[done.section]) + [(line, False) for line in lines]
    if done.section + 1 < len(sections):
        return done.section + 1, _section_lines(sections[done.section + 1])
    return None


def _runner_up(
    sections: Sequence[ArticleSection], best: _Unit, *, units: list[_Unit], lines: list[_Line]
) -> list[_Line]:
    """A part of another section that answers almost as well (the photos rule under "Damaged on
    delivery" beside the exchange rules): its heading and that one part, when not quoted already."""
    others = [unit for unit in units if unit.section not in (best.section, 0) and unit.score > 0]
    second = max(others, key=lambda unit: unit.score, default=None)
    if second is None or second.score < RUNNER_UP_SHARE * best.score:
        return []
    block = sections[second.section].blocks[second.block]
    if block.kind == TABLE:
        return []
    quoted = {text for text, _ in lines}
    extra = [(line, False) for line in block_text(block, items=(second.item,)).splitlines() if line not in quoted]
    return [("", False), *_heading(sections[second.section]), *extra] if extra else []


def _holding_detail(units: list[_Unit], *, parts: _ArticleParts, scorer: _Scorer) -> list[_Unit]:
    """A question after one detail ("how much is a new one?", "when will you pick it up?") is
    answered by a part that holds that kind of detail (an amount, a duration), when a matching one
    does: a part that only shares a word with the question cannot say how much or how long."""
    wanted = DETAIL_FOCUS.intersection(scorer.focus)
    if not wanted:
        return units
    holding = {(part.section, part.block, part.item) for part in parts.parts if wanted & focus_of_passage(part.text)}
    best = max((unit.score for unit in units), default=0.0)
    kept = [
        unit
        for unit in units
        if unit.score >= DETAIL_HOLDER_SHARE * best > 0 and (unit.section, unit.block, unit.item) in holding
    ]
    return kept or units


def _extract(
    sections: Sequence[ArticleSection], lines: list[_Line], *, max_chars: int, section: int, score: float
) -> Extract:
    text = _fit(lines, max_chars)
    quoted = {line for line in text.splitlines() if line.endswith(":")}
    opening = _opening_sentence(sections[0]) if sections else []
    if opening and text.startswith(opening[0][0]):
        quoted.add("")  # the opening, which has no heading, was quoted too
    return Extract(
        text=text,
        section=section,
        score=score,
        sections=tuple(
            sorted(
                {section}
                | {i for i, s in enumerate(sections) if s.heading and f"{s.heading}:" in quoted}
                | ({0} if "" in quoted else set())
            )
        ),
    )


def _opening_sentence(lead: ArticleSection) -> list[_Line]:
    first = lead.blocks[0] if lead.blocks and not lead.heading else None
    if first is None or first.kind != PARAGRAPH or not first.items:
        return []
    sentence = first.items[0]
    if sentence.endswith(":") or len(sentence) > OPENING_SENTENCE_MAX_CHARS:
        return []
    return [(sentence, False), ("", False)]


def _carried_capped(weights: dict[str, float], *, own: set[str]) -> dict[str, float]:
    """Words carried from earlier turns may tip a choice, not make it: together they weigh at most
    half of what the message's own words do ("can I get compensation?" after "held at hub")."""
    own_total = sum(weight for stem, weight in weights.items() if stem in own)
    carried_total = sum(weight for stem, weight in weights.items() if stem not in own)
    if not own_total or carried_total <= CARRIED_MAX_SHARE * own_total:
        return weights
    scale = CARRIED_MAX_SHARE * own_total / carried_total
    return {stem: weight if stem in own else weight * scale for stem, weight in weights.items()}


def _says_more_than_title(parts: _ArticleParts, *, terms: Terms, title_stems: set[str]) -> bool:
    """Whether a word the customer wrote, beyond the article's title, appears anywhere in it."""
    wanted = set(terms.focus_map())
    if wanted and not any(wanted & focus_of_passage(part.text) for part in parts.parts if part.section == 0):
        return True  # "how many times can I exchange?" asks for something the opening does not say
    # A word the customer wrote or its synonym ("register": "registration"), but not a synonym of
    # the title's words ("prices": "cost"), which says no more than the title does.
    named = title_stems | {variant for stem in title_stems for variant in stem_variants(stem)}
    distinct = {stem for stem, weight in terms.weights if weight >= OWN_WORD_MIN_WEIGHT and stem not in named}
    return bool(distinct) and any(distinct & (part.stems | part.extra | part.heading) for part in parts.parts)


def _section_named(
    parts: _ArticleParts, units: list[_Unit], *, best: _Unit, terms: Terms, title_stems: set[str]
) -> _Unit:
    """An opening that restates the problem ("…or makes a grinding noise, follow these steps")
    gives way to a section whose heading names what the customer asked about ("Noise")."""
    if parts.sections[0].blocks[best.block].kind == TABLE:
        return best
    asked = {
        stem
        for stem, weight in terms.weights
        if weight >= NAMED_SECTION_MIN_WEIGHT
        and stem not in title_stems
        # "base" in every LiftBase article's parts names none of its sections
        and sum(stem in part.stems for part in parts.parts) <= NAMED_SECTION_MAX_SHARE * len(parts.parts)
    }
    named = [
        index
        for index, section in enumerate(parts.sections)
        # "Still not found?" is where the steps end, not where they start.
        if index and asked & parts.headings[index] and not section.heading.lower().startswith("still")
    ]
    candidates = [unit for unit in units if unit.section in named]
    if not candidates:
        return best
    return max(candidates, key=lambda unit: unit.score)


def _shape(sections: Sequence[ArticleSection]) -> list[tuple[int, ...]]:
    return [tuple(len(block.items) + len(block.rows) for block in section.blocks) for section in sections]


@dataclass(frozen=True)
class _Part:
    """One scored part (sentence, list item, table row) and everything scoring needs about it."""

    section: int
    block: int
    item: int
    stems: frozenset[str]
    extra: frozenset[str]  # a table's header: describes the row without being in it
    heading: frozenset[str]
    label: frozenset[str]  # a table row's first cell
    text: str  # read for the kinds of answer it holds only when a question asks for one
    steps: bool  # an item of a numbered list


@dataclass(frozen=True)
class _ArticleParts:
    sections: tuple[ArticleSection, ...]  # as written, for quoting
    parts: tuple[_Part, ...]  # scored without pointers to other articles
    headings: tuple[frozenset[str], ...]


@functools.lru_cache(maxsize=2048)
def _article_parts(body: str) -> _ArticleParts:
    """An article read once for scoring: each part's stems and kinds of answer, cached by body."""
    sections = article_sections(body)
    # Parts are scored without their pointers to other articles ("see *Returns, refunds and
    # exchanges*" is not about returns), unless removing them changed the article's shape.
    scored = article_sections(pointers_removed(body)) if has_pointers(body) else sections
    if _shape(scored) != _shape(sections):
        scored = sections
    headings = tuple(frozenset(word_stems(section.heading)) for section in scored)
    parts = []
    for index, section in enumerate(scored):
        for number, block in enumerate(section.blocks):
            for item, (text, extra) in enumerate(_unit_texts(block)):
                parts.append(
                    _Part(
                        section=index,
                        block=number,
                        item=item,
                        stems=frozenset(word_stems(text)),
                        extra=frozenset(extra),
                        heading=headings[index],
                        label=frozenset(word_stems(block.rows[item][0])) if block.kind == TABLE else frozenset(),
                        text=text,
                        steps=block.kind == LIST and block.ordered,
                    )
                )
    return _ArticleParts(sections=sections, parts=tuple(parts), headings=headings)


class _Scorer:
    def __init__(
        self,
        *,
        weights: dict[str, float],
        focus: dict[str, float],
        follow_up: bool,
        stand_ins: dict[str, str] | None = None,
    ):
        self.weights = weights
        self.focus = focus
        self.follow_up = follow_up
        self.stand_ins = stand_ins or {}

    def matched(self, stems: set[str] | frozenset[str]) -> float:
        return sum(
            weight
            for stem, weight in self.weights.items()
            if stem in stems and self.stand_ins.get(stem, stem) not in (stems - {stem})
        )

    def unit(self, part: _Part) -> _Unit:
        score = self.matched(part.stems) + HEADING_SHARE * self.matched((part.heading | part.extra) - part.stems)
        score += HEADING_TIE_BREAK * self.matched(part.heading)
        if part.label:
            score += (ROW_LABEL_BONUS - 1.0) * self.matched(part.label)
        if self.focus:
            found = focus_of_passage(part.text) | ({"procedure"} if part.steps else set())
            score += FOCUS_WEIGHT * sum(weight for name, weight in self.focus.items() if name in found)
        lead = LEAD_BONUS if part.section == 0 and not self.follow_up else 1.0
        return _Unit(section=part.section, block=part.block, item=part.item, score=score * lead)


def _unit_texts(block: Block) -> list[tuple[str, set[str]]]:
    """Each scored part of a block, with stems that describe it without being in it (a table's header)."""
    if block.kind == TABLE:
        header = word_stems(" ".join(block.header))
        return [(" ".join(row), header) for row in block.rows]
    if block.kind == PARAGRAPH and len(block_text(block)) <= LONG_PARAGRAPH_CHARS:
        return [(block_text(block), set())]  # quoted whole, so its sentences count together
    return [(text, set()) for text in block.items]


_Line = tuple[str, bool]  # a line of the answer, and whether it is a section heading


def _render(
    sections: Sequence[ArticleSection], best: _Unit, *, units: list[_Unit], scorer: _Scorer, follow_up: bool
) -> list[_Line]:
    section = sections[best.section]
    block = section.blocks[best.block]
    if block.kind == TABLE:
        return _table_lines(sections, best, block=block, scorer=scorer)
    same_block = [unit for unit in units if (unit.section, unit.block) == (best.section, best.block)]
    detail = follow_up or bool(DETAIL_FOCUS.intersection(scorer.focus))
    if block.kind == LIST and block.ordered and "procedure" in scorer.focus:
        detail = False
    if block.kind == PARAGRAPH and len(block_text(block)) <= LONG_PARAGRAPH_CHARS:
        chosen = tuple(range(len(block.items)))
    elif detail or len(block_text(block)) > PASSAGE_MAX_CHARS:
        chosen = tuple(u.item for u in same_block if u.score >= COMPANION_SHARE * best.score)
    else:
        chosen = tuple(range(len(block.items)))
    lines = _heading(section) + [(line, False) for line in block_text(block, items=chosen).splitlines()]
    if block.kind == PARAGRAPH and _introduces_more(lines[-1][0], opening=best.section == 0 and not follow_up):
        # "Our standard sizes, in inches:" introduces the table after it; "work through these
        # steps" the steps; a one-line opening the section that follows.
        if best.block + 1 < len(section.blocks):
            lines += [(line, False) for line in block_text(section.blocks[best.block + 1]).splitlines()]
        elif best.section + 1 < len(sections):
            lines += [("", False), *_section_lines(sections[best.section + 1])]
    return lines


def _introduces_more(text: str, *, opening: bool) -> bool:
    if text.endswith(":"):
        return True
    return opening and (len(text) < SHORT_OPENING_CHARS or bool(_POINTS_AHEAD.search(text)))


def _heading(section: ArticleSection) -> list[_Line]:
    return [(f"{section.heading}:", True)] if section.heading else []


def _table_lines(sections: Sequence[ArticleSection], best: _Unit, *, block: Block, scorer: _Scorer) -> list[_Line]:
    label_scores = [scorer.matched(word_stems(row[0])) for row in block.rows]
    row_scores = [scorer.matched(word_stems(" ".join(row))) for row in block.rows]
    if max(label_scores) > 0:
        # "queen and king?": every row the message names, however rare each name is
        rows = [i for i, score in enumerate(label_scores) if score >= COMPANION_SHARE * max(label_scores)]
    elif max(row_scores) > 0 and min(row_scores) < max(row_scores):
        rows = [i for i, score in enumerate(row_scores) if score >= COMPANION_SHARE * max(row_scores)]
    else:
        rows = list(range(len(block.rows)))
    column_scores = [scorer.matched(word_stems(name)) for name in block.header[1:]]
    columns = None
    if column_scores and max(column_scores) > 0 and min(column_scores) < max(column_scores):
        columns = tuple(i + 1 for i, score in enumerate(column_scores) if score == max(column_scores))
    lines = _heading(sections[best.section])
    lines += [(row_text(header=block.header, row=block.rows[i], columns=columns), False) for i in rows]
    if len(rows) <= 2:
        for i in rows:
            lines += _sections_naming(sections, label=block.rows[i][0], besides=best.section)
    return lines


def _sections_naming(sections: Sequence[ArticleSection], *, label: str, besides: int) -> list[_Line]:
    """The sections whose heading names a table row ("Recalibrate (E04, …)" for the E04 row)."""
    label_stems = word_stems(label)
    lines: list[_Line] = []
    for index, section in enumerate(sections):
        if index != besides and label_stems and label_stems <= word_stems(section.heading):
            lines += [("", False), *_section_lines(section)]
    return lines


def _section_lines(section: ArticleSection) -> list[_Line]:
    lines = _heading(section)
    for block in section.blocks:
        lines += [(line, False) for line in block_text(block).splitlines()]
    return lines


def _next_unshown(sections: Sequence[ArticleSection], shown: Sequence[int]) -> int | None:
    """The first section not quoted yet (the opening last); None when every one was."""
    return next((index for index in [*range(1, len(sections)), 0] if index not in shown), None)


def _fit(lines: list[_Line], max_chars: int) -> str:
    """Whole lines up to ``max_chars`` (a single longer line cut with an ellipsis), never ending on a heading."""
    kept: list[_Line] = []
    used = 0
    for text, heading in lines:
        if kept and used + len(text) > max_chars:
            break
        kept.append((text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…", heading))
        used += len(text) + 1
    while kept and (kept[-1][1] or not kept[-1][0].strip()):
        kept.pop()
    return "\n".join(text for text, _ in kept).strip()
