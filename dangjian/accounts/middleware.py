"""The one place where a web or API request gets its actor, origin and scope."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from dangjian.core.context import origin
from dangjian.core.errors import PermissionDenied
from dangjian.core.middleware import client_ip
from dangjian.core.scoping import Scope, scope

from . import policy
from .models import ApiToken


def scope_for_user(user) -> Scope:
    """What a user may see: the subtrees of their worker grants, the directory, and their own record."""
    if not getattr(user, "is_authenticated", False):
        return Scope()
    subtrees = tuple(user.capability_paths("member.view"))
    directory = subtrees + (("",) if user.has_capability("org.directory") else ())
    member_id = None
    member = user.member_or_none
    if member is not None:
        member_id = member.pk
        if member.org_path:  # a member who left the roster has none: their own rows only
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


class LoginStepRequired(PermissionDenied):
    code = "login_step_required"


STEP_PAGES = {
    policy.PASSWORD_INITIAL: ("accounts:password_change", "首次登录请先修改密码。"),
    policy.PASSWORD_EXPIRED: ("accounts:password_change", "密码已过期，请先修改密码。"),
    policy.PRIVACY_CONSENT: ("accounts:consent", "请先阅读并同意《个人信息保护政策》。"),
    policy.TOTP_ENROL: ("accounts:totp_enrol", "请先绑定双因素认证（认证器应用）。"),
}


class LoginPolicyMiddleware:
    """Keeps a logged-in user on the page of a step they owe (first-login or expired password, consent to the
    privacy notice, second-factor enrolment): only that page, logout and static files answer; a session API call gets 403 in the error
    shape. Requests with an API token are not concerned (the token is the client's credential)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if getattr(request, "api_token", None) is None and user.is_authenticated:
            step = policy.pending_step(user)
            if step is not None:
                page, message = STEP_PAGES[step]
                allowed = {reverse(page), reverse("accounts:logout")}
                if request.path not in allowed and not request.path.startswith(settings.STATIC_URL):
                    if request.path.startswith("/api/"):
                        error = LoginStepRequired(f"{message}请在网页上完成后再调用接口。")
                        return JsonResponse(error.as_dict(), status=error.status)
                    return redirect(page)
        return self.get_response(request)


RENEWED_AT = "_renewed_at"


class SessionRenewalMiddleware:
    """The idle timeout without a database write per request: a logged-in session whose last renewal is
    older than DANGJIAN_SESSION_RENEW_SECONDS is marked modified, so SessionMiddleware saves it with a
    fresh SESSION_COOKIE_AGE. Idle sessions therefore end 30 minutes (less at most one renewal interval)
    after the last activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated and session.session_key:
            now = int(time.time())
            if now - session.get(RENEWED_AT, 0) >= settings.DANGJIAN_SESSION_RENEW_SECONDS:
                session[RENEWED_AT] = now
        return response
