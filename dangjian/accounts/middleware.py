"""The one place where a web or API request gets its actor, origin and scope."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from dangjian.core.context import origin
from dangjian.core.middleware import client_ip
from dangjian.core.scoping import Scope, scope

from .models import ApiToken


def scope_for_user(user) -> Scope:
    """What a user may see: the subtrees of their worker grants, the directory, and their own record."""
    if not getattr(user, "is_authenticated", False):
        return Scope()
    subtrees = tuple(user.capability_paths("member.view"))
    directory = subtrees + (("",) if user.has_capability("org.directory") else ())
    member_id = None
    try:
        member = user.member
    except ObjectDoesNotExist:
        member = None
    if member is not None:
        member_id = member.pk
        directory += (member.org_path,)
    return Scope(subtrees=subtrees, directory=directory, member_id=member_id)


class ApiTokenMiddleware:
    """`Authorization: Bearer <token>` on /api/ authenticates a client; cookies play no part, so no CSRF."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        request.api_token = None
        if request.path.startswith("/api/") and header.startswith("Bearer "):
            request.user = AnonymousUser()
            token = (
                ApiToken.objects.select_related("user")
                .filter(digest=ApiToken.digest_of(header[7:].strip()), revoked_at__isnull=True, user__is_active=True)
                .first()
            )
            if token is not None:
                request.user = token.user
                request.api_token = token
                request._dont_enforce_csrf_checks = True
                now = timezone.now()
                if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 3600:
                    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return self.get_response(request)


class ScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        source = "api" if request.path.startswith("/api/") else "web"
        with origin(source, client_ip(request)), scope(scope_for_user(request.user)):
            return self.get_response(request)
