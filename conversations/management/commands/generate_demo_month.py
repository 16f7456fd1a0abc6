"""A realistic month of conversations, so a new admin sees live charts at once.

Every generated conversation is tagged with ``origin = DEMO_ORIGIN``; ``--replace`` deletes
those (with their messages, ledger rows and ratings) and nothing else. Without ``--replace``
an existing demo month is kept, so ``make run`` can call this every time.

Prices are the tier catalogue's, tokens and times to first token are drawn per tier, ratings
follow each conversation's own signals with noise, and estimates come from
``conversations.feedback`` exactly as for live conversations.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from conversations.feedback import TranscriptLine, satisfaction_score, satisfaction_signals
from conversations.models import Conversation, Message, Rating
from routing.models import LedgerEntry
from routing.selectors import cost_for_usage, tier_catalogue
from routing.services import daily_spend_rebuild
from routing.types import TierConfig, TierName, Usage

DEMO_ORIGIN = "demo:generated-month"
BATCH = 500

# (input tokens range, output tokens range, median time to first token in ms) per tier.
TIER_PROFILE: dict[str, tuple[tuple[int, int], tuple[int, int], int]] = {
    "mini": ((250, 700), (20, 90), 320),
    "instant": ((600, 1800), (80, 260), 620),
    "thinking": ((1400, 4200), (220, 650), 2400),
    "pro": ((2500, 7000), (300, 900), 3900),
}

# One scenario = the customer's turns: (text, tier that answers it, or "handoff").
SCENARIOS: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    "question_thanks": (
        0.24,
        (("What is your return policy for mattresses?", "instant"), ("Thanks, that helped!", "mini")),
    ),
    "question_only": (0.18, (("Do you deliver on Saturdays?", "instant"),)),
    "greeting_question": (
        0.08,
        (("hi", "mini"), ("How long does the Cloud Hybrid take to expand?", "instant"), ("great, thank you", "mini")),
    ),
    "troubleshooting": (
        0.12,
        (
            ("My LiftBase shows error E21 and won't raise, I already tried unplugging it", "thinking"),
            ("That worked, thank you so much", "mini"),
        ),
    ),
    "escalated": (
        0.1,
        (
            ("Where is my order? It hasn't arrived", "instant"),
            ("That didn't help, it still hasn't arrived and the tracking is stuck", "thinking"),
            ("ok thanks", "mini"),
        ),
    ),
    "repeated": (
        0.06,
        (
            ("How do I change the firmness of my mattress?", "instant"),
            ("How do I change the firmness of my mattress?", "thinking"),
        ),
    ),
    "handoff": (
        0.12,
        (("I was charged twice for my order", "thinking"), ("I want to talk to a person please", "handoff")),
    ),
    "frustrated": (
        0.06,
        (
            ("My remote stopped working and the base is stuck", "thinking"),
            ("This is useless!!! still not working", "thinking"),
        ),
    ),
    "abandoned": (
        0.04,
        (("Can I pay with a gift card and a credit card together?", "instant"), ("and what about", "")),
    ),
}

# The help-centre article each scenario's answers cite (key, title, slug): what the contact-reason
# batch reads offline. The double charge finds no article: its answer cites nothing.
SCENARIO_ARTICLES: dict[str, tuple[str, str, str] | None] = {
    "question_thanks": ("RETURN_EXCHANGE", "Returns, refunds and exchanges", "returns-refunds-exchanges"),
    "question_only": ("CHECK_PINCODE", "Do we deliver to your pincode?", "check-pincode"),
    "greeting_question": ("PRODUCT_VARIANTS", "Our mattresses at a glance", "our-mattresses"),
    "troubleshooting": ("LIFTBASE_ERROR_CODES", "LiftBase: error codes E01 to E08", "liftbase-error-codes"),
    "escalated": ("ORDER_STATUS", "Tracking your order", "order-status"),
    "repeated": ("COMPARISON", "Ergo or Ortho? Comparing our mattresses", "ergo-vs-ortho"),
    "handoff": None,
    "frustrated": ("LIFTBASE_REMOTE", "LiftBase: the remote doesn't work", "liftbase-remote"),
    "abandoned": ("EMI", "Paying in instalments (EMI)", "emi"),
}

ANSWER_TEXT = {
    "mini": "You're welcome! Anything else I can help with?",
    "instant": "Here is what our help centre says about that, with the steps to follow.",
    "thinking": "Let's work through this step by step. First, check the control box connection, then reset the remote.",
    "pro": "I've looked at this in detail; here is a full walk-through.",
}
AGENT_TEXT = "Hi, this is Sam from support. I've checked your order and refunded the duplicate charge."
HANDOFF_TEXT = (
    "I'm connecting you with a person from our support team. Please stay here; they'll see everything you've written."
)


@dataclass
class _Draft:
    conversation: Conversation
    started: datetime
    messages: list[Message] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)  # created_at of each message, in order
    ledger_times: list[datetime] = field(default_factory=list)
    rating: Rating | None = None


class Command(BaseCommand):
    help = "Generate a realistic month of demo conversations, ledger rows and ratings (tagged, replaceable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--per-day", type=int, default=40, help="Average conversations per weekday.")
        parser.add_argument("--replace", action="store_true", help="Delete the previous demo month first.")

    def handle(self, *args: object, **options: object) -> None:
        existing = Conversation.objects.filter(origin=DEMO_ORIGIN)
        if existing.exists() and not options["replace"]:
            self.stdout.write(f"kept {existing.count()} demo conversations (use --replace to generate them again)")
            return
        rng = random.Random(options["seed"])  # type: ignore[arg-type]
        with transaction.atomic():
            # Demo spend is not spend: its ledger rows go with it (a real conversation's outlive it).
            LedgerEntry.objects.filter(conversation__in=existing).delete()
            deleted, _ = existing.delete()
            drafts = demo_month_draft(rng=rng, days=int(options["days"]), per_day=int(options["per_day"]))  # type: ignore[call-overload]
            demo_month_save(drafts=drafts)
            daily_spend_rebuild()  # its rows were written and deleted in bulk, back-dated
        messages = sum(len(draft.messages) for draft in drafts)
        ledger = sum(len(draft.ledger) for draft in drafts)
        ratings = sum(draft.rating is not None for draft in drafts)
        cost = sum((entry.cost for draft in drafts for entry in draft.ledger), Decimal("0"))
        self.stdout.write(
            f"demo month: {len(drafts)} conversations, {messages} messages, {ledger} ledger rows (${cost:.4f}), "
            f"{ratings} ratings over {options['days']} days (removed {deleted} old demo rows)"
        )


def demo_month_draft(*, rng: random.Random, days: int, per_day: int) -> list[_Draft]:
    catalogue = tier_catalogue()
    agent = get_user_model().objects.filter(is_staff=True, is_superuser=False).order_by("pk").first()
    now = timezone.now()
    today = timezone.localdate()
    drafts = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        for started in _start_times(rng=rng, day=day, per_day=per_day, now=now):
            drafts.append(_conversation_draft(rng=rng, started=started, catalogue=catalogue, agent=agent, now=now))
    return drafts


def _start_times(*, rng: random.Random, day: date, per_day: int, now: datetime) -> list[datetime]:
    weekend = day.weekday() >= 5
    count = max(1, round(rng.gauss(per_day * (0.6 if weekend else 1.0), per_day * 0.12)))
    midnight = timezone.make_aware(datetime.combine(day, time.min))
    # Busiest in shop hours: centred on early afternoon, a few night owls.
    starts = [midnight + timedelta(minutes=min(max(rng.gauss(14 * 60, 200), 0), 24 * 60 - 30)) for _ in range(count)]
    return sorted(start for start in starts if start < now - timedelta(minutes=40))


def _scenario_pick(rng: random.Random) -> tuple[str, tuple[tuple[str, str], ...]]:
    names = list(SCENARIOS)
    name = rng.choices(names, weights=[SCENARIOS[n][0] for n in names])[0]
    return name, SCENARIOS[name][1]


def _conversation_draft(*, rng: random.Random, started: datetime, catalogue, agent, now: datetime) -> _Draft:
    name, turns = _scenario_pick(rng)
    draft = _Draft(conversation=Conversation(origin=DEMO_ORIGIN), started=started)
    clock = started
    for text, tier in turns:
        if not tier:  # the customer typed and left
            clock = _say(draft, clock=clock, role=Message.Role.CUSTOMER, text=text, rng=rng)
            continue
        clock = _say(draft, clock=clock, role=Message.Role.CUSTOMER, text=text, rng=rng)
        if tier == "handoff":
            clock = _handoff(draft, clock=clock, agent=agent, rng=rng)
            break
        clock = _answer(
            draft,
            clock=clock,
            tier=_tier_draw(rng, tier),
            catalogue=catalogue,
            rng=rng,
            article=SCENARIO_ARTICLES[name],
        )
    _conversation_finish(draft, clock=clock, scenario=name, rng=rng, now=now)
    return draft


def _tier_draw(rng: random.Random, tier: str) -> str:
    # A few hard questions go to Pro; a few easy ones are answered by Mini.
    roll = rng.random()
    if tier == "thinking" and roll < 0.08:
        return "pro"
    if tier == "instant" and roll < 0.1:
        return "mini"
    return tier


def _say(draft: _Draft, *, clock: datetime, role: str, text: str, rng: random.Random, **fields: object) -> datetime:
    clock += timedelta(seconds=rng.uniform(8, 90))
    draft.messages.append(Message(conversation=draft.conversation, role=role, text=text, **fields))
    draft.times.append(clock)
    return clock


def _answer(
    draft: _Draft, *, clock: datetime, tier: str, catalogue, rng: random.Random, article: tuple[str, str, str] | None
) -> datetime:
    config: TierConfig = catalogue[TierName(tier)]
    (low_in, high_in), (low_out, high_out), ttft_median = TIER_PROFILE[tier]
    input_tokens = rng.randint(low_in, high_in)
    usage = Usage(
        input_tokens=input_tokens,
        cached_input_tokens=int(input_tokens * rng.choice((0, 0, 0.3, 0.5))),
        output_tokens=rng.randint(low_out, high_out),
        estimated=False,
    )
    ttft = int(ttft_median * math.exp(rng.gauss(0, 0.35)))
    duration = ttft + usage.output_tokens * rng.randint(12, 30)
    cost = cost_for_usage(tier=config, usage=usage)
    reply_to = len(draft.messages)  # seq of the customer message just said
    clock = clock + timedelta(milliseconds=duration)
    message = Message(
        conversation=draft.conversation,
        role=Message.Role.ASSISTANT,
        text=ANSWER_TEXT[tier],
        reply_to_seq=reply_to,
        tier=tier,
        model=config.model,
        route_reason="escalated one tier"
        if tier in ("thinking", "pro") and reply_to > 1
        else "single question or request",
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
        cost=cost,
        time_to_first_token_ms=ttft,
        duration_ms=duration,
        citations=[{"key": article[0], "title": article[1], "url": f"/help/{article[2]}/"}]
        if tier != "mini" and article
        else [],
    )
    draft.messages.append(message)
    draft.times.append(clock)
    draft.ledger.append(
        LedgerEntry(
            conversation=draft.conversation,
            message=message,
            purpose=LedgerEntry.Purpose.ANSWER,
            tier=tier,
            model=config.model,
            provider="openai",
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            cost=cost,
            latency_ms=duration,
            time_to_first_token_ms=ttft,
            outcome=LedgerEntry.Outcome.OK,
        )
    )
    draft.ledger_times.append(clock)
    return clock


def _handoff(draft: _Draft, *, clock: datetime, agent, rng: random.Random) -> datetime:
    data = {"event": "handoff_requested", "status": "waiting", "reason": "asks for a person"}
    clock = _say(draft, clock=clock, role=Message.Role.SYSTEM, text=HANDOFF_TEXT, rng=rng, kind="event", data=data)
    if rng.random() < 0.85:  # most are picked up; the rest wait until the customer gives up
        draft.conversation.assigned_agent = agent
        clock = _say(
            draft,
            clock=clock + timedelta(minutes=rng.uniform(1, 12)),
            role=Message.Role.AGENT,
            text=AGENT_TEXT,
            rng=rng,
            author=agent,
        )
    return clock


def _conversation_finish(draft: _Draft, *, clock: datetime, scenario: str, rng: random.Random, now: datetime) -> None:
    conversation = draft.conversation
    closed = scenario == "handoff" or rng.random() < 0.6
    if closed:
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = clock + timedelta(minutes=2)
        _say(
            draft,
            clock=clock,
            role=Message.Role.SYSTEM,
            text="How did we do? Please rate this conversation.",
            rng=rng,
            kind="event",
            data={"event": "rating_requested"},
        )
    lines = [
        TranscriptLine(role=m.role, kind=m.kind, text=m.text, event=m.data.get("event", "")) for m in draft.messages
    ]
    estimate = satisfaction_score(found=satisfaction_signals(lines=lines, finished=True))
    conversation.satisfaction_estimate = estimate
    if rng.random() < (0.45 if closed else 0.12):
        score = min(5, max(1, round(float(estimate) + rng.gauss(0, 0.8))))
        draft.rating = Rating(
            conversation=conversation, score=score, comment="" if rng.random() < 0.7 else _comment(score)
        )
        _say(
            draft,
            clock=draft.times[-1],
            role=Message.Role.SYSTEM,
            text="Thank you for your feedback.",
            rng=rng,
            kind="event",
            data={"event": "rated", "score": score},
        )
    conversation.last_seq = len(draft.messages)
    conversation.total_cost = sum((entry.cost for entry in draft.ledger), Decimal("0"))
    conversation.total_input_tokens = sum(entry.input_tokens for entry in draft.ledger)
    conversation.total_output_tokens = sum(entry.output_tokens for entry in draft.ledger)
    for seq, message in enumerate(draft.messages, start=1):
        message.seq = seq


def _comment(score: int) -> str:
    return {
        1: "Didn't solve anything.",
        2: "Took too long.",
        3: "OK.",
        4: "Helpful, thanks.",
        5: "Quick and friendly!",
    }[score]


def demo_month_save(*, drafts: list[_Draft]) -> None:
    """Insert in bulk, then set the historical timestamps (``auto_now_add`` overwrites them on insert)."""
    conversations = [draft.conversation for draft in drafts]
    Conversation.objects.bulk_create(conversations, batch_size=BATCH)
    for draft in drafts:
        draft.conversation.created_at = draft.started
        draft.conversation.updated_at = draft.times[-1] if draft.times else draft.started
        for message in draft.messages:
            message.conversation_id = draft.conversation.pk
        if draft.rating is not None:
            draft.rating.conversation_id = draft.conversation.pk
    Conversation.objects.bulk_update(conversations, ["created_at", "updated_at"], batch_size=BATCH)
    messages = [message for draft in drafts for message in draft.messages]
    Message.objects.bulk_create(messages, batch_size=BATCH)
    for draft in drafts:
        for message, moment in zip(draft.messages, draft.times, strict=True):
            message.created_at = moment
    Message.objects.bulk_update(messages, ["created_at"], batch_size=BATCH)
    _ledger_save(drafts)
    ratings = [draft.rating for draft in drafts if draft.rating is not None]
    Rating.objects.bulk_create(ratings, batch_size=BATCH)
    for draft in drafts:
        if draft.rating is not None:
            draft.rating.created_at = draft.times[-1]
    Rating.objects.bulk_update(ratings, ["created_at"], batch_size=BATCH)


def _ledger_save(drafts: list[_Draft]) -> None:
    entries, moments = [], []
    for draft in drafts:
        for entry, moment in zip(draft.ledger, draft.ledger_times, strict=True):
            entry.conversation_id = draft.conversation.pk
            entry.message_id = entry.message.pk if entry.message else None
            entries.append(entry)
            moments.append(moment)
    LedgerEntry.objects.bulk_create(entries, batch_size=BATCH)
    for entry, moment in zip(entries, moments, strict=True):
        entry.created_at = moment
    LedgerEntry.objects.bulk_update(entries, ["created_at"], batch_size=BATCH)
