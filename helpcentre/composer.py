"""The offline answer engine's reply: the relevant part of the best article, with its citation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from helpcentre.retrieval import Citation, Passage, confidence_threshold, search_articles

NOT_SURE_TEXT = (
    "I'm not sure I can answer that from our help centre. "
    "Would you like me to connect you with a person, or could you rephrase your question?"
)


@dataclass(frozen=True)
class ComposedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    confident: bool = False
    top_key: str | None = None
    score: float = 0.0


def _best(question: str, history: Sequence[str]) -> Passage | None:
    passages = search_articles(question, limit=1)
    best = passages[0] if passages else None
    if (best is None or best.score < confidence_threshold()) and history:
        # A short follow-up ("and for custom sizes?") often only makes sense with the previous question.
        follow_up = search_articles(f"{history[-1]} {question}", limit=1)
        if follow_up and (best is None or follow_up[0].score > best.score):
            best = follow_up[0]
    return best


def compose_answer(question: str, *, history: Sequence[str] = ()) -> ComposedAnswer:
    """Answer ``question`` from the help centre, or say honestly that it cannot.

    ``history`` holds the customer's earlier messages in this conversation, oldest first.
    """
    best = _best(question, history)
    if best is None or best.score < confidence_threshold() or not best.text:
        return ComposedAnswer(
            text=NOT_SURE_TEXT, confident=False, top_key=best.key if best else None, score=best.score if best else 0.0
        )
    text = f"{best.text}\n\nRead more: {best.title} ({best.url})"
    return ComposedAnswer(
        text=text,
        citations=[Citation(key=best.key, title=best.title, url=best.url)],
        confident=True,
        top_key=best.key,
        score=best.score,
    )
