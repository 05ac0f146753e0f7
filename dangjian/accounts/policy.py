"""What a logged-in user must do before anything else: change the password, agree to the privacy notice, or
enrol a second factor.

Read by `LoginPolicyMiddleware` on every session request, so these cost no query: the user row is loaded
already and `active_grants` is the per-request cache the scope middleware uses anyway.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

PASSWORD_INITIAL = "password_initial"  # noqa: S105  (a step name, not a password)  # nosec B105
PASSWORD_EXPIRED = "password_expired"  # noqa: S105  # nosec B105
PRIVACY_CONSENT = "privacy_consent"
TOTP_ENROL = "totp_enrol"


def password_expires_at(user) -> dt.datetime | None:
    days = settings.DANGJIAN_PASSWORD_MAX_AGE_DAYS
    if not days or user.password_changed_at is None:
        return None
    return user.password_changed_at + dt.timedelta(days=days)


def password_expired(user) -> bool:
    expires = password_expires_at(user)
    return expires is not None and expires <= timezone.now()


def totp_required(user) -> bool:
    """Every administrator and worker (anyone holding a role) needs a second factor when the setting is on;
    for members it is optional."""
    return bool(settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF and user.active_grants)


def consent_needed(user) -> bool:
    """The person has not agreed to the privacy notice in force (never, withdrawn, or an older version:
    个人信息保护法 第十四条, a changed purpose or method needs consent again)."""
    return user.privacy_notice_version != settings.DANGJIAN_PRIVACY_NOTICE_VERSION


def pending_step(user) -> str | None:
    """The step a logged-in user must take first, or None. Password first: the initial password was known to
    an administrator, so until it is changed the account is not yet the person's own, and neither consent nor
    a second factor given through it would prove anything about the person. Consent next: binding a second
    factor already processes new personal data (a secret tied to their phone), and someone who declines
    should not be made to set one up first for a platform they will not use."""
    if user.must_change_password:
        return PASSWORD_INITIAL
    if password_expired(user):
        return PASSWORD_EXPIRED
    if consent_needed(user):
        return PRIVACY_CONSENT
    if not user.totp_enabled and totp_required(user):
        return TOTP_ENROL
    return None


def needs_code_at_login(user) -> bool:
    """A user with a confirmed second factor always gives a code after the password."""
    return user.totp_enabled
