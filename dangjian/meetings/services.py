"""Writes of organisational life. Each public function is one transaction with its audit entry; each
meeting transition locks the row and checks the workflow table first (workflow.py)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import diff, log_action
from dangjian.core import uploads
from dangjian.core.actors import actor_label
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.permissions import require
from dangjian.members.models import Member, MemberStatus, Standing
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import Organization, OrgKind

from . import compliance, notices, rules
from .models import (
    Appraisal,
    Attachment,
    Attendance,
    Grade,
    Meeting,
    MeetingKind,
    MeetingKindRow,
    MeetingRecordVersion,
    MeetingStatus,
    Resolution,
    ReviewBatch,
    ReviewItem,
    SpotCheck,
    ThemeDayRule,
)
from .workflow import meeting_check, spot_check_check

registry.register({
    "meetings.meeting.planned": "计划会议",
    "meetings.meeting.updated": "修改会议安排",
    "meetings.meeting.notified": "发出会议通知",
    "meetings.meeting.held": "标记会议已召开",
    "meetings.meeting.recorded": "填写会议记录",
    "meetings.meeting.confirmed": "确认会议记录",
    "meetings.meeting.frozen": "封存会议记录",
    "meetings.meeting.corrected": "更正会议记录（新版本）",
    "meetings.meeting.cancelled": "取消会议",
    "meetings.attachment.added": "上传会议附件",
    "meetings.theme_day.rule_set": "设置主题党日固定日",
    "meetings.theme_day.planned": "计划全年主题党日",
    "meetings.review.opened": "调阅会议记录",
    "meetings.spot_check.created": "抽查会议记录",
    "meetings.spot_check.rectified": "填报抽查整改情况",
    "meetings.spot_check.closed": "抽查销号",
    "meetings.spot_check.reopened": "抽查退回重新整改",
    "meetings.appraisal.saved": "保存民主评议结果",
})

ALLOWED_FILES = {".jpg": "图片", ".jpeg": "图片", ".png": "图片", ".pdf": "PDF", ".docx": "Word 文档"}
TEXT_LIMITS = {"title": ("会议名称", 100), "place": ("地点", 100), "chair": ("主持人", 50),
               "recorder": ("记录人", 50), "agenda": ("议程", 5000), "minutes": ("会议记录", 50000),
               "observers": ("列席人员", 2000)}


def _lock(obj):
    obj.refresh_from_db(from_queryset=type(obj).unscoped.select_for_update())
    return obj


def _clean_text(data: dict, *, required: tuple[str, ...] = ()) -> dict:
    errors, out = {}, {}
    for key, value in data.items():
        if key not in TEXT_LIMITS:
            out[key] = value
            continue
        label, limit = TEXT_LIMITS[key]
        value = (value or "").strip()
        if key in required and not value:
            errors[key] = [f"{label}：不能为空"]
        elif len(value) > limit:
            errors[key] = [f"{label}：不能超过 {limit} 个字"]
        out[key] = value
    if errors:
        raise ValidationFailed("提交的内容有误：" + "；".join(m for ms in errors.values() for m in ms), fields=errors)
    return out


def _clean_kinds(kinds) -> list[str]:
    kinds = sorted(set(kinds or []))
    bad = [k for k in kinds if k not in MeetingKind.values]
    if not kinds or bad:
        raise ValidationFailed("会议类型有误", fields={"kinds": ["会议类型：请至少选择一种" if not bad
                                                                  else f"会议类型：不可识别的类型 {'、'.join(bad)}"]})
    return kinds


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _context(meeting: Meeting, name: str) -> dict:
    return {"姓名": name, "党组织": meeting.organization.name, "时间": _local(meeting.starts_at),
            "地点": meeting.place, "会议": meeting.title}


def _message(kind, meeting: Meeting, att: Attendance, suffix: str, context: dict | None = None) -> Message:
    return Message(kind=kind.code, member=att.member, context=context or _context(meeting, att.member_name),
                   link=reverse("meetings:my_detail", args=[meeting.pk]),
                   dedupe_key=f"{kind.code}:{meeting.pk}:{att.member_id}:{suffix}"[:120])


# --- plan, notify, hold ----------------------------------------------------------------------------------

@transaction.atomic
def meeting_plan(*, actor, organization: Organization, title: str, kinds, starts_at: dt.datetime, place: str,
                 agenda: str = "", chair: str = "", recorder: str = "") -> Meeting:
    _lock(organization)
    require(actor, "member.manage", organization)
    if organization.is_dissolved:
        raise ValidationFailed("党组织已撤销", fields={"organization": ["党组织：该组织已撤销"]})
    data = _clean_text({"title": title, "place": place, "agenda": agenda, "chair": chair, "recorder": recorder},
                       required=("title", "place"))
    kinds = _clean_kinds(kinds)
    meeting = Meeting.objects.create(organization=organization, org_path=organization.path, starts_at=starts_at,
                                     created_by=actor if getattr(actor, "pk", None) else None, **data)
    MeetingKindRow.unscoped.bulk_create(
        [MeetingKindRow(meeting=meeting, kind=k, org_path=organization.path) for k in kinds])
    log_action(actor=actor, action="meetings.meeting.planned", target=meeting,
               changes={**data, "kinds": kinds, "starts_at": _local(starts_at)})
    return meeting


@transaction.atomic
def meeting_update(*, actor, meeting: Meeting, data: dict) -> Meeting:
    """Change the arrangements before the meeting. Once notified, a new time or place is sent at once."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting_check(meeting.status, "edit")
    data = _clean_text(dict(data), required=("title", "place"))
    kinds = _clean_kinds(data.pop("kinds")) if "kinds" in data else None
    before = {"title": meeting.title, "place": meeting.place, "agenda": meeting.agenda, "chair": meeting.chair,
              "recorder": meeting.recorder, "starts_at": _local(meeting.starts_at), "kinds": meeting.kind_codes}
    moved = ("starts_at" in data and data["starts_at"] != meeting.starts_at) or \
        ("place" in data and data["place"] != meeting.place)
    for key in ("title", "place", "agenda", "chair", "recorder", "starts_at"):
        if key in data:
            setattr(meeting, key, data[key])
    meeting.save()
    if kinds is not None:
        held = compliance.held_pairs(meeting)  # none before the record today; kept right if that ever changes
        MeetingKindRow.unscoped.filter(meeting=meeting).exclude(kind__in=kinds).delete()
        have = set(MeetingKindRow.unscoped.filter(meeting=meeting).values_list("kind", flat=True))
        MeetingKindRow.unscoped.bulk_create([MeetingKindRow(meeting=meeting, kind=k, org_path=meeting.org_path)
                                             for k in kinds if k not in have])
        compliance.marks_refresh(meeting, held)
    after = {**{k: before[k] for k in before}, **{k: getattr(meeting, k) for k in ("title", "place", "agenda",
                                                                                 "chair", "recorder")},
             "starts_at": _local(meeting.starts_at), "kinds": kinds if kinds is not None else before["kinds"]}
    changes = diff(before, after)
    if changes:
        log_action(actor=actor, action="meetings.meeting.updated", target=meeting, changes=changes)
    if moved and meeting.status == MeetingStatus.NOTIFIED:
        stamp = _local(meeting.starts_at) + meeting.place
        suffix = hashlib.sha256(stamp.encode()).hexdigest()[:12]
        atts = Attendance.unscoped.filter(meeting=meeting).select_related("member")
        notification_create(actor=actor, messages=[_message(notices.MEETING_CHANGED, meeting, a, suffix) for a in atts])
    return meeting


def _should_attend(meeting: Meeting, member_ids) -> list[Member]:
    """The organisation's members (its subtree), or a chosen subset of them (a committee or group meeting).
    A 党小组's meeting draws on its branch's members."""
    org = meeting.organization
    base = org.parent if org.kind == OrgKind.PARTY_GROUP and org.parent_id else org
    lo, hi = base.subtree_range()
    # Unscoped with the organisation's own range: the caller holds member.manage on the meeting's organisation.
    qs = Member.unscoped.filter(org_path__gte=lo, org_path__lt=hi).exclude(standing=Standing.SUSPENDED)
    if member_ids is not None:
        ids = set(member_ids)
        if not ids:
            raise ValidationFailed("没有选择应到人员", fields={"members": ["应到人员：请至少选择一名党员"]})
        members = list(qs.filter(pk__in=ids).order_by("org_path", "id"))
        if len(members) != len(ids):
            raise ValidationFailed("应到人员有误", fields={"members": ["应到人员：只能从本组织的党员中选择"]})
        return members
    return list(qs.order_by("org_path", "id"))


@transaction.atomic
def meeting_notify(*, actor, meeting: Meeting, member_ids=None) -> Meeting:
    """Send the notice and snapshot the should-attend list with each member's voting right at this moment
    (预备党员 attend but do not vote, 党章 第七条; nor members whose standing is suspended)."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting.status = meeting_check(meeting.status, "notify")
    members = _should_attend(meeting, member_ids)
    if not members:
        raise ValidationFailed("没有应到人员", fields={"members": ["应到人员：本组织没有可通知的党员"]})
    Attendance.unscoped.bulk_create([
        Attendance(meeting=meeting, member=m, org_path=meeting.org_path, member_name=m.name,
                   has_vote=m.status == MemberStatus.FULL and m.standing == Standing.NORMAL)
        for m in members])
    meeting.notified_at = timezone.now()
    meeting.save(update_fields=["status", "notified_at"])
    log_action(actor=actor, action="meetings.meeting.notified", target=meeting,
               changes={"should_attend": len(members), "voting": sum(m.status == MemberStatus.FULL for m in members)})
    if meeting.starts_at > timezone.now():  # a meeting entered after the fact gets its list, not a notice
        atts = Attendance.unscoped.filter(meeting=meeting).select_related("member")
        notification_create(actor=actor,
                            messages=[_message(notices.MEETING_NOTICE, meeting, a, "notice") for a in atts])
    return meeting


@transaction.atomic
def meeting_hold(*, actor, meeting: Meeting) -> Meeting:
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting.status = meeting_check(meeting.status, "hold")
    if meeting.starts_at > timezone.now():
        raise ValidationFailed("会议尚未开始", fields={"starts_at": ["会议时间：会议尚未开始，不能标记为已召开"]})
    meeting.save(update_fields=["status"])
    log_action(actor=actor, action="meetings.meeting.held", target=meeting)
    return meeting


@transaction.atomic
def meeting_cancel(*, actor, meeting: Meeting, reason: str = "") -> Meeting:
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    notified = meeting.status == MeetingStatus.NOTIFIED
    meeting.status = meeting_check(meeting.status, "cancel")
    meeting.save(update_fields=["status"])
    log_action(actor=actor, action="meetings.meeting.cancelled", target=meeting, changes={"reason": reason[:200]})
    if notified:
        atts = Attendance.unscoped.filter(meeting=meeting).select_related("member")
        notification_create(actor=actor,
                            messages=[_message(notices.MEETING_CANCELLED, meeting, a, "cancel") for a in atts])
    return meeting


# --- the record ----------------------------------------------------------------------------------------

@transaction.atomic
def meeting_record(*, actor, meeting: Meeting, held_at: dt.datetime, minutes: str, chair: str, recorder: str,
                   observers: str = "", attendance: dict[int, tuple[bool, str]], resolutions: list[dict] = (),
                   now: dt.datetime | None = None) -> Meeting:
    """Take the record: who came (every should-attend member, absentees with a reason), observers, minutes,
    and resolutions with their votes, each checked for quorum and counted against those who should attend.
    Allowed again until the record is frozen; refused afterwards (a correction is a new version)."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting.status = meeting_check(meeting.status, "record")
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if held_at > now:
        errors["held_at"] = [f"会议时间：{_local(held_at)} 晚于当前时间，不能记录尚未召开的会议"]
    data = _clean_text({"minutes": minutes, "chair": chair, "recorder": recorder, "observers": observers},
                       required=("minutes", "chair", "recorder"))
    rows = list(Attendance.unscoped.select_for_update().filter(meeting=meeting).order_by("id"))
    missing = [a.member_name for a in rows if a.member_id not in attendance]
    extra = set(attendance) - {a.member_id for a in rows}
    if missing:
        errors["attendance"] = [f"出席情况：请填写 {'、'.join(missing)} 是否出席"]
    elif extra:
        errors["attendance"] = ["出席情况：包含不在应到名单中的人员"]
    else:
        no_reason = [a.member_name for a in rows if not attendance[a.member_id][0]
                     and not (attendance[a.member_id][1] or "").strip()]
        if no_reason:
            errors["attendance"] = [f"缺席原因：请填写 {'、'.join(no_reason)} 的缺席原因"]
    if errors:
        raise ValidationFailed("提交的内容有误：" + "；".join(m for ms in errors.values() for m in ms), fields=errors)
    held_on = timezone.localdate(held_at)
    for a in rows:
        a.present, reason = attendance[a.member_id]
        a.absence_reason = "" if a.present else reason.strip()[:100]
        a.held_on = held_on
        a.confirmed_at = None  # a changed record must be confirmed again
    Attendance.unscoped.bulk_update(rows, ["present", "absence_reason", "held_on", "confirmed_at"])
    expected = sum(a.has_vote for a in rows)
    present = sum(a.has_vote and a.present for a in rows)
    Resolution.unscoped.filter(meeting=meeting).delete()
    saved = []
    for i, r in enumerate(resolutions, start=1):
        text = (r.get("text") or "").strip()
        if not text:
            raise ValidationFailed("决议事项不能为空", fields={"resolutions": [f"决议{i}：决议事项不能为空"]})
        check = rules.check_vote(voters_expected=expected, voters_present=present, yes=r["yes"], no=r["no"],
                                 abstain=r["abstain"], admission=bool(r.get("admission")))
        if check.message:
            raise RuleViolation(f"决议{i}“{text[:20]}”：{check.message}", rule=check.rule, article=check.article,
                                fields={"resolutions": [f"决议{i}：{check.message}（{check.article}）"]})
        saved.append(Resolution(meeting=meeting, org_path=meeting.org_path, text=text[:500],
                                admission=bool(r.get("admission")), voters_expected=expected, voters_present=present,
                                yes=r["yes"], no=r["no"], abstain=r["abstain"], passed=check.passed))
    Resolution.unscoped.bulk_create(saved)
    for key, value in data.items():
        setattr(meeting, key, value)
    meeting.starts_at = held_at
    meeting.held_on = held_on
    meeting.recorded_at = now
    meeting.confirm_until = held_on + dt.timedelta(days=rules.params()["confirm_days"])
    meeting.save()
    held = compliance.held_pairs(meeting)  # a second record may move the meeting to another month
    MeetingKindRow.unscoped.filter(meeting=meeting).update(held_month=rules.month_key(held_on))
    compliance.marks_refresh(meeting, held)  # the compliance marks and counters, in this transaction
    log_action(actor=actor, action="meetings.meeting.recorded", target=meeting, changes={
        "held_at": _local(held_at), "should_attend": len(rows), "present": sum(bool(a.present) for a in rows),
        "voting_expected": expected, "voting_present": present, "resolutions": [
            f"{r.text[:30]}：赞成{r.yes} 反对{r.no} 弃权{r.abstain}，{'通过' if r.passed else '未通过'}" for r in saved]})
    confirm = {"会议": meeting.title, "党组织": meeting.organization.name,
               "截止日期": meeting.confirm_until.isoformat()}
    notification_create(actor=actor, messages=[
        _message(notices.MINUTES_TO_CONFIRM, meeting, a, "confirm", {**confirm, "姓名": a.member_name})
        for a in Attendance.unscoped.filter(meeting=meeting, present=True).select_related("member")])
    return meeting


def _content(meeting: Meeting) -> dict:
    """What the content hash covers: the whole record as the members confirmed it."""
    atts = Attendance.unscoped.filter(meeting=meeting).order_by("id")
    return {
        "meeting": meeting.pk,
        "organization": meeting.organization.name,
        "title": meeting.title,
        "kinds": sorted(MeetingKindRow.unscoped.filter(meeting=meeting).values_list("kind", flat=True)),
        "held_at": _local(meeting.starts_at),
        "place": meeting.place,
        "chair": meeting.chair,
        "recorder": meeting.recorder,
        "agenda": meeting.agenda,
        "minutes": meeting.minutes,
        "observers": meeting.observer_list,
        "attendance": [[a.member_id, a.member_name, a.has_vote, bool(a.present), a.absence_reason] for a in atts],
        "resolutions": [[r.text, r.admission, r.voters_expected, r.voters_present, r.yes, r.no, r.abstain, r.passed]
                        for r in Resolution.unscoped.filter(meeting=meeting).order_by("id")],
        "attachments": [[f.name, f.sha256] for f in Attachment.unscoped.filter(meeting=meeting).order_by("id")],
    }


def _freeze(*, actor, meeting: Meeting, why: str) -> Meeting:
    meeting.status = meeting_check(meeting.status, "freeze")
    content = _content(meeting)
    digest = MeetingRecordVersion.hash_of(content)
    MeetingRecordVersion.unscoped.create(meeting=meeting, org_path=meeting.org_path, number=1, content=content,
                                         content_hash=digest, created_by_label=actor_label(actor))
    meeting.content_hash, meeting.version, meeting.frozen_at = digest, 1, timezone.now()
    meeting.save(update_fields=["status", "content_hash", "version", "frozen_at"])
    log_action(actor=actor, action="meetings.meeting.frozen", target=meeting, changes={"why": why, "hash": digest})
    return meeting


@transaction.atomic
def meeting_confirm(*, actor, meeting: Meeting, today: dt.date | None = None) -> Attendance:
    """An attendee confirms the minutes within the window. The last confirmation freezes the record."""
    _lock(meeting)
    meeting_check(meeting.status, "confirm")
    member_id = getattr(getattr(actor, "member", None), "pk", None)
    att = Attendance.unscoped.select_for_update().filter(meeting=meeting, member_id=member_id, present=True).first()
    if att is None:
        raise PermissionDenied("只有出席会议的党员可以确认会议记录。")
    today = today or timezone.localdate()
    if today > meeting.confirm_until:
        raise Conflict(f"确认期已于 {meeting.confirm_until.isoformat()} 结束，会议记录即将封存。")
    if att.confirmed_at is not None:
        return att
    att.confirmed_at = timezone.now()
    att.save(update_fields=["confirmed_at"])
    log_action(actor=actor, action="meetings.meeting.confirmed", target=meeting, changes={"member": att.member_name})
    if not Attendance.unscoped.filter(meeting=meeting, present=True, confirmed_at__isnull=True).exists():
        _freeze(actor=actor, meeting=meeting, why="全部出席人员已确认")
    return att


@transaction.atomic
def meeting_freeze(*, actor, meeting: Meeting, today: dt.date | None = None) -> Meeting:
    """Freeze once the confirmation window has passed (the job does it daily) or everyone has confirmed."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting_check(meeting.status, "freeze")
    today = today or timezone.localdate()
    waiting = Attendance.unscoped.filter(meeting=meeting, present=True, confirmed_at__isnull=True).count()
    if waiting and today <= meeting.confirm_until:
        raise Conflict(f"确认期至 {meeting.confirm_until.isoformat()}，尚有 {waiting} 名出席党员未确认，暂不能封存。")
    return _freeze(actor=actor, meeting=meeting, why="确认期已过" if waiting else "全部出席人员已确认")


@transaction.atomic
def meeting_correct(*, actor, meeting: Meeting, reason: str, data: dict) -> MeetingRecordVersion:
    """A correction of a frozen record: the next version with its own hash; every earlier version stays."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting_check(meeting.status, "correct")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写更正原因", fields={"reason": ["更正原因：不能为空"]})
    data = _clean_text({k: v for k, v in data.items() if k in ("minutes", "agenda", "observers", "chair", "recorder")},
                       required=("minutes", "chair", "recorder"))
    before = {k: getattr(meeting, k) for k in data}
    changes = diff(before, data)
    if not changes:
        raise ValidationFailed("更正内容与当前版本相同", fields={"minutes": ["会议记录：没有任何改动，无需更正"]})
    for key, value in data.items():
        setattr(meeting, key, value)
    content = _content(meeting)
    digest = MeetingRecordVersion.hash_of(content)
    number = meeting.version + 1
    version = MeetingRecordVersion.unscoped.create(meeting=meeting, org_path=meeting.org_path, number=number,
                                                   content=content, content_hash=digest, reason=reason[:200],
                                                   created_by_label=actor_label(actor))
    meeting.content_hash, meeting.version = digest, number
    meeting.save()
    log_action(actor=actor, action="meetings.meeting.corrected", target=meeting,
               changes={**changes, "version": number, "reason": reason[:200], "hash": digest})
    return version


@transaction.atomic
def attachment_add(*, actor, meeting: Meeting, name: str, content: bytes) -> Attachment:
    """Photos (jpg, png), PDF and Word (docx), up to the size in the settings; checked by content, not name."""
    _lock(meeting)
    require(actor, "member.manage", meeting.organization)
    meeting_check(meeting.status, "attach")
    name = uploads.display_name(name, max_length=200)
    ext = uploads.suffix_of(name)
    limit = rules.params()["attachment_max_bytes"]
    if ext not in ALLOWED_FILES:
        raise ValidationFailed("文件类型不支持", fields={"file": ["附件：只能上传 jpg、png 图片、PDF 或 docx 文档"]})
    if not content:
        raise ValidationFailed("文件为空", fields={"file": ["附件：文件是空的"]})
    if len(content) > limit:
        raise ValidationFailed("文件过大", fields={"file": [f"附件：不能超过 {limit // (1024 * 1024)} MB"]})
    if not uploads.content_matches(ext, content):
        raise ValidationFailed("文件内容与类型不符", fields={"file": [f"附件：文件内容不是有效的{ALLOWED_FILES[ext]}"]})
    att = Attachment(meeting=meeting, org_path=meeting.org_path, name=name, extension=ext, size=len(content),
                     sha256=hashlib.sha256(content).hexdigest())
    att.file.save(name, ContentFile(content), save=False)
    att.save()
    log_action(actor=actor, action="meetings.attachment.added", target=meeting,
               changes={"name": name, "size": len(content), "sha256": att.sha256})
    return att


# --- 主题党日 -------------------------------------------------------------------------------------------

def theme_day_of(rule: ThemeDayRule | None) -> tuple[int, int, dt.time, str]:
    p = rules.params()
    if rule is None:
        h, m = (int(x) for x in p["theme_day_time"].split(":"))
        return p["theme_day_week"], p["theme_day_weekday"], dt.time(h, m), ""
    return rule.week, rule.weekday, rule.time, rule.place


@transaction.atomic
def theme_day_rule_set(*, actor, organization: Organization, week: int, weekday: int, time: dt.time,
                       place: str) -> ThemeDayRule:
    _lock(organization)
    require(actor, "member.manage", organization)
    errors = {}
    if week not in (1, 2, 3, 4, -1):
        errors["week"] = ["第几周：只能是第一至第四个或最后一个"]
    if weekday not in range(7):
        errors["weekday"] = ["星期：不可识别"]
    place = (place or "").strip()
    if not place or len(place) > 100:
        errors["place"] = ["地点：不能为空，且不超过 100 个字"]
    if errors:
        raise ValidationFailed("主题党日设置有误", fields=errors)
    rule, created = ThemeDayRule.unscoped.update_or_create(
        organization=organization, defaults={"org_path": organization.path, "week": week, "weekday": weekday,
                                             "time": time, "place": place})
    log_action(actor=actor, action="meetings.theme_day.rule_set", target=organization,
               changes={"week": week, "weekday": weekday, "time": time.strftime("%H:%M"), "place": place})
    return rule


@transaction.atomic
def theme_day_plan_year(*, actor, organization: Organization, year: int, today: dt.date | None = None) -> int:
    """Plan the year's 主题党日 on the organisation's fixed day: one per month not already planned, from
    today on. Returns how many were created (a second run creates none)."""
    _lock(organization)
    require(actor, "member.manage", organization)
    today = today or timezone.localdate()
    if not today.year <= year <= today.year + 1:
        raise ValidationFailed("年度有误", fields={"year": [f"年度：只能计划 {today.year} 或 {today.year + 1} 年"]})
    rule = ThemeDayRule.unscoped.filter(organization=organization).first()
    week, weekday, at, place = theme_day_of(rule)
    tz = timezone.get_current_timezone()
    lo = dt.datetime(year, 1, 1, tzinfo=tz)
    hi = dt.datetime(year + 1, 1, 1, tzinfo=tz)
    taken = {timezone.localtime(s).month for s in Meeting.unscoped.filter(
        organization=organization, starts_at__gte=lo, starts_at__lt=hi, kind_rows__kind=MeetingKind.THEME_DAY,
    ).exclude(status=MeetingStatus.CANCELLED).values_list("starts_at", flat=True)}
    created = []
    for month in range(1, 13):
        day = rules.nth_weekday(year, month, week, weekday)
        if month in taken or day < today:
            continue
        created.append(Meeting(organization=organization, org_path=organization.path,
                               title=f"{year}年{month}月主题党日", starts_at=dt.datetime.combine(day, at, tzinfo=tz),
                               place=place or "待定", created_by=actor if getattr(actor, "pk", None) else None))
    Meeting.unscoped.bulk_create(created)
    MeetingKindRow.unscoped.bulk_create([MeetingKindRow(meeting=m, kind=MeetingKind.THEME_DAY,
                                                        org_path=organization.path) for m in created])
    log_action(actor=actor, action="meetings.theme_day.planned", target=organization,
               changes={"year": year, "created": len(created),
                        "days": [timezone.localtime(m.starts_at).date().isoformat() for m in created]})
    return len(created)


# --- 调阅 and 抽查 ----------------------------------------------------------------------------------------

def _require_superior(actor, organization: Organization, capability: str) -> None:
    """调阅 and 抽查 are done from above: the actor's grant must cover the organisation's parent."""
    if organization.parent_id is None:
        raise PermissionDenied("最高一级党组织的记录不能调阅或抽查。")
    require(actor, capability, organization.parent)


REVIEWABLE = (MeetingStatus.RECORDED, MeetingStatus.FROZEN)


@transaction.atomic
def review_open(*, actor, organization: Organization, start: dt.date, end: dt.date) -> ReviewBatch:
    """A superior reads the records of a subtree for a period: one batch listing every record read."""
    _require_superior(actor, organization, "member.view")
    if end < start:
        raise ValidationFailed("日期范围有误", fields={"end": ["截止日期：不能早于起始日期"]})
    lo, hi = organization.subtree_range()
    meetings = list(Meeting.unscoped.filter(org_path__gte=lo, org_path__lt=hi, status__in=REVIEWABLE,
                                            held_on__gte=start, held_on__lte=end).values_list("pk", "org_path"))
    if not meetings:
        raise ValidationFailed("没有可调阅的记录", fields={"organization": ["党组织：该期间内没有已记录的会议"]})
    batch = ReviewBatch.objects.create(reviewer=actor, reviewer_label=actor_label(actor), organization=organization,
                                       org_path=organization.path, period_start=start, period_end=end)
    ReviewItem.unscoped.bulk_create([ReviewItem(batch=batch, meeting_id=pk, org_path=path) for pk, path in meetings])
    log_action(actor=actor, action="meetings.review.opened", target=batch,
               changes={"organization": organization.name, "start": start.isoformat(), "end": end.isoformat(),
                        "records": len(meetings)})
    return batch


@transaction.atomic
def spot_check_create(*, actor, organization: Organization, checked_on: dt.date, findings: str,
                      meeting: Meeting | None = None, today: dt.date | None = None) -> SpotCheck:
    _require_superior(actor, organization, "member.manage")
    errors = {}
    if checked_on > (today or timezone.localdate()):
        errors["checked_on"] = ["抽查日期：不能晚于今天"]
    findings = (findings or "").strip()
    if not findings:
        errors["findings"] = ["发现问题：不能为空（没有问题请写“未发现问题”）"]
    if meeting is not None and not meeting.org_path.startswith(organization.path):
        errors["meeting"] = ["会议：不属于被抽查的党组织"]
    if errors:
        raise ValidationFailed("抽查内容有误", fields=errors)
    check = SpotCheck.objects.create(organization=organization, org_path=organization.path, meeting=meeting,
                                     checked_on=checked_on, checker_label=actor_label(actor), findings=findings[:5000])
    log_action(actor=actor, action="meetings.spot_check.created", target=check,
               changes={"organization": organization.name, "findings": findings[:500]})
    return check


@transaction.atomic
def spot_check_rectify(*, actor, check: SpotCheck, follow_up: str) -> SpotCheck:
    """The checked organisation reports what it corrected."""
    _lock(check)
    require(actor, "member.manage", check.organization)
    check.status = spot_check_check(check.status, "rectify")
    follow_up = (follow_up or "").strip()
    if not follow_up:
        raise ValidationFailed("请填写整改情况", fields={"follow_up": ["整改情况：不能为空"]})
    check.follow_up = follow_up[:5000]
    check.save(update_fields=["status", "follow_up"])
    log_action(actor=actor, action="meetings.spot_check.rectified", target=check, changes={"follow_up": follow_up[:500]})
    return check


@transaction.atomic
def spot_check_close(*, actor, check: SpotCheck, accept: bool = True) -> SpotCheck:
    """The superior accepts the rectification (销号) or sends it back."""
    _lock(check)
    _require_superior(actor, check.organization, "member.manage")
    check.status = spot_check_check(check.status, "close" if accept else "reopen")
    check.save(update_fields=["status"])
    log_action(actor=actor, action="meetings.spot_check.closed" if accept else "meetings.spot_check.reopened",
               target=check)
    return check


# --- 民主评议 -------------------------------------------------------------------------------------------

VOTE_FIELDS = ("votes_excellent", "votes_qualified", "votes_basic", "votes_unqualified")


@transaction.atomic
def appraisal_save(*, actor, organization: Organization, year: int, rows: list[dict],
                   today: dt.date | None = None) -> list[Appraisal]:
    """Save one organisation's results for a year (all rows or none). 优秀 may be at most one third of the
    members assessed in that organisation and year, counted over every saved result of that year."""
    _lock(organization)
    require(actor, "member.manage", organization)
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= today.year:
        errors["year"] = [f"年度：应在 2000 至 {today.year} 之间"]
    for i, row in enumerate(rows, start=1):
        m = row["member"]
        if m.organization_id != organization.pk:
            errors.setdefault("rows", []).append(f"第{i}行：{m.name} 不是本组织党员")
        if row.get("grade") not in Grade.values:
            errors.setdefault("rows", []).append(f"第{i}行：{m.name} 的评定等次不可识别")
        if any(int(row.get(f) or 0) < 0 for f in VOTE_FIELDS):
            errors.setdefault("rows", []).append(f"第{i}行：{m.name} 的测评票数不能为负数")
    if not rows:
        errors["rows"] = ["评议结果：至少填写一名党员"]
    if errors:
        raise ValidationFailed("民主评议结果有误：" + "；".join(m for ms in errors.values() for m in ms), fields=errors)
    saved = []
    for row in rows:
        m = row["member"]
        obj, _ = Appraisal.unscoped.update_or_create(member=m, year=year, defaults={
            "organization": organization, "org_path": organization.path, "grade": row["grade"],
            "self_assessment": (row.get("self_assessment") or "").strip()[:5000],
            "peer_assessment": (row.get("peer_assessment") or "").strip()[:5000],
            **{f: int(row.get(f) or 0) for f in VOTE_FIELDS}})
        saved.append(obj)
    assessed = Appraisal.unscoped.filter(organization=organization, year=year).count()
    excellent = Appraisal.unscoped.filter(organization=organization, year=year, grade=Grade.EXCELLENT).count()
    if 3 * excellent > assessed:
        raise RuleViolation(
            f"评为优秀的 {excellent} 人超过参评党员 {assessed} 人的三分之一（最多 {assessed // 3} 人）",
            rule="meetings.appraisal_excellent_share", article=rules.APPRAISAL_ARTICLE,
            fields={"rows": [f"评定等次：优秀最多 {assessed // 3} 人（参评 {assessed} 人的三分之一）"]})
    log_action(actor=actor, action="meetings.appraisal.saved", target=organization, changes={
        "year": year, "results": {a.member.name: Grade(a.grade).label for a in saved}})
    return saved
