"""The outside push channels against real loopback servers (tests/fakes.py): what goes over the wire, and
what every kind of answer (or silence) from the provider turns into."""

import json
import re
import urllib.parse

import pytest
from django.core.cache import cache

from dangjian.core.errors import ValidationFailed
from dangjian.notifications import channels
from dangjian.notifications.channels import Outgoing, SendResult
from dangjian.notifications.channels import sms as sms_module
from dangjian.notifications.channels import wechat as wechat_module
from dangjian.notifications.channels.base import clip, short_key

from .fakes import Sleep, Status, aliyun_signature, closed_port

CJK = re.compile(r"[\u4e00-\u9fff]")
OPENID = "oTESTopenid_0123456789abcdef"
MOBILE = "13800138000"


def outgoing(address, key="political_birthday:2026:1", subject="政治生日快乐", body="张三同志：今天是您的政治生日。",
             link="https://dangjian.example.org/m/notifications/1"):
    return Outgoing(key=key, address=address, subject=subject, body=body, link=link)


def assert_chinese(result: SendResult):
    assert CJK.search(result.message), result
    assert len(result.message) <= 300


# --- the registry ---------------------------------------------------------------------------------------


def test_channels_by_name_with_labels_and_idempotence():
    assert channels.ALL == ("wechat", "sms", "email")
    assert [(channels.get(n).name, channels.get(n).label, channels.get(n).idempotent) for n in channels.ALL] == [
        ("wechat", "微信公众号", True), ("sms", "短信", False), ("email", "电子邮件", False)]
    with pytest.raises(KeyError):
        channels.get("fax")


def test_configured_lists_channels_in_fixed_order(fake_smtp, fake_sms, fake_wechat):
    assert [c.name for c in channels.configured()] == ["wechat", "sms", "email"]


@pytest.mark.parametrize(("channel", "setting", "key"), [
    ("email", "EMAIL_HOST", None),
    ("sms", "DANGJIAN_SMS", "access_key_id"),
    ("sms", "DANGJIAN_SMS", "access_key_secret"),
    ("sms", "DANGJIAN_SMS", "template_code"),
    ("wechat", "DANGJIAN_WECHAT", "app_id"),
    ("wechat", "DANGJIAN_WECHAT", "app_secret"),
    ("wechat", "DANGJIAN_WECHAT", "template_id"),
])
def test_missing_credentials_mean_not_configured_and_no_send(settings, fake_smtp, fake_sms, fake_wechat,
                                                             channel, setting, key):
    if key is None:
        setattr(settings, setting, "")
    else:
        setattr(settings, setting, {**getattr(settings, setting), key: ""})
    assert not channels.get(channel).configured()
    assert channel not in [c.name for c in channels.configured()]
    address = {"email": "a@example.org", "sms": MOBILE, "wechat": OPENID}[channel]
    result = channels.get(channel).send(outgoing(address))
    assert (result.outcome, result.code) == ("give_up", "not-configured")
    assert_chinese(result)
    assert not fake_smtp.received and not fake_sms.requests and not fake_wechat.requests


def test_send_result_bounds_its_fields_and_refuses_unknown_outcomes():
    result = SendResult("retry", "x" * 100, "很长" * 400, "r" * 200)
    assert (len(result.code), len(result.message), len(result.provider_ref)) == (64, 300, 100)
    assert result.message.endswith("…")
    with pytest.raises(ValueError):
        SendResult("maybe")


def test_short_key_is_stable_and_bounded():
    assert short_key("abc", 64) == "abc"
    long = "digest:" + "9" * 150
    assert short_key(long) == short_key(long) and len(short_key(long)) == 64
    assert short_key(long) != short_key(long + "0")
    assert clip("一二三四五", 3) == "一二…"


# --- email ------------------------------------------------------------------------------------------------


def test_email_sent_with_chinese_subject_body_and_link(fake_smtp):
    result = channels.get("email").send(outgoing("zhangsan@example.org"))
    assert result.outcome == "sent" and result.code == "OK"
    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ["zhangsan@example.org"]
    assert mail.subject == "政治生日快乐"
    assert mail.from_ == "智慧党建 <dangjian@example.org>"
    assert mail.to == "zhangsan@example.org"
    assert mail.body.startswith("张三同志：今天是您的政治生日。")
    assert "查看详情：https://dangjian.example.org/m/notifications/1" in mail.body
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert result.provider_ref == mail.message["Message-ID"]


def test_email_message_id_follows_the_key(fake_smtp):
    first = channels.get("email").send(outgoing("a@example.org", key="k1"))
    again = channels.get("email").send(outgoing("a@example.org", key="k1"))
    other = channels.get("email").send(outgoing("a@example.org", key="k2"))
    assert first.provider_ref == again.provider_ref != other.provider_ref
    assert [m.message["Message-ID"] for m in fake_smtp.received] == [first.provider_ref] * 2 + [other.provider_ref]


def test_email_relative_link_gets_the_public_url(fake_smtp, settings):
    settings.DANGJIAN_PUBLIC_URL = "https://dj.example.gov.cn"
    channels.get("email").send(outgoing("a@example.org", link="/m/notifications/7"))
    assert "查看详情：https://dj.example.gov.cn/m/notifications/7" in fake_smtp.received[0].body


@pytest.mark.parametrize(("code", "outcome"), [(550, "give_up"), (554, "give_up"), (451, "retry"), (452, "retry")])
def test_email_refused_recipient_maps_by_reply_class(fake_smtp, code, outcome):
    fake_smtp.refuse("gone@example.org", code)
    result = channels.get("email").send(outgoing("gone@example.org"))
    assert (result.outcome, result.code) == (outcome, f"smtp-{code}")
    assert_chinese(result)
    assert fake_smtp.received == []


@pytest.mark.parametrize(("reply", "outcome", "code"), [
    ("554 5.7.1 Message rejected as spam", "give_up", "smtp-554"),
    ("451 4.7.1 Greylisted, try again later", "retry", "smtp-451"),
])
def test_email_refused_after_data(fake_smtp, reply, outcome, code):
    fake_smtp.data_refusal = reply
    result = channels.get("email").send(outgoing("a@example.org"))
    assert (result.outcome, result.code) == (outcome, code)
    assert_chinese(result)
    assert fake_smtp.received == []


def test_email_invalid_address_gives_up_without_connecting(fake_smtp):
    result = channels.get("email").send(outgoing("不是邮箱"))
    assert (result.outcome, result.code) == ("give_up", "invalid-address")
    assert_chinese(result)
    assert fake_smtp.received == []


def test_email_server_gone_is_retry(fake_smtp, settings):
    fake_smtp.stop()
    settings.EMAIL_PORT = closed_port()
    result = channels.get("email").send(outgoing("a@example.org"))
    assert (result.outcome, result.code) == ("retry", "connection-refused")
    assert_chinese(result)


def test_email_silent_server_times_out_as_retry(fake_smtp, settings, black_hole):
    settings.EMAIL_PORT = black_hole.port
    settings.EMAIL_TIMEOUT = 1
    result = channels.get("email").send(outgoing("a@example.org"))
    assert (result.outcome, result.code) == ("retry", "timeout")
    assert_chinese(result)


# --- SMS --------------------------------------------------------------------------------------------------


def test_sms_request_carries_every_parameter_and_a_valid_signature(fake_sms):
    result = channels.get("sms").send(outgoing(MOBILE))
    assert result.outcome == "sent" and result.code == "OK"
    [params] = fake_sms.received
    assert result.provider_ref == params["BizId"]
    assert {k: params[k] for k in ("Action", "Version", "Format", "AccessKeyId", "SignatureMethod",
                                   "SignatureVersion", "RegionId", "PhoneNumbers", "SignName", "TemplateCode",
                                   "OutId")} == {
        "Action": "SendSms", "Version": "2017-05-25", "Format": "JSON", "AccessKeyId": "LTAI-test-key",
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "RegionId": "cn-hangzhou",
        "PhoneNumbers": MOBILE, "SignName": "智慧党建", "TemplateCode": "SMS_000001",
        "OutId": "political_birthday:2026:1"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params["Timestamp"])
    assert re.fullmatch(r"[0-9a-f-]{36}", params["SignatureNonce"])
    assert json.loads(params["TemplateParam"]) == {"title": "政治生日快乐", "content": "张三同志：今天是您的政治生日。"}
    unsigned = {k: v for k, v in params.items() if k not in ("Signature", "BizId")}
    assert params["Signature"] == aliyun_signature(unsigned, fake_sms.secret)


def test_sms_signature_follows_rfc3986():
    assert sms_module.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"
    params = {"B": "2 *", "A": "~1"}
    assert sms_module.string_to_sign(params) == "POST&%2F&A%3D~1%26B%3D2%2520%252A"
    assert sms_module.sign(params, "s") == aliyun_signature(params, "s")


def test_sms_long_text_is_trimmed_to_the_variable_limit_and_long_key_shortened(fake_sms):
    key = "bulletin:" + "1234567890" * 12
    result = channels.get("sms").send(outgoing(MOBILE, key=key, subject="标" * 50, body="第一行\n\n" + "内" * 80))
    assert result.outcome == "sent", result
    params = fake_sms.received[0]
    variables = json.loads(params["TemplateParam"])
    assert variables["title"] == "标" * 34 + "…"
    assert variables["content"].startswith("第一行 内内") and len(variables["content"]) == 35
    assert len(params["OutId"]) == 64 and params["OutId"] == short_key(key)


def test_sms_each_send_uses_a_fresh_nonce(fake_sms):
    for _ in range(3):
        assert channels.get("sms").send(outgoing(MOBILE)).outcome == "sent"
    assert len({p["SignatureNonce"] for p in fake_sms.received}) == 3


SMS_CODES = [
    ("isv.BUSINESS_LIMIT_CONTROL", "retry"),
    ("isp.SYSTEM_ERROR", "retry"),
    ("isv.DAY_LIMIT_CONTROL", "retry"),
    ("isv.AMOUNT_NOT_ENOUGH", "retry"),
    ("Throttling.User", "retry"),
    ("isv.MOBILE_NUMBER_ILLEGAL", "give_up"),
    ("isv.BLACK_KEY_CONTROL_LIMIT", "give_up"),
    ("isv.TEMPLATE_MISSING_PARAMETERS", "give_up"),
    ("isv.INVALID_PARAMETERS", "give_up"),
    ("isv.SMS_TEMPLATE_ILLEGAL", "give_up"),
    ("isv.SMS_SIGNATURE_ILLEGAL", "give_up"),
    ("SignatureDoesNotMatch", "give_up"),
    ("InvalidAccessKeyId.NotFound", "give_up"),
    ("isv.SOMETHING_NEW", "give_up"),
]


@pytest.mark.parametrize(("code", "outcome"), SMS_CODES)
def test_sms_provider_codes_map_to_outcomes(fake_sms, code, outcome):
    fake_sms.fail_next(code)
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code, result.provider_ref) == (outcome, code, "")
    assert_chinese(result)
    assert fake_sms.received == []


def test_sms_code_table_covers_the_brief():
    for code, outcome in SMS_CODES[:-1]:
        assert sms_module.CODES[code][0] == outcome


def test_sms_scripted_failures_then_success(fake_sms):
    fake_sms.fail_next("isp.SYSTEM_ERROR", times=2)
    outcomes = [channels.get("sms").send(outgoing(MOBILE)).outcome for _ in range(3)]
    assert outcomes == ["retry", "retry", "sent"]
    assert len(fake_sms.received) == 1 and len(fake_sms.requests) == 3


def test_sms_wrong_secret_is_caught_by_the_gateway(fake_sms, settings):
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "access_key_secret": "wrong"}
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("give_up", "SignatureDoesNotMatch")
    assert fake_sms.received == []


def test_sms_unknown_access_key(fake_sms, settings):
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "access_key_id": "LTAI-other"}
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("give_up", "InvalidAccessKeyId.NotFound")


def test_sms_gateway_checks_its_template(fake_sms, settings):
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "template_code": "SMS_999"}
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("give_up", "isv.SMS_TEMPLATE_ILLEGAL")
    assert_chinese(result)


@pytest.mark.parametrize("address", ["1380013800", "138001380001", "23800138000", "", "138-0013-8000"])
def test_sms_bad_number_gives_up_without_a_request(fake_sms, address):
    result = channels.get("sms").send(outgoing(address))
    assert (result.outcome, result.code) == ("give_up", "invalid-address")
    assert_chinese(result)
    assert fake_sms.requests == []


@pytest.mark.parametrize(("status", "outcome"), [(503, "retry"), (502, "retry"), (429, "retry"), (404, "give_up"),
                                                 (403, "give_up")])
def test_sms_bare_http_errors(fake_sms, status, outcome):
    fake_sms.fail_next(Status(status))
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == (outcome, f"http-{status}")
    assert_chinese(result)


def test_sms_gateway_gone_is_retry(fake_sms, settings):
    fake_sms.stop()
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "url": f"http://127.0.0.1:{closed_port()}/"}
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("retry", "connection-refused")
    assert_chinese(result)


def test_sms_slow_gateway_times_out_as_retry(fake_sms, settings):
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "timeout": 1}
    fake_sms.fail_next(Sleep(3))
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("retry", "timeout")
    assert_chinese(result)


# --- WeChat -----------------------------------------------------------------------------------------------


def test_wechat_template_message_shape_and_token_use(fake_wechat):
    result = channels.get("wechat").send(outgoing(OPENID, subject="政治生日快乐，祝您在新的一年里工作顺利身体健康",
                                                  body="张三同志：\n今天是您的政治生日。"))
    assert (result.outcome, result.code) == ("sent", "0")
    assert_chinese(result)
    [message] = fake_wechat.received
    assert result.provider_ref == str(message.msgid)
    assert message.touser == OPENID
    assert message.template_id == "TEMPLATE-test-0001"
    assert message.client_msg_id == "political_birthday:2026:1"
    assert message.url == "https://dangjian.example.org/m/notifications/1"
    assert message.data == {"thing1": {"value": "政治生日快乐，祝您在新的一年里工作顺利…"},
                            "thing2": {"value": "张三同志： 今天是您的政治生日。"}}
    assert len(message.data["thing1"]["value"]) == 20
    assert list(fake_wechat.tokens) == [message.token]
    body = json.loads(fake_wechat.requests[-1]["body"])
    assert set(body) == {"touser", "template_id", "url", "client_msg_id", "data"}


def test_wechat_without_link_sends_no_url_and_fields_are_configurable(fake_wechat, settings):
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "fields": {"title": "thing3", "body": "thing5"}}
    assert channels.get("wechat").send(outgoing(OPENID, link="")).outcome == "sent"
    body = json.loads(fake_wechat.requests[-1]["body"])
    assert "url" not in body and set(body["data"]) == {"thing3", "thing5"}


def test_wechat_token_is_cached_between_sends(fake_wechat):
    for n in range(3):
        assert channels.get("wechat").send(outgoing(OPENID, key=f"k{n}")).outcome == "sent"
    assert fake_wechat.token_requests == 1 and len(fake_wechat.received) == 3


def test_wechat_resend_with_the_same_key_reaches_the_person_once(fake_wechat):
    first = channels.get("wechat").send(outgoing(OPENID, key="notice:9"))
    again = channels.get("wechat").send(outgoing(OPENID, key="notice:9"))
    assert first.outcome == again.outcome == "sent" and first.provider_ref == again.provider_ref
    assert len(fake_wechat.received) == 1
    channels.get("wechat").send(outgoing(OPENID, key="notice:10"))
    assert len(fake_wechat.received) == 2


def test_wechat_expired_token_is_refreshed_within_the_same_send(fake_wechat):
    assert channels.get("wechat").send(outgoing(OPENID, key="a")).outcome == "sent"
    fake_wechat.expire_tokens()
    result = channels.get("wechat").send(outgoing(OPENID, key="b"))
    assert result.outcome == "sent", result
    assert fake_wechat.token_requests == 2
    assert fake_wechat.received[0].token != fake_wechat.received[1].token
    assert [r["path"] for r in fake_wechat.requests] == [
        "/cgi-bin/token", "/cgi-bin/message/template/send", "/cgi-bin/message/template/send",
        "/cgi-bin/token", "/cgi-bin/message/template/send"]
    assert channels.get("wechat").send(outgoing(OPENID, key="c")).outcome == "sent"
    assert fake_wechat.token_requests == 2  # the fresh token was cached


def test_wechat_token_replaced_elsewhere_is_refreshed(fake_wechat):
    channels.get("wechat").send(outgoing(OPENID, key="a"))
    cache.set(wechat_module._token_cache_key(), "ACCESS_TOKEN_from_another_server", 3600)
    assert channels.get("wechat").send(outgoing(OPENID, key="b")).outcome == "sent"
    assert fake_wechat.token_requests == 2


def test_wechat_token_refreshed_once_only(fake_wechat):
    fake_wechat.fail_next(42001, times=3)
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == ("retry", "42001")
    assert_chinese(result)
    assert fake_wechat.token_requests == 2 and fake_wechat.received == []


WECHAT_CODES = [(-1, "retry"), (45009, "retry"), (45011, "retry"), (40003, "give_up"), (43004, "give_up"),
                (43019, "give_up"), (40037, "give_up"), (47003, "give_up"), (48001, "give_up"), (99999, "give_up")]


@pytest.mark.parametrize(("errcode", "outcome"), WECHAT_CODES)
def test_wechat_error_codes_map_to_outcomes(fake_wechat, errcode, outcome):
    fake_wechat.fail_next(errcode)
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code, result.provider_ref) == (outcome, str(errcode), "")
    assert_chinese(result)
    assert fake_wechat.received == []


def test_wechat_unsubscribed_and_blacklisted_people(fake_wechat):
    fake_wechat.unsubscribed.add("oUnsubscribed_000001")
    fake_wechat.blacklisted.add("oBlacklisted_0000001")
    assert channels.get("wechat").send(outgoing("oUnsubscribed_000001")).code == "43004"
    assert channels.get("wechat").send(outgoing("oBlacklisted_0000001")).code == "43019"
    assert channels.get("wechat").send(outgoing("bad openid!")).code == "40003"


def test_wechat_wrong_template_id_is_caught_by_the_api(fake_wechat, settings):
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "template_id": "OTHER"}
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == ("give_up", "40037")


def test_wechat_wrong_secret_fails_at_the_token(fake_wechat, settings):
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "app_secret": "wrong"}
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == ("give_up", "40125")
    assert_chinese(result)
    assert [r["path"] for r in fake_wechat.requests] == ["/cgi-bin/token"]


def test_wechat_api_gone_is_retry_at_token_or_send(fake_wechat, settings):
    channels.get("wechat").send(outgoing(OPENID, key="a"))  # a token is now cached
    fake_wechat.stop()
    result = channels.get("wechat").send(outgoing(OPENID, key="b"))
    assert (result.outcome, result.code) == ("retry", "connection-refused")
    wechat_module.forget_token()
    result = channels.get("wechat").send(outgoing(OPENID, key="c"))
    assert (result.outcome, result.code) == ("retry", "connection-refused")
    assert_chinese(result)


def test_wechat_slow_api_times_out_as_retry(fake_wechat, settings):
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "timeout": 1}
    fake_wechat.fail_next(Sleep(3))
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == ("retry", "timeout")
    assert_chinese(result)


@pytest.mark.parametrize(("answer", "code"), [("<html>维护中</html>", "bad-response"), ("{}", "bad-response"),
                                              ("[]", "bad-response"), ('{"errcode": "x"}', "-1")])
def test_wechat_garbled_answer_is_retry(fake_wechat, answer, code):
    fake_wechat.fail_next(Status(200, answer))
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == ("retry", code)
    assert_chinese(result)


@pytest.mark.parametrize(("reply", "outcome", "code"), [
    ({"errcode": 0, "errmsg": "ok"}, "retry", "bad-response"),
    ({"errcode": -1, "errmsg": "system error"}, "retry", "-1"),
    ({"errcode": 40164, "errmsg": "invalid ip 10.0.0.1, not in whitelist"}, "give_up", "40164"),
])
def test_wechat_token_refusals(fake_wechat, reply, outcome, code):
    fake_wechat.token_reply = reply
    result = channels.get("wechat").send(outgoing(OPENID))
    assert (result.outcome, result.code) == (outcome, code)
    assert_chinese(result)
    assert [r["path"] for r in fake_wechat.requests] == ["/cgi-bin/token"]


def test_wechat_without_openid_gives_up(fake_wechat):
    result = channels.get("wechat").send(outgoing(""))
    assert (result.outcome, result.code) == ("give_up", "invalid-address")
    assert fake_wechat.requests == []


# --- WeChat web authorisation ------------------------------------------------------------------------------


def test_authorize_url(settings, fake_wechat):
    settings.DANGJIAN_PUBLIC_URL = "https://dj.example.gov.cn"
    url = wechat_module.authorize_url("/m/wechat/bind?next=/m/", "abc123")
    assert url == ("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef"
                   "&redirect_uri=https%3A%2F%2Fdj.example.gov.cn%2Fm%2Fwechat%2Fbind%3Fnext%3D%2Fm%2F"
                   "&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["redirect_uri"] == ["https://dj.example.gov.cn/m/wechat/bind?next=/m/"]
    with pytest.raises(ValueError):
        wechat_module.authorize_url("/m/", "bad state!")


def test_exchange_code_gives_the_openid_once(fake_wechat):
    fake_wechat.codes["CODE-ok"] = OPENID
    assert wechat_module.exchange_code("CODE-ok") == OPENID
    with pytest.raises(ValidationFailed) as refused:
        wechat_module.exchange_code("CODE-ok")  # a code works once
    assert refused.value.message == "微信授权已失效，请重新打开绑定页面。"


@pytest.mark.parametrize("code", ["CODE-unknown", ""])
def test_exchange_invalid_code(fake_wechat, code):
    with pytest.raises(ValidationFailed) as refused:
        wechat_module.exchange_code(code)
    assert refused.value.message == "微信授权已失效，请重新打开绑定页面。"
    assert refused.value.fields == {"code": ["微信授权已失效，请重新打开绑定页面。"]}


def test_exchange_code_with_wrong_secret_or_no_server(fake_wechat, settings):
    fake_wechat.codes["CODE-ok"] = OPENID
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "app_secret": "wrong"}
    with pytest.raises(ValidationFailed, match="公众号配置有误"):
        wechat_module.exchange_code("CODE-ok")
    fake_wechat.stop()
    with pytest.raises(ValidationFailed, match="暂时无法连接微信服务"):
        wechat_module.exchange_code("CODE-ok")
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "app_id": ""}
    with pytest.raises(ValidationFailed, match="尚未配置"):
        wechat_module.exchange_code("CODE-ok")


# --- never raises -----------------------------------------------------------------------------------------


def test_no_channel_raises_when_every_server_is_gone(fake_smtp, fake_sms, fake_wechat, settings):
    for fake in (fake_smtp, fake_sms, fake_wechat):
        fake.stop()
    port = closed_port()
    settings.EMAIL_PORT = port
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "url": f"http://127.0.0.1:{port}/"}
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "api_base": f"http://127.0.0.1:{port}"}
    addresses = {"email": "a@example.org", "sms": MOBILE, "wechat": OPENID}
    for channel in channels.configured():
        result = channel.send(outgoing(addresses[channel.name]))
        assert result.outcome == "retry", (channel, result)


def test_bad_url_setting_gives_up(fake_sms, settings):
    settings.DANGJIAN_SMS = {**settings.DANGJIAN_SMS, "url": "ftp://example.org/"}
    result = channels.get("sms").send(outgoing(MOBILE))
    assert (result.outcome, result.code) == ("give_up", "bad-url")
