"""The agent console page and its sign-in: Django auth, staff only, CSRF-checked forms."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from conversations import assignment, selectors
from conversations.console import selectors as console_selectors


@login_required(login_url="console-login")
def console_home(request: HttpRequest) -> HttpResponse:
    """The console shell; everything live arrives over its websocket."""
    if not request.user.is_staff:
        raise PermissionDenied("The agent console is for support staff.")
    assignment.agent_profile_for(agent_id=request.user.pk)
    context = {
        "agent_name": selectors.agent_name(request.user),
        "canned_responses": console_selectors.canned_responses(),
        "labels": {"tags": console_selectors.tag_choices(), "reasons": console_selectors.contact_reason_choices()},
        "max_message_chars": settings.SUPPORTBOT_MAX_MESSAGE_CHARS,
    }
    return render(request, "console/index.html", context)


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console-login"
