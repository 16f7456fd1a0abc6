"""Contact reasons: the batch tags closed conversations (offline, or one Mini call per batch), once each;
agents' corrections are kept beside the batch's tags."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations import contact_reasons
from conversations.console.selectors import contact_reasons_in_force
from conversations.console.services import UnknownLabel, contact_reasons_correct
from conversations.management.commands import generate_demo_month as demo_month_command
from conversations.models import ContactReason, Conversation, ConversationReason, Message, ReasonTagging
from conversations.services import conversation_open, message_record
from helpcentre.models import Article
from helpcentre.services import demo_helpcentre_load
from routing.models import LedgerEntry

pytestmark = pytest.mark.django_db


def reason(name: str) -> ContactReason:
    return ContactReason.objects.get(name=name)


def reasons_of(conversation_id: int) -> set[str]:
    return set(
        ContactReason.objects.filter(pk__in=contact_reasons_in_force(conversation_id=conversation_id)).values_list(
            "name", flat=True
        )
    )


def closed_conversation(*turns: tuple[str, str], citations: list[dict] | None = None) -> Conversation:
    """A closed conversation with ``turns`` of (role, text); assistant turns cite ``citations``."""
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    for role, text in turns:
        if role == "assistant":
            seq = Conversation.objects.get(pk=conversation.pk).last_seq + 1
            Message.objects.create(
                conversation=conversation, seq=seq, role=role, text=text, tier="instant", citations=citations or []
            )
            Conversation.objects.filter(pk=conversation.pk).update(last_seq=seq)
        else:
            message_record(conversation_id=conversation.pk, role=role, text=text)
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    return conversation


# The demo month's draws depend on which of its days are weekends, so the month is drawn up to a fixed
# day: the same seed then gives the same conversations whatever day the suite runs.
DEMO_MONTH_END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def test_the_demo_month_is_tagged_in_batches_offline_from_cited_articles_and_the_routers_categories(agent, monkeypatch):
    fixed_clock = SimpleNamespace(
        now=lambda: DEMO_MONTH_END,
        localdate=lambda: timezone.localtime(DEMO_MONTH_END).date(),
        make_aware=timezone.make_aware,
    )
    monkeypatch.setattr(demo_month_command, "timezone", fixed_clock)
    demo_helpcentre_load()
    call_command("generate_demo_month", days=14, per_day=10, seed=5, stdout=io.StringIO())
    closed = list(Conversation.objects.filter(status=Conversation.Status.CLOSED).values_list("pk", flat=True))
    assert len(closed) > 40

    output = io.StringIO()
    call_command("tag_contact_reasons", batch_size=20, stdout=output)
    assert f"tagged {len(closed)} conversations in {math.ceil(len(closed) / 20)} batches" in output.getvalue()
    assert "(0 by the model" in output.getvalue()
    tagged = ReasonTagging.objects.filter(status="done", engine="offline")
    assert set(tagged.values_list("conversation_id", flat=True)) == set(closed)
    assert not ReasonTagging.objects.exclude(conversation__status=Conversation.Status.CLOSED).exists()
    assert not LedgerEntry.objects.filter(purpose="tagging").exists()  # offline: no model, no cost

    # Recomputed here from the rows: an article's tags, or the written signals the router reads.
    # An article's tags in all its languages (the demo has Hindi and Spanish versions of some).
    article_tags: dict[str, set[str]] = {}
    for article in Article.objects.all():
        article_tags.setdefault(article.key, set()).update(t.strip().lower() for t in article.tags.split(","))
    every_expected: list[str] = []
    for conversation_id in closed:
        messages = list(Message.objects.filter(conversation_id=conversation_id).order_by("seq"))
        tags = {t for m in messages for c in m.citations for t in article_tags.get(c["key"], ())}
        customer = " ".join(m.text for m in messages if m.role == "customer").lower()
        expected = set()
        if tags & {"delivery", "orders", "tracking", "pincode"}:
            expected.add("Delivery and order status")
        if tags & {"returns", "refund", "exchange"}:
            expected.add("Returns, refunds and cancellations")
        if tags & {"payments", "emi"}:
            expected.add("Payments and offers")
        if tags & {"liftbase", "smart base"} or "error e21" in customer or "already tried" in customer:
            expected.add("Smart base problems")
        if tags & {"products", "comparison"}:
            expected.add("Products and sizes")
        if "talk to a person" in customer:
            expected.add("Asked for a person")
        if "didn't help" in customer or "useless" in customer or "!!!" in customer:
            expected.add("Unhappy with an answer")
        assert reasons_of(conversation_id) == expected, [m.text for m in messages]
        every_expected.extend(expected)
    assert ConversationReason.objects.filter(source="batch").count() == len(every_expected)
    # Every scenario of the demo month finds its reason; nothing in it is about the warranty.
    assert set(every_expected) == set(ContactReason.objects.values_list("name", flat=True)) - {"Warranty and defects"}

    again = io.StringIO()
    call_command("tag_contact_reasons", stdout=again)
    assert "tagged 0 conversations in 0 batches" in again.getvalue()


def test_with_a_model_one_mini_call_tags_each_batch_and_is_costed_as_tagging(llm):
    delivery = closed_conversation(("customer", "Where is my parcel? It's three days late"), ("assistant", "Sorry!"))
    person = closed_conversation(("customer", "I want to talk to a person please"))
    payment = closed_conversation(("customer", "Can I pay in instalments?"))
    ids = {r.name: r.pk for r in ContactReason.objects.all()}
    # The refs are numbered in the batch's order (oldest first): c1, c2 in the first call, c1 in the second.
    llm.text = json.dumps(
        {
            "conversations": [
                {"ref": "c1", "reasons": [ids["Delivery and order status"], 9999]},
                {"ref": "c2", "reasons": [str(ids["Asked for a person"])]},
                {"ref": "c7", "reasons": [ids["Warranty and defects"]]},
            ]
        }
    )
    batches, tagged = contact_reasons.reasons_tag_all(delivery="test-delivery", batch_size=2)
    assert (batches, tagged) == (2, 3)

    assert len(llm.requests) == 2  # one call per batch, not per conversation
    first = llm.requests[0].body
    assert "Asked for a person - The customer asked to talk to a person." in first["messages"][0]["content"]
    batch = json.loads(first["messages"][1]["content"])
    assert [item["ref"] for item in batch] == ["c1", "c2"]
    assert batch[0]["turns"][0] == {"role": "customer", "text": "Where is my parcel? It's three days late"}
    rows = LedgerEntry.objects.filter(purpose="tagging")
    assert rows.count() == 2 and all(row.tier == "mini" and row.cost > 0 for row in rows)
    assert not rows.filter(conversation__isnull=False).exists()  # a batch is billed to no one conversation

    assert reasons_of(delivery.pk) == {"Delivery and order status"}  # the unknown id 9999 is dropped
    assert reasons_of(person.pk) == {"Asked for a person"}
    # The local server gives the second batch the same answer: its c1 (the payment question) is
    # tagged as the model said, right or wrong; agents correct it in the console.
    assert reasons_of(payment.pk) == {"Delivery and order status"}
    assert ReasonTagging.objects.get(conversation=payment).engine == "model"
    assert set(ReasonTagging.objects.values_list("engine", flat=True)) == {"model"}


def test_a_conversation_the_models_answer_leaves_out_is_tagged_offline(llm):
    left_out = closed_conversation(("customer", "I want to talk to a person please"))
    llm.text = "Sorry, I can't do that."
    contact_reasons.reasons_tag_all(delivery="d1")
    assert len(llm.requests) == 1
    tagging = ReasonTagging.objects.get(conversation=left_out)
    assert tagging.engine == "offline" and reasons_of(left_out.pk) == {"Asked for a person"}
    assert LedgerEntry.objects.filter(purpose="tagging").count() == 1  # the call was made and is paid for


def test_each_conversation_is_claimed_once_and_a_dead_workers_claim_is_taken_over():
    conversation = closed_conversation(("customer", "I want to talk to a person please"))
    assert contact_reasons.tagging_claim(conversation_ids=[conversation.pk], delivery="first") == [conversation.pk]
    assert contact_reasons.tagging_claim(conversation_ids=[conversation.pk], delivery="second") == []
    assert contact_reasons.conversations_due(limit=10) == []

    ReasonTagging.objects.update(claimed_at=timezone.now() - contact_reasons.CLAIM_LEASE - timedelta(seconds=1))
    assert contact_reasons.conversations_due(limit=10) == [conversation.pk]
    assert contact_reasons.tagging_claim(conversation_ids=[conversation.pk], delivery="second") == [conversation.pk]
    found = contact_reasons.reasons_batch_tag(conversation_ids=[conversation.pk], delivery="first")
    assert contact_reasons.taggings_write(taggings=found, delivery="first") == 0  # the first worker lost its claim
    assert contact_reasons.taggings_write(taggings=found, delivery="second") == 1
    assert ConversationReason.objects.filter(conversation=conversation).count() == 1


def test_agents_corrections_are_kept_beside_the_batches_tags(agent):
    conversation = closed_conversation(("customer", "My LiftBase shows error E21, I already tried unplugging it"))
    contact_reasons.reasons_tag_all(delivery="d1")
    assert reasons_of(conversation.pk) == {"Smart base problems"}
    smart, warranty = reason("Smart base problems"), reason("Warranty and defects")

    contact_reasons_correct(conversation_id=conversation.pk, reason_ids=[warranty.pk], agent_id=agent.pk)
    assert reasons_of(conversation.pk) == {"Warranty and defects"}
    rows = {(r.reason_id, r.source, r.removed) for r in ConversationReason.objects.filter(conversation=conversation)}
    assert rows == {(smart.pk, "batch", True), (warranty.pk, "agent", False)}  # nothing deleted

    contact_reasons_correct(conversation_id=conversation.pk, reason_ids=[smart.pk, warranty.pk], agent_id=agent.pk)
    assert reasons_of(conversation.pk) == {"Smart base problems", "Warranty and defects"}
    assert ConversationReason.objects.filter(conversation=conversation).count() == 2
    with pytest.raises(UnknownLabel):
        contact_reasons_correct(conversation_id=conversation.pk, reason_ids=[123456], agent_id=agent.pk)


def test_the_models_answer_is_read_strictly():
    read = contact_reasons.model_answer_read
    assert read("no json here", refs=["c1"], reason_ids=[1]) == {}
    assert read('{"conversations": [{"ref": "c1", "reasons": [1, 2, "x"]}]', refs=["c1"], reason_ids=[1]) == {}
    answer = 'Here you go: {"conversations": [{"ref": "c1", "reasons": [2, "1", -1]}, {"ref": "c9", "reasons": [1]}]}'
    assert read(answer, refs=["c1", "c2"], reason_ids=[1, 2]) == {"c1": (1, 2)}
    assert read('{"conversations": {"ref": "c1"}}', refs=["c1"], reason_ids=[1]) == {}


def test_the_beat_task_tags_what_is_due_on_its_own_queue(settings):
    from conversations import tasks

    conversation = closed_conversation(("customer", "I want to talk to a person please"))
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["conversations.contact_reasons_tag"]["options"]["queue"] == tasks.Queue.SUMMARY
    assert tasks.TASK_QUEUES[tasks.contact_reasons_tag.name] == tasks.Queue.SUMMARY
    assert tasks.contact_reasons_tag.apply().get() == 1
    assert reasons_of(conversation.pk) == {"Asked for a person"}
    assert tasks.contact_reasons_tag.apply().get() == 0  # safe to run again: nothing is tagged twice
