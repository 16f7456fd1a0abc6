from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from helpcentre.services import demo_helpcentre_load


class Command(BaseCommand):
    help = "Create or update the demo help centre (Lullmoor Sleep Co.). Safe to run repeatedly."

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo_helpcentre_load()
        self.stdout.write(
            f"Demo help centre: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
        )
