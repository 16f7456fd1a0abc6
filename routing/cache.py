"""The answer cache: a frequent question answered again from the last answer, with no model call.

Keys are the question after normalisation (case, punctuation and stop words dropped), the
tier the router picked and the help-centre version, so editing any article makes every cached
answer unreachable at once. The store is Django's default cache: Redis in production (shared
by every process), the in-process cache when embedded.

Never cached: questions about the customer's own order, account or payment (order numbers,
"my order", "I paid ..."), follow-ups that lean on earlier messages ("does it come in blue?"),
photos, and anything while a person owns the conversation. Only complete, confident answers
from the requested tier are stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.core.cache import cache
from django.db.models import QuerySet

from routing.models import LedgerEntry
from routing.pricing import COST_QUANTUM
from routing.providers.base import CallRecord, Usage

ANSWER_CACHE_SECONDS = 24 * 3600
KEY_PREFIX = "answers:v1"
CACHE_PROVIDER = "answer-cache"

STOP_WORDS = frozenset(
    "a an the is are am was were be been do does did can could would will shall should may might must "
    "i me you your we us please pls hi hello hey thanks thank to of for in on at by with about and or "
    "so just tell know want like get any some there here kindly".split()
)
# The customer's own order, delivery, money or account: the answer depends on records, not on the help centre.
_OWN_RECORDS = re.compile(
    r"\b(?:my|our|mine)\s+(?:\w+\s+)?(?:order|orders|parcel|package|delivery|shipment|refund|return|payment|"
    r"account|invoice|booking|tracking|emi|cancellation|replacement|complaint|ticket|address)\b"
    r"|\b(?:i|we)\s+(?:have\s+)?(?:ordered|paid|bought|purchased|returned|placed|booked|received|got)\b"
    r"|\border\s*(?:no\.?|number|id|#)|#\s*\d{3,}|\d{5,}|\b[a-z]{2,4}-?\d{4,}\b|@",
    re.IGNORECASE,
)
# Words that point back at earlier messages: such a follow-up means something else in another chat.
_REFERRING = frozenset(
    "it its that this these those they them their one ones same also too else instead "
    "above previous earlier again another other".split()
)
_WORDS = re.compile(r"[a-z0-9]+")


class HistoryLike(Protocol):
    role: str
    text: str


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer, and what producing it cost: a hit saves that much money and time."""

    text: str
    tier: str
    model: str
    cost: str  # Decimal as text: the original answer's ledger cost
    duration_ms: int
    source_message_id: int
    citations: list[dict[str, str]] = field(default_factory=list)


def question_normalise(text: str) -> str:
    """Lower case, no punctuation, no stop words: "How do I return it?!" and "how return it" meet."""
    text = text.lower().replace("n't", " not").replace("'s", "").replace("\u2019s", "")
    return " ".join(word for word in _WORDS.findall(text) if word not in STOP_WORDS)


def question_cacheable(*, question: str, history: Sequence[HistoryLike]) -> bool:
    """Whether the question means the same in every conversation, so one answer fits all who ask it."""
    if _OWN_RECORDS.search(question):
        return False
    follows_up = any(item.role == "customer" for item in history)
    if follows_up and _REFERRING.intersection(_WORDS.findall(question.lower())):
        return False
    return bool(question_normalise(question))


def answer_cache_key(
    *,
    question: str,
    tier: str,
    help_centre_version: str,
    history: Sequence[HistoryLike] = (),
    has_image: bool = False,
    conversation_status: str = "bot",
) -> str | None:
    """The cache key for this question, or None when its answer must not come from (or go to) the cache."""
    if has_image or conversation_status != "bot" or not question_cacheable(question=question, history=history):
        return None
    digest = hashlib.sha256(question_normalise(question).encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}:{help_centre_version}:{tier}:{digest}"


def answer_cache_read(*, key: str | None) -> CachedAnswer | None:
    if key is None:
        return None
    stored = cache.get(key)
    if not isinstance(stored, dict):
        return None
    try:
        return CachedAnswer(**stored)
    except TypeError:  # written by an older release with other fields: treat as a miss
        return None


def answer_cache_write(*, key: str | None, answer: CachedAnswer) -> bool:
    if key is None or not answer.text.strip():
        return False
    cache.set(key, asdict(answer), timeout=ANSWER_CACHE_SECONDS)
    return True


def cache_hit_call(*, hit: CachedAnswer, latency_ms: int) -> CallRecord:
    """The ledger line for an answer served from the cache: zero tokens, zero cost."""
    return CallRecord(
        tier=hit.tier,
        model=hit.model,
        provider=CACHE_PROVIDER,
        purpose="answer",
        usage=Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, estimated=False),
        latency_ms=latency_ms,
        time_to_first_token_ms=latency_ms,
        outcome=LedgerEntry.Outcome.CACHE_HIT,
        cost=Decimal(0),
    )


def cache_hit_data(*, hit: CachedAnswer, duration_ms: int) -> dict[str, Any]:
    """Kept on the answer: what the hit saved, estimated from the answer it repeats."""
    return {
        "cache_hit": {
            "source_message": hit.source_message_id,
            "saved_cost": hit.cost,
            "saved_ms": max(0, hit.duration_ms - duration_ms),
        }
    }


@dataclass(frozen=True)
class CacheSavings:
    hits: int
    cost: Decimal
    seconds: Decimal


def cache_savings(*, entries: QuerySet[LedgerEntry] | None = None) -> CacheSavings:
    """Money and time the cache saved over ``entries`` (the whole ledger by default)."""
    rows = (entries if entries is not None else LedgerEntry.objects.all()).filter(outcome=LedgerEntry.Outcome.CACHE_HIT)
    hits, cost, milliseconds = 0, Decimal(0), 0
    for data in rows.order_by().values_list("message__data", flat=True).iterator():
        hits += 1
        saved = (data or {}).get("cache_hit") or {}
        cost += Decimal(str(saved.get("saved_cost", "0")))
        milliseconds += int(saved.get("saved_ms", 0))
    return CacheSavings(hits=hits, cost=cost.quantize(COST_QUANTUM), seconds=Decimal(milliseconds) / 1000)
