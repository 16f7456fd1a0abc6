"""The values other apps exchange with routing: tiers, requests, stream events, plans and ledger records.

A typed facade: conversations and reporting import these names from here, never from the
modules that define them, so routing can rearrange its insides freely.
"""

from __future__ import annotations

from routing.cache import CachedAnswer
from routing.gateway import FAILOVER_NOTICE, CallSink, Finished, GatewayEvent, Notice, TierSwitch
from routing.pricing import COST_QUANTUM
from routing.prompts import SYSTEM_PROMPT
from routing.providers.base import CallRecord, ChatRequest, Citation, Retract, TextDelta, Usage
from routing.redaction import REDACTION_KINDS
from routing.router import BudgetState, RouteDecision
from routing.services import AnswerPlan
from routing.spend_limits import REFUSAL_TEXT
from routing.tiers import TIER_ORDER, TierConfig, TierName

__all__ = [
    "COST_QUANTUM",
    "FAILOVER_NOTICE",
    "REDACTION_KINDS",
    "REFUSAL_TEXT",
    "SYSTEM_PROMPT",
    "TIER_ORDER",
    "AnswerPlan",
    "BudgetState",
    "CachedAnswer",
    "CallRecord",
    "CallSink",
    "ChatRequest",
    "Citation",
    "Finished",
    "GatewayEvent",
    "Notice",
    "Retract",
    "RouteDecision",
    "TextDelta",
    "TierConfig",
    "TierName",
    "TierSwitch",
    "Usage",
]
