"""Admin edits and deletes bump the help-centre version; imports bump it once per batch."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from helpcentre.models import Article
from helpcentre.versioning import help_centre_version_bump


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def article_changed(sender: type[Article], **kwargs: Any) -> None:
    help_centre_version_bump()
