"""Answering a customer message: route it, stream the gateway's tokens straight to the sockets, save once.

Tokens never touch the database or the channel layer. The answer runs as a task of its own,
not inside the socket's consumer, so it finishes and is saved even when the customer's
socket drops mid-answer; a reconnecting widget then gets it by ``seq``. A lease in the
database (``conversations.leases``) makes sure only one process answers a given question, also
across a Redis restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext_noop

from conversations import feedback, leases, selectors, services, turns
from conversations.languages import in_language
from conversations.models import Conversation, Message
from conversations.protocol import frame_notice, frame_stream, frame_token, frame_typing
from conversations.turns import TurnPlan
from helpcentre.selectors import Passage
from routing.services import answer_cache_write, answer_citations, cache_hit_call, cache_hit_data, gateway_get
from routing.types import CachedAnswer, Finished, Notice, Retract, TextDelta, TierSwitch

logger = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]

# Renewed every LEASE_RENEW_S while the answer runs, so a process that dies mid-answer (SIGTERM,
# crash) frees its question within LEASE_SECONDS and a reconnecting widget gets it answered.
LEASE_SECONDS = 10
LEASE_RENEW_S = 3.0
# A question whose lease another process holds is retried this often, for at most LEASE_WAIT_S.
LEASE_RETRY_S = 1.0
LEASE_WAIT_S = 2 * LEASE_SECONDS
# Translators: the chat bot's reply when no model could answer the customer's question.
UNAVAILABLE_TEXT = gettext_noop(
    "Sorry, I can't answer right now because our assistant is unavailable. "
    "You can try again in a moment, or ask to talk to a person."
)
# Translators: added under an answer that every model broke off part way; keep the parentheses.
INCOMPLETE_TEXT = gettext_noop(
    "(This answer was cut off because our assistant became unavailable. "
    "You can ask again in a moment, or ask to talk to a person.)"
)


@dataclass
class LiveAnswer:
    conversation_id: int
    reply_to_seq: int
    parts: list[str] = field(default_factory=list)
    head_frame: str = ""
    task: asyncio.Task[None] | None = None
    # Another question arrived while this one streamed: answer it next.
    again: bool = False
    # This attempt's lease holder id; the ledger rows of its upstream calls carry it too.
    attempt: str = ""
    # The conversation left the bot while this answer streamed: its draft is void (it would be
    # dropped at save), so the model call is closed at the next token instead of running to the end.
    void: bool = False
    # The notices sent about this draft (a backup took over): a socket that attaches later gets them too.
    notice_frames: list[str] = field(default_factory=list)

    def snapshot_frame(self) -> str:
        """What a socket that attaches mid-answer needs to catch up: the text so far and its index."""
        return frame_stream(reply_to=self.reply_to_seq, index=len(self.parts), text="".join(self.parts))

    def catch_up_frames(self) -> list[str]:
        """What a socket attaching mid-answer is sent, in order: typing (the tier writing now), the text, notices."""
        return [self.head_frame, self.snapshot_frame(), *self.notice_frames]


# Per process: the answer streaming for each conversation and the sockets watching it.
_live: dict[int, LiveAnswer] = {}
_watchers: dict[int, set[Send]] = {}


def live_answer(*, conversation_id: int) -> LiveAnswer | None:
    """The answer streaming in this process for the conversation, if any."""
    return _live.get(conversation_id)


def live_watch(*, conversation_id: int, send: Send) -> LiveAnswer | None:
    """Deliver this conversation's tokens to ``send``; returns the answer already streaming, if any."""
    _watchers.setdefault(conversation_id, set()).add(send)
    return _live.get(conversation_id)


def live_unwatch(*, conversation_id: int, send: Send) -> None:
    watchers = _watchers.get(conversation_id)
    if watchers is not None:
        watchers.discard(send)
        if not watchers:
            del _watchers[conversation_id]


async def _publish(conversation_id: int, frame: str) -> None:
    for send in tuple(_watchers.get(conversation_id, ())):
        try:
            await send(frame)
        except Exception:  # a socket that went away must not stop the answer
            live_unwatch(conversation_id=conversation_id, send=send)


def answer_void(*, conversation_id: int) -> None:
    """The conversation left the bot (a handoff, an agent joined): stop the answer streaming here, if any."""
    live = _live.get(conversation_id)
    if live is not None:
        live.void = True


def answer_start(*, conversation_id: int, public_id: str) -> None:
    """Answer the conversation's unanswered customer messages, oldest first, unless an answer is streaming
    here already (it answers the next one when it is done)."""
    live = _live.get(conversation_id)
    if live is not None:
        live.again = True
        return
    live = LiveAnswer(conversation_id=conversation_id, reply_to_seq=0)
    _live[conversation_id] = live
    live.task = asyncio.create_task(_answer_run(live, public_id=public_id))


class _LeaseBusy(Exception):
    """Another process holds the question's lease: it is answering, or died doing so."""


def _turn_claim(*, conversation_id: int, holder: str) -> tuple[TurnPlan, bool, bool] | None:
    """Pick the question to answer (the oldest owed), take its lease, plan the turn and carry out what
    the plan decided, in one trip to the database thread: (plan, True when the bot should now stream
    its answer, True when another question is owed after it), or None when the bot has nothing to do."""
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.status != Conversation.Status.BOT:
        return None  # an agent owns the conversation (or it is closed): the bot stays silent
    owed = selectors.unanswered_questions(conversation_id=conversation_id, limit=2)
    if not owed:
        return None
    question = owed[0]
    if not leases.answer_lease_take(
        conversation_id=conversation_id, seq=question.seq, holder=holder, seconds=LEASE_SECONDS
    ):
        raise _LeaseBusy()
    try:
        plan = turns.turn_plan_make(conversation=conversation, question=question)
        # Refused, or handed to a person: turn_take stored what the customer sees.
        return plan, turns.turn_take(plan), len(owed) > 1
    except Exception:
        leases.answer_lease_release(conversation_id=conversation_id, seq=question.seq, holder=holder)
        raise


async def _answer_run(live: LiveAnswer, *, public_id: str) -> None:
    conversation_id = live.conversation_id
    waited = 0.0
    try:
        while True:
            holder = leases.lease_holder_new()
            try:
                claimed = await database_sync_to_async(_turn_claim)(conversation_id=conversation_id, holder=holder)
            except _LeaseBusy:
                if waited >= LEASE_WAIT_S:
                    return
                await asyncio.sleep(LEASE_RETRY_S)
                waited += LEASE_RETRY_S
                continue
            if claimed is None:
                return
            plan, to_stream, more = claimed
            live.again = more  # and set again by a question sent while this one is answered
            live.parts = []
            live.reply_to_seq = plan.question.seq
            live.attempt = holder
            live.void = False
            lease = {"conversation_id": conversation_id, "seq": plan.question.seq, "holder": holder}
            keeper = asyncio.create_task(_lease_keep(**lease))
            try:
                if to_stream:
                    await _answer_one(live, plan)
            finally:
                keeper.cancel()
                await database_sync_to_async(leases.answer_lease_release)(**lease)
            if not live.again:
                return
    except Exception:
        logger.exception("answering conversation %s failed", public_id)
        try:
            await database_sync_to_async(_apology_record)(conversation_id=conversation_id)
        except Exception:
            logger.exception("could not store the apology in conversation %s either", public_id)
    finally:
        _live.pop(conversation_id, None)


def _apology_record(*, conversation_id: int) -> None:
    """A question left unanswered by a failure gets the apology, so the customer is never left waiting."""
    question = selectors.unanswered_question(conversation_id=conversation_id)
    if question is None:
        return  # answered (or handed over) before the failure
    try:
        services.answer_record(
            conversation_id=conversation_id,
            reply_to_seq=question.seq,
            text=in_language(UNAVAILABLE_TEXT, language=question.language),
            tier="",
            model="",
            route_reason="internal error",
            calls=[],
            data={"outcome": "unavailable"},
        )
    except services.BotSilenced:
        return


async def _lease_keep(*, conversation_id: int, seq: int, holder: str) -> None:
    renew = database_sync_to_async(_lease_renew)
    while True:
        await asyncio.sleep(LEASE_RENEW_S)
        try:
            with_bot = await renew(conversation_id=conversation_id, seq=seq, holder=holder)
        except Exception:  # noqa: BLE001 - a missed renewal only risks a second answer, dropped at save
            logger.warning("could not renew the answer lease on %s#%s", conversation_id, seq, exc_info=True)
            continue
        if not with_bot:
            # A person took over and no socket here heard it (the customer's socket is on another
            # process, or gone): the draft is void all the same.
            answer_void(conversation_id=conversation_id)
            return


def _lease_renew(*, conversation_id: int, seq: int, holder: str) -> bool:
    """Renew the answer's lease; False when the conversation has left the bot meanwhile."""
    leases.answer_lease_renew(conversation_id=conversation_id, seq=seq, holder=holder, seconds=LEASE_SECONDS)
    return Conversation.objects.filter(pk=conversation_id, status=Conversation.Status.BOT).exists()


async def _answer_one(live: LiveAnswer, plan: TurnPlan) -> None:
    if plan.cached is not None:
        await _answer_from_cache(live, plan, hit=plan.cached)
        return
    live.head_frame = frame_typing(reply_to=live.reply_to_seq, tier=str(plan.tier), reason=plan.reason)
    await _publish(live.conversation_id, live.head_frame)
    started = time.monotonic()
    first_token_at: float | None = None
    finished: Finished | None = None
    conversation_id, reply_to_seq, parts = live.conversation_id, live.reply_to_seq, live.parts
    on_call = services.ledger_sink(conversation_id=conversation_id, attempt=live.attempt)
    try:
        async for event in gateway_get().stream(
            plan.request, tier=plan.tier, catalogue=plan.catalogue, on_call=on_call, stopped=lambda: live.void
        ):
            if type(event) is TextDelta:
                if first_token_at is None:
                    first_token_at = time.monotonic()
                parts.append(event.text)
                await _publish(conversation_id, frame_token(reply_to=reply_to_seq, index=len(parts), text=event.text))
            elif isinstance(event, Notice):
                notice = frame_notice(reply_to=reply_to_seq, text=event.text)
                live.notice_frames.append(notice)
                if event.tier is not None:
                    # A backup writes from here on: a socket attaching later is told its tier. Not sent
                    # now: a second typing frame would start the draft over.
                    live.head_frame = frame_typing(
                        reply_to=reply_to_seq, tier=str(event.tier), reason=f"a backup model ({event.tier}) took over"
                    )
                await _publish(conversation_id, notice)
            elif type(event) is Retract:
                # The draft so far was the model's reasoning: a second typing frame tells the widget to
                # drop it (docs/protocol.md); what the answer keeps comes again from i = 1.
                parts.clear()
                await _publish(conversation_id, live.head_frame)
                if event.kept:
                    parts.append(event.kept)
                    await _publish(conversation_id, frame_token(reply_to=reply_to_seq, index=1, text=event.kept))
            elif isinstance(event, TierSwitch):
                # Before the first token another tier took over (the planned one's circuit is open, or it
                # failed): the typing frame names the tier that answers, so a reconnect sees it too.
                live.head_frame = frame_typing(reply_to=reply_to_seq, tier=str(event.tier), reason=event.reason)
                await _publish(conversation_id, live.head_frame)
            elif isinstance(event, Finished):
                finished = event
    except Exception as error:  # noqa: BLE001 - a bug on the way must still leave the customer an answer
        logger.exception("streaming the answer in conversation %s failed", conversation_id)
        finished = _finished_broken(plan=plan, error=error)
    ended = time.monotonic()
    outcome = {
        "live": live,
        "plan": plan,
        "finished": finished,
        "time_to_first_token_ms": None if first_token_at is None else int((first_token_at - started) * 1000),
        "duration_ms": int((ended - started) * 1000),
    }
    try:
        await database_sync_to_async(_answer_finish)(**outcome)
    except Exception:
        # Storing it with its ledger rows failed (a value the database refused, say): the text the
        # customer read is stored without them, so it is not lost; the rows the calls wrote stay.
        logger.exception(
            "saving the answer in conversation %s failed; saving it without its ledger rows", live.conversation_id
        )
        if finished is not None:
            outcome["finished"] = replace(finished, calls=[])
        await database_sync_to_async(_answer_finish)(**outcome)


def _finished_broken(*, plan: TurnPlan, error: Exception) -> Finished:
    """How an answer ends when something failed unexpectedly while it streamed: the text shown so
    far is stored marked incomplete, or the apology when there is none."""
    return Finished(
        text="",
        tier=plan.tier,
        model="",
        calls=[],
        fell_back=False,
        failed_over_mid_stream=False,
        error=f"internal error while streaming: {error!r}"[:300],
    )


def _answer_finish(
    *, live: LiveAnswer, plan: TurnPlan, finished: Finished | None, time_to_first_token_ms: int | None, duration_ms: int
) -> None:
    """Everything after the last token, in one trip to the database thread: save, cache, turn bookkeeping."""
    answer = _answer_save(
        live=live,
        finished=finished,
        language=plan.question.language,
        passages=plan.passages,
        route_reason=plan.reason,
        time_to_first_token_ms=time_to_first_token_ms,
        duration_ms=duration_ms,
    )
    # Independent steps: a failed cache write (Redis down) must not skip the bookkeeping.
    if answer is not None:
        turns.after_answer_step("answer cache offer", _answer_cache_offer, answer=answer, plan=plan, finished=finished)
    turns.after_answer_step(
        "turn bookkeeping",
        turns.turn_after_answer,
        conversation_id=live.conversation_id,
        abstained=bool(finished and finished.abstained),
        signals=plan.signals,
        tier=str(finished.tier if finished and finished.tier else plan.tier),
        catalogue=plan.catalogue,
    )


async def _answer_from_cache(live: LiveAnswer, plan: TurnPlan, *, hit: CachedAnswer) -> None:
    """The stored answer to the same question, shown at once and recorded at zero cost."""
    started = time.monotonic()
    live.head_frame = frame_typing(reply_to=live.reply_to_seq, tier=hit.tier, reason="answered from cache")
    await _publish(live.conversation_id, live.head_frame)
    live.parts.append(hit.text)
    await _publish(live.conversation_id, frame_token(reply_to=live.reply_to_seq, index=1, text=hit.text))
    duration_ms = int((time.monotonic() - started) * 1000)
    await database_sync_to_async(_cached_answer_save)(live=live, hit=hit, duration_ms=duration_ms)
    await database_sync_to_async(turns.turn_after_answer)(
        conversation_id=live.conversation_id,
        abstained=False,
        signals=plan.signals,
        tier=hit.tier,
        catalogue=plan.catalogue,
    )


def _cached_answer_save(*, live: LiveAnswer, hit: CachedAnswer, duration_ms: int) -> None:
    try:
        services.answer_record(
            conversation_id=live.conversation_id,
            reply_to_seq=live.reply_to_seq,
            text=hit.text,
            tier=hit.tier,
            model=hit.model,
            route_reason="answered from cache",
            calls=[cache_hit_call(hit=hit, latency_ms=duration_ms)],
            citations=hit.citations,
            time_to_first_token_ms=duration_ms,
            duration_ms=duration_ms,
            data=cache_hit_data(hit=hit, duration_ms=duration_ms),
        )
    except services.BotSilenced:
        return
    feedback.satisfaction_estimate_update(conversation_id=live.conversation_id)


def _answer_cache_offer(*, answer: Message, plan: TurnPlan, finished: Finished | None) -> None:
    """Keep a complete, confident answer from the requested tier for the next customer who asks."""
    if plan.cache_key is None or finished is None or finished.error or finished.abstained or finished.fell_back:
        return
    answer_cache_write(
        key=plan.cache_key,
        answer=CachedAnswer(
            text=answer.text,
            tier=answer.tier,
            model=answer.model,
            cost=str(answer.cost),
            duration_ms=answer.duration_ms or 0,
            source_message_id=answer.pk,
            citations=list(answer.citations),
        ),
    )


def _answer_save(
    *,
    live: LiveAnswer,
    finished: Finished | None,
    route_reason: str,
    time_to_first_token_ms: int | None,
    duration_ms: int,
    language: str = "",
    passages: Sequence[Passage] = (),
) -> Message | None:
    """The streamed answer, stored; None when it was not stored now (an agent took over, or it
    was stored already), so nothing else may be built on it.

    What no model wrote is not attributed to one: the apology when nothing came is stored with no
    tier and no model. An answer every tier broke off is stored as it stood, marked incomplete and
    with a line saying so, never as if it were whole; the ledger keeps every call either way.
    """
    text = "".join(live.parts)
    outcome = _answer_outcome(finished=finished, text=text)
    citations = list(finished.citations) if finished else []
    if outcome != "unavailable" and settings.OPENAI_API_KEY and not citations:
        # A model's answer: the passages it was given and linked become its citations.
        grounded = answer_citations(text=text, passages=passages)
        text, citations = grounded.text, list(grounded.citations)
        if passages and not citations:
            logger.warning(
                "ungrounded answer in conversation %s: %d passages given, none cited (%d links removed)",
                live.conversation_id,
                len(passages),
                grounded.links_removed,
            )
    if outcome == "unavailable":
        text = in_language(UNAVAILABLE_TEXT, language=language)
    elif outcome == "incomplete":
        text = f"{text.rstrip()}\n\n{in_language(INCOMPLETE_TEXT, language=language)}"
    spoke = finished is not None and outcome != "unavailable"
    try:
        answer, created = services.answer_record(
            conversation_id=live.conversation_id,
            reply_to_seq=live.reply_to_seq,
            text=text,
            # No tier answered, or only the apology: none is named, never "None".
            tier=str(finished.tier) if spoke and finished and finished.tier else "",
            model=finished.model if spoke and finished else "",
            route_reason=route_reason,
            calls=finished.calls if finished else [],
            citations=[{"key": c.key, "title": c.title, "url": c.url} for c in citations],
            time_to_first_token_ms=time_to_first_token_ms,
            duration_ms=duration_ms,
            fell_back=bool(spoke and finished and finished.fell_back),
            failed_over_mid_stream=bool(finished and finished.failed_over_mid_stream),
            data={"outcome": outcome} if outcome != "complete" else None,
        )
    except services.BotSilenced:
        return None  # an agent took over while the bot was answering: its answer is dropped
    # After the answer is stored, off the token path: the estimate reads the whole transcript.
    feedback.satisfaction_estimate_update(conversation_id=live.conversation_id)
    return answer if created else None


def _answer_outcome(*, finished: Finished | None, text: str) -> str:
    """ "complete", "truncated" (stopped at the output token cap), "incomplete" (every tier broke
    off after some text) or "unavailable" (no text at all)."""
    if finished is None or (finished.error and not text):
        return "unavailable"
    if finished.truncated:
        return "truncated"
    if finished.error:
        return "incomplete"
    return "complete"
