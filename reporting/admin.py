"""Reporting in the admin: the dashboard link on the index, and the fine-tuning export of conversations.

The conversation admin itself belongs to ``conversations``; reporting extends it with the export
action, since the export is a reading of conversations for another purpose.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from conversations.admin import ConversationAdmin
from conversations.models import Conversation
from reporting.finetune import finetune_export

# The admin index shows the dashboard link and today's budget alerts above the app list.
admin.site.index_template = "admin/dashboard_index.html"


class ReportingConversationAdmin(ConversationAdmin):
    actions = ("export_for_fine_tuning",)

    @admin.action(description="Export selected for fine-tuning (JSONL: good and resolved only, PII redacted)")
    def export_for_fine_tuning(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        # Thresholds and date ranges: manage.py export_finetune; here the defaults apply to the selection.
        out = io.StringIO()
        result = finetune_export(
            out=out, shop=settings.SUPPORTBOT_SHOP_NAME, conversation_ids=list(queryset.values_list("pk", flat=True))
        )
        response = HttpResponse(out.getvalue(), content_type="application/jsonl; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="fine-tuning.jsonl"'
        response["X-Exported-Conversations"] = str(result.written)
        return response


admin.site.unregister(Conversation)
admin.site.register(Conversation, ReportingConversationAdmin)
