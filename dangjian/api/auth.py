"""Who is calling: a client with a token, or a browser with a session.

The token itself is checked once, by `accounts.middleware.ApiTokenMiddleware` (it must run before the
scope middleware, which needs the user). These classes only accept what the middleware found, and add
the CSRF check a cookie-authenticated browser needs. Two classes rather than one so the OpenAPI document
shows both security schemes.
"""

from django.conf import settings
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from .errors import CsrfFailed


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. A wrong token leaves the user anonymous, so this answers None → 401."""

    def authenticate(self, request, token):
        return request.user if getattr(request, "api_token", None) is not None else None


class SessionAuth(APIKeyCookie):
    """The Django session cookie, with Django's own CSRF check on unsafe methods (as CsrfViewMiddleware).

    ninja marks its views csrf_exempt, so the check the middleware would have made is made here, and
    only for a caller who is actually logged in: an anonymous request gets 401, not a CSRF error.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request):
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:  # None for safe methods and for a valid token
            raise CsrfFailed()
        return request.user


# Token first: a client sending a valid token never needs a CSRF token, even with a stale cookie.
API_AUTH = [TokenAuth(), SessionAuth()]
