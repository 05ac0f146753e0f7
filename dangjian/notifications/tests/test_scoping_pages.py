"""The scoping table of the notification pages and the member centre (ARCHITECTURE §5): page × role ×
target relation → expected status, written out by hand.

Targets are named from the branch worker's point of view (支部A1): `own` is 支部A1 or its member 张三,
`ancestor` 党工委A, `sibling` 支部A2 (李四), `other` 支部B1 under another committee (王五). The inbox is
addressed by recipient: a message is visible to the person it was sent to and to nobody else.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.notifications import notices
from dangjian.notifications.models import (
    GreetingMessage,
    MessageTemplate,
    Notification,
    PushPreference,
    Reply,
)
from dangjian.notifications.services import Message, notification_create
from dangjian.testing import client_as, make_user, scoping_params

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302  # anonymous → login page
BIRTHDAY = notices.POLITICAL_BIRTHDAY.code

ORG = {"own": "branch_a1", "ancestor": "committee_a", "sibling": "branch_a2", "other": "branch_b1"}
MEMBER = {"own": "member_a1", "sibling": "member_a2", "other": "member_b1"}


@pytest.fixture
def world(district):
    """Every member has an account, a greeting and a reply to it."""
    for rel, name in MEMBER.items():
        member = getattr(district, name)
        if member.user_id is None:
            Member.unscoped.filter(pk=member.pk).update(user=make_user(f"m_{rel}"))
            member.refresh_from_db()
        with system_scope("test: greet"):
            notification_create(actor=SYSTEM, messages=[Message(
                kind=BIRTHDAY, member=member, dedupe_key=f"bd-{rel}",
                context={"姓名": member.name, "入党周年": 5, "入党日期": "2021年7月1日", "党组织": "某支部", "寄语": ""})])
        note = Notification.unscoped.get(dedupe_key=f"bd-{rel}")
        Reply.unscoped.create(notification=note, member=member, org_path=member.org_path, kind=BIRTHDAY,
                              body=f"{member.name}的留言")
    return district


def org_url(name):
    return lambda d, rel: reverse(name, args=[getattr(d, ORG[rel]).pk])


def note_url(d, rel):
    return reverse("notifications:detail", args=[Notification.unscoped.get(dedupe_key=f"bd-{rel}").pk])


def reply_url(d, rel):
    return reverse("notifications:reply_detail", args=[Reply.unscoped.get(member=getattr(d, MEMBER[rel])).pk])


def plain(name, *args):
    return lambda d, rel: reverse(name, args=args)


#                                        anon   dist  comm  work  memb  sys   sec   aud
GET_CASES = [
    ("inbox", plain("notifications:inbox"), None, (LOGIN, 200, 200, 200, 200, 200, 200, 200)),
    ("message", note_url, "own", (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("message", note_url, "sibling", (LOGIN, 404, 404, 404, 404, 404, 404, 404)),
    ("replies", plain("notifications:replies"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("reply", reply_url, "own", (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("reply", reply_url, "sibling", (LOGIN, 200, 200, 404, 403, 403, 403, 403)),
    ("reply", reply_url, "other", (LOGIN, 200, 404, 404, 403, 403, 403, 403)),
    ("push log", plain("notifications:deliveries"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("greeting", org_url("notifications:greeting"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("greeting", org_url("notifications:greeting"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("greeting", org_url("notifications:greeting"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("greeting", org_url("notifications:greeting"), "other", (LOGIN, 200, 404, 404, 404, 404, 403, 404)),
    ("templates", plain("notifications:templates"), None, (LOGIN, 200, 403, 403, 403, 403, 403, 403)),
    ("template", plain("notifications:template_edit", BIRTHDAY), None, (LOGIN, 200, 403, 403, 403, 403, 403, 403)),
    ("centre", plain("web:centre"), None, (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("settings", plain("web:centre_settings"), None, (LOGIN, 200, 200, 200, 200, 200, 200, 200)),
]






@pytest.mark.parametrize("case, role, expected", list(scoping_params(GET_CASES, ROLES)))
def test_get(client, world, case, role, expected):
    label, url, rel, _ = case
    response = client_as(client, world, role).get(url(world, rel))
    assert response.status_code == expected
    if label == "reply" and expected == 200:
        assert getattr(world, MEMBER[rel]).name + "的留言" in response.content.decode()
    if label == "greeting" and expected == 200:
        assert getattr(world, ORG[rel]).name in response.content.decode()


def state():
    """Everything a denied write could touch."""
    return (
        list(Notification.unscoped.order_by("pk").values_list("pk", "read_at")),
        list(Reply.unscoped.order_by("pk").values_list("pk", "body")),
        list(GreetingMessage.unscoped.values_list("pk", "message")),
        list(MessageTemplate.objects.values_list("pk", "title")),
        list(PushPreference.objects.values_list("pk", "email", "sms", "wechat")),
        AuditEntry.objects.filter(success=True).exclude(action__startswith="accounts.login").count(),
    )


#                                              anon   dist  comm  work  memb  sys   sec   aud
POST_CASES = [
    ("reply to another's message", note_url, "sibling", {"body": "冒名留言"},
     (LOGIN, 404, 404, 404, 404, 404, 404, 404)),
    ("greeting", org_url("notifications:greeting"), "sibling", {"message": "越权寄语"},
     (LOGIN, None, None, 404, 404, 404, 403, 404)),
    ("greeting", org_url("notifications:greeting"), "other", {"message": "越权寄语"},
     (LOGIN, None, 404, 404, 404, 404, 403, 404)),
    ("template", plain("notifications:template_edit", BIRTHDAY), None, {"title": "{{姓名}}", "body": "改"},
     (LOGIN, None, 403, 403, 403, 403, 403, 403)),
    ("template reset", plain("notifications:template_reset", BIRTHDAY), None, {},
     (LOGIN, None, 403, 403, 403, 403, 403, 403)),
]




# None: allowed (tested in test_views)
@pytest.mark.parametrize("case, role, expected",
                         [p for p in scoping_params(POST_CASES, ROLES) if p.values[2] is not None])
def test_denied_write_changes_nothing(client, world, case, role, expected):
    _, url, rel, data, _ = case
    MessageTemplate.objects.create(kind=BIRTHDAY, title="{{姓名}}好", body="原模板")  # something reset could remove
    client = client_as(client, world, role)
    before = state()
    response = client.post(url(world, rel), data)
    assert response.status_code == expected
    assert state() == before
