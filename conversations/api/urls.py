"""``/api/v1/``: the REST API and its OpenAPI schema."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from conversations.api import views

urlpatterns = [
    path("conversations/", views.ConversationList.as_view(), name="api-conversations"),
    path("conversations/<str:conversation>/", views.ConversationDetail.as_view(), name="api-conversation"),
    path("conversations/<str:conversation>/messages/", views.ConversationMessages.as_view(), name="api-messages"),
    path("conversations/<str:conversation>/close/", views.ConversationClose.as_view(), name="api-close"),
    path("conversations/<str:conversation>/rating/", views.ConversationRating.as_view(), name="api-rating"),
    path("conversations/<str:conversation>/ledger/", views.ConversationLedger.as_view(), name="api-ledger"),
    path("ratings/", views.RatingList.as_view(), name="api-ratings"),
    path("ledger/", views.LedgerList.as_view(), name="api-ledger-list"),
    # Public: the schema describes the API, it holds no data.
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny], throttle_classes=[]),
        name="api-schema",
    ),
]
