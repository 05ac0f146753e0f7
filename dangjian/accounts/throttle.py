"""Login lockout and rate limit, counted in the database so that every app server sees the same numbers.

- Lockout: DANGJIAN_LOGIN_MAX_FAILURES failed logins (a wrong password or a wrong second-factor code)
  within DANGJIAN_LOGIN_LOCKOUT_MINUTES lock the account name **and**, separately, the source address for
  DANGJIAN_LOGIN_LOCKOUT_MINUTES from the failure that reached the limit. Unknown account names are
  counted and locked exactly like real ones, so the answer never tells whether an account exists.
  Attempts refused during a lock are not counted (the lock is not extended). A successful login clears
  the account's counter; the address counter runs out on its own (one good password must not reset an
  address that is trying many accounts).
- Rate limit: at most DANGJIAN_LOGIN_RATE_PER_MINUTE login POSTs per address in a fixed one-minute window.

Each (scope, key) is one `LoginThrottle` row, changed under `select_for_update`, so concurrent requests on
several servers cannot both slip under the limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import LoginThrottle

Scope = LoginThrottle.Scope
RATE_WINDOW = dt.timedelta(minutes=1)


def account_key(username: str) -> str:
    """The username as Django's login form would use it (stripped, NFKC), cut to the column size."""
    return unicodedata.normalize("NFKC", (username or "").strip())[:150]


def address_key(ip: str | None) -> str:
    return (ip or "unknown")[:190]


def _lockout() -> dt.timedelta:
    return dt.timedelta(minutes=settings.DANGJIAN_LOGIN_LOCKOUT_MINUTES)


def is_locked(*, username: str, ip: str | None) -> bool:
    now = timezone.now()
    which = Q(scope=Scope.ACCOUNT, key=account_key(username)) | Q(scope=Scope.ADDRESS, key=address_key(ip))
    return LoginThrottle.objects.filter(which, locked_until__gt=now).exists()


@dataclasses.dataclass(frozen=True)
class Lock:
    scope: str
    key: str
    until: dt.datetime


@transaction.atomic
def record_failure(*, username: str, ip: str | None) -> list[Lock]:
    """Count one failed login against the account and the address; return the locks it started."""
    now = timezone.now()
    window = _lockout()
    started = []
    for scope, key in ((Scope.ACCOUNT, account_key(username)), (Scope.ADDRESS, address_key(ip))):
        row, _ = LoginThrottle.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"count": 0, "window_started_at": now})
        if row.locked_until is not None and row.locked_until > now:
            continue  # already locked: not counted, not extended
        if row.locked_until is not None or row.window_started_at <= now - window:
            row.count, row.window_started_at, row.locked_until = 0, now, None  # a fresh window
        row.count += 1
        if row.count >= settings.DANGJIAN_LOGIN_MAX_FAILURES:
            row.locked_until = now + window
            started.append(Lock(scope, key, row.locked_until))
        row.save(update_fields=["count", "window_started_at", "locked_until"])
    return started


def clear_account(*, username: str) -> None:
    LoginThrottle.objects.filter(scope=Scope.ACCOUNT, key=account_key(username)).delete()


@dataclasses.dataclass(frozen=True)
class Rate:
    exceeded: bool
    first_refusal: bool  # the first refused request of this window (audited once, not every time)


@transaction.atomic
def count_request(*, ip: str | None) -> Rate:
    """Count one login POST from `ip` in the current one-minute window."""
    now = timezone.now()
    row, _ = LoginThrottle.objects.select_for_update().get_or_create(
        scope=Scope.RATE, key=address_key(ip), defaults={"count": 0, "window_started_at": now})
    if row.window_started_at <= now - RATE_WINDOW:
        row.count, row.window_started_at = 0, now
    row.count += 1
    row.save(update_fields=["count", "window_started_at"])
    limit = settings.DANGJIAN_LOGIN_RATE_PER_MINUTE
    return Rate(exceeded=row.count > limit, first_refusal=row.count == limit + 1)
