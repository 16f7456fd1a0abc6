"""Scopes: each view names the scope each method needs, and a token has a list of them."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from conversations.models import ApiToken

Scope = ApiToken.Scope


def token_has_scope(request: Request, scope: str) -> bool:
    return isinstance(request.auth, ApiToken) and scope in request.auth.scopes


class TokenScopes(BasePermission):
    """Allows a request whose token has the scope ``view.required_scopes[method]`` (HEAD as GET)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiToken):
            return False  # 401 through the authenticator's header
        method = "GET" if request.method == "HEAD" else request.method
        needed = getattr(view, "required_scopes", {}).get(method)
        if needed is None:
            return False
        if not token_has_scope(request, needed):
            raise PermissionDenied(f"This token does not have the '{str(needed)}' scope.")
        return True
