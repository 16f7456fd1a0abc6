"""Tag every closed conversation not tagged yet with its contact reasons, batch by batch (as beat does)."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandParser

from conversations.contact_reasons import BATCH_SIZE, reasons_tag_all
from conversations.models import ConversationReason, ReasonTagging


class Command(BaseCommand):
    help = "Tag closed conversations with contact reasons: one model call per batch, or offline without a model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: object, **options: object) -> None:
        delivery = f"command-{uuid.uuid4().hex[:12]}"
        batches, tagged = reasons_tag_all(delivery=delivery, batch_size=int(options["batch_size"]))  # type: ignore[call-overload]
        by_engine = {
            engine: ReasonTagging.objects.filter(claimed_by=delivery, engine=engine).count()
            for engine in ("model", "offline")
        }
        tags = ConversationReason.objects.filter(
            conversation__reason_tagging__claimed_by=delivery, source=ConversationReason.Source.BATCH
        ).count()
        self.stdout.write(
            f"tagged {tagged} conversations in {batches} batches ({by_engine['model']} by the model, "
            f"{by_engine['offline']} offline) with {tags} contact reasons"
        )
