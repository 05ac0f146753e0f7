"""线上党员中心 (/my/) and the menu: the member's cards, the push settings with the large-font mode, and who
sees which menu items."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import NoReverseMatch, reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.notifications import notices
from dangjian.notifications.models import PushPreference
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import Position
from dangjian.orgs.services import committee_member_add
from dangjian.testing import PASSWORD
from dangjian.web import centre


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def greet(member, key):
    return Message(kind=notices.POLITICAL_BIRTHDAY.code, member=member, dedupe_key=key,
                   context={"姓名": member.name, "入党周年": 5, "入党日期": "2021年7月1日", "党组织": "甲社区党支部", "寄语": ""})


def test_a_member_is_sent_from_the_workbench_to_the_centre(client, district):
    login(client, district.users["member"])
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"] == reverse("web:centre")


def test_the_centre_shows_record_organisation_people_and_messages(client, district):
    with system_scope("test: seats"):
        committee_member_add(actor=SYSTEM, org=district.branch_a1, person_name="赵书记", position=Position.SECRETARY,
                             term_start=dt.date(2024, 1, 1), term_end=dt.date(2027, 1, 1))
        committee_member_add(actor=SYSTEM, org=district.branch_a1, person_name="钱委员",
                             position=Position.COMMITTEE_MEMBER, term_start=dt.date(2024, 1, 1),
                             term_end=dt.date(2027, 1, 1))
        committee_member_add(actor=SYSTEM, org=district.branch_a2, person_name="孙书记", position=Position.SECRETARY,
                             term_start=dt.date(2024, 1, 1), term_end=dt.date(2027, 1, 1))
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1, "a"), greet(district.member_a2, "b")])
    login(client, district.users["member"])
    response = client.get(reverse("web:centre"))
    page = response.content.decode()
    assert response.status_code == 200 and "张三同志，您好" in page
    assert "示范区委 › 甲街道党工委 › 甲社区党支部" in page
    assert "赵书记" in page and "钱委员（委员）" in page and "孙书记" not in page
    assert "worker_a1" in page  # the branch's party-affairs worker to contact
    assert response.context["unread"] == 1 and "1 条未读" in page
    member = district.member_a1
    assert member.id_number_masked in page and "********" in page


OTHER_MODULES = {"meetings:my": "/meetings/my/", "dues:my": "/dues/my/", "transfers:my": "/transfers/my/"}


def test_cards_of_other_modules_appear_only_when_their_pages_exist(client, district, monkeypatch):
    login(client, district.users["member"])

    def missing(name, *a, **kw):
        if name in OTHER_MODULES:
            raise NoReverseMatch(name)
        return reverse(name, *a, **kw)

    monkeypatch.setattr(centre, "reverse", missing)
    page = client.get(reverse("web:centre")).content.decode()
    assert "我的会议" not in page and "我的党费" not in page and "组织关系转接" not in page
    monkeypatch.setattr(centre, "reverse", lambda name, *a, **kw: OTHER_MODULES.get(name) or reverse(name))
    page = client.get(reverse("web:centre")).content.decode()
    for url in OTHER_MODULES.values():
        assert f'href="{url}"' in page


def test_an_account_without_a_member_record_has_no_centre(client, district):
    login(client, district.users["branch_worker"])
    response = client.get(reverse("web:centre"))
    assert response.status_code == 404 and "尚未关联党员档案" in response.content.decode()


def test_saving_the_settings_is_audited_and_large_font_reaches_every_page(client, district, settings):
    settings.EMAIL_HOST = "mail.example.org"  # email configured; SMS and WeChat are not
    user = district.users["member"]
    login(client, user)
    page = client.get(reverse("web:centre_settings")).content.decode()
    assert page.count("未开通") >= 2 and 'class="large-font' not in page
    response = client.post(reverse("web:centre_settings"), {"email": "", "sms": "on", "large_font": "on"})
    assert response.status_code == 302
    pref = PushPreference.objects.get(user=user)
    # email switched off; SMS is not open on this platform, so the stored value stays (True by default)
    assert (pref.email, pref.sms, pref.wechat) == (False, True, True)
    user.refresh_from_db()
    assert user.large_font is True
    entry = AuditEntry.objects.get(action="notifications.preference.updated")
    assert entry.changes == {"email": [True, False], "large_font": [False, True]}
    for name in ("web:centre", "notifications:inbox", "members:me", "web:centre_settings"):
        html = client.get(reverse(name)).content.decode()
        assert '<html lang="zh-CN" class="large-font">' in html and '<body class="large-font' in html, name
    client.post(reverse("web:centre_settings"), {"email": "on"})
    user.refresh_from_db()
    assert user.large_font is False and PushPreference.objects.get(user=user).email is True


def test_a_worker_without_a_member_record_can_use_the_settings(client, district):
    worker = district.users["branch_worker"]
    login(client, worker)
    assert client.post(reverse("web:centre_settings"), {"large_font": "on"}).status_code == 302
    worker.refresh_from_db()
    assert worker.large_font
    assert 'class="large-font' in client.get(reverse("members:list")).content.decode()


MENU = {  # role → (in the bar, under 更多, nowhere)
    "member": ({"消息", "党员中心"}, {"云地图"}, {"工作台", "留言", "推送记录", "消息模板", "党员"}),
    "branch_worker": ({"工作台", "消息", "党员", "组织生活", "党费", "转接", "阵地"}, {"留言", "推送记录", "流动党员"},
                      {"党员中心", "消息模板"}),
    "district_admin": ({"工作台", "消息", "党组织"}, {"留言", "推送记录", "消息模板"}, {"党员中心"}),
    "audit_admin": ({"消息", "审计日志"}, {"云地图"}, {"工作台", "留言", "推送记录", "消息模板", "党员中心", "党员"}),
}


@pytest.mark.parametrize("role", list(MENU))
def test_the_menu_shows_what_each_role_may_open(client, district, role):
    bar, more, nowhere = MENU[role]
    login(client, district.users[role])
    response = client.get(reverse("web:centre_settings"))
    labels = {item["label"] for item in response.context["nav_items"]}
    more_labels = {item["label"] for item in response.context["nav_more"]}
    assert bar <= labels and more <= more_labels
    assert not nowhere & (labels | more_labels)


def test_the_menu_badge_counts_unread_messages_and_one_item_is_current(client, district):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1, "a")])
    login(client, district.users["member"])
    response = client.get(reverse("notifications:inbox"))
    inbox = next(i for i in response.context["nav_items"] if i["label"] == "消息")
    assert inbox["badge"] == 1 and inbox["active"]
    assert sum(1 for i in response.context["nav_items"] if i["active"]) == 1
    client.logout()
    login(client, district.users["committee_admin"])
    response = client.get(reverse("notifications:replies"))
    everything = response.context["nav_items"] + response.context["nav_more"]
    assert [i["label"] for i in everything if i["active"]] == ["留言"]
    assert response.context["nav_more_active"]  # the 更多 group opens on its current item
    assert '<details class="navmore" open>' in response.content.decode()


def test_the_centre_home_query_count_is_small(client, district, django_assert_max_num_queries):
    login(client, district.users["member"])
    client.get(reverse("web:centre"))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("web:centre")).status_code == 200


def test_the_organisation_card_is_read_once_then_served_from_the_cache(client, district):
    """我的组织 (names above, committee, workers) is cached per organisation: a later visit reads none of it
    again and shows the same page."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, district.users["member"])

    client.get(reverse("web:centre"))  # the first visit of the session does its own bookkeeping
    with CaptureQueriesContext(connection) as warm:
        page = client.get(reverse("web:centre")).content.decode()
    assert "示范区委 › 甲街道党工委 › 甲社区党支部" in page and "worker_a1" in page
    assert not [q for q in warm.captured_queries if "orgs_committeemember" in q["sql"]]
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        again = client.get(reverse("web:centre")).content.decode()
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')  # masked afresh on every page
    assert token.sub("", again) == token.sub("", page)
    assert len(cold.captured_queries) == len(warm.captured_queries) + 4  # the org, names above, seats, workers



def test_a_new_secretary_reaches_the_card_within_its_cache_time(client, district, monkeypatch):
    import time

    login(client, district.users["member"])
    assert "暂未登记" in client.get(reverse("web:centre")).content.decode()
    with system_scope("test: a new secretary"):
        committee_member_add(actor=SYSTEM, org=district.branch_a1, person_name="赵书记", position=Position.SECRETARY,
                             term_start=dt.date(2024, 1, 1), term_end=dt.date(2027, 1, 1))
    assert "赵书记" not in client.get(reverse("web:centre")).content.decode()  # the card is still the cached one
    later = time.time() + centre.ORG_CARD_SECONDS + 1
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    assert "赵书记" in client.get(reverse("web:centre")).content.decode()
