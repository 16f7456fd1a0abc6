"""The tier catalogue as plain, immutable values.

The database row (``routing.models.Tier``) is what admins edit; everything on the
hot path (router, gateway, pricing) works on :class:`TierConfig` snapshots so it
never touches the ORM while a stream is running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class TierName(StrEnum):
    MINI = "mini"
    INSTANT = "instant"
    THINKING = "thinking"
    PRO = "pro"


# Smallest to largest; "one tier up" and "one tier down" follow this order.
TIER_ORDER: tuple[TierName, ...] = (TierName.MINI, TierName.INSTANT, TierName.THINKING, TierName.PRO)


@dataclass(frozen=True)
class TierConfig:
    name: TierName
    model: str
    context_window: int
    price_input_per_1k: Decimal
    price_cached_input_per_1k: Decimal
    price_output_per_1k: Decimal
    latency_target_ms: int
    multimodal: bool = False
    fine_tunable: bool = False
    enabled: bool = True
    # Timeouts in seconds. The SDK's default is ten minutes; a chat widget cannot wait that long.
    connect_timeout_s: float = 3.0
    first_token_timeout_s: float = 10.0
    # Once text flows, a stream is dead only when it goes this long without a chunk (a stall): a slow
    # model that keeps sending is not a broken one.
    idle_timeout_s: float = 10.0
    # Bounds a request that has no output token cap; a stream under its cap that keeps sending text is
    # never cut by it (the cap bounds the answer: openai_compat cuts a stream that runs past it).
    total_timeout_s: float = 60.0
    fallbacks: tuple[TierName, ...] = field(default_factory=tuple)


# Defaults from the product brief. Fallback chains: Thinking -> Instant -> Mini; Instant -> Mini;
# Pro -> Thinking -> Instant -> Mini; Mini -> Instant.
DEFAULT_TIERS: dict[TierName, dict[str, object]] = {
    TierName.INSTANT: dict(
        context_window=8192,
        price_input_per_1k=Decimal("0.0020"),
        price_cached_input_per_1k=Decimal("0.0010"),
        price_output_per_1k=Decimal("0.0025"),
        latency_target_ms=800,
        fine_tunable=True,
        first_token_timeout_s=8.0,
        idle_timeout_s=8.0,
        total_timeout_s=45.0,
        fallbacks=(TierName.MINI,),
    ),
    TierName.THINKING: dict(
        context_window=12288,
        price_input_per_1k=Decimal("0.0035"),
        price_cached_input_per_1k=Decimal("0.00175"),
        price_output_per_1k=Decimal("0.0040"),
        latency_target_ms=4000,
        first_token_timeout_s=20.0,
        idle_timeout_s=20.0,
        total_timeout_s=120.0,
        fallbacks=(TierName.INSTANT, TierName.MINI),
    ),
    TierName.PRO: dict(
        context_window=16384,
        price_input_per_1k=Decimal("0.0050"),
        price_cached_input_per_1k=Decimal("0.0025"),
        price_output_per_1k=Decimal("0.0060"),
        latency_target_ms=6000,
        multimodal=True,
        first_token_timeout_s=30.0,
        idle_timeout_s=30.0,
        total_timeout_s=180.0,
        fallbacks=(TierName.THINKING, TierName.INSTANT, TierName.MINI),
    ),
    TierName.MINI: dict(
        context_window=4096,
        price_input_per_1k=Decimal("0.0008"),
        price_cached_input_per_1k=Decimal("0.0004"),
        price_output_per_1k=Decimal("0.0010"),
        latency_target_ms=500,
        fine_tunable=True,
        first_token_timeout_s=5.0,
        idle_timeout_s=5.0,
        total_timeout_s=30.0,
        # The smallest tier's backup is the next one up: no chain ends with the tier that failed.
        fallbacks=(TierName.INSTANT,),
    ),
}

DEFAULT_MODELS: dict[TierName, str] = {
    TierName.INSTANT: "gpt-5.5-instant",
    TierName.THINKING: "gpt-5.5-thinking",
    TierName.PRO: "gpt-5.5-pro",
    TierName.MINI: "gpt-5.5-mini",
}


def default_catalogue(models: dict[TierName, str] | None = None) -> dict[TierName, TierConfig]:
    """The brief's catalogue, for tests and for seeding the database."""
    models = models or DEFAULT_MODELS
    return {name: TierConfig(name=name, model=models[name], **values) for name, values in DEFAULT_TIERS.items()}  # type: ignore[arg-type]


def tier_up(name: TierName) -> TierName:
    index = TIER_ORDER.index(name)
    return TIER_ORDER[min(index + 1, len(TIER_ORDER) - 1)]


def tier_down(name: TierName) -> TierName:
    index = TIER_ORDER.index(name)
    return TIER_ORDER[max(index - 1, 0)]
