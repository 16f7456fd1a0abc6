"""Citations on the model path: the links in a model's answer that point at passages it was given.

The prompt shows each passage as ``[title](url)`` and asks the model to cite what it uses that
way. After the answer, every link is checked against those passages: a link to a passage becomes
a citation (title, URL and key, as the offline engine gives them); a link to anything else is not
the help centre speaking, so it is taken out of the stored text (a Markdown link keeps its words, a bare
address becomes "(link removed)"); so is every image, which the widget does not load.
A link to an article given in two languages cites the version given first (the customer's).

Models that ignore the link format often cite by reference instead: a passage's title in brackets
(``[Returns and exchanges]``) or its place in the prompt (``[1]`` for the first passage given).
Those cite the passage too, and stay in the text as written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from helpcentre.selectors import Citation
from routing.prompts import PassageLike

logger = logging.getLogger(__name__)

# [words](url), [words](<url>) or [words](url "title"), and an image ![words](url); the words may not span lines and
# may hold one level of brackets ("[see [the article]](url)"), the URL one level of parentheses
# ("https://example.com/a_(b)", "javascript:alert(1)"), or, between angle brackets, spaces
# ("[words](<https://example.com/a b>)"), as Markdown renderers read them.
MARKDOWN_LINK = re.compile(
    r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]{0,300}\]){0,300})\]"
    r"\(\s*(?:<([^<>\n]{1,2000})>|((?:[^()\s<>]|\([^()\s<>]{0,300}\)){1,2000}))"
    r"(?:\s+(?:\"[^\"\n]{0,300}\"|'[^'\n]{0,300}'|\([^()\n]{0,300}\)))?\s*\)"
)
# An autolink: <https://...> (spaces and all), or a help-centre path in angle brackets (not "</script>", a closing tag).
ANGLE_LINK = re.compile(r"<((?i:https?)://[^<>\n]{1,2000}|/help/[\w%-]+/?)>")
# A bare absolute URL wherever it starts ("xhttps://...", "<https://..." unclosed: a client that makes links of
# addresses finds it there too), or a bare site path that looks like a help-centre page; "(https://...)" too,
# since what a Markdown link did not match is still a link to most renderers.
BARE_LINK = re.compile(r"(?i:https?)://[^\s<>()\[\]]{1,2000}|(?<![\w<\[/])/help/[\w%-]+/?")
# What stands where a bare or angle-bracketed link was taken out, so the sentence still reads.
LINK_REMOVED = "(link removed)"
TRAILING_PUNCTUATION = ".,;:!?'\""
_NESTED_BRACKETS = re.compile(r"[\[\]]")
# [words] not followed by a link target: a reference to a passage by its title or its number.
REFERENCE = re.compile(r"\[([^\[\]\n]{1,300})\](?!\()")


@dataclass(frozen=True)
class GroundedAnswer:
    text: str
    citations: tuple[Citation, ...]
    links_removed: int


def answer_ground(*, text: str, passages: Sequence[PassageLike], own_hosts: Iterable[str] = ()) -> GroundedAnswer:
    """Turn the answer's links to given passages into citations and drop every other link.

    ``own_hosts`` are the host names an absolute link to this help centre may carry (the public URL's).
    """
    hosts = {host.lower() for host in own_hosts}
    # One article may be given in two languages (same key): the first given, the customer's, is cited.
    first_by_key: dict[str, PassageLike] = {}
    for passage in passages:
        first_by_key.setdefault(passage.key, passage)
    by_path = {_path(passage.url, hosts=hosts): first_by_key[passage.key] for passage in passages}
    cited: dict[str, Citation] = {}
    removed = 0

    def passage_for(url: str) -> PassageLike | None:
        return by_path.get(_path(url, hosts=hosts))

    def markdown(match: re.Match[str]) -> str:
        nonlocal removed
        image, words, url = match.group(1), match.group(2), match.group(3) or match.group(4)
        passage = passage_for(url)
        if passage is None or image:  # an image is never the help centre's to show: its words stay
            counted = removed + 1
            shown = plain(words)  # words that are an address are a link to most clients: one link, removed
            removed = counted
            return shown or LINK_REMOVED
        cited.setdefault(passage.key, Citation(key=passage.key, title=passage.title, url=passage.url))
        # Kept in the plain form every client renders: no title, no brackets inside the words.
        return f"[{_NESTED_BRACKETS.sub('', words)}]({url})"

    def angle(match: re.Match[str]) -> str:
        nonlocal removed
        passage = passage_for(match.group(1))
        if passage is None:
            removed += 1
            return LINK_REMOVED
        cited.setdefault(passage.key, Citation(key=passage.key, title=passage.title, url=passage.url))
        return match.group(1)  # the bare URL, which clients make a link of

    def plain(segment: str) -> str:
        return BARE_LINK.sub(bare, ANGLE_LINK.sub(angle, segment))

    def bare(match: re.Match[str]) -> str:
        nonlocal removed
        url = match.group(0).rstrip(TRAILING_PUNCTUATION)
        tail = match.group(0)[len(url) :]
        passage = passage_for(url)
        if passage is None:
            removed += 1
            return LINK_REMOVED + tail
        cited.setdefault(passage.key, Citation(key=passage.key, title=passage.title, url=passage.url))
        return match.group(0)

    # Markdown links first, so their URLs are not seen again as bare ones.
    parts = []
    position = 0
    for match in MARKDOWN_LINK.finditer(text):
        parts.append(plain(text[position : match.start()]))
        parts.append(markdown(match))
        position = match.end()
    parts.append(plain(text[position:]))
    grounded = "".join(parts)
    for reference in REFERENCE.finditer(grounded):
        named = _passage_referenced(reference.group(1), passages)
        if named is not None:
            first = first_by_key[named.key]
            cited.setdefault(first.key, Citation(key=first.key, title=first.title, url=first.url))
    if removed:
        grounded = re.sub(r"[ \t]{2,}", " ", grounded.replace(f"({LINK_REMOVED})", LINK_REMOVED))
    return GroundedAnswer(text=grounded, citations=tuple(cited.values()), links_removed=removed)


def _passage_referenced(reference: str, passages: Sequence[PassageLike]) -> PassageLike | None:
    """The passage ``[reference]`` names: by its number in the prompt (from 1) or by its title."""
    wanted = reference.strip().strip("#").strip()
    if wanted.isdigit():
        number = int(wanted)
        return passages[number - 1] if 1 <= number <= len(passages) else None
    wanted = wanted.casefold()
    return next((passage for passage in passages if passage.title.strip().casefold() == wanted), None)


def _path(url: str, *, hosts: set[str]) -> str | None:
    """The site path a link points at when it points at this site (relative, or one of ``hosts``)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme and parts.scheme not in {"http", "https"}:
        return None
    if parts.netloc and parts.netloc.lower().split(":")[0] not in hosts and parts.netloc.lower() not in hosts:
        return None
    if not parts.path.startswith("/"):
        return None
    return parts.path.rstrip("/") + "/"
