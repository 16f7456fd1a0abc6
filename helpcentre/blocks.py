"""An article body as sections of paragraphs, lists and tables, and each part as readable plain text.

Answers quote one part of an article (a table row, a step, a list item, a paragraph), so the
body is read once into parts that keep their shape: a table keeps its header, so a row can be
shown as "Queen (78×60), Ergo 8 inch: ₹20,499" rather than a comma list of cells.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from helpcentre.text import markdown_plain, text_sentences

PARAGRAPH, LIST, TABLE = "paragraph", "list", "table"
_ORDERED_ITEM = re.compile(r"^(\d{1,3})[.)]\s+(.*)$")
_UNORDERED_ITEM = re.compile(r"^[-*+]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
# 8" reads as "8 inch" once the table around it is gone.
_INCHES = re.compile(r"(\d)\s?[\"″]")
# A paragraph this long is quoted a sentence or two at a time, not whole.
LONG_PARAGRAPH_CHARS = 280
# "see *Current offers and discounts*": words of another article's title, not of this one.
_POINTER = re.compile(r"\b(?:see|read)\s+(?:our\s+)?\*[^*\n]+\*", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """A paragraph (``items``: its sentences), a list (``items``: its entries) or a table (``rows``)."""

    kind: str
    items: tuple[str, ...] = ()
    ordered: bool = False
    numbers: tuple[int, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ArticleSection:
    heading: str
    blocks: tuple[Block, ...]


def has_pointers(body: str) -> bool:
    return _POINTER.search(body) is not None


def pointer_titles(text: str) -> list[str]:
    """The titles of the articles ``text`` points to ("see *Tracking your order*" -> "Tracking your order")."""
    return [match.group(0).split("*")[1].strip() for match in _POINTER.finditer(text)]


def pointers_removed(body: str) -> str:
    """The body without its pointers to other articles ("see *Tracking your order*")."""
    return _POINTER.sub("", body)


def cell_plain(text: str) -> str:
    return _INCHES.sub(r"\1 inch", markdown_plain(text=text)).strip()


@functools.lru_cache(maxsize=2048)
def article_sections(body: str) -> tuple[ArticleSection, ...]:
    """The body split at headings; the part before the first heading has an empty heading."""
    sections: list[ArticleSection] = []
    heading, lines = "", list[str]()
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            if any(lines):
                sections.append(ArticleSection(heading=heading, blocks=_blocks(lines)))
            heading, lines = markdown_plain(text=line.lstrip("#")).strip(), []
        else:
            lines.append(line)
    if any(lines):
        sections.append(ArticleSection(heading=heading, blocks=_blocks(lines)))
    return tuple(sections)


def _blocks(lines: list[str]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    pending: list[str] = []
    kind = ""
    for line in [*lines, ""]:
        line_kind = _line_kind(line)
        # A list or table ends at a blank line or a line of another kind; a paragraph at a blank line.
        if pending and (not line or line_kind != kind):
            blocks.append(_block(kind, pending))
            pending = []
        if line:
            kind = line_kind
            pending.append(line)
    return tuple(block for block in blocks if block.items or block.rows)


def _line_kind(line: str) -> str:
    if line.startswith("|"):
        return TABLE
    if _ORDERED_ITEM.match(line):
        return "ordered"
    if _UNORDERED_ITEM.match(line):
        return "unordered"
    return PARAGRAPH


def _block(kind: str, lines: list[str]) -> Block:
    if kind == TABLE:
        return _table(lines)
    if kind == "ordered":
        matches = [_ORDERED_ITEM.match(line) for line in lines]
        return Block(
            kind=LIST,
            ordered=True,
            items=tuple(markdown_plain(text=m.group(2)) for m in matches if m),
            numbers=tuple(int(m.group(1)) for m in matches if m),
        )
    if kind == "unordered":
        matches = [_UNORDERED_ITEM.match(line) for line in lines]
        return Block(kind=LIST, items=tuple(markdown_plain(text=m.group(1)) for m in matches if m))
    text = markdown_plain(text=" ".join(lines))
    return Block(kind=PARAGRAPH, items=tuple(text_sentences(text=text)))


def _table(lines: list[str]) -> Block:
    rows = [[cell_plain(cell) for cell in line.strip().strip("|").split("|")] for line in lines]
    has_header = len(lines) > 1 and bool(_TABLE_RULE.match(lines[1]))
    header = tuple(rows[0]) if has_header else ()
    body = [tuple(row) for row in (rows[2:] if has_header else rows) if any(row)]
    return Block(kind=TABLE, header=header, rows=tuple(body))


def row_text(*, header: tuple[str, ...], row: tuple[str, ...], columns: tuple[int, ...] | None = None) -> str:
    """One table row as a readable line: "E04 — Meaning: Position sensor lost · What to do: …".

    ``columns`` narrows it to some value columns: "Queen (78×60), Ergo 8 inch: ₹20,499".
    """
    label, values = row[0], list(enumerate(row))[1:]
    if columns is not None:
        values = [(i, cell) for i, cell in values if i in columns]
    named = [(header[i] if i < len(header) else "", cell) for i, cell in values if cell]
    if columns is not None and len(named) == 1 and named[0][0]:
        return f"{label}, {named[0][0]}: {named[0][1]}"
    parts = [f"{name}: {cell}" if name else cell for name, cell in named]
    return f"{label} — {' · '.join(parts)}" if parts else label


def block_text(block: Block, *, items: tuple[int, ...] | None = None) -> str:
    """A block as plain lines (only ``items`` of a list or paragraph, or rows of a table, when given)."""
    chosen = range(len(block.rows if block.kind == TABLE else block.items)) if items is None else items
    if block.kind == TABLE:
        return "\n".join(row_text(header=block.header, row=block.rows[i]) for i in chosen)
    if block.kind == PARAGRAPH:
        return " ".join(block.items[i] for i in chosen)
    if block.ordered:
        return "\n".join(f"{block.numbers[i]}. {block.items[i]}" for i in chosen)
    return "\n".join(f"- {block.items[i]}" for i in chosen)


def section_text(section: ArticleSection) -> str:
    body = "\n".join(block_text(block) for block in section.blocks)
    return f"{section.heading}:\n{body}" if section.heading else body
