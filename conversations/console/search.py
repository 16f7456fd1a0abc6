"""Search over past conversations and their messages for the console, in the database's full text.

SQLite: the FTS5 table ``conversations_message_fts``; PostgreSQL: the GIN index on
``to_tsvector('english', text)`` (both made by migration 0008). Every word must match, the last
one as a prefix (the agent may still be typing it); the newest matching messages come first and
each conversation is listed once, with the newest message that matched. A query that looks like a
conversation's id finds that conversation too. Internal notes are not messages, so search never
shows one; ``bench/bench_search.py`` measures the latency on the demo month.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

from conversations import selectors
from conversations.models import Conversation, ConversationTag, Message

MAX_WORDS = 6
MAX_WORD_CHARS = 40
MAX_RESULTS = 20
# Matching messages read (newest first) to find MAX_RESULTS distinct conversations.
SCAN_LIMIT = 400
SNIPPET_CHARS = 160
_WORD = re.compile(r"\w+")
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{6,32}$")


def search_words(query: str) -> list[str]:
    """The query's words, lower-cased: plain letters and digits only, so none is read as an operator."""
    words = [word for word in _WORD.findall(query.lower()) if len(word) <= MAX_WORD_CHARS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def _tag_filter(tag_id: int | None) -> tuple[str, list[Any]]:
    if tag_id is None:
        return "", []
    through = ConversationTag.conversations.through._meta.db_table
    return f" AND m.conversation_id IN (SELECT conversation_id FROM {through} WHERE conversationtag_id = %s)", [tag_id]


def _sqlite_matches(words: list[str], tag_id: int | None) -> list[tuple[int, int]]:
    match = " ".join([*(f'"{word}"' for word in words[:-1]), f'"{words[-1]}"*'])
    tag_sql, tag_params = _tag_filter(tag_id)
    sql = (
        "SELECT m.conversation_id, m.id FROM conversations_message_fts f "
        "JOIN conversations_message m ON m.id = f.rowid "
        f"WHERE conversations_message_fts MATCH %s{tag_sql} ORDER BY f.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, *tag_params, SCAN_LIMIT])
        return list(cursor.fetchall())


def _postgresql_matches(words: list[str], tag_id: int | None) -> list[tuple[int, int]]:
    query = " & ".join([*words[:-1], f"{words[-1]}:*"])
    tag_sql, tag_params = _tag_filter(tag_id)
    sql = (
        "SELECT m.conversation_id, m.id FROM conversations_message m "
        f"WHERE to_tsvector('english', m.text) @@ to_tsquery('english', %s){tag_sql} ORDER BY m.id DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [query, *tag_params, SCAN_LIMIT])
        return list(cursor.fetchall())


def _matches(words: list[str], tag_id: int | None) -> list[tuple[int, int]]:
    """(conversation id, message id) of matching messages, newest first."""
    if connection.vendor == "postgresql":
        return _postgresql_matches(words, tag_id)
    if connection.vendor == "sqlite":
        return _sqlite_matches(words, tag_id)
    return []


def snippet(text: str, words: list[str]) -> str:
    """Up to SNIPPET_CHARS of ``text`` around the first word of the query it contains."""
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    lowered = text.lower()
    found = [lowered.find(word) for word in words if lowered.find(word) >= 0]
    start = max(0, min(found, default=0) - SNIPPET_CHARS // 3)
    cut = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + cut + ("…" if start + SNIPPET_CHARS < len(text) else "")


def conversation_search(*, query: str, tag_id: int | None = None, limit: int = MAX_RESULTS) -> dict[str, Any]:
    """The console's search results: conversations matching ``query`` (and tagged ``tag_id``), newest first."""
    words = search_words(query)
    found: dict[int, int | None] = {}  # conversation id -> the message shown for it
    query = query.strip()
    if _PUBLIC_ID.match(query):
        by_id = Conversation.objects.filter(public_id__startswith=query)
        if tag_id is not None:
            by_id = by_id.filter(tags=tag_id)
        found.update((pk, None) for pk in by_id.values_list("pk", flat=True)[:limit])
    if words:
        for conversation_id, message_id in _matches(words, tag_id):
            if len(found) >= limit:
                break
            found.setdefault(conversation_id, message_id)
    elif tag_id is not None:
        tagged = Conversation.objects.filter(tags=tag_id).order_by("-created_at", "-pk")
        found.update((pk, None) for pk in tagged.values_list("pk", flat=True)[:limit])
    return {
        "type": "search_results",
        "query": query,
        "tag": tag_id,
        "results": _results(found, words),
    }


def _results(found: dict[int, int | None], words: list[str]) -> list[dict[str, Any]]:
    conversations = Conversation.objects.select_related("assigned_agent").prefetch_related("tags").in_bulk(list(found))
    messages = Message.objects.in_bulk([pk for pk in found.values() if pk is not None])
    results = []
    for conversation_id, message_id in found.items():
        conversation = conversations.get(conversation_id)
        if conversation is None:
            continue
        message = messages.get(message_id) if message_id is not None else None
        agent = conversation.assigned_agent
        results.append(
            {
                "conversation": conversation.public_id,
                "status": conversation.status,
                "created_at": conversation.created_at.isoformat(),
                "assigned_to": selectors.agent_name(agent) if agent else "",
                "tags": [tag.pk for tag in conversation.tags.all()],  # type: ignore[attr-defined]
                "match": None
                if message is None
                else {
                    "seq": message.seq,
                    "role": message.role,
                    "text": snippet(message.text, words),
                    "created_at": message.created_at.isoformat(),
                },
            }
        )
    return results
