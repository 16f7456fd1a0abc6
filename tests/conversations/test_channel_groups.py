from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer

from conversations.channel_groups import channel_group_counts, group_kind
from conversations.protocol import (
    CONSOLE_QUEUE_GROUP,
    console_agent_group,
    console_conversation_group,
    conversation_group,
)


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        (conversation_group("Ab12cd"), "conversation"),
        (console_conversation_group("Ab12cd"), "console.conversation"),
        (console_agent_group(7), "console.agent"),
        (CONSOLE_QUEUE_GROUP, "console.queue"),
    ],
)
def test_groups_are_counted_by_kind_without_their_ids(group, kind):
    assert group_kind(group) == kind


def test_the_in_memory_layer_counts_live_members_only():
    layer = InMemoryChannelLayer(group_expiry=60)
    async_to_sync(layer.group_add)(conversation_group("one"), "widget.a")
    async_to_sync(layer.group_add)(conversation_group("one"), "console.b")
    async_to_sync(layer.group_add)(console_agent_group(3), "console.b")
    async_to_sync(layer.group_add)(conversation_group("old"), "widget.gone")
    layer.groups[conversation_group("old")]["widget.gone"] = time.time() - 120  # joined before the expiry
    counts = channel_group_counts(layer=layer)
    assert counts.groups == {"conversation": 1, "console.agent": 1}
    assert counts.members == {"conversation": 2, "console.agent": 1}
