"""The notification service without outside channels: creating messages exactly once, wording, replies,
政治生日 greetings (double runs, crashes, 29 February) and the reminders wired from the organisation module."""

import datetime as dt

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.notifications import jobs, kinds, notices, services
from dangjian.notifications.models import GreetingMessage, MessageTemplate, Notification, Reply
from dangjian.notifications.selectors import (
    greeting_messages_for,
    inbox,
    kind_statistics,
    unread_count,
    workers_of,
)
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import CommitteeMember, Position
from dangjian.testing import acting_as, make_member, make_user

BIRTHDAY = notices.POLITICAL_BIRTHDAY.code


def joined(org, day: dt.date, **kw):
    kw.setdefault("confirmed_on", "" if kw.get("status") == "probationary" else dt.date(day.year + 1, 3, 1))
    return make_member(org, born=dt.date(day.year - 30, 1, 1), joined_on=day, **kw)


def greet(member, key="k1", **context):
    ctx = {"姓名": member.name, "入党周年": 10, "入党日期": "2016年7月1日", "党组织": "甲社区党支部", "寄语": ""}
    ctx.update(context)
    return Message(kind=BIRTHDAY, member=member, context=ctx, dedupe_key=key)


# --- Creating messages ---------------------------------------------------------------------------------------

def test_a_dedupe_key_creates_the_message_once(district):
    with system_scope("test"):
        assert notification_create(actor=SYSTEM, messages=[greet(district.member_a1)]) == 1
        assert notification_create(actor=SYSTEM, messages=[greet(district.member_a1), greet(district.member_a2, "k2")]) == 1
        assert Notification.objects.filter(dedupe_key="k1").count() == 1


def test_same_key_twice_in_one_call_is_one_message(district):
    with system_scope("test"):
        assert notification_create(actor=SYSTEM, messages=[greet(district.member_a1), greet(district.member_a1)]) == 1


def test_a_members_message_reaches_their_account_and_the_inbox_counts_it(district):
    user = district.users["member"]
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1), greet(district.member_b1, "k2")])
    note = Notification.unscoped.get(dedupe_key="k1")
    assert note.user_id == user.pk and note.org_path == district.member_a1.org_path
    assert [n.dedupe_key for n in inbox(user)] == ["k1"]  # not 王五's greeting
    assert unread_count(user) == 1
    services.notification_read(actor=user, notification=note)
    assert unread_count(user) == 0


def test_nobody_reads_someone_elses_message(district):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_b1)])
    note = Notification.unscoped.get()
    with pytest.raises(PermissionDenied):
        services.notification_read(actor=district.users["member"], notification=note)
    assert Notification.unscoped.get().read_at is None


def test_a_worker_message_needs_the_organisation_it_is_about(district):
    with system_scope("test"), pytest.raises(ValueError):
        notification_create(actor=SYSTEM, messages=[Message(kind=notices.TERM_ENDING.code,
                                                            user=district.users["branch_worker"], context={})])


def test_the_words_are_filled_from_the_context(district):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1, 入党周年=25, 寄语="不忘初心。")])
    note = Notification.unscoped.get()
    assert note.title == f"{district.member_a1.name}同志，祝您政治生日快乐"
    assert "入党25周年" in note.body and note.body.endswith("不忘初心。")


# --- Templates ------------------------------------------------------------------------------------------------

def test_kinds_refuse_defaults_with_undeclared_variables():
    with pytest.raises(ValueError, match="undeclared"):
        kinds.register(kinds.Kind(code="t.bad", label="x", title="{{姓名}}", body="", variables={}))


@pytest.mark.parametrize(("title", "body", "field", "reason"), [
    ("{{姓名}}同志", "您好{{职务}}", "body", "未知变量 {{职务}}"),
    ("{{名字}}", "好", "title", "未知变量 {{名字}}"),
    ("", "好", "title", "不能为空"),
    ("祝贺", "   ", "body", "不能为空"),
    ("祝贺", "{{姓名}", "body", "花括号不成对"),
    ("祝" * 201, "好", "title", "不能超过 200 个字"),
])
def test_a_template_that_could_not_be_sent_is_refused_when_saved(district, title, body, field, reason):
    admin = district.users["district_admin"]
    with acting_as(admin), pytest.raises(ValidationFailed) as caught:
        services.template_update(actor=admin, kind_code=BIRTHDAY, title=title, body=body)
    assert reason in caught.value.fields[field][0]
    assert not MessageTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action="notifications.template.updated").exists()


def test_a_new_wording_applies_to_the_next_message_and_is_audited(district):
    admin = district.users["district_admin"]
    with acting_as(admin):
        services.template_update(actor=admin, kind_code=BIRTHDAY, title="{{姓名}}：政治生日快乐",
                                 body="{{党组织}}祝您入党{{入党周年}}周年快乐")
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1, 入党周年=7)])
    note = Notification.unscoped.get()
    assert note.title == f"{district.member_a1.name}：政治生日快乐"
    assert note.body == "甲社区党支部祝您入党7周年快乐"
    entry = AuditEntry.objects.get(action="notifications.template.updated")
    assert entry.changes["body"][1] == "{{党组织}}祝您入党{{入党周年}}周年快乐"
    with acting_as(admin):
        services.template_reset(actor=admin, kind_code=BIRTHDAY)
    assert not MessageTemplate.objects.exists()


def test_only_the_district_rewords_messages(district):
    worker = district.users["committee_admin"]
    with acting_as(worker), pytest.raises(PermissionDenied):
        services.template_update(actor=worker, kind_code=BIRTHDAY, title="x", body="y")


# --- Who looks after an organisation ---------------------------------------------------------------------------

def test_workers_of_are_the_nearest_organisation_with_workers(district):
    d = district
    assert workers_of(d.branch_a1) == [d.users["branch_worker"]]
    assert workers_of(d.branch_a2) == [d.users["committee_admin"]]  # no worker on 乙社区: its 党工委
    assert workers_of(d.branch_b1) == [d.users["district_admin"]]
    assert d.users["system_admin"] not in workers_of(d.root)  # administrators look after no members


# --- Replies ---------------------------------------------------------------------------------------------------

def _greeting_for_member_a1(district):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[greet(district.member_a1)])
    return Notification.unscoped.get(dedupe_key="k1")


def test_a_reply_reaches_the_branch_worker_and_is_counted(district):
    note = _greeting_for_member_a1(district)
    member_user = district.users["member"]
    with acting_as(member_user):
        services.reply_create(actor=member_user, notification=note, body="  感谢组织，我会继续努力！ ")
    reply = Reply.unscoped.get()
    assert reply.body == "感谢组织，我会继续努力！" and reply.kind == BIRTHDAY
    worker_note = inbox(district.users["branch_worker"]).get()
    assert worker_note.kind == notices.REPLY_RECEIVED.code
    assert "感谢组织" in worker_note.body and district.member_a1.name in worker_note.title
    assert AuditEntry.objects.filter(action="notifications.reply.created", actor=member_user).count() == 1
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    with acting_as(district.users["committee_admin"]):
        assert kind_statistics(kind=BIRTHDAY, start=start, end=end) == {"pushed": 1, "replies": 1}
    with acting_as(district.users["district_admin"]):  # 区教育局党委's subtree holds none of them
        assert kind_statistics(kind=BIRTHDAY, start=start, end=end, paths=[district.committee_b.path]) == \
            {"pushed": 0, "replies": 0}


@pytest.mark.parametrize(("body", "reason"), [("", "留言不能为空"), ("   \n ", "留言不能为空"),
                                              ("好" * 501, "不能超过 500 个字")])
def test_a_bad_reply_is_refused_and_nothing_is_saved(district, body, reason):
    note = _greeting_for_member_a1(district)
    member_user = district.users["member"]
    with acting_as(member_user), pytest.raises(ValidationFailed) as caught:
        services.reply_create(actor=member_user, notification=note, body=body)
    assert reason in caught.value.fields["body"][0]
    assert not Reply.unscoped.exists()
    assert Notification.unscoped.count() == 1  # no message to the worker either


def test_reply_length_limit_is_a_setting(district, settings):
    settings.DANGJIAN_REPLY_MAX_LENGTH = 5
    note = _greeting_for_member_a1(district)
    with acting_as(district.users["member"]), pytest.raises(ValidationFailed):
        services.reply_create(actor=district.users["member"], notification=note, body="六个字的留言")


def test_only_the_recipient_replies_and_only_where_replies_are_allowed(district):
    note = _greeting_for_member_a1(district)
    with pytest.raises(PermissionDenied):
        services.reply_create(actor=district.users["branch_worker"], notification=note, body="冒名")
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[Message(
            kind=notices.DIGEST.code, member=district.member_a1, context={"条数": 1, "列表": "x"}, dedupe_key="d")])
    digest = Notification.unscoped.get(dedupe_key="d")
    with pytest.raises(ValidationFailed):
        services.reply_create(actor=district.users["member"], notification=digest, body="回复")
    assert not Reply.unscoped.exists()


# --- 政治生日 ----------------------------------------------------------------------------------------------

def test_greeting_words_come_from_the_nearest_organisation(district):
    d = district
    GreetingMessage.unscoped.create(organization=d.committee_a, org_path=d.committee_a.path, message="党工委寄语")
    GreetingMessage.unscoped.create(organization=d.branch_a1, org_path=d.branch_a1.path, message="支部寄语")
    words = greeting_messages_for({d.branch_a1.path, d.branch_a2.path, d.branch_b1.path})
    assert words == {d.branch_a1.path: "支部寄语", d.branch_a2.path: "党工委寄语", d.branch_b1.path: ""}


def test_a_branch_sets_its_greeting_words_within_its_scope(district):
    worker = district.users["branch_worker"]
    with acting_as(worker):
        services.greeting_message_set(actor=worker, organization=district.branch_a1, message="牢记使命")
        with pytest.raises(PermissionDenied):
            services.greeting_message_set(actor=worker, organization=district.branch_a2, message="越权")
        with pytest.raises(ValidationFailed) as caught:
            services.greeting_message_set(actor=worker, organization=district.branch_a1, message="长" * 201)
    assert "200" in caught.value.fields["message"][0]
    assert list(GreetingMessage.unscoped.values_list("message", flat=True)) == ["牢记使命"]


def test_birthdays_greet_each_member_once_with_years_date_and_words(district):
    d = district
    today = dt.date(2026, 7, 1)
    veteran = joined(d.branch_a1, dt.date(1976, 7, 1), name="老党员")
    joined(d.branch_a1, dt.date(1990, 7, 2), name="明天生日")
    joined(d.branch_b1, dt.date(2026, 7, 1), name="今年入党", status="probationary")
    GreetingMessage.unscoped.create(organization=d.branch_a1, org_path=d.branch_a1.path, message="请继续发挥先锋模范作用。")
    with system_scope("test"):
        assert jobs.political_birthdays_push(on=today) == 1
        assert jobs.political_birthdays_push(on=today) == 0  # the job ran twice: nobody is greeted twice
    note = Notification.unscoped.get(member=veteran)
    assert note.kind == BIRTHDAY and note.dedupe_key == f"political_birthday:2026:{veteran.pk}"
    assert "入党50周年" in note.body and "1976年7月1日" in note.body and "甲社区党支部" in note.body
    assert note.body.endswith("请继续发挥先锋模范作用。")
    entries = AuditEntry.objects.filter(action="notifications.political_birthday.pushed").order_by("id")
    assert [e.changes["created"] for e in entries] == [1, 0]


def test_a_run_that_crashes_halfway_is_completed_by_the_next(district, monkeypatch):
    today = dt.date(2026, 3, 15)
    greeted = [joined(district.branch_a1, dt.date(1980 + i, 3, 15)) for i in range(5)]
    monkeypatch.setattr(jobs, "BATCH", 2)
    real_create, calls = services.notification_create, []

    def crash_on_second_batch(**kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_create(**kw)

    monkeypatch.setattr(jobs, "notification_create", crash_on_second_batch)
    with system_scope("test"), pytest.raises(RuntimeError):
        jobs.political_birthdays_push(on=today)
    assert Notification.unscoped.count() == 2  # the first batch committed
    monkeypatch.setattr(jobs, "notification_create", real_create)
    with system_scope("test"):
        assert jobs.political_birthdays_push(on=today) == 3
    assert sorted(Notification.unscoped.values_list("member_id", flat=True)) == sorted(m.pk for m in greeted)


@pytest.mark.parametrize(("on", "greeted"), [
    (dt.date(2027, 2, 28), {"leap", "feb28"}),  # a common year: 29 February members on the 28th
    (dt.date(2028, 2, 28), {"feb28"}),  # a leap year: they wait for their own day
    (dt.date(2028, 2, 29), {"leap"}),
    (dt.date(2027, 3, 1), {"mar1"}),
])
def test_29_february_members_are_greeted_on_28_february_in_common_years(district, on, greeted):
    joined(district.branch_a1, dt.date(2000, 2, 29), name="leap")
    joined(district.branch_a1, dt.date(2001, 2, 28), name="feb28")
    joined(district.branch_a1, dt.date(2001, 3, 1), name="mar1")
    with system_scope("test"):
        jobs.political_birthdays_push(on=on)
    assert set(Notification.unscoped.values_list("member__name", flat=True)) == greeted


def test_suspended_members_are_not_greeted(district):
    m = joined(district.branch_a1, dt.date(1999, 5, 4))
    Member.unscoped.filter(pk=m.pk).update(standing="suspended")
    with system_scope("test"):
        assert jobs.political_birthdays_push(on=dt.date(2026, 5, 4)) == 0


# --- Reminders wired from the organisation module ------------------------------------------------------------------

def test_term_reminders_reach_the_organisation_and_its_superior_once(district):
    d = district
    on = dt.date(2026, 11, 29)
    CommitteeMember.unscoped.create(organization=d.branch_a1, person_name="赵书记", position=Position.SECRETARY,
                                    term_start=dt.date(2023, 12, 1), term_end=dt.date(2026, 12, 31))
    CommitteeMember.unscoped.create(organization=d.branch_b1, person_name="钱书记", position=Position.SECRETARY,
                                    term_start=dt.date(2020, 1, 1), term_end=dt.date(2025, 1, 1))
    with system_scope("test"):
        assert jobs.term_reminders_send(on=on) == 3
        assert jobs.term_reminders_send(on=on) == 0
    a1_worker = inbox(d.users["branch_worker"]).get()
    assert "即将届满" in a1_worker.title and "2026-12-31" in a1_worker.body
    assert inbox(d.users["committee_admin"]).get().org_path == d.branch_a1.path  # the superior hears too
    overdue = inbox(d.users["district_admin"]).get()
    assert "已经届满" in overdue.title and "第一中学党支部" in overdue.title


def test_other_users_cannot_see_a_workers_reminder(district):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[Message(
            kind=notices.TERM_ENDING.code, user=district.users["branch_worker"], org_path=district.branch_a1.path,
            context={"党组织": "甲", "届满日期": "2026-12-31", "情况": "即将届满", "依据": "条例"})])
    assert inbox(district.users["committee_admin"]).count() == 0
    assert inbox(make_user("other")).count() == 0
