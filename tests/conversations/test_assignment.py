from __future__ import annotations

import pytest
from django.utils import timezone

from conversations import assignment
from conversations.models import AgentProfile, Conversation
from conversations.services import conversation_open

Status = Conversation.Status


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


def test_assignment_picks_the_least_loaded_online_agent_under_their_cap(db, agent, other_agent, django_user_model):
    offline = django_user_model.objects.create_user(username="kim", password="agent-pass-789", is_staff=True)
    AgentProfile.objects.create(user=offline, online=False)
    AgentProfile.objects.create(user=agent, online=True, max_concurrent_chats=1)
    AgentProfile.objects.create(user=other_agent, online=True, max_concurrent_chats=2)
    conversations = [conversation_open(origin="http://127.0.0.1:8000")[0] for _ in range(4)]
    for c in conversations:
        Conversation.objects.filter(pk=c.pk).update(status=Status.WAITING, waiting_since=timezone.now())
    assigned = [assignment.conversation_assign(conversation_id=c.pk) for c in conversations]
    # Sam (cap 1) and Alex (cap 2) tie at zero, then Alex has room for one more; nobody for the fourth.
    assert sorted(assigned[:2]) == sorted([agent.pk, other_agent.pk])
    assert assigned[2:] == [other_agent.pk, None]
    assert offline.pk not in assigned
