"""What every outside push channel shares: the message going out, the channel's answer, and plain HTTP.

A channel turns one `Outgoing` into one `SendResult` and never raises for anything the network or the
provider does: a timeout, a refused connection, a 5xx page or a provider error code all become an answer
the dispatcher understands, "sent", "retry" (try again later, it may work) or "give_up" (it never will:
a wrong number, an unsubscribed person, a refused address). Only programming errors escape.

Settings are read at call time, so tests (and an operator changing the environment) need no restart of
anything imported.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings

SENT = "sent"
RETRY = "retry"
GIVE_UP = "give_up"
OUTCOMES = (SENT, RETRY, GIVE_UP)

MESSAGE_MAX = 300  # DeliveryAttempt.message / Delivery.last_message
CODE_MAX = 64  # DeliveryAttempt.code / Delivery.last_code
REF_MAX = 100  # Delivery.provider_ref


@dataclass(frozen=True)
class Outgoing:
    key: str  # the delivery's idempotency key (Delivery.dedupe_key)
    address: str  # email address / mobile number (11 digits) / openid
    subject: str
    body: str
    link: str = ""  # absolute URL or ""


@dataclass(frozen=True)
class SendResult:
    outcome: str  # "sent" | "retry" | "give_up"
    code: str = ""  # the provider's code ("OK", "isv.MOBILE_NUMBER_ILLEGAL", "43004", "smtp-550", "timeout")
    message: str = ""  # a short Chinese explanation for the delivery log
    provider_ref: str = ""  # BizId / msgid / Message-ID

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        # The delivery log's columns are bounded: a provider's long text must not make the save fail.
        object.__setattr__(self, "code", clip(self.code, CODE_MAX))
        object.__setattr__(self, "message", clip(self.message, MESSAGE_MAX))
        object.__setattr__(self, "provider_ref", clip(self.provider_ref, REF_MAX))


class Channel:
    name: str = ""  # "email" | "sms" | "wechat"
    label: str = ""  # "电子邮件" | "短信" | "微信公众号"
    # True only if re-sending the same key cannot reach the person twice; the dispatcher retries a send
    # that crashed midway only on such channels.
    idempotent: bool = False

    def configured(self) -> bool:
        raise NotImplementedError

    def send(self, outgoing: Outgoing) -> SendResult:
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when something was cut."""
    text = text or ""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ellipsis), 0)] + ellipsis[:limit]


def short_key(key: str, limit: int = 64) -> str:
    """The key as a provider field of at most `limit` characters: itself if it fits, else a stable digest
    (the same key always gives the same value, which is what the provider's de-duplication needs)."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{key[: limit - len(digest) - 1]}-{digest}"


def absolute_link(link: str) -> str:
    """A link the person can open from their phone: site-relative links get DANGJIAN_PUBLIC_URL in front."""
    if link.startswith("/"):
        return settings.DANGJIAN_PUBLIC_URL.rstrip("/") + link
    return link


# --- HTTP -----------------------------------------------------------------------------------------------


class TransportError(Exception):
    """The request got no HTTP answer at all (refused, unreachable, timed out, cut off)."""

    def __init__(self, code: str, message: str, outcome: str = RETRY):
        super().__init__(message)
        self.code = code
        self.message = message
        self.outcome = outcome

    def as_result(self) -> SendResult:
        return SendResult(self.outcome, self.code, self.message)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes

    def json(self):
        """The body as JSON, or None when it is not JSON (a proxy's error page, an empty body)."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def status_result(self) -> SendResult:
        """What an answer without a provider code means: 5xx and 429 may pass later, other statuses not."""
        if self.status >= 500 or self.status in (408, 429):
            return SendResult(RETRY, f"http-{self.status}", f"服务暂时不可用（HTTP {self.status}），稍后重试。")
        return SendResult(GIVE_UP, f"http-{self.status}", f"服务拒绝了请求（HTTP {self.status}），请检查接口配置。")


def http_request(url: str, *, data: bytes | None = None, headers: dict | None = None,
                 timeout: float = 10) -> HttpAnswer:
    """One HTTP request with the standard library. Any HTTP status is an answer; no answer at all raises
    TransportError with a Chinese explanation."""
    if not url.lower().startswith(("http://", "https://")):
        raise TransportError("bad-url", f"接口地址必须以 http:// 或 https:// 开头：{url[:60]}", GIVE_UP)
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310 (checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked above)  # nosec B310
            return HttpAnswer(response.status, response.read())
    except urllib.error.HTTPError as error:
        with error:
            try:
                body = error.read()
            except (OSError, http.client.HTTPException):
                body = b""
        return HttpAnswer(error.code, body)
    except urllib.error.URLError as error:
        raise _transport_error(error.reason) from error
    except (OSError, http.client.HTTPException) as error:
        raise _transport_error(error) from error


def _transport_error(reason) -> TransportError:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return TransportError("timeout", "连接服务超时，稍后重试。")
    if isinstance(reason, ConnectionRefusedError):
        return TransportError("connection-refused", "无法连接服务（连接被拒绝），稍后重试。")
    if isinstance(reason, socket.gaierror):
        return TransportError("dns", "无法解析服务地址，稍后重试。")
    if isinstance(reason, (ConnectionError, http.client.HTTPException)):
        return TransportError("connection-lost", "与服务的连接中断，稍后重试。")
    return TransportError("network", f"网络错误，稍后重试：{reason}")
