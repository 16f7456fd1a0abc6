"""The API's views: each reads through a queryset here or acts through a service of ``conversations.handoff``.

Every view names the scope each method needs (``required_scopes``); a token acts as its staff
user, so writes follow the console's rules (only the agent who has the conversation may write
to it or close it).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations import handoff, services
from conversations.api import serializers
from conversations.api.permissions import Scope, token_has_scope
from conversations.models import Conversation, Message, Rating
from routing.models import LedgerEntry


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class InSeqOrder(CursorPagination):
    ordering = ("seq",)
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


def _since(request: Request, name: str) -> Any:
    """A ``?name=<ISO 8601 time>`` filter, or None; a malformed time is a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # a "+" in a query string arrives as a space
    except ValueError:  # well formed, but no such time: 2026-02-31, 25:00, an offset past 24 h
        moment = None
    if moment is None:
        raise ValidationError({name: "Give a time in ISO 8601, e.g. 2026-11-25T14:00:00Z."})
    return moment


def _conversation(public_id: str) -> Conversation:
    return get_object_or_404(Conversation, public_id=public_id)


def staff_only_messages() -> Q:
    """Messages only staff may see: the one place the API filters them.

    Nothing is staff-only yet; internal notes will be, and this is where they are matched. Tokens
    without ``notes:read`` never get what this matches.
    """
    return Q(pk__in=[])


def conversation_messages(*, conversation: Conversation, include_staff_only: bool) -> QuerySet[Message]:
    messages = Message.objects.filter(conversation=conversation)
    return messages if include_staff_only else messages.exclude(staff_only_messages())


TIME_FILTERS = [
    OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="Only those created at or after."),
]


@extend_schema_view(
    get=extend_schema(
        summary="List conversations, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=Conversation.Status.values),
            OpenApiParameter("customer", str, description="The shop's user id of a verified customer."),
            OpenApiParameter("updated_after", OpenApiTypes.DATETIME, description="Only those changed since."),
            *TIME_FILTERS,
        ],
    )
)
class ConversationList(generics.ListAPIView):
    serializer_class = serializers.ConversationSerializer
    pagination_class = NewestFirst
    required_scopes = {"GET": Scope.CONVERSATIONS_READ}

    def get_queryset(self) -> QuerySet[Conversation]:
        conversations = Conversation.objects.select_related("customer", "assigned_agent")
        params = self.request.query_params
        if status_wanted := params.get("status"):
            if status_wanted not in Conversation.Status.values:
                raise ValidationError({"status": f"One of: {', '.join(Conversation.Status.values)}."})
            conversations = conversations.filter(status=status_wanted)
        if params.get("customer"):
            conversations = conversations.filter(customer__external_id=params["customer"])
        if (created_after := _since(self.request, "created_after")) is not None:
            conversations = conversations.filter(created_at__gte=created_after)
        if (updated_after := _since(self.request, "updated_after")) is not None:
            conversations = conversations.filter(updated_at__gte=updated_after)
        return conversations


@extend_schema_view(get=extend_schema(summary="One conversation"))
class ConversationDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ConversationSerializer
    required_scopes = {"GET": Scope.CONVERSATIONS_READ}
    lookup_field = "public_id"
    lookup_url_kwarg = "conversation"
    queryset = Conversation.objects.select_related("customer", "assigned_agent")


@extend_schema_view(
    get=extend_schema(
        summary="A conversation's messages in order",
        description="Internal notes are included only for tokens with the notes:read scope.",
        parameters=[OpenApiParameter("after_seq", int, description="Only messages after this seq.")],
    ),
    post=extend_schema(
        summary="Post an agent message",
        description=(
            "Writes to the customer as the token's agent. The conversation must be with that agent "
            "(claimed in the console), as for a reply typed in the console. Posting the same message with "
            "the same client_id again returns the stored message with 200; a different text under a used "
            "client_id is a 409 client_id_used, and nothing is stored."
        ),
        request=serializers.AgentMessageSerializer,
        responses={
            201: serializers.MessageSerializer,
            200: serializers.MessageSerializer,
            409: OpenApiResponse(
                serializers.ErrorSerializer, description="not_yours, illegal_transition or client_id_used"
            ),
        },
    ),
)
class ConversationMessages(generics.ListCreateAPIView):
    serializer_class = serializers.MessageSerializer
    pagination_class = InSeqOrder
    required_scopes = {"GET": Scope.MESSAGES_READ, "POST": Scope.MESSAGES_WRITE}

    def get_queryset(self) -> QuerySet[Message]:
        conversation = _conversation(self.kwargs["conversation"])
        messages = conversation_messages(
            conversation=conversation, include_staff_only=token_has_scope(self.request, Scope.NOTES_READ)
        )
        after_seq = self.request.query_params.get("after_seq")
        if after_seq:
            if not after_seq.isdigit():
                raise ValidationError({"after_seq": "A non-negative whole number."})
            messages = messages.filter(seq__gt=int(after_seq))
        return messages

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = _conversation(self.kwargs["conversation"])
        posted = serializers.AgentMessageSerializer(data=request.data)
        posted.is_valid(raise_exception=True)
        try:
            message, created = handoff.agent_reply(
                conversation_id=conversation.pk,
                agent_id=request.user.pk,
                text=posted.validated_data["text"],
                client_id=posted.validated_data["client_id"],
            )
        except handoff.NotYourConversation:
            return _conflict("not_yours", "Another agent has this conversation.")
        except handoff.IllegalTransition as refused:
            return _conflict(
                "illegal_transition", f"The conversation is {refused.current}: claim it in the console first."
            )
        except services.ClientIdUsed:
            return _conflict("client_id_used", "Another message was posted with this client_id; use a new one.")
        body = serializers.MessageSerializer(message).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _conflict(code: str, detail: str) -> Response:
    return Response({"code": code, "detail": detail}, status=status.HTTP_409_CONFLICT)


class ConversationClose(APIView):
    required_scopes = {"POST": Scope.CONVERSATIONS_WRITE}

    @extend_schema(
        summary="Close a conversation",
        description="As the token's agent, who must have the conversation; the customer is asked for a rating.",
        request=None,
        responses={
            200: serializers.ConversationSerializer,
            409: OpenApiResponse(serializers.ErrorSerializer, description="not_yours or illegal_transition"),
        },
    )
    def post(self, request: Request, conversation: str) -> Response:
        found = _conversation(conversation)
        try:
            handoff.conversation_close(conversation_id=found.pk, agent_id=request.user.pk)
        except handoff.NotYourConversation:
            return _conflict("not_yours", "Another agent has this conversation.")
        except handoff.IllegalTransition as refused:
            return _conflict(
                "illegal_transition", f"The conversation is {refused.current}; only a chat with you closes."
            )
        found = Conversation.objects.select_related("customer", "assigned_agent").get(pk=found.pk)
        return Response(serializers.ConversationSerializer(found).data)


@extend_schema_view(get=extend_schema(summary="A conversation's rating", responses={200: serializers.RatingSerializer}))
class ConversationRating(generics.RetrieveAPIView):
    serializer_class = serializers.RatingSerializer
    required_scopes = {"GET": Scope.RATINGS_READ}

    def get_object(self) -> Rating:
        return get_object_or_404(
            Rating.objects.select_related("conversation"), conversation__public_id=self.kwargs["conversation"]
        )


@extend_schema_view(get=extend_schema(summary="List ratings, newest first", parameters=TIME_FILTERS))
class RatingList(generics.ListAPIView):
    serializer_class = serializers.RatingSerializer
    pagination_class = NewestFirst
    required_scopes = {"GET": Scope.RATINGS_READ}

    def get_queryset(self) -> QuerySet[Rating]:
        ratings = Rating.objects.select_related("conversation")
        if (created_after := _since(self.request, "created_after")) is not None:
            ratings = ratings.filter(created_at__gte=created_after)
        return ratings


def _ledger() -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.select_related("conversation", "message")


@extend_schema_view(get=extend_schema(summary="A conversation's ledger: every model call and its price"))
class ConversationLedger(generics.ListAPIView):
    serializer_class = serializers.LedgerEntrySerializer
    pagination_class = NewestFirst
    required_scopes = {"GET": Scope.LEDGER_READ}

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return _ledger().filter(conversation=_conversation(self.kwargs["conversation"]))


@extend_schema_view(get=extend_schema(summary="The cost ledger, newest first", parameters=TIME_FILTERS))
class LedgerList(generics.ListAPIView):
    serializer_class = serializers.LedgerEntrySerializer
    pagination_class = NewestFirst
    required_scopes = {"GET": Scope.LEDGER_READ}

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        entries = _ledger()
        if (created_after := _since(self.request, "created_after")) is not None:
            entries = entries.filter(created_at__gte=created_after)
        return entries
