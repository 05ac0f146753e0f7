"""Turn domain errors that escape a view into a clear Chinese answer, never a stack trace; and the content
security policy every response carries."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from .errors import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(exception.as_dict(), status=exception.status)
        return render(request, "web/error.html", {"error": exception}, status=exception.status)


def client_ip(request) -> str | None:
    """The caller's address. Behind the proxy, nginx sets X-Real-IP (docs/deploy.md); never trust X-Forwarded-For."""
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR")


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every response (DOMAIN-RULES §7.1 入侵防范): scripts only from the platform
    itself, never inline (pages use data- attributes handled by web/site.js), so an injected <script> or
    onclick= does nothing; frames, plugins and foreign form targets refused. Styles may be inline (style=
    attributes carry no code). Set in settings.DANGJIAN_CSP."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = "; ".join(f"{k} {v}".strip() for k, v in settings.DANGJIAN_CSP.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response
