"""Plan → notice → record → confirm → freeze → correct, with every refusal leaving nothing saved."""

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.meetings import jobs, services
from dangjian.meetings.models import (
    Attachment,
    Attendance,
    Meeting,
    MeetingKindRow,
    MeetingRecordVersion,
    MeetingStatus,
    Resolution,
)
from dangjian.notifications.models import Notification
from dangjian.testing import acting_as, zip_bytes

from .conftest import notified, plan, record

YES = {"text": "同意开展志愿服务", "yes": 3, "no": 0, "abstain": 0}


def snapshot(meeting):
    with system_scope("test: snapshot"):
        m = Meeting.unscoped.get(pk=meeting.pk)
        return (m.status, m.minutes, m.held_on, m.content_hash, m.version,
                list(Attendance.unscoped.filter(meeting=m).values_list("present", "absence_reason", "confirmed_at")),
                list(Resolution.unscoped.filter(meeting=m).values_list("text", "yes")),
                list(MeetingRecordVersion.unscoped.filter(meeting=m).values_list("number", "content_hash")),
                list(MeetingKindRow.unscoped.filter(meeting=m).values_list("held_month", flat=True)),
                AuditEntry.objects.filter(target_id=str(m.pk), action__startswith="meetings.").count())


def test_plan_counts_as_several_kinds_and_is_audited(branch):
    worker = branch.worker
    with acting_as(worker):
        m = services.meeting_plan(actor=worker, organization=branch.district.branch_a1, title="三月主题党日",
                                  kinds=["theme_day", "party_lecture"], starts_at=timezone.now(), place="活动室")
    assert sorted(m.kind_codes) == ["party_lecture", "theme_day"]
    assert AuditEntry.objects.filter(action="meetings.meeting.planned", target_id=str(m.pk)).exists()


def test_plan_refuses_bad_input_and_outsiders(branch):
    d, worker = branch.district, branch.worker
    with acting_as(worker):
        with pytest.raises(ValidationFailed) as e:
            services.meeting_plan(actor=worker, organization=d.branch_a1, title=" ", kinds=[], starts_at=timezone.now(),
                                  place="")
        assert set(e.value.fields) == {"title", "place"} or "kinds" in e.value.fields
        with pytest.raises(PermissionDenied):
            services.meeting_plan(actor=worker, organization=d.branch_a2, title="会", kinds=["general_meeting"],
                                  starts_at=timezone.now(), place="室")
    with system_scope("test"):
        assert Meeting.objects.count() == 0


def test_notice_snapshots_the_should_attend_list_with_voting_rights(branch):
    past = notified(branch.district.branch_a1)  # entered after the fact: the list, but no notice
    with system_scope("test"):
        assert Attendance.objects.filter(meeting=past).count() == 5
        assert not Notification.unscoped.exists()
    m = notified(branch.district.branch_a1, when=timezone.now() + dt.timedelta(days=3))
    with system_scope("test"):
        rows = {a.member_name: a.has_vote for a in Attendance.objects.filter(meeting=m)}
        assert rows == {"张三": True, "赵一": True, "钱二": True, "孙三": True, "周预备": False}
        notes = Notification.unscoped.filter(kind="meetings.notice")
        assert notes.count() == 5
        assert "党员活动室" in notes.get(member=branch.members[0]).body
    # the notice goes out once: the meeting has left the planned state
    with system_scope("test"), pytest.raises(Conflict):
        services.meeting_notify(actor=SYSTEM, meeting=m)


def test_record_in_the_future_refused_nothing_saved(branch):
    m = notified(branch.district.branch_a1, when=timezone.now() + dt.timedelta(hours=2))
    before = snapshot(m)
    with pytest.raises(ValidationFailed) as e:
        record(m, branch.members)
    assert "held_at" in e.value.fields and "晚于当前时间" in e.value.fields["held_at"][0]
    assert snapshot(m) == before


def test_absent_needs_a_reason_and_everyone_must_be_accounted_for(branch):
    m = notified(branch.district.branch_a1)
    before = snapshot(m)
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        services.meeting_record(actor=SYSTEM, meeting=m, held_at=m.starts_at, minutes="x", chair="a", recorder="b",
                                attendance={p.pk: (False, "") if i == 0 else (True, "")
                                            for i, p in enumerate(branch.members)})
    assert "张三" in e.value.fields["attendance"][0] and "缺席原因" in e.value.fields["attendance"][0]
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        services.meeting_record(actor=SYSTEM, meeting=m, held_at=m.starts_at, minutes="x", chair="a", recorder="b",
                                attendance={branch.members[0].pk: (True, "")})
    assert "是否出席" in e.value.fields["attendance"][0]
    assert snapshot(m) == before


def test_vote_without_quorum_refused_nothing_saved(branch):
    m = notified(branch.district.branch_a1)
    before = snapshot(m)
    voters = branch.members[:4]  # 4 voting members; 3 absent leaves 1 of 4 present
    with pytest.raises(RuleViolation) as e:
        record(m, branch.members, absent={v.pk for v in voters[1:]}, resolutions=[{**YES, "yes": 1}])
    assert e.value.rule == "meetings.quorum" and "第十一条" in e.value.message
    assert snapshot(m) == before


def test_quorum_at_exactly_half_records_and_majority_counts_those_who_should_attend(branch):
    m = notified(branch.district.branch_a1)
    voters = branch.members[:4]
    # 2 of 4 voting members present: "半数以上" holds; 2 yes is not more than half of 4 → not passed
    record(m, branch.members, absent={voters[2].pk, voters[3].pk}, resolutions=[{**YES, "yes": 2}])
    with system_scope("test"):
        r = Resolution.objects.get(meeting=m)
    assert (r.voters_expected, r.voters_present, r.passed) == (4, 2, False)
    # the same present count fails for an admission vote, which needs MORE than half present
    with pytest.raises(RuleViolation) as e:
        record(m, branch.members, absent={voters[2].pk, voters[3].pk},
               resolutions=[{**YES, "yes": 2, "admission": True}])
    assert "第十九条" in e.value.message
    # 3 of 4 present and 3 yes: passes
    record(m, branch.members, absent={voters[3].pk}, resolutions=[{**YES, "yes": 3, "admission": True}])
    with system_scope("test"):
        assert Resolution.objects.get(meeting=m).passed is True


def _recorded(branch, **kw):
    m = notified(branch.district.branch_a1)
    record(m, branch.members, resolutions=[YES], **kw)
    with system_scope("test"):
        return Meeting.objects.get(pk=m.pk)


def test_record_sets_month_deadline_and_asks_attendees_to_confirm(branch):
    m = _recorded(branch, absent={branch.members[1].pk})
    assert m.status == MeetingStatus.RECORDED
    assert m.confirm_until == m.held_on + dt.timedelta(days=7)
    with system_scope("test"):
        assert set(MeetingKindRow.objects.filter(meeting=m).values_list("held_month", flat=True)) == {
            m.held_on.year * 100 + m.held_on.month}
        assert Notification.unscoped.filter(kind="meetings.confirm").count() == 4  # present only
    assert m.observer_list == ["社区主任"]


def test_all_confirmations_freeze_with_a_hash_of_the_content(branch):
    m = _recorded(branch)
    member_user = branch.district.users["member"]
    with acting_as(member_user):
        services.meeting_confirm(actor=member_user, meeting=m)
    with system_scope("test"):
        assert Meeting.objects.get(pk=m.pk).status == MeetingStatus.RECORDED
        # the others confirm (no accounts of their own: marked directly, then the last one through the service)
        Attendance.objects.filter(meeting=m).exclude(member=branch.members[0]).exclude(member=branch.members[4]) \
            .update(confirmed_at=timezone.now())
        Attendance.objects.filter(meeting=m, member=branch.members[4]).update(confirmed_at=None)
    prob_user = _link_user(branch.members[4])
    with acting_as(prob_user):
        services.meeting_confirm(actor=prob_user, meeting=m)
    with system_scope("test"):
        m = Meeting.objects.get(pk=m.pk)
        v1 = MeetingRecordVersion.objects.get(meeting=m)
        assert m.status == MeetingStatus.FROZEN and m.version == 1
        assert len(m.content_hash) == 64 and v1.content_hash == m.content_hash
        assert MeetingRecordVersion.hash_of(v1.content) == v1.content_hash and v1.hash_matches()
        assert services._content(m) == v1.content  # the hash covers the stored record exactly
        v1.content = {**v1.content, "minutes": "改过的记录"}
        assert not v1.hash_matches()  # any change to the sealed record shows


def test_the_seal_is_sm3_in_gm_mode_and_older_seals_still_verify(branch, settings):
    from dangjian.core import crypto

    content = {"title": "支部党员大会", "minutes": "讨论发展党员"}
    data = MeetingRecordVersion.canonical(content)
    older = MeetingRecordVersion(content=content, content_hash=MeetingRecordVersion.hash_of(content))
    assert older.content_hash == hashlib.sha256(data).hexdigest()
    settings.DANGJIAN_GM_MODE = True
    sealed = MeetingRecordVersion.hash_of(content)
    assert sealed == crypto.sm3(data) != older.content_hash
    assert older.hash_matches() and MeetingRecordVersion(content=content, content_hash=sealed).hash_matches()


def _link_user(member):
    from dangjian.members.models import Member
    from dangjian.testing import make_user

    user = make_user(f"u{member.pk}")
    Member.unscoped.filter(pk=member.pk).update(user=user)
    return user


def test_confirm_refused_for_absentees_and_after_the_window(branch):
    m = _recorded(branch, absent={branch.members[0].pk})
    user = branch.district.users["member"]
    with acting_as(user), pytest.raises(PermissionDenied):
        services.meeting_confirm(actor=user, meeting=m)
    m2 = _recorded(branch)
    with acting_as(user), pytest.raises(Conflict) as e:
        services.meeting_confirm(actor=user, meeting=m2, today=m2.confirm_until + dt.timedelta(days=1))
    assert "确认期" in e.value.message
    with acting_as(user):  # on the last day it still counts
        services.meeting_confirm(actor=user, meeting=m2, today=m2.confirm_until)


def test_freeze_waits_for_the_window_then_the_job_freezes_once(branch):
    m = _recorded(branch)
    with system_scope("test"), pytest.raises(Conflict) as e:
        services.meeting_freeze(actor=SYSTEM, meeting=m, today=m.confirm_until)
    assert "未确认" in e.value.message
    assert jobs.freeze_due(on=m.confirm_until) == 0
    assert jobs.freeze_due(on=m.confirm_until + dt.timedelta(days=1)) == 1
    assert jobs.freeze_due(on=m.confirm_until + dt.timedelta(days=2)) == 0
    with system_scope("test"):
        assert Meeting.objects.get(pk=m.pk).status == MeetingStatus.FROZEN


def _frozen(branch):
    m = _recorded(branch)
    jobs.freeze_due(on=m.confirm_until + dt.timedelta(days=1))
    with system_scope("test"):
        return Meeting.objects.get(pk=m.pk)


def test_frozen_record_is_never_edited_in_place(branch):
    m = _frozen(branch)
    before = snapshot(m)
    with pytest.raises(Conflict) as e:
        record(m, branch.members)
    assert "已封存" in e.value.message and "新版本" in e.value.message
    with system_scope("test"), pytest.raises(Conflict):
        services.attachment_add(actor=SYSTEM, meeting=m, name="a.pdf", content=b"%PDF-1.4 x")
    with system_scope("test"), pytest.raises(Conflict):
        services.meeting_update(actor=SYSTEM, meeting=m, data={"title": "改", "place": "改"})
    assert snapshot(m) == before


def test_correction_is_a_new_version_and_keeps_the_old_one(branch):
    m = _frozen(branch)
    with system_scope("test"):
        v1 = MeetingRecordVersion.objects.get(meeting=m)
        with pytest.raises(ValidationFailed) as e:
            services.meeting_correct(actor=SYSTEM, meeting=m, reason="", data={"minutes": "新"})
        assert "reason" in e.value.fields
        with pytest.raises(ValidationFailed):  # nothing changed
            services.meeting_correct(actor=SYSTEM, meeting=m, reason="笔误", data={
                "minutes": m.minutes, "chair": m.chair, "recorder": m.recorder})
        v2 = services.meeting_correct(actor=SYSTEM, meeting=m, reason="笔误", data={
            "minutes": "讨论了全年工作。", "chair": m.chair, "recorder": m.recorder, "agenda": m.agenda,
            "observers": m.observers})
        m.refresh_from_db()
        old = MeetingRecordVersion.objects.get(pk=v1.pk)
    assert v2.number == 2 and m.version == 2 and m.status == MeetingStatus.FROZEN
    assert v2.content_hash == m.content_hash != old.content_hash
    assert old.content == v1.content and old.content["minutes"] == "讨论了工作。"
    assert v2.content["minutes"] == "讨论了全年工作。"
    assert AuditEntry.objects.filter(action="meetings.meeting.corrected", target_id=str(m.pk)).count() == 1


def test_cancel_after_notice_sends_urgent_messages(branch):
    m = notified(branch.district.branch_a1, when=timezone.now() + dt.timedelta(days=2))
    with system_scope("test"):
        services.meeting_cancel(actor=SYSTEM, meeting=m, reason="台风")
        assert Notification.unscoped.filter(kind="meetings.cancelled", urgent=True).count() == 5
        with pytest.raises(Conflict):
            services.meeting_cancel(actor=SYSTEM, meeting=m)


def test_moving_a_notified_meeting_tells_everyone_at_once(branch):
    m = notified(branch.district.branch_a1, when=timezone.now() + dt.timedelta(days=2))
    with system_scope("test"):
        services.meeting_update(actor=SYSTEM, meeting=m, data={"title": m.title, "place": "会议室二",
                                                               "starts_at": m.starts_at})
        services.meeting_update(actor=SYSTEM, meeting=m, data={"title": m.title, "place": "会议室二",
                                                               "starts_at": m.starts_at})  # no change: no message
        assert Notification.unscoped.filter(kind="meetings.changed", urgent=True).count() == 5


@pytest.mark.parametrize("name, content, ok", [
    ("合影.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100, True),
    ("合影.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10, True),
    ("纪要.pdf", b"%PDF-1.7\n...", True),
    ("纪要.docx", zip_bytes("[Content_Types].xml", "word/document.xml"), True),
    ("压缩包.docx", zip_bytes("evil.html"), False),  # a ZIP is not a Word document
    ("../../etc/纪要.pdf", b"%PDF-1.7\n...", True),  # the name is a label, never a path
    ("病毒.exe", b"MZ....", False),
    ("假图.jpg", b"%PDF-1.7", False),
    ("空.pdf", b"", False),
])
def test_attachment_types_checked_by_content(branch, settings, tmp_path, name, content, ok):
    settings.MEDIA_ROOT = tmp_path
    m = notified(branch.district.branch_a1)
    with system_scope("test"):
        if ok:
            att = services.attachment_add(actor=SYSTEM, meeting=m, name=name, content=content)
            with att.file.open("rb") as f:
                assert att.size == len(content) and f.read() == content
            assert att.name == name.rsplit("/", 1)[-1] and ".." not in att.file.name
        else:
            with pytest.raises(ValidationFailed) as e:
                services.attachment_add(actor=SYSTEM, meeting=m, name=name, content=content)
            assert "附件" in e.value.fields["file"][0]
            assert not Attachment.objects.exists()


def test_attachment_size_limit(branch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DANGJIAN_MEETINGS = {"attachment_max_bytes": 1024 * 1024}
    m = notified(branch.district.branch_a1)
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        services.attachment_add(actor=SYSTEM, meeting=m, name="a.pdf", content=b"%PDF-" + b"0" * 1024 * 1024)
    assert "不能超过 1 MB" in e.value.fields["file"][0]


def test_changing_the_record_asks_for_confirmation_again(branch):
    m = _recorded(branch)
    user = branch.district.users["member"]
    with acting_as(user):
        services.meeting_confirm(actor=user, meeting=m)
    record(m, branch.members, resolutions=[YES])
    with system_scope("test"):
        assert not Attendance.objects.filter(meeting=m, confirmed_at__isnull=False).exists()


def test_committee_meeting_names_its_members_and_quorum_counts_them(branch):
    committee = branch.members[:3]  # 3 of the branch's 5 sit on the committee
    m = plan(branch.district.branch_a1, kinds=("committee_meeting",))
    with system_scope("test"):
        with pytest.raises(ValidationFailed) as e:
            services.meeting_notify(actor=SYSTEM, meeting=m, member_ids=[])
        assert "至少选择" in e.value.fields["members"][0]
        with pytest.raises(ValidationFailed):  # a member of another branch
            services.meeting_notify(actor=SYSTEM, meeting=m, member_ids=[branch.district.member_a2.pk])
        services.meeting_notify(actor=SYSTEM, meeting=m, member_ids=[c.pk for c in committee])
        assert Attendance.objects.filter(meeting=m).count() == 3
    record(m, committee, absent={committee[2].pk}, resolutions=[{**YES, "yes": 2}])
    with system_scope("test"):
        r = Resolution.objects.get(meeting=m)
    assert (r.voters_expected, r.voters_present, r.passed) == (3, 2, True)
