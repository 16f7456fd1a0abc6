"""Customer satisfaction: the customer's own 1-5 rating, and an estimate for every conversation.

Most customers never answer a survey, so each conversation also gets an estimate from its own
signals. The estimate never looks at the rating: the dashboard compares the two to show how far
the estimate can be trusted.

When may a customer rate? Once per conversation, and only when there is an outcome to rate:
the conversation is closed, or we asked (a ``rating_requested`` event), or it is still with the
bot and the bot has answered (the customer considers it resolved). Never while a person is
being found or is talking to them, since the outcome is not known yet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from conversations.events import ConversationEvent, conversation_event_send
from conversations.models import Conversation, Message, Rating
from conversations.services import customer_text, message_record
from routing import selectors as routing_selectors

RATING_COMMENT_MAX_CHARS = 2000
RATED_TEXT = gettext_noop("Thank you for your feedback.")
# A conversation quiet for this long is over, whether or not anyone closed it.
IDLE_AFTER = timedelta(minutes=30)

THANKS = re.compile(
    r"\b(thanks|thank you|thx|ty|tysm|cheers|appreciated?|that helped|that helps|helpful|perfect|brilliant|"
    r"sorted|solved|works now|working now|great)\b",
    re.IGNORECASE,
)


class RatingRefused(Exception):
    """A rating that cannot be stored; ``code`` is the error frame's code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Ratings --------------------------------------------------------------------------------


def rating_open(*, conversation: Conversation) -> bool:
    """Whether the customer may rate now (see the module docstring)."""
    if conversation.status == Conversation.Status.CLOSED:
        return True
    events = Message.objects.filter(conversation=conversation)
    if events.filter(kind="event", data__event="rating_requested").exists():
        return True
    return conversation.status == Conversation.Status.BOT and events.filter(role=Message.Role.ASSISTANT).exists()


def rating_record(*, conversation_id: int, score: object, comment: object = "") -> Rating:
    """Store the customer's rating once and tell every open widget; raises RatingRefused."""
    score, comment = _rating_validate(score=score, comment=comment)
    try:
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            if Rating.objects.filter(conversation=conversation).exists():
                raise RatingRefused("already_rated", "This conversation has already been rated.")
            if not rating_open(conversation=conversation):
                raise RatingRefused("rating_not_open", "A conversation can be rated once it is resolved or closed.")
            rating = Rating.objects.create(conversation=conversation, score=score, comment=comment)
            message_record(
                conversation_id=conversation_id,
                role=Message.Role.SYSTEM,
                kind="event",
                text=customer_text(conversation_id=conversation_id, text=RATED_TEXT),
                data={"event": "rated", "score": score},
            )
            conversation_event_send(
                event=ConversationEvent.RATED,
                conversation_id=conversation_id,
                rating={"score": score, "comment": comment},
            )
    except IntegrityError as error:
        # Two sockets rated at the same moment; the one-to-one constraint let only one in.
        raise RatingRefused("already_rated", "This conversation has already been rated.") from error
    return rating


def _rating_validate(*, score: object, comment: object) -> tuple[int, str]:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise RatingRefused("bad_rating", "score must be a whole number from 1 to 5.")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > RATING_COMMENT_MAX_CHARS:
        raise RatingRefused("bad_rating", f"comment must be text of at most {RATING_COMMENT_MAX_CHARS} characters.")
    return score, comment.strip()


# --- The satisfaction estimate -----------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptLine:
    role: str
    kind: str
    text: str
    event: str = ""


@dataclass(frozen=True)
class SatisfactionSignals:
    answered: bool  # the bot or an agent replied at least once
    handed_off: bool
    repeated_questions: int
    not_helped: int
    frustrated: bool
    thanked: bool
    abandoned: bool  # over, with the customer's last word unanswered (or no agent ever came)

    @property
    def resolved_without_handoff(self) -> bool:
        return self.answered and not self.handed_off and not self.abandoned and not self.not_helped


# Points on a 1-5 scale. A neutral conversation the bot answered lands at 4: most are fine.
ESTIMATE_BASE = Decimal("3.5")
ESTIMATE_RESOLVED = Decimal("0.5")
ESTIMATE_THANKED = Decimal("1.0")
ESTIMATE_NOT_HELPED = Decimal("-0.75")  # per message, at most two
ESTIMATE_REPEATED = Decimal("-0.5")  # per repeat, at most two
ESTIMATE_FRUSTRATED = Decimal("-1.0")
ESTIMATE_HANDED_OFF = Decimal("-0.25")
ESTIMATE_ABANDONED = Decimal("-1.0")


def satisfaction_signals(*, lines: Sequence[TranscriptLine], finished: bool) -> SatisfactionSignals:
    """Read the signals off a transcript; ``finished`` means closed or idle, so silence counts."""
    customer_texts: list[str] = []
    answered = handed_off = frustrated = thanked = agent_replied = False
    repeated = not_helped = 0
    for line in lines:
        if line.event == "handoff_requested":
            handed_off = True
        elif line.role in ("assistant", "agent") and line.kind == "text":
            answered = True
            agent_replied = agent_replied or line.role == "agent"
        elif line.role == "customer":
            unhappy = routing_selectors.text_not_helped(line.text) and bool(customer_texts)
            repeated += routing_selectors.text_repeats(line.text, earlier=customer_texts)
            not_helped += unhappy
            frustrated = frustrated or routing_selectors.text_frustrated(line.text)
            thanked = thanked or (answered and not unhappy and bool(THANKS.search(line.text)))
            customer_texts.append(line.text)
    return SatisfactionSignals(
        answered=answered,
        handed_off=handed_off,
        repeated_questions=repeated,
        not_helped=not_helped,
        frustrated=frustrated,
        thanked=thanked,
        abandoned=finished and (_left_unanswered(lines) or (handed_off and not agent_replied)),
    )


def _left_unanswered(lines: Sequence[TranscriptLine]) -> bool:
    """The customer had the last word, and it was not a goodbye ("thanks!", "ok bye")."""
    spoken = [line for line in lines if line.kind == "text"]
    if not spoken or spoken[-1].role != "customer":
        return False
    last = spoken[-1].text
    return not (THANKS.search(last) or routing_selectors.text_is_small_talk(last))


def satisfaction_score(*, found: SatisfactionSignals) -> Decimal:
    """The estimate on the rating's own 1-5 scale, two decimals."""
    score = ESTIMATE_BASE
    score += ESTIMATE_RESOLVED if found.resolved_without_handoff else 0
    score += ESTIMATE_THANKED if found.thanked else 0
    score += ESTIMATE_NOT_HELPED * min(found.not_helped, 2)
    score += ESTIMATE_REPEATED * min(found.repeated_questions, 2)
    score += ESTIMATE_FRUSTRATED if found.frustrated else 0
    score += ESTIMATE_HANDED_OFF if found.handed_off else 0
    score += ESTIMATE_ABANDONED if found.abandoned else 0
    return min(max(score, Decimal(1)), Decimal(5)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def satisfaction_estimate_update(*, conversation_id: int) -> Decimal | None:
    """Recompute and store ``Conversation.satisfaction_estimate``; None while the customer has said nothing.

    Cheap (one read of the transcript); call it after an answer is saved or a conversation
    closes, never while tokens stream.
    """
    conversation = Conversation.objects.get(pk=conversation_id)
    rows = list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("role", "kind", "text", "data", "created_at")
    )
    lines = [
        TranscriptLine(role=role, kind=kind, text=text, event=(data or {}).get("event", ""))
        for role, kind, text, data, _ in rows
    ]
    if not any(line.role == "customer" for line in lines):
        return None
    last_activity = rows[-1][4]
    finished = conversation.status == Conversation.Status.CLOSED or timezone.now() - last_activity > IDLE_AFTER
    estimate = satisfaction_score(found=satisfaction_signals(lines=lines, finished=finished))
    Conversation.objects.filter(pk=conversation_id).update(satisfaction_estimate=estimate)
    return estimate


def satisfaction_estimates_refresh(*, since: datetime) -> int:
    """Re-estimate every conversation with activity since ``since``; returns how many were estimated.

    Closing and going idle change an estimate without any new answer (silence becomes
    abandonment), so run this periodically with ``since`` = the previous run minus ``IDLE_AFTER``.
    """
    active = Message.objects.filter(created_at__gte=since).values("conversation_id")
    changed = Conversation.objects.filter(Q(pk__in=active) | Q(closed_at__gte=since)).values_list("pk", flat=True)
    return sum(satisfaction_estimate_update(conversation_id=pk) is not None for pk in changed.iterator())
