"""Turn domain errors that escape a view into a clear Chinese answer, never a stack trace; and the content
security policy every response carries."""

import time

from django.conf import settings
from django.core.cache import cache
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


class PublicRateLimitMiddleware:
    """Requests from nobody signed in (the public directory and map, the GeoJSON, the login page, API calls
    without a token) are limited per address and minute: 429 with a Chinese page or the API's error shape
    (DOMAIN-RULES §7.1: rate limits on every public endpoint). Counted in the cache: per process with the
    default local cache, shared by every server with Redis (REDIS_URL). Static files and /healthz are free."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DANGJIAN_PUBLIC_RATE_PER_MINUTE
        user = getattr(request, "user", None)
        if limit and not (user is not None and user.is_authenticated) and not self._free(request.path):
            key = f"public-rate:{client_ip(request)}:{int(time.time() // 60)}"
            cache.add(key, 0, timeout=90)
            if cache.incr(key) > limit:
                return self._refuse(request, limit)
        return self.get_response(request)

    @staticmethod
    def _free(path: str) -> bool:
        return path.startswith(settings.STATIC_URL) or path == "/healthz"

    @staticmethod
    def _refuse(request, limit):
        message = f"来自您所在地址的请求过多（每分钟最多 {limit} 次），请稍等一分钟后再试。"
        if request.path.startswith("/api/"):
            response = JsonResponse({"code": "rate_limited", "message": message, "fields": {}}, status=429)
        else:
            response = render(request, "web/error.html", {"error": {"message": message}}, status=429)
        response["Retry-After"] = "60"
        return response
