"""The outside push channels (email, SMS, WeChat official account) the dispatcher sends through.

    from dangjian.notifications import channels
    for channel in channels.configured():     # wechat, sms, email: the order a person is tried in
        result = channel.send(Outgoing(...))  # never raises for network or provider errors

See docs/notifications-channels.md for configuration and the meaning of every result code.
"""

from __future__ import annotations

from .base import GIVE_UP, RETRY, SENT, Channel, Outgoing, SendResult
from .email import EmailChannel
from .sms import SmsChannel
from .wechat import WechatChannel

ALL = ("wechat", "sms", "email")

_CHANNELS: dict[str, Channel] = {c.name: c for c in (WechatChannel(), SmsChannel(), EmailChannel())}


def get(name: str) -> Channel:
    """The channel called `name`; KeyError for an unknown name (a programming error)."""
    try:
        return _CHANNELS[name]
    except KeyError:
        raise KeyError(f"unknown push channel {name!r}; known: {', '.join(ALL)}") from None


def configured() -> list[Channel]:
    """The channels whose credentials are present in settings, in the fixed order of ALL."""
    return [_CHANNELS[name] for name in ALL if _CHANNELS[name].configured()]


__all__ = ["ALL", "GIVE_UP", "RETRY", "SENT", "Channel", "EmailChannel", "Outgoing", "SendResult", "SmsChannel",
           "WechatChannel", "configured", "get"]
