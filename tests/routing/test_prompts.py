from __future__ import annotations

import pytest

from routing.prompts import prompt_messages


@pytest.mark.parametrize("shop", ["Lullmoor Sleep Co.", "Lullmoor Sleep Co", "Lullmoor Sleep Co. "])
def test_the_shop_name_ends_its_sentence_with_one_full_stop(shop):
    messages = prompt_messages(question="hi", history=[], passages=[], shop=shop)
    system = messages[0]["content"]
    assert "assistant of Lullmoor Sleep Co. Answer" in system
    assert ".." not in system
