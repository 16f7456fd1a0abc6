"""Reading a customer message in its conversation before anything is searched.

A message is one of:

- **small talk** (greetings, thanks, goodbyes): answered with a fixed line, the topic kept;
- a **follow-up** of the article the conversation is about ("and for the double size?",
  "how long does it take?"): answered from that article, with the words of the earlier
  question carried over at a fading weight, so "and the king?" after a price of the Ergo
  Queen means the price of the Ergo King;
- a **new topic**: a message that finds an article confidently on its own, and does not lean
  on the current one. It never inherits the last answer;
- **unknown**: neither confident alone nor tied to the current article by its words (the
  weather, a joke): the honest "not sure".

The rules are plain and cheap (one search, two when the current article's score is needed):
they run on every message of the offline engine and give the model path its standalone question.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from django.conf import settings

from helpcentre.blocks import LIST, TABLE, article_sections, pointer_titles, pointers_removed
from helpcentre.index import IndexedArticle
from helpcentre.passages import DETAIL_FOCUS
from helpcentre.retrieval import (
    article_indexed_get,
    article_share,
    article_titled,
    articles_ranked,
    max_rarity,
    stem_rarity,
)
from helpcentre.smalltalk import SmallTalk, small_talk_read
from helpcentre.terms import (
    Terms,
    asks_about_it,
    asks_in_context,
    content_stems,
    content_words,
    final_question,
    focus_of_passage,
    focus_of_question,
    has_follow_up_cue,
    is_code,
    starts_elliptical,
    stem_variants,
    terms_carry,
    terms_of,
    word_stems,
)

SMALL_TALK, FOLLOW_UP, NEW_TOPIC, UNKNOWN = "small_talk", "follow_up", "new_topic", "unknown"
# A topic not answered for more customer turns than this is forgotten.
TOPIC_MAX_AGE = 3
# A follow-up made of words the current article mostly has ("what about slats on my bed?").
FOLLOW_UP_LINKED_SHARE = 0.5
# A word of an article's title names it when at most this share of articles use it ("offers", not "order").
NAME_MAX_ARTICLE_SHARE = 0.3
# The share of a message's words (by rarity) that one part of the article must hold to be asked about.
ONE_PART_SHARE = 0.6
# A message that finds another article this surely on its own, naming only what that article is about and
# nothing pointing back, starts a new topic even when its words also stand in one line of the current one
# ("How long is the trial?" after the order statuses, whose "Delivered" line mentions the trial).
STANDS_ALONE_SCORE = 0.85
# Naming another article gives way to the current one when this share of the message sits in one of its parts.
TOGETHER_SHARE = 0.7
# Earlier words count this much in a message that leans back ("and the king?"), and less beside
# words of its own that do not ("what layers does it have?").
CARRIED_WEIGHT = 0.5
CARRIED_WEIGHT_BESIDE_OWN = 0.25
# Articles scoring within this of the best are told apart by the message's wording.
NEAR_TIE_MARGIN = 0.05
# A story's last question, answered confidently by another article, is read alone when the whole
# message finds that article at least this share as well as its best.
FINAL_QUESTION_MIN_SHARE = 0.7
# Just under the threshold, a message whose rare words confirm the article needs this share of it.
CONFIRMED_SHARE = 0.8
# A code the article's table lists ("E07") confirms it from this share of the threshold: the rest of a
# long message ("the kids were playing with it…") dilutes the score, not the code.
CODE_CONFIRMED_SHARE = 0.6
# A word is rare when its rarity (IDF over the index's units) is at least this share of the rarest's.
RARE_WORD_SHARE = 0.65
CUSTOMER_ROLES = frozenset({"customer", "user", "visitor"})
ASSISTANT_ROLES = frozenset({"assistant", "bot"})


@dataclass(frozen=True)
class HistoryTurn:
    """One earlier message: who wrote it, its text, and for answers the article keys it cited."""

    role: str
    text: str
    cited_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicState:
    """What the conversation is about after a turn: the article, its question's words, what was quoted."""

    key: str | None = None
    terms: Terms = field(default_factory=Terms)
    shown: tuple[int, ...] = ()  # sections of the article quoted so far
    age: int = 0  # customer turns since the article was last answered from


@dataclass(frozen=True)
class TurnReading:
    kind: str
    question: str  # the message without its small talk
    key: str | None  # the article to answer from (None: small talk or unknown)
    score: float  # the article's retrieval score for the message (or its standalone form)
    terms: Terms  # what to look for in the article: the message's words plus carried ones
    talk: SmallTalk
    top_key: str | None = None  # the best article for the message on its own, whatever was decided

    @property
    def stands_alone(self) -> bool:
        """Whether the message means the same without the conversation (nothing was carried over)."""
        return self.kind != FOLLOW_UP and not self.terms.carried_words()

    @property
    def standalone_question(self) -> str:
        """The message as a question that stands alone: its own words, then the carried ones."""
        carried = self.terms.carried_words(min_weight=0.25)
        own = self.question.strip()
        return f"{own} ({' '.join(carried)})" if carried else own


def history_turns(history: Iterable[object]) -> list[HistoryTurn]:
    """Earlier messages as turns, whatever shape the caller keeps them in.

    Accepted items: a string (a customer message), a mapping or an object with ``role`` and
    ``text`` (or ``content``) and optionally ``citations`` (dicts with a ``key``, objects with
    ``.key``, or keys) or ``cited_keys``. A stored ``conversations`` Message fits as it is.
    """
    return [HistoryTurn(role="customer", text=item) if isinstance(item, str) else _turn_of(item) for item in history]


def _turn_of(item: object) -> HistoryTurn:
    def get(name: str) -> object:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)

    text = get("text")
    citations = get("citations") or get("cited_keys") or ()
    return HistoryTurn(
        role=_role(str(get("role") or "")),
        text=str((get("content") if text is None else text) or ""),
        cited_keys=_keys(citations),
    )


def _role(role: str) -> str:
    if role in CUSTOMER_ROLES:
        return "customer"
    return "assistant" if role in ASSISTANT_ROLES else role


def _keys(citations: object) -> tuple[str, ...]:
    keys = []
    for citation in citations if isinstance(citations, (list, tuple)) else ():
        key = citation.get("key") if isinstance(citation, Mapping) else getattr(citation, "key", citation)
        if isinstance(key, str) and key:
            keys.append(key)
    return tuple(keys)


@dataclass(frozen=True)
class ArticleWords:
    vocabulary: frozenset[str]  # the stems of its title, tags and body (not of its pointers to other articles)
    names: frozenset[str]  # content stems of its title and tags: what it is about
    labels: frozenset[str]  # stems of its tables' row and column labels ("queen", "ortho", "e04")
    columns: frozenset[str]  # stems of its tables' column headers: the things a table sets side by side ("ortho")
    defined: frozenset[str]  # stems of the terms its lists define ("In production: custom sizes only…")
    units: tuple[frozenset[str], ...]  # the stems of each sentence, list item and table row
    focus: frozenset[str]  # the kinds of answer it holds: durations, prices, limits, distances


@functools.lru_cache(maxsize=1024)
def article_words(article: IndexedArticle) -> ArticleWords:
    body = pointers_removed(article.body)
    labels: set[str] = set()
    columns: set[str] = set()
    defined: set[str] = set()
    units: list[frozenset[str]] = []
    for section in article_sections(body):
        for block in section.blocks:
            if block.kind == TABLE:
                labels |= word_stems(" ".join([*block.header, *(row[0] for row in block.rows)]))
                columns.update(content_stems(" ".join(block.header[1:])))
                units += [frozenset(word_stems(" ".join([*block.header, *row]))) for row in block.rows]
            else:
                units += [frozenset(word_stems(text)) for text in block.items]
                if block.kind == LIST:
                    defined |= {stem for text in block.items for stem in word_stems(_defined_term(text))}
    return ArticleWords(
        vocabulary=frozenset(word_stems(" ".join([article.title, *article.tags, body]))),
        names=frozenset(content_stems(" ".join([article.title, *article.tags]))),
        labels=frozenset(labels),
        columns=frozenset(columns),
        defined=frozenset(defined),
        units=tuple(units),
        focus=focus_of_passage(article.body),
    )


_DEFINED_TERM = re.compile(r"^(?P<term>[^:.;,]{2,30}):\s")


def _defined_term(item: str) -> str:
    """The term a list item defines ("In production: custom sizes only…"), or ""."""
    match = _DEFINED_TERM.match(item)
    return match.group("term") if match else ""


@dataclass(frozen=True)
class _Message:
    """One message against the current article: what it says, and how it relates to the article."""

    question: str
    own: Terms
    carried: Terms
    meaningful: list[str]  # its content stems, less numbers the article does not know
    linked: list[str]  # those the article has (or has a synonym of)
    ranked: list[tuple[str, float]]  # the message's own search, the article's score included

    @property
    def top(self) -> tuple[str | None, float]:
        return self.ranked[0] if self.ranked else (None, 0.0)

    @property
    def mostly_linked(self) -> bool:
        return bool(self.linked) and len(self.linked) >= FOLLOW_UP_LINKED_SHARE * len(self.meaningful)


def turn_read(*, message: str, state: TopicState, threshold: float) -> TurnReading:
    """Decide what ``message`` is in a conversation about ``state.key``, and what to look for.

    ``threshold``: the score a message needs to be answered on its own (a little less when its
    rare words confirm the article, see :func:`_confirmed`). A story that ends in a question ("I
    bought the Ortho two weeks ago and it feels too hard. Can I return it?") and finds nothing as a
    whole is read by its question.
    """
    reading = _turn_read(message=message, state=state, threshold=threshold)
    ask = final_question(reading.question) if reading.kind in (UNKNOWN, NEW_TOPIC) else None
    if ask is None:
        return reading
    asked = _turn_read(message=ask, state=state, threshold=threshold)
    if reading.kind == NEW_TOPIC:
        # "I want a king ortho plus pillows, about 28,500. Can I pay at the door?": the story names
        # pillows, the question asks about paying; a confident answer to the question wins.
        # The whole message must still find that article among its best and nearly as well, so a vague
        # last question ("is my base bricked??" after "Firmware damaged") does not take the story elsewhere.
        confident = asked.kind == NEW_TOPIC and asked.key != reading.key and asked.score >= threshold
        whole = dict(articles_ranked(reading.question, limit=3))
        supported = whole.get(asked.key or "", 0.0) >= FINAL_QUESTION_MIN_SHARE * reading.score
        # The question picks the article; the whole story picks its part ("custom size … can I cancel?": the
        # row about custom orders), and stays the question a model is asked.
        return replace(asked, question=reading.question, terms=reading.terms) if confident and supported else reading
    return reading if asked.kind in (UNKNOWN, SMALL_TALK) else asked


def _turn_read(*, message: str, state: TopicState, threshold: float) -> TurnReading:
    floor = CONFIRMED_SHARE * threshold
    talk = small_talk_read(message)
    if talk.only:
        return TurnReading(kind=SMALL_TALK, question="", key=None, score=0.0, terms=Terms(), talk=talk)
    question = talk.rest or message
    topic = article_indexed_get(state.key) if state.key and state.age <= TOPIC_MAX_AGE else None
    own = terms_of(question)
    ranked = articles_ranked(question, limit=3, always=[topic.key] if topic else [])
    ranked = _near_ties_by_wording(question, ranked, threshold=threshold)
    ranked = _naming_what_the_best_lacks(question, ranked, floor=floor)
    top_key, top_score = ranked[0] if ranked else (None, 0.0)

    def reading(kind: str, key: str | None, terms: Terms, score: float | None = None) -> TurnReading:
        found = dict(ranked).get(key, 0.0) if key else top_score
        return TurnReading(
            kind=kind,
            question=question,
            key=key,
            score=found if score is None else score,
            terms=terms,
            talk=talk,
            top_key=top_key,
        )

    listing = _listing_a_code(question, ranked)
    if listing and (topic is None or listing != topic.key) and top_score >= floor:
        # "E06 on the remote screen. what now": the error-code table that lists E06, not the remote article.
        return reading(NEW_TOPIC, listing, own)
    if topic is None:
        if top_score >= threshold:
            return reading(NEW_TOPIC, _holding_the_detail(question, ranked, floor=floor) or top_key, own)
        confirmed = _confirmed_among(question, ranked, floor=floor)
        return reading(NEW_TOPIC, confirmed, own) if confirmed else reading(UNKNOWN, None, own)
    words = article_words(topic)
    # Numbers ("2+2", an order number, an amount) say nothing about the topic on their own; they
    # still pick a table's row or column once the article is chosen.
    meaningful = [stem for stem in content_stems(question) if not stem.isdigit()]
    if meaningful and all(focus_of_question(stem) for stem in meaningful):
        # "how much does it cost?", "is there a limit?": words that only say what kind of answer is wanted
        # ask it of the article at hand, as "how much is it?" does; they name no topic of their own.
        meaningful = []
    elliptical = starts_elliptical(question) or not meaningful
    current = _Message(
        question=question,
        own=own,
        # An elliptical message keeps asking what the last one asked ("and for the king?": a price);
        # otherwise its own words make the earlier ones count for less ("what layers does it have?").
        carried=terms_carry(
            latest=own,
            earlier=state.terms,
            keep_focus=elliptical,
            decay=CARRIED_WEIGHT if elliptical else CARRIED_WEIGHT_BESIDE_OWN,
        ),
        meaningful=meaningful,
        linked=[stem for stem in meaningful if _known(stem, words.vocabulary)],
        ranked=ranked,
    )
    kind, key, terms, score = _decide(current, topic=topic, words=words, threshold=threshold)
    if kind == NEW_TOPIC and key == top_key:
        key = _holding_the_detail(question, ranked, floor=floor) or key
    confirmed = _confirmed_among(question, ranked, floor=floor) if kind == UNKNOWN else None
    if confirmed:
        return reading(NEW_TOPIC, confirmed, own)
    return reading(kind, key, terms, score)


def _decide(
    message: _Message, *, topic: IndexedArticle, words: ArticleWords, threshold: float
) -> tuple[str, str | None, Terms, float | None]:
    """The rules, in order; each returns (kind, article key, terms to look for, score or None)."""
    top_key, top_score = message.top
    carried, question = message.carried, message.question
    pointed = _pointed_to(message, topic=topic)
    if pointed is not None:
        # "how do I pair it again?" after the E06 row, which says "Re-pair the remote (see *LiftBase: the
        # remote doesn't work*)": the steps are in the article it points to.
        return FOLLOW_UP, pointed, carried, None
    if top_key == topic.key and (top_score >= threshold or message.linked):
        return FOLLOW_UP, topic.key, carried, None
    if not message.meaningful and asks_in_context(question):
        # "how long does it take?", "how much is it?", "what else can I try?", "still not working":
        # even when such words alone find some article, they ask about this one
        wanted = set(message.own.focus_map())
        if wanted and not wanted <= words.focus:
            # The article has no duration (or price...) to give: the earlier question may find one that has;
            # a little under the threshold will do, since the kind of detail asked for confirms it.
            other = _contextual(message, threshold=CONFIRMED_SHARE * threshold, besides=topic.key, focus=wanted)
            if other is not None:
                return FOLLOW_UP, other[0], _named_by_the_topic(carried, topic=topic), other[1]
        return FOLLOW_UP, topic.key, carried, None
    if not message.meaningful and "?" in question and has_follow_up_cue(question):
        # "who is it meant for?": a question about what was just described, in words of its own.
        return FOLLOW_UP, topic.key, carried, None
    # "is it free under warranty?" about the remote: two of its words side by side in the article
    # outweigh "warranty" naming the warranty article.
    names_other = (
        top_score >= threshold
        and _names_another(message, other_key=top_key, words=words)
        and not _together_in_one_part(message.meaningful, words)
    )
    leans_back = has_follow_up_cue(question)
    if top_score >= threshold and _holds_what_is_asked(message, other_key=top_key, words=words):
        # "is there a minimum number of nights?" after the return steps: the trial article, which
        # the message finds on its own, has the limit the return steps lack.
        return NEW_TOPIC, top_key, carried if leans_back else message.own, None
    wanted = set(message.own.focus_map()) & DETAIL_FOCUS
    if wanted and not wanted & words.focus:
        # "ok how much is the 8 inch double of that one" about the Ergo's layers: the earlier words
        # with the message find the article that has the price; a little under the threshold will do,
        # since the kind of detail asked for confirms it.
        other = _contextual(message, threshold=CONFIRMED_SHARE * threshold, besides=topic.key, focus=wanted)
        if other is not None:
            return FOLLOW_UP, other[0], carried, other[1]
    if top_score >= STANDS_ALONE_SCORE and not leans_back and _names_only(message, other_key=top_key, words=words):
        return NEW_TOPIC, top_key, message.own, None
    if not names_other and ((leans_back and message.mostly_linked) or _in_one_part(message.meaningful, words)):
        # "what about the ortho?" after a price; "can I wash the cover?" about the mattress just described.
        return FOLLOW_UP, topic.key, carried, None
    if top_score >= threshold:
        return NEW_TOPIC, top_key, carried if leans_back else message.own, None
    if message.linked and len(message.linked) == len(message.meaningful):
        return FOLLOW_UP, topic.key, carried, None
    wanted = set(message.own.focus_map())
    if message.linked and wanted and wanted <= words.focus:
        # "how long do I hold the button?" about the recalibration steps: a duration the article has.
        return FOLLOW_UP, topic.key, carried, None
    if asks_about_it(question) and len(message.meaningful) <= 1:
        # "when does it start?" after the warranty, "what's it made of?" after a pillow: a property of the
        # thing just described, in a word the article need not use.
        return FOLLOW_UP, topic.key, carried, None
    if leans_back:
        # "and how long does it take to make?" after a price: the earlier words find the article,
        # provided it knows most words of the message ("and tomorrow?" is still not a follow-up).
        other = _contextual(message, threshold=threshold, known_share=FOLLOW_UP_LINKED_SHARE, below=topic.key)
        if other is not None:
            return FOLLOW_UP, other[0], carried, other[1]
    return UNKNOWN, None, message.own, None


def _named_by_the_topic(carried: Terms, *, topic: IndexedArticle) -> Terms:
    """ "it" is what the last answer was about: the words of the topic's title come along, as carried words,
    to the article that holds the detail ("how much is it?" after the Ortho's page: the Ortho's prices)."""
    title = content_words(topic.title)
    named = Terms(weights=tuple(dict.fromkeys(title, 1.0).items()), words=tuple(title.items()))
    return terms_carry(latest=carried, earlier=named, keep_focus=False, decay=CARRIED_WEIGHT)


def _listing_a_code(question: str, ranked: list[tuple[str, float]]) -> str | None:
    """The best-ranked article whose table lists a code the message names ("E06"), when the best
    article itself does not list it."""
    codes = {stem for stem in content_stems(question) if is_code(stem)}
    if not codes or not ranked:
        return None
    listed = []
    for key, _ in ranked:
        article = article_indexed_get(key)
        listed.append(key if article is not None and codes & article_words(article).labels else None)
    return None if listed[0] else next((key for key in listed if key), None)


def _pointed_to(message: _Message, *, topic: IndexedArticle) -> str | None:
    """The article a part of the topic points to ("see *…*"), when the message asks how to do (or how
    long, how much…) what that part names in all its words and the other article knows them too."""
    if not message.meaningful or not message.own.focus_map():
        return None
    for line in topic.body.splitlines():  # a line: a sentence or two, a list item or a table row
        titles = pointer_titles(line)
        stems = frozenset(word_stems(pointers_removed(line))) if titles else frozenset()
        if not titles or not all(_known(stem, stems) for stem in message.meaningful):
            continue
        for title in titles:
            other = article_titled(title)
            if other is not None and other.key != topic.key:
                vocabulary = article_words(other).vocabulary
                if all(_known(stem, vocabulary) for stem in message.meaningful):
                    return other.key
    return None


def _holding_the_detail(question: str, ranked: list[tuple[str, float]], *, floor: float) -> str | None:
    """When the best article has none of the detail asked for ("what would a double Ergo set me back?":
    a price, and the Ergo's features have none), the next best that has it, if it scores ``floor``."""
    wanted = DETAIL_FOCUS & focus_of_question(question)
    best = article_indexed_get(ranked[0][0]) if wanted and ranked else None
    if best is None or wanted & article_words(best).focus:
        return None
    for key, score in ranked[1:]:
        article = article_indexed_get(key)
        if score >= floor and article is not None and wanted <= article_words(article).focus:
            return key
    return None


def _near_ties_by_wording(
    question: str, ranked: list[tuple[str, float]], *, threshold: float
) -> list[tuple[str, float]]:
    """Confident articles within a hair of the best are ordered by how much of the message one of
    their parts says ("exchange … for a bigger size": the exchange rules, not the custom sizes)."""
    if len(ranked) < 2 or ranked[0][1] < threshold or ranked[1][1] < ranked[0][1] - NEAR_TIE_MARGIN:
        return ranked
    stems = [stem for stem in content_stems(question) if not stem.isdigit()]
    close = [(key, score) for key, score in ranked if score >= max(threshold, ranked[0][1] - NEAR_TIE_MARGIN)]
    coverage = {key: _part_coverage(stems, key) for key, _ in close}
    best = max(close, key=lambda item: coverage[item[0]])
    if coverage[best[0]] <= coverage[ranked[0][0]]:
        return ranked
    # The article the wording favours answers, with the best score of the near tie.
    return [(best[0], ranked[0][1]), *[item for item in ranked if item[0] != best[0]]]


def _naming_what_the_best_lacks(
    question: str, ranked: list[tuple[str, float]], *, floor: float
) -> list[tuple[str, float]]:
    """When the best article never names a thing the message names ("warranty on the contour pillow":
    the mattress warranty has no pillow), another of the best that is about that thing (its title or
    tags name it, or its table's columns: "king size ortho" and the price table's Ortho column),
    knows every word of the message some of them know, and says more of it in one part that names the
    thing together with what the best article knows ("The contour pillow has a 1-year warranty"), answers
    with the best score. A part naming the thing alone ("The LiftBase remote talks to the base…") says
    nothing of what is asked about it."""
    if len(ranked) < 2 or ranked[0][1] < floor:
        return ranked
    found = {key: article_indexed_get(key) for key, _ in ranked}
    words = {key: article_words(article) for key, article in found.items() if article is not None}
    best = ranked[0][0]
    if best not in words:
        return ranked
    stems = [
        stem
        for stem in content_stems(question)
        if not stem.isdigit() and any(_known(stem, known.vocabulary) for known in words.values())
    ]
    missing = [stem for stem in stems if not _known(stem, words[best].vocabulary)]
    asked = [stem for stem in stems if stem not in missing]
    for key, score in ranked[1:]:
        if (
            missing
            and score >= floor
            and key in words
            and any(stem in words[key].names | words[key].columns for stem in missing)
            and all(_known(stem, words[key].vocabulary) for stem in stems)
            and _part_coverage(stems, key, naming=(missing, asked) if asked else None) > _part_coverage(stems, best)
        ):
            return [(key, ranked[0][1]), *[item for item in ranked if item[0] != key]]
    return ranked


def _part_coverage(stems: list[str], key: str, *, naming: tuple[list[str], list[str]] | None = None) -> float:
    """How much of the message (its ``stems`` weighted by rarity) the article's best part holds; with
    ``naming`` (two lists of stems), only parts holding one of each count."""
    article = article_indexed_get(key)
    if article is None or not stems:
        return 0.0
    rarity = {stem: stem_rarity(stem) for stem in stems}
    units = article_words(article).units
    if naming is not None:
        units = tuple(unit for unit in units if all(any(_known(stem, unit) for stem in group) for group in naming))
    return max((sum(weight for stem, weight in rarity.items() if _known(stem, unit)) for unit in units), default=0.0)


def _confirmed_among(question: str, ranked: list[tuple[str, float]], *, floor: float) -> str | None:
    """The first of the best articles that the message's rare words confirm (see _confirmed)."""
    return next((key for key, score in ranked if _confirmed(question, key, score, floor=floor)), None)


def _confirmed(question: str, key: str | None, score: float, *, floor: float) -> bool:
    """Just under the threshold, but two of the message's rarest words stand in one sentence of the
    article ("makes a grinding noise"), or it names a code the article's table lists: that is not a
    coincidence an off-topic message makes."""
    code_floor = floor * CODE_CONFIRMED_SHARE / CONFIRMED_SHARE
    article = article_indexed_get(key) if key and score >= code_floor else None
    if article is None:
        return False
    cutoff = RARE_WORD_SHARE * max_rarity()
    rare = [stem for stem in content_stems(question) if not stem.isdigit() and stem_rarity(stem) >= cutoff]
    words = article_words(article)
    if any(is_code(stem) and stem in words.labels for stem in rare):
        return True  # "E07 on the remote display": a code the article's table lists
    if score >= floor and any(stem in words.defined for stem in rare):
        return True  # "what does in production mean?": a term the article's list defines
    return (
        score >= floor and len(rare) >= 2 and any(sum(_known(stem, unit) for stem in rare) >= 2 for unit in words.units)
    )


def _names_another(message: _Message, *, other_key: str | None, words: ArticleWords) -> bool:
    """The message names another article: its whole title ("and the warranty?") or a word of its title
    or tags that few articles have ("any offers on it?"), which the current article does not name itself."""
    other = article_indexed_get(other_key) if other_key else None
    if other is None:
        return False
    names = article_words(other).names
    own = set(message.meaningful)
    title = set(content_stems(other.title))
    if title and title <= own and not title <= words.names:
        return True
    return any(
        stem in names and stem not in words.names and stem not in words.labels and _few_articles(stem) for stem in own
    )


def _names_only(message: _Message, *, other_key: str | None, words: ArticleWords) -> bool:
    """Every word of the message that carries a topic names another article (its title or tags), and none
    names the current one."""
    other = article_indexed_get(other_key) if other_key else None
    if other is None or not message.meaningful:
        return False
    names = article_words(other).names
    return all(stem in names and stem not in words.names for stem in message.meaningful)


def _holds_what_is_asked(message: _Message, *, other_key: str | None, words: ArticleWords) -> bool:
    """The message asks for a kind of detail (a limit, a duration, a price...) that the current
    article has none of and the other article has."""
    other = article_indexed_get(other_key) if other_key else None
    wanted = set(message.own.focus_map())
    if other is None or not wanted or wanted <= words.focus:
        return False
    return wanted <= article_words(other).focus


def _few_articles(stem: str) -> bool:
    return article_share(stem) <= NAME_MAX_ARTICLE_SHARE


def _together_in_one_part(stems: list[str], words: ArticleWords) -> bool:
    """Two or more of the message's words in one part of the article, and with them most of its
    weight ("I chose cash on delivery, so how does the refund work?" after the cancellation steps:
    "Cash-on-delivery orders need no refund")."""
    return len(stems) >= 2 and _in_one_part(stems, words, share=TOGETHER_SHARE)


def _in_one_part(stems: list[str], words: ArticleWords, *, share: float = ONE_PART_SHARE) -> bool:
    """The message's words, weighted by rarity, mostly in one sentence, item or row of the article:
    a question about its detail ("can I wash the cover?", "how long do you hold unconfirmed orders?")."""
    if not stems:
        return False
    rarity = {stem: stem_rarity(stem) for stem in stems}
    total = sum(rarity.values())
    return any(
        sum(weight for stem, weight in rarity.items() if _known(stem, unit)) >= share * total for unit in words.units
    )


def _contextual(
    message: _Message,
    *,
    threshold: float,
    besides: str = "",
    focus: set[str] = frozenset(),  # type: ignore[assignment]
    known_share: float = 0.0,
    below: str = "",
) -> tuple[str, float] | None:
    """The best article for the message with the carried words, when it holds the kind of answer
    asked for and knows at least ``known_share`` of the message's content words; ``besides`` is
    never chosen, and nothing ranked below ``below`` is."""
    query = " ".join([message.question, *message.carried.carried_words(min_weight=0.25)])
    for key, score in articles_ranked(query, limit=3):
        if key == below:
            return None
        article = article_indexed_get(key)
        if score < threshold or key == besides or article is None:
            continue
        words = article_words(article)
        known = sum(_known(stem, words.vocabulary) for stem in message.meaningful)
        if focus <= words.focus and known >= known_share * len(message.meaningful) and (known or not known_share):
            return key, score
    return None


def _the_shop() -> str:
    """Who a customer asks about the shop: "you", "they", or the shop by the first word of its name."""
    words = ["you", "u", "they", *settings.SUPPORTBOT_SHOP_NAME.lower().split()[:1]]
    return "(?:" + "|".join(re.escape(word) for word in words) + ")"


_THE_SHOP = _the_shop()
# "do you sell bedsheets?", "do you also make headboards?": whether the shop sells a thing.
_ASKS_IF_SOLD = re.compile(
    rf"\b(?:do|does|can) {_THE_SHOP} (?:also |even )?(?:sell|stock|carry|make|manufacture)\b"
    r"(?P<thing>[^?.!,]*)",
    re.IGNORECASE,
)


# "does the liftbase have a massage function?", "does it come with a stand?", "do you ship abroad?":
# whether a product has a feature, or the shop a service; the thing ends where a phrase about it starts.
_ASKS_IF_IT_HAS = re.compile(
    r"\b(?:do|does|will|can) (?:it|this|that|they|the \w+(?: \w+)?|your \w+(?: \w+)?)"
    r" (?:also |even )?(?:have|has|come with|support)\b(?P<thing>[^?.!,]*)"
    rf"|\b(?:do|does|can|will) {_THE_SHOP} (?:also |even )?(?:ship|deliver)\b(?P<place>[^?.!,]*)",
    re.IGNORECASE,
)
_THING_ENDS = re.compile(r"\b(?:to|for|that|which|when|at|in|on|so|while|if|like)\b", re.IGNORECASE)


def names_what_is_sold(question: str, article: IndexedArticle) -> bool:
    """False when the message asks whether the shop sells a thing the article never names: "do you sell
    bedsheets?" finds the pillows ("Yes, we sell pillows…") by its words, but the pillows do not answer it.
    Likewise when it asks whether a product has (or the shop offers) a thing of which the article
    knows no word: "does the liftbase have a massage function?" is not answered by its motor steps."""
    vocabulary = article_words(article).vocabulary
    match = _ASKS_IF_SOLD.search(question)
    if match is not None:
        stems = [stem for stem in content_stems(match.group("thing")) if not stem.isdigit()]
        return not stems or _known(stems[0], vocabulary)
    match = _ASKS_IF_IT_HAS.search(question)
    if match is None:
        return True
    thing = _THING_ENDS.split(match.group("thing") or match.group("place") or "", maxsplit=1)[0]
    stems = [stem for stem in content_stems(thing) if not stem.isdigit()]
    return not stems or any(_known(stem, vocabulary) for stem in stems)


# "how do I change my delivery address?", "can I update the phone number on my order?": a change to
# something already given or bought.
_ASKS_TO_CHANGE = re.compile(
    r"\b(?:change|update|edit|modify|correct|alter)\s+(?:my|the|our|your|its|their)\b", re.IGNORECASE
)
# How articles speak of changing something (the light stemmer's stems: "changed" is "chang").
_CHANGE_STEMS = frozenset(
    "change chang update edit modify correct alter exchange replace replac reschedule swap switch".split()
)


def speaks_of_the_change(question: str, article: IndexedArticle) -> bool:
    """False when the message asks how to change something and the article never speaks of changing
    anything: "how do I change my delivery address?" finds the pincode article by "delivery" and
    "address", but checking a pincode does not change an address."""
    if not _ASKS_TO_CHANGE.search(question):
        return True
    return bool(_CHANGE_STEMS & article_words(article).vocabulary)


def _known(stem: str, vocabulary: frozenset[str]) -> bool:
    return stem in vocabulary or any(variant in vocabulary for variant in stem_variants(stem))


def topic_after(*, state: TopicState, reading: TurnReading, sections: tuple[int, ...]) -> TopicState:
    """The conversation's topic once ``reading`` has been answered (``sections``: the ones quoted)."""
    if reading.key is None:
        return TopicState(key=state.key, terms=state.terms, shown=state.shown, age=state.age + 1)
    shown = state.shown if reading.key == state.key else ()
    return TopicState(
        key=reading.key,
        terms=reading.terms,
        shown=tuple(sorted(set(shown) | set(sections))),
        age=0,
    )
