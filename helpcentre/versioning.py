from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F

from helpcentre.models import HelpCentreVersion

VERSION_ROW_ID = 1


def help_centre_version() -> str:
    """The current help-centre version, e.g. ``"12-3f9c…"``; caches of answers and indexes key on it."""
    row = HelpCentreVersion.objects.filter(pk=VERSION_ROW_ID).values_list("number", "token").first()
    return f"{row[0]}-{row[1]}" if row else "0"


def help_centre_version_bump() -> None:
    """Record that articles changed. Runs inside the caller's transaction, so a rolled-back
    import leaves the version as it was."""
    with transaction.atomic():
        token = uuid.uuid4().hex
        if not HelpCentreVersion.objects.filter(pk=VERSION_ROW_ID).update(number=F("number") + 1, token=token):
            HelpCentreVersion.objects.get_or_create(pk=VERSION_ROW_ID, defaults={"number": 1, "token": token})
