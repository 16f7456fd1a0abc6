"""The offline answer engine: answers from the help centre with no model and no network.

It streams word by word through the same gateway interface as any model, so the widget,
the ledger and the tests treat it exactly like a remote tier; it costs nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async

from helpcentre.selectors import answer_compose
from routing.providers.base import ChatRequest, ProviderError, StreamEnd, TextDelta, Usage
from routing.tiers import TierConfig
from routing.tokens import input_tokens_estimate, text_tokens_estimate

_WORDS = re.compile(r"\S+\s*")


def _last_user_text(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # multimodal parts: keep the text ones
                return " ".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


class OfflineProvider:
    name = "offline"
    billable = False

    def __init__(self, *, word_delay_s: float = 0.0):
        self.word_delay_s = word_delay_s

    async def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | StreamEnd]:
        question = _last_user_text(request)
        if not question.strip():
            raise ProviderError("offline engine got no question", retryable=False)
        # The conversation as turns (with the articles answers cited), else the customer's earlier messages.
        history: list[Any] = list(request.conversation) or [
            str(m.get("content", "")) for m in request.messages[1:-1] if m.get("role") == "user"
        ]
        composed = await database_sync_to_async(answer_compose)(
            question=question, history=history, language=request.language
        )
        output_tokens = 0
        for word in _WORDS.findall(composed.text):
            output_tokens += text_tokens_estimate(word)
            yield TextDelta(word)
            if self.word_delay_s:
                await asyncio.sleep(self.word_delay_s)
        yield StreamEnd(
            usage=Usage(
                input_tokens=input_tokens_estimate(messages=request.messages),
                cached_input_tokens=0,
                output_tokens=output_tokens,
                estimated=True,
            ),
            finish_reason="stop",
            citations=tuple(composed.citations),
            abstained=not composed.confident,
        )
