from __future__ import annotations

from django.urls import include, path

from conversations import attachment_views, views, widget_i18n

urlpatterns = [
    path("", views.demo_shop, name="demo-shop"),
    path("api/widget/session", views.widget_session, name="widget-session"),
    path("api/widget/i18n", widget_i18n.widget_catalogue, name="widget-catalogue"),
    path("api/widget/attachments", attachment_views.attachment_upload, name="attachment-upload"),
    path("api/widget/attachments/<str:public_id>", attachment_views.attachment_download, name="attachment-download"),
    path("api/v1/", include("conversations.api.urls")),
]
