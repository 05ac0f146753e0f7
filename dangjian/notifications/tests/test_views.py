"""The notification pages end to end through the test client: inbox, reading, replies, the workers' pages,
the message templates and the WeChat binding (against the fake WeChat server)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.notifications import notices
from dangjian.notifications.models import (
    Delivery,
    DeliveryAttempt,
    GreetingMessage,
    MessageTemplate,
    Notification,
    Reply,
    WechatBinding,
)
from dangjian.notifications.services import Message, notification_create
from dangjian.testing import PASSWORD, make_member, make_user

BIRTHDAY = notices.POLITICAL_BIRTHDAY.code
OPENID = "oTESTopenid_0123456789abcdef"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def greet(member, key, **context):
    ctx = {"姓名": member.name, "入党周年": 10, "入党日期": "2016年7月1日", "党组织": "甲社区党支部", "寄语": ""}
    ctx.update(context)
    return Message(kind=BIRTHDAY, member=member, context=ctx, dedupe_key=key, link="/my/")


def send(*messages):
    with system_scope("test: send messages"):
        notification_create(actor=SYSTEM, messages=list(messages))


def to_user(user, org, key, title="甲社区党支部"):
    return Message(kind=notices.TERM_ENDING.code, user=user, org_path=org.path, dedupe_key=key,
                   context={"党组织": title, "届满日期": "2027年3月31日", "情况": "即将届满", "依据": "第五条"})


def audits(action):
    return AuditEntry.objects.filter(action=action, success=True).count()


def member_user(member, username):
    """Link an account to a member (as the member user of build_district is)."""
    from dangjian.members.models import Member

    user = make_user(username)
    Member.unscoped.filter(pk=member.pk).update(user=user)
    member.refresh_from_db()
    return user


# --- The inbox ----------------------------------------------------------------------------------------------

def test_inbox_shows_only_ones_own_messages(client, district):
    member, worker = district.users["member"], district.users["branch_worker"]
    send(greet(district.member_a1, "mine"), greet(district.member_a2, "li"), to_user(worker, district.branch_a1, "w"))
    login(client, member)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "张三同志，祝您政治生日快乐" in page
    assert "李四" not in page and "任期" not in page
    others = Notification.unscoped.exclude(dedupe_key="mine")
    for n in others:  # another person's message is not found, and stays unread
        response = client.get(reverse("notifications:detail", args=[n.pk]))
        assert response.status_code == 404
        assert "不是发给您的" in response.content.decode()
    assert not Notification.unscoped.filter(read_at__isnull=False).exists()


def test_reading_marks_read_and_lowers_the_badge(client, district):
    send(greet(district.member_a1, "one"), to_user(district.users["member"], district.branch_a1, "two"))
    login(client, district.users["member"])
    response = client.get(reverse("notifications:inbox"))
    assert response.context["unread_count"] == 2
    assert response.content.decode().count('class="inbox-item unread"') == 2
    assert 'aria-label="2 条未读"' in response.content.decode()  # the top bar's badge
    note = Notification.unscoped.get(dedupe_key="one")
    page = client.get(reverse("notifications:detail", args=[note.pk]))
    assert page.status_code == 200 and page.context["unread_count"] == 1
    note.refresh_from_db()
    assert note.read_at is not None
    assert client.get(reverse("notifications:inbox")).content.decode().count('class="inbox-item unread"') == 1


def test_read_all(client, district):
    send(greet(district.member_a1, "one"), greet(district.member_a1, "two", 入党周年=11), greet(district.member_a2, "li"))
    login(client, district.users["member"])
    response = client.post(reverse("notifications:read_all"), follow=True)
    assert "已将 2 条消息标为已读" in response.content.decode()
    assert response.context["unread_count"] == 0
    assert Notification.unscoped.get(dedupe_key="li").read_at is None  # someone else's stays unread


def test_inbox_pages_by_keyset(client, district):
    send(*[greet(district.member_a1, f"k{i}", 入党周年=i) for i in range(25)])
    login(client, district.users["member"])
    first = client.get(reverse("notifications:inbox"))
    assert len(first.context["rows"]) == 20 and first.context["next_key"]
    second = client.get(reverse("notifications:inbox") + "?after=" + first.context["next_key"])
    ids = [n.pk for n in first.context["rows"]] + [n.pk for n in second.context["rows"]]
    assert len(second.context["rows"]) == 5 and second.context["next_key"] is None
    assert sorted(ids) == sorted(Notification.unscoped.values_list("pk", flat=True))  # each message once
    for junk in ("junk", "99999999999999999999-1", "1-999999999999999999"):
        response = client.get(reverse("notifications:inbox") + "?after=" + junk)
        assert response.status_code == 200 and len(response.context["rows"]) in (0, 20), junk


# --- Replies (留言) ----------------------------------------------------------------------------------------------

def test_a_reply_reaches_the_branch_workers_inbox(client, district, django_capture_on_commit_callbacks):
    send(greet(district.member_a1, "bday"))
    note = Notification.unscoped.get(dedupe_key="bday")
    login(client, district.users["member"])
    page = client.get(reverse("notifications:detail", args=[note.pk])).content.decode()
    assert "发送留言" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notifications:detail", args=[note.pk]), {"body": "  感谢组织的关怀！ "})
    assert response.status_code == 302
    reply = Reply.unscoped.get()
    assert reply.body == "感谢组织的关怀！" and reply.member_id == district.member_a1.pk
    assert audits("notifications.reply.created") == 1
    page = client.get(reverse("notifications:detail", args=[note.pk])).content.decode()
    assert "留言已送达党组织" in page and "感谢组织的关怀！" in page  # the member's earlier reply is shown

    worker = district.users["branch_worker"]
    received = Notification.unscoped.get(user=worker, kind=notices.REPLY_RECEIVED.code)
    assert received.link == f"/notifications/replies/{reply.pk}/"
    client.logout()
    login(client, worker)
    assert "张三回复了" in client.get(reverse("notifications:inbox")).content.decode()
    detail = client.get(received.link)
    assert detail.status_code == 200 and "感谢组织的关怀！" in detail.content.decode()
    assert "感谢组织的关怀！" in client.get(reverse("notifications:replies")).content.decode()


@pytest.mark.parametrize("body, expected", [
    ("", "留言：留言不能为空。"),
    ("   \n ", "留言：留言不能为空。"),
    ("长" * (settings.DANGJIAN_REPLY_MAX_LENGTH + 1),
     f"留言不能超过 {settings.DANGJIAN_REPLY_MAX_LENGTH} 个字（现有 {settings.DANGJIAN_REPLY_MAX_LENGTH + 1} 个）"),
])
def test_an_empty_or_too_long_reply_is_refused_and_nothing_saved(client, district, body, expected):
    send(greet(district.member_a1, "bday"))
    note = Notification.unscoped.get(dedupe_key="bday")
    login(client, district.users["member"])
    before = Notification.unscoped.count()
    response = client.post(reverse("notifications:detail", args=[note.pk]), {"body": body})
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not Reply.unscoped.exists() and Notification.unscoped.count() == before
    assert audits("notifications.reply.created") == 0


def test_a_reply_with_the_field_left_out_gets_the_message_too(client, district):
    send(greet(district.member_a1, "bday"))
    login(client, district.users["member"])
    response = client.post(reverse("notifications:detail", args=[Notification.unscoped.get().pk]), {})
    assert "留言不能为空" in response.content.decode() and not Reply.unscoped.exists()


def test_a_message_without_replies_has_no_form_and_refuses_one(client, district):
    worker = district.users["branch_worker"]
    send(to_user(worker, district.branch_a1, "term"))
    note = Notification.unscoped.get()
    login(client, worker)
    assert "发送留言" not in client.get(reverse("notifications:detail", args=[note.pk])).content.decode()
    response = client.post(reverse("notifications:detail", args=[note.pk]), {"body": "好的"})
    assert response.status_code == 422 and "不接受留言" in response.content.decode()
    assert not Reply.unscoped.exists()


def test_a_sibling_branchs_reply_is_invisible(client, district):
    li = member_user(district.member_a2, "li_si")
    send(greet(district.member_a2, "li"))
    login(client, li)
    client.post(reverse("notifications:detail", args=[Notification.unscoped.get().pk]), {"body": "乙社区的留言"})
    reply = Reply.unscoped.get()
    client.logout()
    login(client, district.users["branch_worker"])  # works for 支部A1, not A2
    assert client.get(reverse("notifications:reply_detail", args=[reply.pk])).status_code == 404
    assert "乙社区的留言" not in client.get(reverse("notifications:replies")).content.decode()
    client.logout()
    login(client, district.users["committee_admin"])  # 党工委A above both
    assert client.get(reverse("notifications:reply_detail", args=[reply.pk])).status_code == 200


def test_the_statistics_sentence_counts_greetings_and_replies_in_scope(client, district):
    send(greet(district.member_a1, "a1"), greet(district.member_a2, "a2"), greet(district.member_b1, "b1"))
    login(client, district.users["member"])
    client.post(reverse("notifications:detail", args=[Notification.unscoped.get(dedupe_key="a1").pk]), {"body": "谢谢"})
    client.logout()
    login(client, district.users["committee_admin"])
    page = client.get(reverse("notifications:replies")).content.decode()
    assert "推送政治生日<strong>2</strong>条，接收党员回复留言<strong>1</strong>条" in page
    client.logout()
    login(client, district.users["district_admin"])
    page = client.get(reverse("notifications:replies")).content.decode()
    assert "推送政治生日<strong>3</strong>条，接收党员回复留言<strong>1</strong>条" in page
    yesterday = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    page = client.get(reverse("notifications:replies") + f"?start={yesterday}&end={yesterday}").content.decode()
    assert "推送政治生日<strong>0</strong>条，接收党员回复留言<strong>0</strong>条" in page
    bad = client.get(reverse("notifications:replies") + "?start=2026-13-40&end=2026-01-01").content.decode()
    assert "起始日期：" in bad  # an unreadable date is named, not a 500
    far = client.get(reverse("notifications:replies") + "?start=0001-01-01&end=9999-12-31")
    assert far.status_code == 200 and "截止日期：日期应在 1921-07-01 至 2100-12-31 之间" in far.content.decode()


# --- The push log --------------------------------------------------------------------------------------------

def _delivery(member, channel, status, key, address):
    delivery = Delivery.unscoped.create(channel=channel, member=member, user=member.user, org_path=member.org_path,
                                        address_masked=address, subject="张三同志，祝您政治生日快乐", body="…",
                                        dedupe_key=key, status=status, attempts=1)
    DeliveryAttempt.objects.create(delivery=delivery, outcome="give_up" if status == "failed" else "sent",
                                   code="43004" if status == "failed" else "0", message="该用户未关注公众号")
    return delivery


def test_the_push_log_filters_shows_masked_addresses_and_attempts(client, district):
    _delivery(district.member_a1, "sms", "sent", "d1", "139****0001")
    _delivery(district.member_a1, "wechat", "failed", "d2", "oTES…cdef")
    _delivery(district.member_a2, "sms", "sent", "d3", "139****0002")
    login(client, district.users["branch_worker"])
    page = client.get(reverse("notifications:deliveries")).content.decode()
    assert "139****0001" in page and "oTES…cdef" in page
    assert "139****0002" not in page  # 支部A2's push log is not the A1 worker's
    page = client.get(reverse("notifications:deliveries") + "?status=failed").content.decode()
    assert "oTES…cdef" in page and "139****0001" not in page and "该用户未关注公众号" in page and "放弃发送" in page
    page = client.get(reverse("notifications:deliveries") + "?channel=sms").content.decode()
    assert "139****0001" in page and "oTES…cdef" not in page
    page = client.get(reverse("notifications:deliveries") + "?channel=pigeon").content.decode()
    assert "渠道：" in page  # an unknown filter value is named


# --- 政治生日寄语 ---------------------------------------------------------------------------------------------

def test_a_worker_sets_and_clears_the_greeting_of_their_branch(client, district):
    login(client, district.users["branch_worker"])
    url = reverse("notifications:greeting", args=[district.branch_a1.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"message": "不忘初心，牢记使命。"})
    assert response.status_code == 302
    assert GreetingMessage.unscoped.get(organization=district.branch_a1).message == "不忘初心，牢记使命。"
    assert audits("notifications.greeting.updated") == 1
    send(greet(district.member_a1, "later", 寄语="不忘初心，牢记使命。"))
    client.post(url, {"message": ""})
    assert not GreetingMessage.unscoped.exists()


def test_a_too_long_greeting_is_refused_and_nothing_saved(client, district):
    login(client, district.users["branch_worker"])
    url = reverse("notifications:greeting", args=[district.branch_a1.pk])
    response = client.post(url, {"message": "寄" * 201})
    assert response.status_code == 200
    assert "寄语：寄语不能超过 200 个字（现有 201 个）" in response.content.decode()
    assert not GreetingMessage.unscoped.exists() and audits("notifications.greeting.updated") == 0


def test_a_greeting_outside_the_scope_is_404_and_unchanged(client, district):
    login(client, district.users["branch_worker"])
    response = client.post(reverse("notifications:greeting", args=[district.branch_a2.pk]), {"message": "越权"})
    assert response.status_code == 404 and not GreetingMessage.unscoped.exists()


# --- Message templates ---------------------------------------------------------------------------------------

def test_a_template_with_an_unknown_variable_is_refused_when_saved(client, district):
    login(client, district.users["district_admin"])
    url = reverse("notifications:template_edit", args=[BIRTHDAY])
    response = client.post(url, {"title": "{{姓名}}同志，{{职务}}好", "body": "{{姓名}}"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "标题：未知变量 {{职务}}。可用变量：{{姓名}}、{{入党周年}}、{{入党日期}}、{{党组织}}、{{寄语}}。" in page
    assert not MessageTemplate.objects.exists() and audits("notifications.template.updated") == 0


def test_a_good_edit_changes_the_next_message_and_reset_restores_the_default(client, district):
    login(client, district.users["district_admin"])
    url = reverse("notifications:template_edit", args=[BIRTHDAY])
    page = client.get(url).content.decode()
    assert "{{入党日期}}" in page and "入党日期，如 2001年7月1日" in page  # the variables beside the editor
    assert "张三同志，祝您政治生日快乐" in page  # the preview from sample values
    response = client.post(url, {"title": "{{姓名}}：政治生日快乐", "body": "{{党组织}}祝您入党{{入党周年}}周年快乐。"})
    assert response.status_code == 302 and audits("notifications.template.updated") == 1
    send(greet(district.member_a1, "after"))
    assert Notification.unscoped.get(dedupe_key="after").title == "张三：政治生日快乐"
    assert "已修改" in client.get(reverse("notifications:templates")).content.decode()

    assert client.post(reverse("notifications:template_reset", args=[BIRTHDAY])).status_code == 302
    assert not MessageTemplate.objects.exists() and audits("notifications.template.updated") == 2
    send(greet(district.member_a1, "reset"))
    assert Notification.unscoped.get(dedupe_key="reset").title == "张三同志，祝您政治生日快乐"


def test_preview_shows_the_new_wording_without_saving(client, district):
    login(client, district.users["district_admin"])
    url = reverse("notifications:template_edit", args=[BIRTHDAY])
    page = client.post(url, {"title": "{{姓名}}，生日好", "body": "{{寄语}}", "preview": "1"}).content.decode()
    assert "张三，生日好" in page and "不忘初心，牢记使命。" in page and "（未保存）" in page
    assert not MessageTemplate.objects.exists()


def test_an_unknown_kind_is_404(client, district):
    login(client, district.users["district_admin"])
    assert client.get(reverse("notifications:template_edit", args=["nope.kind"])).status_code == 404


@pytest.mark.parametrize("role", ["branch_worker", "committee_admin", "member"])
def test_only_the_district_edits_templates(client, district, role):
    login(client, district.users[role])
    assert client.get(reverse("notifications:templates")).status_code == 403
    url = reverse("notifications:template_edit", args=[BIRTHDAY])
    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "{{姓名}}", "body": "x"}).status_code == 403
    assert client.post(reverse("notifications:template_reset", args=[BIRTHDAY])).status_code == 403
    assert not MessageTemplate.objects.exists() and audits("notifications.template.updated") == 0


# --- WeChat binding (the fake WeChat server) -----------------------------------------------------------------

def _start_bind(client):
    response = client.post(reverse("web:centre_wechat_bind"))
    assert response.status_code == 302
    target = urlparse(response["Location"])
    query = parse_qs(target.query)
    assert target.path == "/connect/oauth2/authorize" and query["scope"] == ["snsapi_base"]
    callback = query["redirect_uri"][0]
    assert callback == settings.DANGJIAN_PUBLIC_URL + reverse("web:centre_wechat_callback")
    return query["state"][0]


def test_binding_wechat_through_the_web_authorisation(client, district, fake_wechat):
    fake_wechat.codes["CODE-ok"] = OPENID
    user = district.users["member"]
    login(client, user)
    state = _start_bind(client)
    response = client.get(reverse("web:centre_wechat_callback"), {"code": "CODE-ok", "state": state}, follow=True)
    assert "已绑定微信" in response.content.decode()
    assert WechatBinding.objects.get(user=user).openid == OPENID
    assert audits("notifications.wechat.bound") == 1
    # the state works once: replaying the callback is refused
    replay = client.get(reverse("web:centre_wechat_callback"), {"code": "CODE-ok", "state": state}, follow=True)
    assert "微信授权校验失败" in replay.content.decode()

    response = client.post(reverse("web:centre_wechat_unbind"), follow=True)
    assert "已解除微信绑定" in response.content.decode() and not WechatBinding.objects.exists()
    assert audits("notifications.wechat.unbound") == 1


@pytest.mark.parametrize("state", ["", "forged0123456789", None])
def test_a_callback_with_the_wrong_state_is_refused(client, district, fake_wechat, state):
    fake_wechat.codes["CODE-ok"] = OPENID
    login(client, district.users["member"])
    real = _start_bind(client) if state is not None else None
    response = client.get(reverse("web:centre_wechat_callback"), {"code": "CODE-ok", "state": state or ""},
                          follow=True)
    assert real != (state or "")
    assert "微信授权校验失败" in response.content.decode()
    assert not WechatBinding.objects.exists() and audits("notifications.wechat.bound") == 0


def test_a_bad_code_shows_wechats_reason_and_binds_nothing(client, district, fake_wechat):
    login(client, district.users["member"])
    state = _start_bind(client)
    response = client.get(reverse("web:centre_wechat_callback"), {"code": "CODE-unknown", "state": state}, follow=True)
    assert "微信授权已失效，请重新打开绑定页面" in response.content.decode()
    assert not WechatBinding.objects.exists()


def test_an_openid_bound_to_another_account_is_refused(client, district, fake_wechat):
    WechatBinding.objects.create(user=district.users["branch_worker"], openid=OPENID)
    fake_wechat.codes["CODE-ok"] = OPENID
    login(client, district.users["member"])
    state = _start_bind(client)
    response = client.get(reverse("web:centre_wechat_callback"), {"code": "CODE-ok", "state": state}, follow=True)
    assert "这个微信号已绑定其他账号" in response.content.decode()
    assert WechatBinding.objects.get().user == district.users["branch_worker"]


def test_binding_is_not_offered_when_wechat_is_not_configured(client, district):
    login(client, district.users["member"])
    page = client.get(reverse("web:centre_settings")).content.decode()
    assert "本平台尚未开通微信公众号推送" in page and "绑定微信</button>" not in page
    response = client.post(reverse("web:centre_wechat_bind"), follow=True)
    assert "暂时无法绑定微信" in response.content.decode()


# --- Query counts (constant in the number of rows) ------------------------------------------------------------

def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(district, n, start):
    members = [district.member_a1] + [make_member(district.branch_a1) for _ in range(2)]
    send(*[greet(m, f"g{start + i}-{m.pk}", 入党周年=start + i) for i in range(n) for m in members])
    for i, n_ in enumerate(Notification.unscoped.filter(member__in=members, replies__isnull=True)):
        Reply.unscoped.create(notification=n_, member=n_.member, org_path=n_.org_path, kind=n_.kind,
                              body=f"留言{start}-{i}")


@pytest.mark.parametrize("role, url", [
    ("member", lambda: reverse("notifications:inbox")),
    ("committee_admin", lambda: reverse("notifications:replies")),
    ("committee_admin", lambda: reverse("notifications:deliveries")),
])
def test_list_pages_keep_their_query_count(client, district, role, url):
    login(client, district.users[role])
    client.get(url())  # the first request renews the session: not counted
    _grow(district, 2, 0)
    for i, m in enumerate((district.member_a1, district.member_a2)):
        _delivery(m, "sms", "sent", f"s{i}", "139****0000")
    small = _queries(client, url())
    _grow(district, 8, 100)
    for i in range(6):
        _delivery(district.member_a1, "wechat", "failed", f"w{i}", "oTES…cdef")
    assert _queries(client, url()) == small


def test_inbox_query_budget(client, district, django_assert_max_num_queries):
    login(client, district.users["member"])
    client.get(reverse("notifications:inbox"))
    send(*[greet(district.member_a1, f"k{i}", 入党周年=i) for i in range(30)])
    # session, user, grants, member (scope), the page, the unread badge
    with django_assert_max_num_queries(8) as captured:
        response = client.get(reverse("notifications:inbox"))
    assert len(response.context["rows"]) == 20
    assert sum("COUNT(" in q["sql"].upper() for q in captured.captured_queries) == 1  # the badge, once
    assert re.search(r'aria-label="30 条未读"', response.content.decode())
