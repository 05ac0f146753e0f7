"""短信: the Aliyun SendSms protocol (dysmsapi 2017-05-25, RPC style, signature version 1.0).

Configuration: settings.DANGJIAN_SMS (url, access_key_id, access_key_secret, sign_name, template_code,
timeout). The SMS template registered with the provider takes two variables, ${title} and ${content};
a provider limits each variable's length, so both are cut to `param_max_length` characters (default 35).
Links are not sent: providers refuse links inside variables.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import urllib.parse
import uuid

from django.conf import settings

from .base import (
    GIVE_UP,
    RETRY,
    SENT,
    Channel,
    Outgoing,
    SendResult,
    TransportError,
    clip,
    http_request,
    short_key,
)

MOBILE = re.compile(r"^1\d{10}$")
PARAM_MAX_LENGTH = 35

# Provider code → (outcome, Chinese meaning). Anything not listed gives up: an unknown answer retried
# six times is six more charges for a message that did not go out.
CODES: dict[str, tuple[str, str]] = {
    "OK": (SENT, "短信已提交运营商。"),
    # Passing conditions: the same message can go out later.
    "isv.BUSINESS_LIMIT_CONTROL": (RETRY, "触发短信发送频率限制（同一号码发送过于频繁），稍后重试。"),
    "isv.DAY_LIMIT_CONTROL": (RETRY, "已达到短信日发送量限额，稍后重试。"),
    "isv.MONTH_LIMIT_CONTROL": (RETRY, "已达到短信月发送量限额，稍后重试。"),
    "isv.AMOUNT_NOT_ENOUGH": (RETRY, "短信账户余额不足，充值后将自动重试。"),
    "isv.OUT_OF_SERVICE": (RETRY, "短信业务停机（余额不足），充值后将自动重试。"),
    "isp.SYSTEM_ERROR": (RETRY, "短信服务系统错误，稍后重试。"),
    "Throttling.User": (RETRY, "短信接口调用过于频繁，稍后重试。"),
    "ServiceUnavailable": (RETRY, "短信服务暂时不可用，稍后重试。"),
    # Permanent for this message: retrying cannot help.
    "isv.MOBILE_NUMBER_ILLEGAL": (GIVE_UP, "手机号码格式不正确，无法发送短信。"),
    "isv.BLACK_KEY_CONTROL_LIMIT": (GIVE_UP, "短信内容含有禁止发送的关键字，已停止发送。"),
    "isv.SMS_CONTENT_ILLEGAL": (GIVE_UP, "短信内容含有禁止发送的内容，已停止发送。"),
    "isv.TEMPLATE_MISSING_PARAMETERS": (GIVE_UP, "短信模板缺少变量，请检查短信模板配置。"),
    "isv.INVALID_PARAMETERS": (GIVE_UP, "短信请求参数不合法，已停止发送。"),
    "isv.INVALID_JSON_PARAM": (GIVE_UP, "短信模板变量格式不正确，已停止发送。"),
    "isv.PARAM_LENGTH_LIMIT": (GIVE_UP, "短信模板变量超出长度限制，已停止发送。"),
    "isv.SMS_TEMPLATE_ILLEGAL": (GIVE_UP, "短信模板不存在或未通过审核，请检查模板编号。"),
    "isv.SMS_SIGNATURE_ILLEGAL": (GIVE_UP, "短信签名不存在或未通过审核，请检查签名名称。"),
    "isv.SMS_SIGN_ILLEGAL": (GIVE_UP, "短信签名被禁止使用，请检查签名名称。"),
    "isv.MOBILE_COUNT_OVER_LIMIT": (GIVE_UP, "手机号码数量超过限制，已停止发送。"),
    "isp.RAM_PERMISSION_DENY": (GIVE_UP, "短信访问密钥没有发送权限，请检查访问授权。"),
    "isv.ACCOUNT_NOT_EXISTS": (GIVE_UP, "短信账户不存在，请检查访问密钥。"),
    "isv.ACCOUNT_ABNORMAL": (GIVE_UP, "短信账户异常，请联系服务商。"),
    "SignatureDoesNotMatch": (GIVE_UP, "短信接口签名校验失败，请检查访问密钥。"),
    "InvalidAccessKeyId.NotFound": (GIVE_UP, "短信访问密钥不存在，请检查访问密钥编号。"),
    "SignatureNonceUsed": (GIVE_UP, "短信请求的随机数重复，已停止发送。"),
}
UNKNOWN_MESSAGE = "短信服务返回未知错误，已停止发送"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the signature needs it: space %20, * %2A, ~ kept."""
    return urllib.parse.quote(str(value), safe="~")


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def template_param(outgoing: Outgoing, max_length: int = PARAM_MAX_LENGTH) -> dict[str, str]:
    """The SMS template's variables: the only place that decides what of a message goes into an SMS."""
    content = " ".join(outgoing.body.split())  # one line: newlines count against the length and look odd
    return {"title": clip(outgoing.subject.strip(), max_length), "content": clip(content, max_length)}


class SmsChannel(Channel):
    name = "sms"
    label = "短信"
    idempotent = False  # OutId is only echoed back; the provider does not refuse a repeated one

    @staticmethod
    def _config() -> dict:
        return settings.DANGJIAN_SMS

    def configured(self) -> bool:
        c = self._config()
        return all(c.get(k) for k in ("url", "access_key_id", "access_key_secret", "sign_name", "template_code"))

    def request_params(self, outgoing: Outgoing, *, now: dt.datetime | None = None) -> dict[str, str]:
        """Every parameter of the SendSms request, signed."""
        c = self._config()
        now = now or dt.datetime.now(dt.UTC)
        params = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "AccessKeyId": c["access_key_id"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": str(uuid.uuid4()),
            "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RegionId": "cn-hangzhou",
            "PhoneNumbers": outgoing.address,
            "SignName": c["sign_name"],
            "TemplateCode": c["template_code"],
            "TemplateParam": json.dumps(
                template_param(outgoing, int(c.get("param_max_length", PARAM_MAX_LENGTH))),
                ensure_ascii=False, separators=(",", ":")),
            "OutId": short_key(outgoing.key, 64),
        }
        params["Signature"] = sign(params, c["access_key_secret"])
        return params

    def send(self, outgoing: Outgoing) -> SendResult:
        if not self.configured():
            return SendResult(GIVE_UP, "not-configured", "短信渠道未配置（缺少访问密钥、签名或模板编号）。")
        if not MOBILE.match(outgoing.address or ""):
            return SendResult(GIVE_UP, "invalid-address", "手机号码应为 11 位数字，无法发送短信。")
        c = self._config()
        data = urllib.parse.urlencode(self.request_params(outgoing)).encode()
        try:
            answer = http_request(c["url"], data=data, timeout=float(c.get("timeout") or 10),
                                  headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                                           "Accept": "application/json"})
        except TransportError as error:
            return error.as_result()
        payload = answer.json()
        if not isinstance(payload, dict) or not payload.get("Code"):
            return answer.status_result()
        return interpret(payload, status=answer.status)


def interpret(payload: dict, *, status: int = 200) -> SendResult:
    """The provider's answer as a SendResult. An unlisted code gives up, unless the HTTP status says the
    provider itself failed (5xx), which passes."""
    code = str(payload["Code"])
    outcome, meaning = CODES.get(code, (RETRY if status >= 500 else GIVE_UP, ""))
    if not meaning and outcome == RETRY:
        meaning = f"短信服务暂时故障（{payload.get('Message') or code}），稍后重试。"
    if not meaning:
        detail = str(payload.get("Message") or "")
        meaning = f"{UNKNOWN_MESSAGE}（{detail}）。" if detail else f"{UNKNOWN_MESSAGE}。"
    ref = str(payload.get("BizId") or "") if outcome == SENT else ""
    return SendResult(outcome, code, meaning, ref)
