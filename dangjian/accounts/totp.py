"""TOTP (RFC 6238 over RFC 4226 HOTP): 30-second steps, 6 digits, HMAC-SHA-1, one step of clock skew either way.

Written out here rather than pulled in as a dependency: it is a few lines of `hmac` and `struct`, checked
against the RFC 6238 test vectors in the tests. Secrets are Base32 text (what authenticator apps take);
they are stored encrypted (`core.crypto`) by the services, never here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

PERIOD = 30
DIGITS = 6
SKEW = 1  # steps accepted before and after the current one


def new_secret() -> str:
    """160 random bits (RFC 4226 §4 recommends ≥ 128, SHA-1's block suits 160) as 32 Base32 characters."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def step_at(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD)


def seconds_left(now: float | None = None) -> int:
    now = time.time() if now is None else now
    return PERIOD - int(now % PERIOD)


def code_at(secret: str, step: int, *, digits: int = DIGITS) -> str:
    """HOTP(secret, step) with dynamic truncation (RFC 4226 §5.3)."""
    mac = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def matching_step(secret: str, code: str, *, after: int | None = None, now: float | None = None) -> int | None:
    """The step whose code this is, within ±SKEW of now and later than `after` (the last step used: a code
    is good once), or None. Spaces are ignored; anything but six ASCII digits never matches."""
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    current = step_at(now)
    for step in range(current + SKEW, current - SKEW - 1, -1):
        if (after is None or step > after) and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps import (the Key Uri Format used by every TOTP app)."""
    label = quote(f"{issuer}:{account}", safe="")
    params = {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": PERIOD}
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def grouped(secret: str) -> str:
    """ABCD EFGH …: easier to type into a phone."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
