"""``manage.py api_token_create --user sam --name "CRM sync" --scope conversations:read``: a REST API token.

The token is printed once, here; only its hash is stored. Tokens can also be made (and revoked)
in the admin, under "API tokens".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.api.tokens import SCOPES, UnknownScope, api_token_create, api_token_user_id


class Command(BaseCommand):
    help = "Make a REST API token that acts as a staff user, and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="User name of the staff account the token acts as.")
        parser.add_argument("--name", required=True, help="What uses the token, e.g. 'CRM sync'.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            required=True,
            help=f"A scope to grant (repeat for more): {', '.join(sorted(SCOPES))}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user_id = api_token_user_id(username=options["user"])
            token, raw = api_token_create(user_id=user_id, name=options["name"], scopes=options["scopes"])
        except (LookupError, UnknownScope) as refused:
            raise CommandError(str(refused)) from None
        self.stderr.write(f"API token {token.name!r} for {options['user']} ({', '.join(token.scopes)}).")
        self.stderr.write("Copy it now: it is not stored and will not be shown again.")
        self.stdout.write(raw)
