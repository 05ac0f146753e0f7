"""Field encryption at rest and keyed lookup hashes for ID numbers and phones.

Ciphertext is `<key id>:<base64(nonce | AES-GCM ciphertext)>`. The first key in DANGJIAN_FIELD_KEYS
encrypts; every listed key decrypts, so keys rotate by adding a new first key and re-encrypting.
Lookup digests are HMAC-SHA256 under a separate key: exact search without decrypting every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=8)
def _keys(spec: str) -> tuple[tuple[str, AESGCM], ...]:
    keys = []
    for part in spec.split(","):
        key_id, _, b64 = part.strip().partition(":")
        try:
            raw = base64.b64decode(b64)
        except ValueError:  # binascii.Error: bad padding
            raw = b""
        if not key_id or len(raw) != 32:
            raise ImproperlyConfigured("DANGJIAN_FIELD_KEYS 每项应为 “编号:32字节密钥的base64”")
        keys.append((key_id, AESGCM(raw)))
    return tuple(keys)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    key_id, aead = _keys(settings.DANGJIAN_FIELD_KEYS)[0]
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode("utf-8"), key_id.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str) -> str:
    if not token:
        return ""
    key_id, _, b64 = token.partition(":")
    for kid, aead in _keys(settings.DANGJIAN_FIELD_KEYS):
        if kid == key_id:
            raw = base64.b64decode(b64)
            return aead.decrypt(raw[:12], raw[12:], key_id.encode()).decode("utf-8")
    raise ImproperlyConfigured(f"找不到编号为 {key_id} 的字段密钥")


def lookup_digest(value: str) -> str:
    if not value:
        return ""
    return hmac.new(settings.DANGJIAN_LOOKUP_KEY.encode(), value.encode("utf-8"), hashlib.sha256).hexdigest()
