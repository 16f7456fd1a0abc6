from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from routing.pricing import cost_for_usage, usage_estimate
from routing.providers.base import Usage
from routing.tiers import TierName, default_catalogue
from routing.tokens import input_tokens_estimate, tokens_estimate


def test_cost_prices_cached_input_at_the_cached_rate() -> None:
    tier = default_catalogue()[TierName.INSTANT]  # 0.0020 in, 0.0010 cached, 0.0025 out per 1k
    usage = Usage(input_tokens=1500, cached_input_tokens=500, output_tokens=400, estimated=False)

    cost = cost_for_usage(tier=tier, usage=usage)

    # 1000 * 0.002/1000 + 500 * 0.001/1000 + 400 * 0.0025/1000
    assert cost == Decimal("0.00350000")
    assert isinstance(cost, Decimal)


def test_cost_is_quantized_half_up_to_eight_places() -> None:
    tier = default_catalogue()[TierName.THINKING]  # 0.0035 in, 0.00175 cached, 0.0040 out
    usage = Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, estimated=False)
    assert cost_for_usage(tier=tier, usage=usage) == Decimal("0E-8")

    # 1 cached token costs 0.00000175 exactly; 3 uncached input tokens cost 0.0000105.
    one_cached = Usage(input_tokens=1, cached_input_tokens=1, output_tokens=0, estimated=False)
    assert cost_for_usage(tier=tier, usage=one_cached) == Decimal("0.00000175")
    three = Usage(input_tokens=3, cached_input_tokens=0, output_tokens=0, estimated=False)
    assert cost_for_usage(tier=tier, usage=three) == Decimal("0.00001050")


def test_cost_rounds_half_up_not_to_even() -> None:
    # One output token at 0.000005 per 1k costs 0.000000005, exactly half a unit in the 8th place:
    # half-up gives ...01 where banker's rounding would give ...00.
    half_unit_tier = replace(default_catalogue()[TierName.MINI], price_output_per_1k=Decimal("0.000005"))
    usage = Usage(input_tokens=0, cached_input_tokens=0, output_tokens=1, estimated=False)
    assert cost_for_usage(tier=half_unit_tier, usage=usage) == Decimal("0.00000001")


def test_estimates_count_text_by_length_and_images_flat() -> None:
    assert tokens_estimate(chars=0) == 0
    assert tokens_estimate(chars=9) == 3
    text_only = input_tokens_estimate(messages=[{"role": "user", "content": "x" * 40}])
    with_image = input_tokens_estimate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "x" * 40},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            }
        ]
    )
    assert text_only == 10 + 4
    assert with_image > text_only + 500


def test_usage_estimate_is_marked_estimated() -> None:
    usage = usage_estimate(messages=[{"role": "user", "content": "hello"}], output_chars=17)
    assert usage.estimated is True
    assert usage.output_tokens == 5
    assert usage.cached_input_tokens == 0
