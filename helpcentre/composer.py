"""The offline answer engine's reply to one message in its conversation.

Small talk gets a fixed friendly line; a question gets the part of the right article that
answers it (see :mod:`helpcentre.passages`), cited once; anything else an honest "not sure".
Which article, and whether earlier turns count, is decided first (:mod:`helpcentre.conversation`).

The conversation's topic is rebuilt from the customer's earlier messages by reading them again
in order; each step is memoised per process, so in a running conversation only the new message
costs a search. When the caller also passes the bot's earlier answers with their citations,
the article actually cited wins over the one the replay finds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from helpcentre.conversation import (
    FOLLOW_UP,
    SMALL_TALK,
    TopicState,
    TurnReading,
    history_turns,
    names_what_is_sold,
    speaks_of_the_change,
    topic_after,
    turn_read,
)
from helpcentre.passages import DETAIL_FOCUS, answer_extract, extract_past_a_step_done
from helpcentre.retrieval import (
    Citation,
    Passage,
    article_indexed_get,
    confidence_threshold,
    knowledge_index_get,
    retrieve_for_prompt,
    stem_rarity,
)
from helpcentre.smalltalk import small_talk_reply
from helpcentre.terms import (
    asks_what_next,
    focus_of_passage,
    focus_of_question,
    states_a_problem,
    tells_a_step_done_in_vain,
    wants_more,
)

NOT_SURE_TEXT = (
    "I'm not sure I can answer that from our help centre. Could you rephrase your question? "
    'If you would rather talk to someone, write "talk to a person" and I\'ll connect you with our team.'
)
ARTICLE_EXHAUSTED_TEXT = (
    "I'm not sure what else to suggest: that is everything our help centre has on this. "
    'Write "talk to a person" and I\'ll connect you with our team.'
)
UNKNOWN_CODE_TEXT = (
    "Our help centre lists the codes %(first)s to %(last)s, and %(code)s is not among them. Could you check the "
    'code on the display again? If it still shows %(code)s, write "talk to a person" and I\'ll connect you with '
    "our team."
)
ANSWER, SMALL_TALK_KIND, NOT_SURE = "answer", "small_talk", "not_sure"
# A code as devices show them: "E21", "E-04", "F3"; letters and number written together, so "up to 5" is none.
_CODE = re.compile(r"\b([a-z]{1,3})-?(\d{1,4})\b", re.IGNORECASE)
_CODE_WORDS = re.compile(r"\b(error|fault|code)s?\b", re.IGNORECASE)
# An article about error codes lists codes of a kind when it names at least this many of them ("E01" to "E08").
LISTED_CODES = 3
# Earlier customer messages read again to find the topic; older ones no longer matter.
REPLAYED_TURNS = 6


@dataclass(frozen=True)
class ComposedAnswer:
    """The offline engine's reply.

    ``kind``: ``answer`` (cited), ``small_talk`` (a greeting, thanks or goodbye answered with a
    fixed line: not a miss) or ``not_sure`` (an abstention). ``confident`` is False only for
    ``not_sure``. ``question`` is the message as a standalone question (with the words a
    follow-up carried over, in brackets); ``stands_alone`` whether it needed none;
    ``follow_up_of`` the article a follow-up was resolved against.
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    confident: bool = False
    top_key: str | None = None
    score: float = 0.0
    kind: str = NOT_SURE
    question: str = ""
    follow_up_of: str | None = None
    stands_alone: bool = True

    @property
    def small_talk(self) -> bool:
        return self.kind == SMALL_TALK_KIND


def compose_answer(question: str, *, history: Sequence[object] = ()) -> ComposedAnswer:
    """Answer ``question`` from the help centre, or say honestly that it cannot.

    ``history``: the conversation before it, oldest first: the customer's messages as strings,
    or turns with ``role``, ``text`` and (for answers) ``citations`` (see
    :func:`helpcentre.conversation.history_turns`).
    """
    state = conversation_topic(history=history)
    return _turn(question, state)[0]


def conversation_passages(question: str, *, history: Sequence[object] = (), limit: int = 3) -> list[Passage]:
    """Help-centre passages for a model's prompt, read in the conversation: a follow-up's article
    first, with the part that answers it, then the best others for the standalone question."""
    composed = compose_answer(question, history=history)
    if composed.kind == SMALL_TALK_KIND:
        return []
    first = []
    if composed.kind == ANSWER and composed.citations:
        cited = composed.citations[0]
        first = [Passage(key=cited.key, title=cited.title, url=cited.url, text=composed.text, score=composed.score)]
    taken = {passage.key for passage in first}
    others = retrieve_for_prompt(composed.question or question, limit=limit)
    return (first + [passage for passage in others if passage.key not in taken])[:limit]


def conversation_topic(*, history: Sequence[object]) -> TopicState:
    """Where the conversation stands before the next message: its article and carried words."""
    turns = history_turns(history)
    customer_positions = [i for i, turn in enumerate(turns) if turn.role == "customer"]
    start = customer_positions[-REPLAYED_TURNS] if len(customer_positions) > REPLAYED_TURNS else 0
    state = TopicState()
    for turn in turns[start:]:
        if turn.role == "customer" and turn.text.strip():
            state = _turn(turn.text, state)[1]
        elif turn.role == "assistant" and turn.cited_keys and turn.cited_keys[0] != state.key:
            # The answer actually given cited another article (a model, the answer cache): follow it.
            state = TopicState(key=turn.cited_keys[0], terms=state.terms, age=0)
    return state


def _turn(message: str, state: TopicState) -> tuple[ComposedAnswer, TopicState]:
    loaded = knowledge_index_get()
    return _turn_memo(message, state, loaded.version, confidence_threshold(), settings.SUPPORTBOT_SHOP_NAME)


@functools.lru_cache(maxsize=4096)
def _turn_memo(
    message: str, state: TopicState, version: str, threshold: float, shop: str
) -> tuple[ComposedAnswer, TopicState]:
    """One message read and answered; memoised so replaying a conversation costs no new search."""
    del version, shop  # part of the memo's key: a new help centre or shop name answers afresh
    reading = turn_read(message=message, state=state, threshold=threshold)
    if reading.kind == SMALL_TALK:
        answer = ComposedAnswer(text=small_talk_reply(talk=reading.talk), confident=True, kind=SMALL_TALK_KIND)
        return answer, TopicState(key=state.key, terms=state.terms, shown=state.shown, age=state.age + 1)
    article = article_indexed_get(reading.key) if reading.key else None
    if (
        article is None
        or _lacks_the_detail(reading.question, body=article.body)
        or not names_what_is_sold(reading.question, article)
        or not speaks_of_the_change(reading.question, article)
    ):
        return _not_sure(reading), topic_after(state=state, reading=reading, sections=())
    unknown = _unknown_code(reading.question, body=article.body)
    if unknown:
        return _not_sure(reading, text=unknown), topic_after(state=state, reading=reading, sections=())
    follow_up = reading.kind == FOLLOW_UP
    extract = answer_extract(
        body=article.body,
        title=article.title,
        terms=reading.terms,
        idf=stem_rarity,
        follow_up=follow_up,
        # "what else can I try?", or "I put new batteries in, nothing" after the battery steps: past what was said.
        shown=state.shown
        if follow_up and (wants_more(reading.question) or tells_a_step_done_in_vain(reading.question))
        else (),
        problem=states_a_problem(reading.question),
        next_step=follow_up and asks_what_next(reading.question),
    )
    if not follow_up:
        extract = extract_past_a_step_done(
            extract,
            question=reading.question,
            body=article.body,
            title=article.title,
            terms=reading.terms,
            idf=stem_rarity,
            problem=states_a_problem(reading.question),
        )
    if not extract.text:
        # A follow-up asked for more and the article has nothing left: say so, and where help is.
        text = ARTICLE_EXHAUSTED_TEXT if follow_up else NOT_SURE_TEXT
        return _not_sure(reading, text=text), topic_after(state=state, reading=reading, sections=())
    answer = ComposedAnswer(
        text=extract.text,
        citations=[Citation(key=article.key, title=article.title, url=article.url)],
        confident=True,
        top_key=article.key,
        score=reading.score,
        kind=ANSWER,
        question=reading.standalone_question,
        follow_up_of=article.key if follow_up else None,
        stands_alone=reading.stands_alone,
    )
    return answer, topic_after(state=state, reading=reading, sections=extract.sections)


def _lacks_the_detail(question: str, *, body: str) -> bool:
    """The message asks for a price, a duration, a limit or a distance, and the article has none of
    them ("what's the price of the LiftBase?" read against the pairing steps): any part of it quoted
    would not answer."""
    wanted = DETAIL_FOCUS & focus_of_question(question)
    return bool(wanted) and not wanted & focus_of_passage(body)


def _unknown_code(question: str, *, body: str) -> str | None:
    """What to say when the message names a code ("E21") of a kind the article lists ("E01" to "E08") but not
    that one: any row quoted would answer another code. None when every code asked about is listed, and for
    articles that are not about codes (sizes such as "UK6" to "UK9" are not)."""
    if not _CODE_WORDS.search(body):
        return None
    listed: dict[str, dict[int, str]] = {}
    for match in _CODE.finditer(body):
        listed.setdefault(match.group(1).lower(), {}).setdefault(int(match.group(2)), match.group(0))
    for match in _CODE.finditer(question):
        kind = listed.get(match.group(1).lower(), {})
        if len(kind) >= LISTED_CODES and int(match.group(2)) not in kind:
            numbers = sorted(kind)
            return UNKNOWN_CODE_TEXT % {
                "code": match.group(0).upper(),
                "first": kind[numbers[0]],
                "last": kind[numbers[-1]],
            }
    return None


def _not_sure(reading: TurnReading, *, text: str = NOT_SURE_TEXT) -> ComposedAnswer:
    return ComposedAnswer(
        text=text,
        confident=False,
        top_key=reading.top_key,
        score=reading.score,
        kind=NOT_SURE,
        question=reading.standalone_question,
        stands_alone=reading.stands_alone,
    )
