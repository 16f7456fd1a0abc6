from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from conversations.models import Conversation, Message, Rating
from conversations.services import conversation_open
from reporting.finetune import AGENT_NAME_REPLACEMENT, finetune_export, finetune_validate
from tests.conftest import ALLOWED_ORIGIN

CARD = "4111 1111 1111 1111"
pytestmark = pytest.mark.django_db


def conversation_make(*, lines, status="closed", rating=None, estimate=None, agent=None, days_ago=0) -> Conversation:
    conversation, _ = conversation_open(origin=ALLOWED_ORIGIN)
    for seq, (role, text) in enumerate(lines, start=1):
        data = {"author_name": agent.first_name} if role == "agent" else {}
        Message.objects.create(
            conversation=conversation,
            seq=seq,
            role=role,
            text=text,
            author=agent if role == "agent" else None,
            data=data,
        )
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status,
        satisfaction_estimate=estimate,
        assigned_agent=agent,
        created_at=timezone.now() - timedelta(days=days_ago),
    )
    if rating is not None:
        Rating.objects.create(conversation=conversation, score=rating)
    return Conversation.objects.get(pk=conversation.pk)


def export(**options) -> tuple[str, object]:
    out = io.StringIO()
    result = finetune_export(out=out, shop="Lullmoor", **options)
    return out.getvalue(), result


def test_a_card_number_in_a_transcript_does_not_appear_in_the_export(agent):
    conversation_make(
        lines=[
            ("customer", f"I was charged twice on my card {CARD}, mail me at ana@example.com"),
            ("assistant", "I'm sorry about that. Let me bring in a colleague."),
            ("agent", f"Hi, I'm {agent.first_name}. I can see the card ending {CARD[-4:]}; refund is on its way."),
            ("customer", "Thanks Sam!"),
            ("agent", "You're welcome."),
        ],
        rating=5,
        agent=agent,
    )
    text, result = export()
    assert result.written == 1
    assert CARD not in text and CARD.replace(" ", "") not in text
    assert "ana@example.com" not in text
    assert "[card number removed]" in text
    assert agent.first_name not in text
    assert f"I'm {AGENT_NAME_REPLACEMENT}" in text
    example = json.loads(text)
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert finetune_validate(lines=text.splitlines()).ok


def test_only_good_resolved_conversations_are_exported():
    answered = [("customer", "How long is the trial?"), ("assistant", "100 nights.")]
    good_rating = conversation_make(lines=answered, rating=5)
    conversation_make(lines=answered, rating=2, estimate=Decimal("4.5"))  # the customer's word wins
    good_estimate = conversation_make(lines=answered, status="bot", estimate=Decimal("4.5"))
    conversation_make(lines=answered, estimate=Decimal("3.0"))
    conversation_make(lines=answered, status="waiting", rating=5)  # not resolved
    conversation_make(lines=[("customer", "hello?")], status="bot", estimate=Decimal("5"))  # never answered

    text, result = export()
    assert result.written == 2
    assert text.count("\n") == 2
    from reporting.finetune import finetune_conversations

    assert set(finetune_conversations()) == {good_rating, good_estimate}
    assert set(finetune_conversations(min_rating=2, min_estimate=Decimal("2.5"))) >= {good_rating, good_estimate}


def test_date_range_and_threshold_options_select(tmp_path):
    answered = [("customer", "How long is the trial?"), ("assistant", "100 nights.")]
    conversation_make(lines=answered, rating=5, days_ago=40)
    conversation_make(lines=answered, rating=4, days_ago=1)
    since = (timezone.now() - timedelta(days=10)).date()
    assert export(since=since)[1].written == 1
    assert export(until=since)[1].written == 1
    assert export(min_rating=5)[1].written == 1

    output = tmp_path / "train.jsonl"
    stdout = io.StringIO()
    call_command("export_finetune", "--output", str(output), "--min-rating", "4", stdout=stdout)
    assert "Wrote 2 conversations" in stdout.getvalue()
    assert "2 valid examples, 0 rejected; tokens: total" in stdout.getvalue()
    assert len(output.read_text().splitlines()) == 2


def test_validation_rejects_malformed_lines_and_counts_tokens(tmp_path):
    good = {
        "messages": [
            {"role": "user", "content": "How long is the trial?"},
            {"role": "assistant", "content": "100 nights."},
        ]
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": f"card {CARD}"}, {"role": "assistant", "content": "ok"}]}),
        json.dumps({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "ok"}]}),
        json.dumps({"prompt": "legacy", "completion": "format"}),
    ]
    report = finetune_validate(lines=lines)
    assert report.examples == 1
    assert [number for number, _ in report.rejected] == [2, 3, 4, 5, 6, 7]
    assert report.tokens == [(len("How long is the trial?") + 3) // 4 + 4 + (len("100 nights.") + 3) // 4 + 4]

    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines))
    with pytest.raises(CommandError, match="6 malformed lines"):
        call_command("export_finetune", "--validate", str(bad), stdout=io.StringIO(), stderr=io.StringIO())


def test_admin_action_downloads_the_selected_good_conversations(admin_user):
    chosen = conversation_make(
        lines=[("customer", f"My card {CARD}"), ("assistant", "Please never share it.")], rating=5
    )
    conversation_make(lines=[("customer", "Trial?"), ("assistant", "100 nights.")], rating=5)
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/conversations/conversation/", {"action": "export_for_fine_tuning", "_selected_action": [chosen.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="fine-tuning.jsonl"'
    lines = response.content.decode().splitlines()
    assert len(lines) == 1 and CARD not in lines[0]
    assert finetune_validate(lines=lines).ok
