"""Fine-tuning export: good, resolved conversations as Chat Completions fine-tuning JSONL.

One line per conversation: ``{"messages": [{"role": "system", ...}, {"role": "user", ...},
{"role": "assistant", ...}, ...]}``. Customers are the user; the bot and the agents are the
assistant. Only conversations with a good rating (or, unrated, a good satisfaction estimate)
are written. Card numbers, emails and phone numbers are removed with the same redaction the
product uses before calling a provider (``routing.redaction``), and agents' names are replaced,
so the file can leave the building. ``finetune_validate`` re-reads a file the way a fine-tuning
job would and rejects malformed lines, reporting token counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TextIO

from django.db.models import Exists, OuterRef, Q, QuerySet

from conversations.models import Attachment, Conversation, Message
from routing.selectors import input_tokens_estimate, text_redact
from routing.types import REDACTION_KINDS, SYSTEM_PROMPT

DEFAULT_MIN_RATING = 4
DEFAULT_MIN_ESTIMATE = Decimal("4.0")
AGENT_NAME_REPLACEMENT = "a member of our team"
# Per example; fine-tuning jobs refuse longer ones.
MAX_EXAMPLE_TOKENS = 65536
ROLES = {"customer": "user", "assistant": "assistant", "agent": "assistant"}
VALID_ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class ExportResult:
    written: int
    skipped: int


@dataclass
class ValidationReport:
    examples: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and self.examples > 0

    def summary(self) -> str:
        if not self.tokens:
            return f"{self.examples} valid examples, {len(self.rejected)} rejected"
        return (
            f"{self.examples} valid examples, {len(self.rejected)} rejected; tokens: total {sum(self.tokens)}, "
            f"min {min(self.tokens)}, mean {sum(self.tokens) // len(self.tokens)}, max {max(self.tokens)}"
        )


def finetune_conversations(
    *,
    min_rating: int = DEFAULT_MIN_RATING,
    min_estimate: Decimal = DEFAULT_MIN_ESTIMATE,
    since: date | None = None,
    until: date | None = None,
    conversation_ids: Sequence[int] | None = None,
) -> QuerySet[Conversation]:
    """Resolved conversations worth learning from, oldest first.

    Resolved: closed, or still with the bot after it answered. Good: rated ``min_rating`` or
    better, or unrated with an estimate of at least ``min_estimate`` (a poor rating always wins
    over a good estimate). Conversations with photos are left out: the text alone would mislead.
    """
    answered = Message.objects.filter(conversation_id=OuterRef("pk"), role=Message.Role.ASSISTANT)
    photos = Attachment.objects.filter(conversation_id=OuterRef("pk"))
    rows = Conversation.objects.filter(
        Q(status=Conversation.Status.CLOSED) | Q(Exists(answered), status=Conversation.Status.BOT),
        Q(rating__score__gte=min_rating) | Q(rating__isnull=True, satisfaction_estimate__gte=min_estimate),
        ~Exists(photos),
    )
    if since is not None:
        rows = rows.filter(created_at__date__gte=since)
    if until is not None:
        rows = rows.filter(created_at__date__lte=until)
    if conversation_ids is not None:
        rows = rows.filter(pk__in=conversation_ids)
    return rows.order_by("created_at", "pk")


def finetune_example(*, conversation: Conversation, shop: str) -> dict[str, Any] | None:
    """The conversation as one training example, or None when it has no complete exchange."""
    messages = list(conversation.messages.filter(kind="text", role__in=ROLES).select_related("author").order_by("seq"))
    scrub = _agent_name_scrubber(messages=messages, conversation=conversation)
    turns: list[dict[str, str]] = []
    for message in messages:
        role, text = ROLES[message.role], scrub(text_redact(text=message.text, kinds=REDACTION_KINDS)).strip()
        if not text or (role == "assistant" and not turns):
            continue  # an opening greeting before the customer spoke teaches nothing
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})
    while turns and turns[-1]["role"] != "assistant":
        turns.pop()  # the example must end on the answer we want the model to learn
    if not turns:
        return None
    return {"messages": [{"role": "system", "content": SYSTEM_PROMPT.format(shop=shop)}, *turns]}


def _agent_name_scrubber(*, messages: Sequence[Message], conversation: Conversation) -> Any:
    names: set[str] = set()
    people = [message.author for message in messages if message.role == "agent" and message.author is not None]
    if conversation.assigned_agent is not None:
        people.append(conversation.assigned_agent)
    for person in people:
        names.update({person.get_username(), person.first_name, person.last_name, person.get_full_name()})
    names.update(str(message.data.get("author_name", "")) for message in messages)
    names = {name.strip() for name in names if name and len(name.strip()) > 1}
    if not names:
        return lambda text: text
    # Longest first, so "Sam Lee" goes as a whole before "Sam".
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) + r")\b", re.I
    )
    return lambda text: pattern.sub(AGENT_NAME_REPLACEMENT, text)


def finetune_export(
    *,
    out: TextIO,
    shop: str,
    min_rating: int = DEFAULT_MIN_RATING,
    min_estimate: Decimal = DEFAULT_MIN_ESTIMATE,
    since: date | None = None,
    until: date | None = None,
    conversation_ids: Sequence[int] | None = None,
) -> ExportResult:
    """Write the selected conversations to ``out`` as JSONL; how many were written and skipped."""
    written = skipped = 0
    rows = finetune_conversations(
        min_rating=min_rating, min_estimate=min_estimate, since=since, until=until, conversation_ids=conversation_ids
    ).select_related("assigned_agent")
    for conversation in rows.iterator(chunk_size=200):
        example = finetune_example(conversation=conversation, shop=shop)
        if example is None:
            skipped += 1
            continue
        out.write(json.dumps(example, ensure_ascii=False) + "\n")
        written += 1
    return ExportResult(written=written, skipped=skipped)


def finetune_validate(*, lines: Iterable[str]) -> ValidationReport:
    """Check each line as a fine-tuning job would; count tokens (about four characters each)."""
    report = ValidationReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        problem, tokens = _line_check(line)
        if problem:
            report.rejected.append((number, problem))
        else:
            report.examples += 1
            report.tokens.append(tokens)
    return report


def _line_check(line: str) -> tuple[str, int]:
    try:
        example = json.loads(line)
    except ValueError:
        return "not valid JSON", 0
    if not isinstance(example, dict) or set(example) != {"messages"} or not isinstance(example["messages"], list):
        return "must be an object with a 'messages' list and nothing else", 0
    messages = example["messages"]
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in VALID_ROLES:
            return "every message needs a role: system, user or assistant", 0
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            return f"empty or non-text content in a {message.get('role')} message", 0
        if text_redact(text=message["content"], kinds=REDACTION_KINDS) != message["content"]:
            return "contains a card number, email or phone number", 0
    roles = [message["role"] for message in messages]
    if "user" not in roles or "assistant" not in roles or roles[-1] != "assistant":
        return "needs a user and an assistant message, ending with the assistant", 0
    tokens = input_tokens_estimate(messages=messages)
    if tokens > MAX_EXAMPLE_TOKENS:
        return f"{tokens} tokens, over the {MAX_EXAMPLE_TOKENS}-token limit per example", tokens
    return "", tokens
