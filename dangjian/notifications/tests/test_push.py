"""Pushing through the real channels against loopback fakes: urgent at once, the rest as one daily digest
outside quiet hours, retries with backoff, giving up by the provider's code, a failing channel never
holding up the others, and no double push after a crash between sending and recording."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from huey import SqliteHuey

from dangjian.core import jobs as core_jobs
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.notifications import notices, push
from dangjian.notifications.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    PushPreference,
    PushState,
    WechatBinding,
)
from dangjian.notifications.services import Message, notification_create
from dangjian.testing import make_member

from .fakes import Sleep

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENID = "oABCD1234567890_member"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def channels_on(fake_sms, fake_wechat, fake_smtp):
    return {"sms": fake_sms, "wechat": fake_wechat, "email": fake_smtp}


@pytest.fixture
def person(district):
    """张三 (member_a1): a phone on record, an account with an email address and a bound WeChat."""
    user = district.users["member"]
    user.email = "zhangsan@example.org"
    user.save(update_fields=["email"])
    WechatBinding.objects.create(user=user, openid=OPENID)
    return district.member_a1


def reminder(member, key, *, urgent=False, title="会议通知"):
    return Message(kind=notices.TERM_ENDING.code, member=member, urgent=urgent, dedupe_key=key,
                   context={"党组织": title, "届满日期": "2026-12-31", "情况": "即将届满", "依据": "条例"})


def create(django_capture_on_commit_callbacks, *messages):
    """Create as a module's service would, and let the after-commit push run (huey is immediate in tests)."""
    with system_scope("test"), django_capture_on_commit_callbacks(execute=True):
        notification_create(actor=SYSTEM, messages=list(messages))


def run(name, now):
    core_jobs.discover()
    return core_jobs.run_job(name, now=now)


def test_an_urgent_message_goes_out_at_once_on_every_channel(person, channels_on, django_capture_on_commit_callbacks):
    create(django_capture_on_commit_callbacks, reminder(person, "u1", urgent=True, title="会议改期"))
    assert len(channels_on["sms"].received) == 1
    assert channels_on["sms"].received[0]["PhoneNumbers"] == push.crypto.decrypt(person.phone_encrypted)
    assert [m.touser for m in channels_on["wechat"].received] == [OPENID]
    assert channels_on["email"].received[0].to == "zhangsan@example.org"
    assert "会议改期" in channels_on["email"].received[0].subject
    deliveries = Delivery.unscoped.order_by("channel")
    assert [(d.channel, d.status) for d in deliveries] == [("email", "sent"), ("sms", "sent"), ("wechat", "sent")]
    assert all(d.provider_ref and d.attempt_log.get().outcome == "sent" for d in deliveries)
    sms = deliveries.get(channel="sms")
    assert sms.address_masked.count("*") >= 4 and sms.address_masked != push.crypto.decrypt(person.phone_encrypted)


def test_a_prepared_push_is_due_at_the_time_its_run_stands_for(person, channels_on, django_capture_on_commit_callbacks):
    """Not at the wall clock: a run for 08:05 (a catch-up, or a test on any day) sends what it prepared."""
    create(django_capture_on_commit_callbacks, reminder(person, "a", title="甲"))
    assert push.pushes_prepare(now=at(1, 8, 5)) == 3
    assert set(Delivery.unscoped.values_list("next_attempt_at", flat=True)) == {at(1, 8, 5)}
    assert push.deliveries_dispatch(now=at(1, 8, 5)) == 3


def test_non_urgent_messages_wait_for_one_digest_a_day(person, channels_on, django_capture_on_commit_callbacks):
    sms = channels_on["sms"]
    create(django_capture_on_commit_callbacks, reminder(person, "a", title="甲"), reminder(person, "b", title="乙"),
           reminder(person, "c", title="丙"))
    assert sms.received == []  # nothing pushed before the digest
    assert run("notifications.digests", at(1, 8, 5)) == 3  # one delivery per channel
    assert len(sms.received) == 1 and len(channels_on["wechat"].received) == 1
    mail = channels_on["email"].received[0]
    assert "3条新消息" in mail.subject and all(t in mail.body for t in ("甲", "乙", "丙"))
    assert set(Notification.unscoped.values_list("push_state", flat=True)) == {PushState.PUSHED}
    # Later the same day: a new message waits for tomorrow, even if the digest job runs again.
    create(django_capture_on_commit_callbacks, reminder(person, "d", title="丁"))
    assert run("notifications.digests", at(1, 15)) == 0
    assert len(sms.received) == 1
    assert run("notifications.digests", at(2, 8, 5)) == 3
    assert len(sms.received) == 2 and "丁" in sms.received[1]["TemplateParam"]


def test_a_single_waiting_message_is_pushed_as_itself(person, channels_on, django_capture_on_commit_callbacks):
    create(django_capture_on_commit_callbacks, reminder(person, "a", title="唯一"))
    run("notifications.digests", at(1, 9))
    assert "唯一" in channels_on["email"].received[0].subject


def test_quiet_hours_hold_the_digest_but_not_urgent_messages(person, channels_on, django_capture_on_commit_callbacks,
                                                            settings):
    settings.DANGJIAN_QUIET_HOURS = "21:00-08:00"
    create(django_capture_on_commit_callbacks, reminder(person, "n", title="普通"))
    assert run("notifications.digests", at(1, 22)) == 0
    assert run("notifications.digests", at(2, 7, 59)) == 0
    assert channels_on["sms"].received == []
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True, title="紧急")])
    run("notifications.deliveries", at(2, 3))  # 3 a.m.: urgent goes anyway
    assert len(channels_on["sms"].received) == 1 and "紧急" in channels_on["sms"].received[0]["TemplateParam"]


def test_a_non_urgent_retry_that_falls_in_quiet_hours_waits_for_morning(person, fake_sms, settings):
    settings.DANGJIAN_QUIET_HOURS = "21:00-08:00"
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "n")])
    push.pushes_prepare(now=at(1, 20))
    fake_sms.fail_next("isp.SYSTEM_ERROR")
    push.deliveries_dispatch(now=at(1, 20, 59, ))
    delivery = Delivery.unscoped.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    push.deliveries_dispatch(now=at(1, 21, 30))  # due, but quiet: postponed, not sent
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.next_attempt_at == at(2, 8)
    push.deliveries_dispatch(now=at(2, 8))
    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(fake_sms.received) == 1


def test_a_failing_channel_retries_with_backoff_and_never_blocks_the_others(person, channels_on, settings):
    settings.DANGJIAN_PUSH_BACKOFF_SECONDS = 60
    channels_on["sms"].fail_next("isv.BUSINESS_LIMIT_CONTROL", times=2)
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    now = at(1, 10)
    push.pushes_prepare(now=now, digest=False)
    assert push.deliveries_dispatch(now=now) == 2  # WeChat and email went; SMS waits
    sms = Delivery.unscoped.get(channel="sms")
    assert (sms.status, sms.attempts, sms.next_attempt_at) == ("pending", 1, now + dt.timedelta(seconds=60))
    assert sms.last_code == "isv.BUSINESS_LIMIT_CONTROL" and sms.last_message  # a Chinese explanation
    assert push.deliveries_dispatch(now=now + dt.timedelta(seconds=30)) == 0  # not due yet
    push.deliveries_dispatch(now=now + dt.timedelta(seconds=60))
    sms.refresh_from_db()
    assert sms.next_attempt_at == now + dt.timedelta(seconds=60 + 120)  # doubled
    push.deliveries_dispatch(now=now + dt.timedelta(seconds=180))
    sms.refresh_from_db()
    assert sms.status == "sent" and sms.attempts == 3
    assert [a.outcome for a in sms.attempt_log.all()] == ["retry", "retry", "sent"]
    assert len(channels_on["sms"].received) == 1


def test_an_error_that_will_never_pass_is_given_up_at_once(person, fake_sms):
    fake_sms.fail_next("isv.MOBILE_NUMBER_ILLEGAL")
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    push.pushes_prepare(now=at(1, 10), digest=False)
    push.deliveries_dispatch(now=at(1, 10))
    push.deliveries_dispatch(now=at(2, 10))
    delivery = Delivery.unscoped.get()
    assert (delivery.status, delivery.attempts, delivery.last_code) == ("failed", 1, "isv.MOBILE_NUMBER_ILLEGAL")
    assert fake_sms.received == []


def test_retries_stop_after_the_configured_attempts(person, fake_wechat, settings):
    settings.DANGJIAN_PUSH_MAX_ATTEMPTS = 2
    fake_wechat.fail_next(-1, times=5)  # 系统繁忙
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    push.pushes_prepare(now=at(1, 10), digest=False)
    for hour in (10, 11, 12, 13):
        push.deliveries_dispatch(now=at(1, hour))
    delivery = Delivery.unscoped.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)


def test_a_crash_between_send_and_record_never_pushes_twice(person, fake_sms, monkeypatch, settings):
    settings.DANGJIAN_PUSH_STALE_SECONDS = 180
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    push.pushes_prepare(now=at(1, 10), digest=False)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed after the gateway accepted the message")

    monkeypatch.setattr(push, "delivery_record", killed)
    with pytest.raises(SystemExit):
        push.deliveries_dispatch(now=at(1, 10))
    monkeypatch.undo()
    assert len(fake_sms.received) == 1
    assert Delivery.unscoped.get().status == "sending"
    push.deliveries_dispatch(now=at(1, 10, 2))  # the worker restarted: too early to call it stale
    assert Delivery.unscoped.get().status == "sending"
    push.deliveries_dispatch(now=at(1, 10, 4))
    delivery = Delivery.unscoped.get()
    assert delivery.status == DeliveryStatus.UNKNOWN
    assert delivery.attempt_log.last().outcome == "unknown"
    push.deliveries_dispatch(now=at(2, 10))
    assert len(fake_sms.received) == 1  # SMS cannot recognise a resend: never sent again


def test_a_crash_on_wechat_is_resent_with_the_same_key_and_arrives_once(person, fake_wechat, monkeypatch):
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    push.pushes_prepare(now=at(1, 10), digest=False)
    monkeypatch.setattr(push, "delivery_record", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        push.deliveries_dispatch(now=at(1, 10))
    monkeypatch.undo()
    push.deliveries_dispatch(now=at(1, 10, 5))
    delivery = Delivery.unscoped.get()
    assert delivery.status == "sent" and delivery.attempts == 2
    assert len(fake_wechat.received) == 1  # the resend carried the same client_msg_id


def test_a_crashed_wechat_send_found_too_late_is_not_resent(person, fake_wechat, monkeypatch):
    """WeChat recognises client_msg_id for 10 minutes only: found after that, a resend could arrive twice."""
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "u", urgent=True)])
    push.pushes_prepare(now=at(1, 10), digest=False)
    monkeypatch.setattr(push, "delivery_record", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        push.deliveries_dispatch(now=at(1, 10))
    monkeypatch.undo()
    push.deliveries_dispatch(now=at(1, 10, 30))  # the worker was down for half an hour
    assert Delivery.unscoped.get().status == DeliveryStatus.UNKNOWN
    assert len(fake_wechat.received) == 1


def test_a_concurrent_prepare_that_got_there_first_costs_nobody_their_push(district, person, fake_sms):
    """Another run inserted one person's delivery but has not yet marked the message: this run's batch hits
    the unique key, falls back to person by person, and everyone else's pushes are still prepared."""
    other = make_member(district.branch_a2)
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(person, "p", urgent=True),
                                                    reminder(other, "o", urgent=True)])
    raced = Notification.unscoped.get(dedupe_key="p")
    Delivery.unscoped.create(channel="sms", member=person, org_path=person.org_path, address_masked="x",
                             subject="s", body="b", dedupe_key=f"n{raced.pk}:sms")
    assert push.pushes_prepare(now=at(1, 10), digest=False) == 1
    assert Delivery.unscoped.filter(member=other, channel="sms").exists()
    assert Delivery.unscoped.filter(member=person).count() == 1  # only the other run's


def test_channels_a_person_switched_off_are_not_used(person, channels_on, django_capture_on_commit_callbacks):
    PushPreference.objects.create(user=person.user, sms=False, email=False, wechat=True)
    create(django_capture_on_commit_callbacks, reminder(person, "u", urgent=True))
    assert list(Delivery.unscoped.values_list("channel", flat=True)) == ["wechat"]
    assert channels_on["sms"].received == [] and channels_on["email"].received == []


def test_someone_no_channel_reaches_keeps_the_message_in_the_inbox(district, django_capture_on_commit_callbacks):
    create(django_capture_on_commit_callbacks, reminder(district.member_b1, "u", urgent=True))  # nothing configured
    assert run("notifications.digests", at(1, 9)) == 0
    assert Notification.unscoped.get().push_state == PushState.INAPP
    assert not Delivery.unscoped.exists()


def test_political_birthdays_end_to_end_exactly_once(district, channels_on, django_capture_on_commit_callbacks):
    member = make_member(district.branch_a1, born=dt.date(1960, 1, 1), joined_on=dt.date(1986, 12, 1),
                         confirmed_on=dt.date(1987, 12, 1), name="老李")
    with django_capture_on_commit_callbacks(execute=True):
        assert run("notifications.political_birthdays", at(1, 8)) == 1
        assert run("notifications.political_birthdays", at(1, 8, 1)) == 0  # the job ran twice
    run("notifications.digests", at(1, 8, 5))
    run("notifications.digests", at(1, 9, 5))
    sms = channels_on["sms"].received
    assert len(sms) == 1 and sms[0]["PhoneNumbers"] == push.crypto.decrypt(member.phone_encrypted)
    assert "老李" in sms[0]["TemplateParam"]
    greeting = Notification.unscoped.get(member=member)
    assert "入党40周年" in greeting.body


def test_two_workers_dispatching_at_once_send_each_delivery_once(transactional_db, district, fake_sms):
    """Two consumer threads race for the same due deliveries; the gateway answers slowly so they overlap."""
    members = [make_member(district.branch_a1) for _ in range(4)]
    with system_scope("test"):
        notification_create(actor=SYSTEM, messages=[reminder(m, f"u{m.pk}", urgent=True) for m in members])
        push.pushes_prepare(now=at(1, 10), digest=False)
    fake_sms.fail_next(Sleep(0.2), times=4)  # each answer takes a moment, so the two workers overlap
    errors = []

    def worker():
        try:
            push.deliveries_dispatch(now=at(1, 10))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(fake_sms.received) == 4
    assert sorted(r["PhoneNumbers"] for r in fake_sms.received) == sorted(
        push.crypto.decrypt(m.phone_encrypted) for m in members)
    assert set(Delivery.unscoped.values_list("status", flat=True)) == {"sent"}


def test_jobs_travel_through_a_real_sqlite_queue(district, tmp_path):
    """The settings' default backend: a task is stored in SQLite, taken out by a consumer and run."""
    huey = SqliteHuey("dangjian-test", filename=str(tmp_path / "huey.sqlite3"))
    core_jobs.discover()
    run_job = huey.task(name="run_job")(core_jobs.run_job)
    make_member(district.branch_a1, born=dt.date(1960, 1, 1), joined_on=dt.date(1990, 12, 3),
                confirmed_on=dt.date(1991, 12, 3))
    result = run_job("notifications.political_birthdays", now=at(3, 8))
    assert huey.pending_count() == 1 and not Notification.unscoped.exists()
    huey.execute(huey.dequeue())
    assert result.get() == 1
    assert Notification.unscoped.get().kind == notices.POLITICAL_BIRTHDAY.code


def test_every_scheduled_job_is_registered_and_every_registration_is_scheduled(settings):
    registered = core_jobs.discover()
    assert set(registered) == set(settings.DANGJIAN_SCHEDULE)
    for line in settings.DANGJIAN_SCHEDULE.values():
        core_jobs.cron(line)  # parses
