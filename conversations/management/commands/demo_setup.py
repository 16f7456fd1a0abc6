"""Idempotent demo set-up for ``make run``: demo accounts, the demo help centre and a demo month."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_ACCOUNTS = (
    # username, password, first name, superuser
    ("admin", "supportbot-admin", "Alex", True),
    ("sam", "supportbot-agent", "Sam", False),
)


class Command(BaseCommand):
    help = "Create the demo admin and agent accounts and load the demo help centre (safe to run again)."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        for username, password, first_name, superuser in DEMO_ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first_name, "is_staff": True, "is_superuser": superuser}
            )
            if created:
                user.set_password(password)
                user.save()
            self.stdout.write(f"{'created' if created else 'kept'} demo account {username}")
        call_command("load_demo_helpcentre", stdout=self.stdout)
        # A month of history so the admin dashboard has charts at once (kept if already there).
        call_command("generate_demo_month", stdout=self.stdout)
