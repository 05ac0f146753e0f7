"""组织生活: meetings (三会一课, 主题党日, 组织生活会, 民主评议) and what superiors do with them (调阅, 抽查).

Every row carries its organisation's path (`org_path`) so a subtree is one index range. A meeting counts as
one or more kinds: `MeetingKindRow` holds one row per kind with the month it was held (YYYYMM), so the
compliance table and the statistics count kinds per organisation and month from one index, never with
`__month` lookups. `Attendance` is the should-attend list snapshotted when the notice goes out; after the
record it says who came. A frozen record is never edited: corrections are new `MeetingRecordVersion` rows.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models

from dangjian.core import crypto
from dangjian.core.scoping import ScopedModel


class MeetingKind(models.TextChoices):
    GENERAL_MEETING = "general_meeting", "支部党员大会"
    COMMITTEE_MEETING = "committee_meeting", "支部委员会"
    GROUP_MEETING = "group_meeting", "党小组会"
    PARTY_LECTURE = "party_lecture", "党课"
    THEME_DAY = "theme_day", "主题党日"
    LIFE_MEETING = "life_meeting", "组织生活会"
    MEMBER_APPRAISAL = "member_appraisal", "民主评议党员"


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "已计划"
    NOTIFIED = "notified", "已通知"
    HELD = "held", "已召开"
    RECORDED = "recorded", "已记录（待确认）"
    FROZEN = "frozen", "已封存"
    CANCELLED = "cancelled", "已取消"


class Meeting(ScopedModel):
    organization = models.ForeignKey("orgs.Organization", verbose_name="党组织", on_delete=models.PROTECT,
                                     related_name="meetings")
    org_path = models.CharField(max_length=255, editable=False)
    title = models.CharField("会议名称", max_length=100)
    starts_at = models.DateTimeField("会议时间")
    place = models.CharField("地点", max_length=100)
    agenda = models.TextField("议程", blank=True)
    chair = models.CharField("主持人", max_length=50, blank=True)
    recorder = models.CharField("记录人", max_length=50, blank=True)
    observers = models.TextField("列席人员", blank=True, help_text="每行一人")
    minutes = models.TextField("会议记录", blank=True)
    status = models.CharField("状态", max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED)
    held_on = models.DateField("召开日期", null=True, blank=True)  # set by the record
    confirm_until = models.DateField("确认截止日期", null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField("内容摘要", max_length=64, blank=True)
    version = models.PositiveIntegerField("版本", default=0)  # 0 until frozen; then the latest version number
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会议"
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["org_path", "starts_at"], name="meeting_scope_time"),
            models.Index(fields=["status", "confirm_until"], name="meeting_status_deadline"),
            models.Index(fields=["status", "starts_at"], name="meeting_status_time"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = None  # members reach their meetings through their Attendance rows

    def __str__(self):
        return f"{self.title}（{self.starts_at.date().isoformat()}）" if self.starts_at else self.title

    @property
    def kind_codes(self) -> list[str]:
        """The kinds of a meeting already loaded through the scope (or a member's own Attendance row): part of
        the row itself, so read unscoped unless prefetched."""
        cache = getattr(self, "_prefetched_objects_cache", {})
        rows = cache["kind_rows"] if "kind_rows" in cache else MeetingKindRow.unscoped.filter(meeting=self)
        return sorted((r.kind for r in rows), key=list(MeetingKind.values).index)

    @property
    def kind_labels(self) -> str:
        return "、".join(MeetingKind(k).label for k in self.kind_codes)

    @property
    def observer_list(self) -> list[str]:
        return [n.strip() for n in self.observers.splitlines() if n.strip()]


class MeetingKindRow(ScopedModel):
    """One kind a meeting counts as. `held_month` (YYYYMM) is set when the record is taken."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="kind_rows")
    kind = models.CharField("类型", max_length=24, choices=MeetingKind.choices)
    org_path = models.CharField(max_length=255, editable=False)
    held_month = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "会议类型"
        constraints = [models.UniqueConstraint(fields=["meeting", "kind"], name="meeting_kind_once")]
        indexes = [models.Index(fields=["org_path", "held_month", "kind"], name="meeting_kind_scope_month")]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return self.get_kind_display()


class Attendance(ScopedModel):
    """应到 (should attend) with the member's voting right at notice time; present/absent after the meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendances")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="meeting_attendances")
    org_path = models.CharField(max_length=255, editable=False)
    member_name = models.CharField("姓名", max_length=50)
    has_vote = models.BooleanField("有表决权", default=True)  # 预备党员 attend but do not vote (党章 第七条)
    present = models.BooleanField("出席", null=True, blank=True)  # None until recorded
    absence_reason = models.CharField("缺席原因", max_length=100, blank=True)
    held_on = models.DateField(null=True, blank=True)  # copied from the meeting by the record
    confirmed_at = models.DateTimeField("确认记录时间", null=True, blank=True)

    class Meta:
        verbose_name = "参会人员"
        ordering = ["meeting_id", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once")]
        indexes = [
            models.Index(fields=["member", "held_on"], name="attendance_member_day"),
            models.Index(fields=["org_path", "held_on"], name="attendance_scope_day"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.member_name} @ {self.meeting_id}"


class Resolution(ScopedModel):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="resolutions")
    org_path = models.CharField(max_length=255, editable=False)
    text = models.CharField("决议事项", max_length=500)
    admission = models.BooleanField("接收预备党员或预备党员转正", default=False)
    voters_expected = models.PositiveIntegerField("应到有表决权党员")
    voters_present = models.PositiveIntegerField("实到有表决权党员")
    yes = models.PositiveIntegerField("赞成")
    no = models.PositiveIntegerField("反对")
    abstain = models.PositiveIntegerField("弃权")
    passed = models.BooleanField("通过")

    class Meta:
        verbose_name = "决议"
        ordering = ["meeting_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(voters_present__lte=models.F("voters_expected")),
                                   name="resolution_present_le_expected"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return self.text[:50]


class MeetingRecordVersion(ScopedModel):
    """A frozen version of a record. Never updated: a correction adds the next number."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="versions")
    org_path = models.CharField(max_length=255, editable=False)
    number = models.PositiveIntegerField("版本")
    content = models.JSONField("内容")
    content_hash = models.CharField("内容摘要", max_length=64)
    reason = models.CharField("更正原因", max_length=200, blank=True)
    created_by_label = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会议记录版本"
        ordering = ["meeting_id", "number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "number"], name="record_version_once")]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return f"{self.meeting_id} v{self.number}"

    @staticmethod
    def canonical(content: dict) -> bytes:
        return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def hash_of(content: dict) -> str:
        """The seal: the platform's integrity hash (SM3 in 国密 mode, SHA-256 otherwise), like the audit chain."""
        return crypto.integrity_hash(MeetingRecordVersion.canonical(content))

    def hash_matches(self) -> bool:
        """Intact under the algorithm it was sealed with: a record sealed before 国密 mode still verifies."""
        data = self.canonical(self.content)
        return self.content_hash in (crypto.sm3(data), hashlib.sha256(data).hexdigest())


def attachment_path(instance, filename):
    return f"meetings/{instance.org_path}/{instance.meeting_id}/{instance.sha256[:16]}{instance.extension}"


class Attachment(ScopedModel):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attachments")
    org_path = models.CharField(max_length=255, editable=False)
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField("文件名", max_length=200)
    extension = models.CharField(max_length=8)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        ordering = ["meeting_id", "id"]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return self.name

    @property
    def is_image(self) -> bool:
        return self.extension in (".jpg", ".jpeg", ".png")


class ThemeDayRule(ScopedModel):
    """主题党日 fixed day of one organisation: the `week`-th `weekday` of each month."""

    organization = models.OneToOneField("orgs.Organization", on_delete=models.PROTECT, related_name="theme_day_rule")
    org_path = models.CharField(max_length=255, editable=False)
    week = models.SmallIntegerField("第几周", choices=[(1, "第一个"), (2, "第二个"), (3, "第三个"), (4, "第四个"),
                                                         (-1, "最后一个")])
    weekday = models.SmallIntegerField("星期", choices=[(0, "星期一"), (1, "星期二"), (2, "星期三"), (3, "星期四"),
                                                       (4, "星期五"), (5, "星期六"), (6, "星期日")])
    time = models.TimeField("时间")
    place = models.CharField("地点", max_length=100)

    class Meta:
        verbose_name = "主题党日固定日"

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return f"{self.organization}：每月{self.get_week_display()}{self.get_weekday_display()}"


class ReviewBatch(ScopedModel):
    """One 调阅: a superior opened the records of `organization`'s subtree for a period."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer_label = models.CharField(max_length=100)
    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    period_start = models.DateField("起始日期")
    period_end = models.DateField("截止日期")
    created_at = models.DateTimeField("调阅时间", auto_now_add=True)

    class Meta:
        verbose_name = "调阅批次"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org_path", "created_at"], name="review_scope_time")]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return f"调阅 {self.organization} {self.period_start}—{self.period_end}"


class ReviewItem(ScopedModel):
    batch = models.ForeignKey(ReviewBatch, on_delete=models.CASCADE, related_name="items")
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)  # the meeting's organisation

    class Meta:
        verbose_name = "调阅记录"
        constraints = [models.UniqueConstraint(fields=["batch", "meeting"], name="review_item_once")]
        indexes = [models.Index(fields=["org_path", "batch"], name="review_item_scope")]

    class ScopeMeta:
        path = "org_path"
        member = None


class SpotCheckStatus(models.TextChoices):
    OPEN = "open", "待整改"
    RECTIFIED = "rectified", "已整改"
    CLOSED = "closed", "已销号"


class SpotCheck(ScopedModel):
    """抽查 of an organisation's records, with findings and the follow-up (整改)."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField("抽查日期")
    checker_label = models.CharField("抽查人", max_length=100)
    findings = models.TextField("发现问题")
    follow_up = models.TextField("整改情况", blank=True)
    status = models.CharField("状态", max_length=16, choices=SpotCheckStatus.choices, default=SpotCheckStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "抽查"
        ordering = ["-checked_on", "-id"]
        indexes = [models.Index(fields=["org_path", "checked_on"], name="spot_check_scope_day")]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return f"抽查 {self.organization} {self.checked_on}"


class Grade(models.TextChoices):
    EXCELLENT = "excellent", "优秀"
    QUALIFIED = "qualified", "合格"
    BASIC = "basic", "基本合格"
    UNQUALIFIED = "unqualified", "不合格"


class Appraisal(ScopedModel):
    """民主评议党员: one member's result for one year."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="appraisals")
    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    self_assessment = models.TextField("个人自评", blank=True)
    peer_assessment = models.TextField("党员互评", blank=True)
    votes_excellent = models.PositiveIntegerField("测评票：优秀", default=0)
    votes_qualified = models.PositiveIntegerField("测评票：合格", default=0)
    votes_basic = models.PositiveIntegerField("测评票：基本合格", default=0)
    votes_unqualified = models.PositiveIntegerField("测评票：不合格", default=0)
    grade = models.CharField("评定等次", max_length=16, choices=Grade.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "民主评议结果"
        ordering = ["org_path", "year", "member_id"]
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="appraisal_once_a_year")]
        indexes = [models.Index(fields=["org_path", "year", "grade"], name="appraisal_scope_year")]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.member} {self.year} {self.get_grade_display()}"


class ComplianceMark(ScopedModel):
    """落实情况标记: one branch's organisational life of one kind in one calendar year, kept by the meeting
    services in the transaction that records the meeting (`compliance.py`).

    `months` has bit m−1 set when a meeting of the kind was held in month m (its own or a 党小组's), the same
    facts `compliance_table` reads from `MeetingKindRow`. From them and the kind's frequency rule: `met_end`,
    the last month of the first period that was held, and `gap_end`, the last month of the first period that
    was missed (13 = none). Whether a period is due depends on today, so the status is decided at read time:
    with H the months of the year already over, a branch is 达标 when `gap_end > H`, 未开展 when `met_end > H`,
    otherwise 部分达标 — a comparison, so a summary over 30,000 branches is a count (`ComplianceTally`).
    Only branches that held something have rows: no row is 未开展.
    """

    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("类型", max_length=24, choices=MeetingKind.choices)
    months = models.PositiveIntegerField("开展月份")  # bit m−1: held in month m
    met_end = models.PositiveSmallIntegerField()
    gap_end = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = "落实情况标记"
        # The unique index also answers a page of branches (organization IN …, year) and the filter "只看未达标".
        constraints = [models.UniqueConstraint(fields=["organization", "year", "kind"], name="compliance_mark_once")]
        # One kind of one year in a subtree: the summary's exceptions (a 党小组 rule that no longer applies).
        indexes = [models.Index(fields=["year", "kind", "org_path"], name="compliance_mark_kind")]

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return f"{self.org_path} {self.year} {self.kind}: {self.months:012b}"


class ComplianceTally(ScopedModel):
    """落实情况汇总: per organisation (its whole subtree), year, kind and (met_end, gap_end), how many branches;
    the `orgs.tallies` mechanism (rolled up to every ancestor, moved with a subtree). The summary of any
    organisation reads only its children's rows. Rebuild and check: `manage.py rebuild_compliance`."""

    org_path = models.CharField(max_length=255)
    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24)
    met_end = models.PositiveSmallIntegerField()
    gap_end = models.PositiveSmallIntegerField()
    branches = models.IntegerField(default=0)

    class Meta:
        verbose_name = "落实情况汇总"
        # The upsert's conflict target (orgs.tallies), and `org_path IN (children) AND year = Y` from its prefix.
        constraints = [models.UniqueConstraint(fields=["org_path", "year", "kind", "met_end", "gap_end"],
                                               name="compliance_tally_key")]

    class ScopeMeta:
        path = "org_path"
        member = None
        tally_keys = ("year", "kind", "met_end", "gap_end")  # orgs.tallies: the counter's key after org_path
        tally_sums = ("branches",)

    def __str__(self):
        return f"{self.org_path} {self.year} {self.kind} {self.met_end}/{self.gap_end}: {self.branches}"
