"""微信公众号: template messages to bound members, and the web authorisation that binds them.

Configuration: settings.DANGJIAN_WECHAT (api_base, oauth_base, app_id, app_secret, template_id, timeout,
and optionally `fields`, the template's keyword names for the title and the body; default thing1/thing2).

The access token is kept in Django's cache until five minutes before it expires. Every call of
/cgi-bin/token invalidates the tokens issued before (after a short grace period), so several app servers
or workers must share one cache (Redis); with per-process caches they keep invalidating each other, which
costs a refresh per send but still delivers (a send answered 40001/40014/42001 fetches a new token and
tries once more).

A template message carries the delivery's key as client_msg_id; WeChat sends one message per (openid,
client_msg_id) within its de-duplication window (documented as about ten minutes), so resending a message
whose outcome is unknown cannot reach the person twice within that window.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from django.conf import settings
from django.core.cache import cache

from dangjian.core.errors import ValidationFailed

from .base import (
    GIVE_UP,
    RETRY,
    SENT,
    Channel,
    HttpAnswer,
    Outgoing,
    SendResult,
    TransportError,
    absolute_link,
    clip,
    http_request,
    short_key,
)

TOKEN_MARGIN_SECONDS = 300  # drop a cached token this long before WeChat says it expires
TOKEN_ERRORS = {40001, 40014, 42001}  # the token is wrong, malformed or expired: fetch a new one
THING_MAX = 20  # a template keyword of type "thing" holds at most 20 characters
DEFAULT_FIELDS = {"title": "thing1", "body": "thing2"}

# errcode → (outcome, Chinese meaning), for the token call and the template-message call.
CODES: dict[int, tuple[str, str]] = {
    0: (SENT, "微信模板消息已送出。"),
    -1: (RETRY, "微信系统繁忙，稍后重试。"),
    45009: (RETRY, "微信接口调用次数已达当日上限，稍后重试。"),
    45011: (RETRY, "微信接口调用过于频繁，稍后重试。"),
    45047: (RETRY, "微信下行消息条数超过上限，稍后重试。"),
    40001: (RETRY, "微信访问凭证无效（可能已被其他服务器刷新），稍后重试。"),
    40014: (RETRY, "微信访问凭证不合法，稍后重试。"),
    42001: (RETRY, "微信访问凭证已过期，稍后重试。"),
    40003: (GIVE_UP, "微信用户标识（openid）不合法，请该党员重新绑定微信。"),
    43004: (GIVE_UP, "该用户未关注公众号，无法接收微信消息。"),
    43019: (GIVE_UP, "该用户已被公众号拉入黑名单，无法接收微信消息。"),
    43101: (GIVE_UP, "该用户拒绝接收公众号消息。"),
    40036: (GIVE_UP, "模板消息的模板编号长度不正确，请检查模板编号配置。"),
    40037: (GIVE_UP, "模板消息的模板编号不存在，请检查模板编号配置。"),
    47001: (GIVE_UP, "模板消息数据格式错误，已停止发送。"),
    47003: (GIVE_UP, "模板消息参数不合法（如字段名错误或字数超限），请检查模板字段配置。"),
    48001: (GIVE_UP, "公众号没有模板消息接口权限，请检查公众号设置。"),
    40013: (GIVE_UP, "公众号 AppID 不正确，请检查微信配置。"),
    40125: (GIVE_UP, "公众号 AppSecret 不正确，请检查微信配置。"),
    40164: (GIVE_UP, "服务器 IP 不在公众号的 IP 白名单中，请在公众号后台添加。"),
}

# The web authorisation's errors, as the member binding their account reads them.
OAUTH_MESSAGES: dict[int, str] = {
    40029: "微信授权已失效，请重新打开绑定页面。",
    40163: "微信授权已失效，请重新打开绑定页面。",
    41008: "微信授权已失效，请重新打开绑定页面。",
    -1: "微信系统繁忙，请稍后重试。",
    45011: "微信系统繁忙，请稍后重试。",
    40013: "公众号配置有误，暂时无法绑定微信，请联系管理员。",
    40125: "公众号配置有误，暂时无法绑定微信，请联系管理员。",
    40164: "公众号配置有误，暂时无法绑定微信，请联系管理员。",
}
STATE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def _config() -> dict:
    return settings.DANGJIAN_WECHAT


def _timeout() -> float:
    return float(_config().get("timeout") or 10)


def _int(value, default: int) -> int:
    """A number from the answer, or `default` when WeChat (or whatever answered) sent something else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _code_result(errcode: int, errmsg: str = "") -> SendResult:
    outcome, meaning = CODES.get(errcode, (GIVE_UP, ""))
    if not meaning:
        meaning = f"微信接口返回错误（{errmsg or errcode}），已停止发送。"
    return SendResult(outcome, str(errcode), meaning)


def _answer_result(answer: HttpAnswer) -> SendResult | dict:
    """The JSON object of an answer, or the SendResult that a non-JSON answer means."""
    payload = answer.json()
    if isinstance(payload, dict):
        return payload
    if answer.status == 200:
        return SendResult(RETRY, "bad-response", "微信接口返回了无法识别的内容，稍后重试。")
    return answer.status_result()


# --- access token ---------------------------------------------------------------------------------------


def _token_cache_key() -> str:
    c = _config()
    return "dangjian:wechat:token:" + hashlib.sha256(f"{c['api_base']}|{c['app_id']}".encode()).hexdigest()[:32]


def forget_token() -> None:
    cache.delete(_token_cache_key())


class _NoToken(Exception):
    def __init__(self, result: SendResult):
        super().__init__(result.message)
        self.result = result


def access_token(*, refresh: bool = False) -> str:
    """The account's access token, from the cache unless `refresh`; raises _NoToken with the answer."""
    key = _token_cache_key()
    if not refresh:
        token = cache.get(key)
        if token:
            return token
    c = _config()
    query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": c["app_id"],
                                    "secret": c["app_secret"]})
    try:
        answer = http_request(f"{c['api_base']}/cgi-bin/token?{query}", timeout=_timeout())
    except TransportError as error:
        raise _NoToken(error.as_result()) from error
    payload = _answer_result(answer)
    if isinstance(payload, SendResult):
        raise _NoToken(payload)
    token = payload.get("access_token")
    if not token:
        errcode = _int(payload.get("errcode"), 0)
        if errcode == 0:  # no token and no error: nothing usable came back
            raise _NoToken(SendResult(RETRY, "bad-response", "微信接口未返回访问凭证，稍后重试。"))
        raise _NoToken(_code_result(errcode, str(payload.get("errmsg") or "")))
    lifetime = _int(payload.get("expires_in"), 7200) - TOKEN_MARGIN_SECONDS
    if lifetime > 0:
        cache.set(key, token, lifetime)
    return token


# --- template messages ----------------------------------------------------------------------------------


def template_data(outgoing: Outgoing) -> dict:
    """The template's keywords: the one place that maps a message onto the account's template."""
    fields = {**DEFAULT_FIELDS, **(_config().get("fields") or {})}
    body = " ".join(outgoing.body.split())
    return {
        fields["title"]: {"value": clip(" ".join(outgoing.subject.split()), THING_MAX)},
        fields["body"]: {"value": clip(body, THING_MAX)},
    }


def template_message(outgoing: Outgoing) -> dict:
    message = {
        "touser": outgoing.address,
        "template_id": _config()["template_id"],
        "client_msg_id": short_key(outgoing.key, 64),
        "data": template_data(outgoing),
    }
    link = absolute_link(outgoing.link)
    if link:
        message["url"] = link
    return message


class WechatChannel(Channel):
    name = "wechat"
    label = "微信公众号"
    idempotent = True  # client_msg_id: one message per (openid, key) within WeChat's window

    def configured(self) -> bool:
        c = _config()
        return all(c.get(k) for k in ("api_base", "app_id", "app_secret", "template_id"))

    def send(self, outgoing: Outgoing) -> SendResult:
        if not self.configured():
            return SendResult(GIVE_UP, "not-configured", "微信公众号渠道未配置（缺少 AppID、AppSecret 或模板编号）。")
        if not outgoing.address:
            return SendResult(GIVE_UP, "invalid-address", "该用户未绑定微信，无法发送。")
        data = json.dumps(template_message(outgoing), ensure_ascii=False).encode("utf-8")
        try:
            result = self._post(data, access_token())
            if result.code in {str(c) for c in TOKEN_ERRORS}:
                forget_token()
                result = self._post(data, access_token(refresh=True))
        except _NoToken as failure:
            return failure.result
        return result

    @staticmethod
    def _post(data: bytes, token: str) -> SendResult:
        url = f"{_config()['api_base']}/cgi-bin/message/template/send?" + urllib.parse.urlencode(
            {"access_token": token})
        try:
            answer = http_request(url, data=data, timeout=_timeout(),
                                  headers={"Content-Type": "application/json; charset=utf-8"})
        except TransportError as error:
            return error.as_result()
        payload = _answer_result(answer)
        if isinstance(payload, SendResult):
            return payload
        if "errcode" not in payload and "msgid" not in payload:
            return SendResult(RETRY, "bad-response", "微信接口返回了无法识别的内容，稍后重试。")
        errcode = _int(payload.get("errcode", 0), -1)
        result = _code_result(errcode, str(payload.get("errmsg") or ""))
        if result.outcome == SENT:
            return SendResult(SENT, "0", result.message, str(payload.get("msgid") or ""))
        return result


# --- web authorisation (网页授权, snsapi_base) -------------------------------------------------------------


def authorize_url(redirect_uri: str, state: str) -> str:
    """Where to send the member's browser (inside WeChat) to learn their openid without asking them."""
    if not STATE.match(state):
        raise ValueError("state must be 1-128 letters or digits")
    c = _config()
    # WeChat checks the parameters in this order.
    query = "&".join([
        f"appid={urllib.parse.quote(c['app_id'], safe='')}",
        f"redirect_uri={urllib.parse.quote(absolute_link(redirect_uri), safe='')}",
        "response_type=code",
        "scope=snsapi_base",
        f"state={state}",
    ])
    return f"{c['oauth_base']}/connect/oauth2/authorize?{query}#wechat_redirect"


def exchange_code(code: str) -> str:
    """The openid behind the code WeChat appended to the redirect; ValidationFailed(fields={"code"}) with a
    message for the member when WeChat refuses it or cannot be reached."""
    def refuse(message: str):
        return ValidationFailed(message, fields={"code": [message]})

    if not code or len(code) > 512:
        raise refuse(OAUTH_MESSAGES[40029])
    c = _config()
    if not (c.get("app_id") and c.get("app_secret")):
        raise refuse("微信公众号尚未配置，暂时无法绑定微信。")
    query = urllib.parse.urlencode({"appid": c["app_id"], "secret": c["app_secret"], "code": code,
                                    "grant_type": "authorization_code"})
    try:
        answer = http_request(f"{c['api_base']}/sns/oauth2/access_token?{query}", timeout=_timeout())
    except TransportError as error:
        raise refuse("暂时无法连接微信服务，请稍后重试。") from error
    payload = answer.json()
    if not isinstance(payload, dict):
        raise refuse("微信服务返回异常，请稍后重试。")
    openid = payload.get("openid")
    if openid and not payload.get("errcode"):
        return str(openid)
    errcode = _int(payload.get("errcode"), -1)
    raise refuse(OAUTH_MESSAGES.get(errcode, f"微信授权失败（错误码 {errcode}），请重新打开绑定页面。"))
