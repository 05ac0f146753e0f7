"""Reads of organisational life, through the scoped managers, with explicit joins. The compliance table,
the inactive members and the statistics are a fixed number of aggregate queries whatever the size of the
scope (asserted in tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone

from dangjian.core.dates import add_months
from dangjian.core.errors import NotFound
from dangjian.core.permissions import load_one
from dangjian.core.scoping import within_subtree
from dangjian.members.models import Member, Standing
from dangjian.orgs.models import BRANCH_KINDS, SEGMENT, Organization, OrgKind

from . import rules
from .models import (
    Appraisal,
    Attachment,
    Attendance,
    Meeting,
    MeetingKind,
    MeetingKindRow,
    MeetingRecordVersion,
    MeetingStatus,
    Resolution,
    ReviewBatch,
    ReviewItem,
    SpotCheck,
)

DONE = (MeetingStatus.RECORDED, MeetingStatus.FROZEN)


def _kinds_prefetch(unscoped: bool = False):
    # A member reaches a meeting through their own Attendance row; its kinds are then read unscoped.
    manager = MeetingKindRow.unscoped if unscoped else MeetingKindRow.objects
    return Prefetch("kind_rows", queryset=manager.order_by("id"))


@dataclass
class MeetingFilters:
    org: Organization | None = None
    status: str = ""
    kind: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


def meeting_list(*, filters: MeetingFilters | None = None):
    f = filters or MeetingFilters()
    qs = within_subtree(Meeting, f.org.path) if f.org is not None else Meeting.objects.all()
    if f.status:
        qs = qs.filter(status=f.status)
    if f.kind:
        qs = qs.filter(kind_rows__kind=f.kind)
    tz = timezone.get_current_timezone()  # a range on the indexed column, never a __date lookup
    if f.start:
        qs = qs.filter(starts_at__gte=dt.datetime.combine(f.start, dt.time.min, tzinfo=tz))
    if f.end:
        qs = qs.filter(starts_at__lt=dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return qs.select_related("organization").prefetch_related(_kinds_prefetch()).order_by("-starts_at", "-id")


def access_meeting(*, actor, meeting_id: int, for_write: bool = False) -> Meeting:
    return load_one(Meeting.objects.select_related("organization").prefetch_related(_kinds_prefetch()), meeting_id,
                    actor=actor, capability="member.manage" if for_write else None)


@dataclass
class MeetingRecord:
    meeting: Meeting
    attendances: list
    resolutions: list
    attachments: list
    versions: list = field(default_factory=list)

    @property
    def present(self) -> int:
        return sum(1 for a in self.attendances if a.present)

    @property
    def voting(self) -> tuple[int, int]:
        return (sum(a.has_vote for a in self.attendances), sum(a.has_vote and bool(a.present) for a in self.attendances))

    @property
    def confirmed(self) -> int:
        return sum(1 for a in self.attendances if a.confirmed_at)


def meeting_record(*, meeting: Meeting, unscoped: bool = False) -> MeetingRecord:
    """Everything of one record. `unscoped` only for a member whose Attendance row gave them the meeting."""
    def mgr(model):
        return model.unscoped if unscoped else model.objects

    return MeetingRecord(
        meeting=meeting,
        attendances=list(mgr(Attendance).filter(meeting=meeting).order_by("id")),
        resolutions=list(mgr(Resolution).filter(meeting=meeting).order_by("id")),
        attachments=list(mgr(Attachment).filter(meeting=meeting).order_by("id")),
        versions=[] if unscoped else list(MeetingRecordVersion.objects.filter(meeting=meeting).order_by("number")),
    )


def notify_candidates(*, meeting: Meeting):
    """Whom the notice may go to: the organisation's members (a 党小组's: its branch's). All are ticked; a
    committee or group meeting unticks the rest."""
    org = meeting.organization
    base = org.parent if org.kind == OrgKind.PARTY_GROUP and org.parent_id else org
    return (within_subtree(Member, base.path).exclude(standing=Standing.SUSPENDED)
            .only("id", "name", "status", "org_path").order_by("org_path", "id"))


def attachment_get(*, actor, attachment_id: int) -> Attachment:
    """A worker in scope, or a member who attended the meeting."""
    att = Attachment.objects.select_related("meeting").filter(pk=attachment_id).first()
    if att is None:
        member = _member_of(actor)
        candidate = Attachment.unscoped.select_related("meeting").filter(pk=attachment_id).first()
        if member is None or candidate is None or not Attendance.objects.filter(
                meeting_id=candidate.meeting_id, member_id=member.pk).exists():
            raise NotFound()
        att = candidate
    return att


# --- the member's own meetings ----------------------------------------------------------------------------

def _member_of(user):
    return getattr(user, "member_or_none", None)


def my_meetings(*, actor):
    member = _member_of(actor)
    if member is None:
        raise NotFound("您的账号尚未关联党员档案，请联系所在党支部。")
    kinds = Prefetch("meeting__kind_rows", queryset=MeetingKindRow.unscoped.order_by("id"))  # as _kinds_prefetch
    return (Attendance.objects.filter(member_id=member.pk).select_related("meeting", "meeting__organization")
            .prefetch_related(kinds)
            .exclude(meeting__status=MeetingStatus.PLANNED).order_by("-meeting__starts_at", "-id"))


def my_attendance(*, actor, meeting_id: int) -> Attendance:
    """A member's own row of one meeting; someone else's meeting is 404."""
    att = my_meetings(actor=actor).filter(meeting_id=meeting_id).first()
    if att is None:
        raise NotFound()
    return att


# --- compliance -----------------------------------------------------------------------------------------

STATUS_LABELS = {"green": "达标", "amber": "部分达标", "red": "未开展", "none": "未到期"}


@dataclass
class Cell:
    kind: str
    period: str
    due: int  # buckets (months, quarters, years) ended within the period
    met: int  # of those, buckets with at least one meeting of the kind
    held: int  # meetings' buckets in the period, including ones not yet due
    status: str  # green | amber | red | none

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class ComplianceRow:
    org: Organization
    cells: dict[str, Cell | None]  # kind → cell; None where the rule does not apply (no 党小组)


@dataclass
class Compliance:
    rows: list[ComplianceRow]
    kinds: list[tuple[str, str, str, str]]  # (code, label, period label, article)
    start: dt.date
    end: dt.date


def compliance_table(*, org: Organization, start: dt.date, end: dt.date, today: dt.date) -> Compliance:
    """Per branch × frequency rule: met / partly / missed over the period (whole months), from the records.
    A bucket is due when it has ended by the period's end and by today. Three queries."""
    freqs = {k: v for k, v in rules.params()["frequencies"].items() if v}
    kinds = [(k, MeetingKind(k).label, rules.PERIOD_LABELS[freqs[k]], rules.FREQUENCY_ARTICLES.get(k, ""))
             for k in MeetingKind.values if k in freqs]
    orgs = within_subtree(Organization, org.path).filter(is_dissolved=False)
    # Only what the table shows (a link and a name): a street has ~500 branches, a city's root ~30,000.
    branches = list(orgs.filter(kind__in=BRANCH_KINDS).only("id", "path", "name").order_by("path"))
    with_groups = {p[:-SEGMENT] for p in orgs.filter(kind=OrgKind.PARTY_GROUP).values_list("path", flat=True)}
    first, last = rules.month_key(start), rules.month_key(end)
    rows = (within_subtree(MeetingKindRow, org.path).filter(held_month__gte=first, held_month__lte=last)
            .values_list("org_path", "kind", "held_month").distinct())
    by_path = {b.path: b for b in branches}
    # The rule's buckets once per kind, not per branch: a city's root has ~30,000 branches × 6 rules, and
    # recomputing the buckets and their bounds per cell was most of its time (docs/performance.md).
    horizon = min(end, today)
    plan = {}  # kind → (period, every bucket of the period, the buckets due by the horizon)
    for kind, *_ in kinds:
        period = freqs[kind]
        buckets = rules.buckets_between(start, end, period)
        plan[kind] = (period, buckets, frozenset(x for x in buckets if rules.bucket_bounds(x, period)[1] <= horizon))
    bucket_of: dict[tuple[int, str], tuple[int, int]] = {}
    branch_of: dict[str, str | None] = {}  # a row's organisation (a branch or one of its 党小组) → the branch
    held: dict[tuple[str, str], set] = {}
    for path, kind, month in rows:
        if kind not in plan:
            continue
        branch = branch_of.get(path, "")
        if branch == "":
            branch = branch_of[path] = next((path[:n] for n in range(len(path), 0, -SEGMENT) if path[:n] in by_path),
                                            None)
        if branch is None:
            continue
        key = (month, plan[kind][0])
        bucket = bucket_of.get(key)
        if bucket is None:
            bucket = bucket_of[key] = rules.bucket_of(month, plan[kind][0])
        held.setdefault((branch, kind), set()).add(bucket)
    empty: frozenset = frozenset()
    out = []
    for b in branches:
        cells: dict[str, Cell | None] = {}
        for kind, *_ in kinds:
            if kind == MeetingKind.GROUP_MEETING and b.path not in with_groups:
                cells[kind] = None
                continue
            period, _buckets, due = plan[kind]
            got = held.get((b.path, kind), empty)
            met = len(due & got)
            if not due:
                status = "green" if got else "none"
            else:
                status = "green" if met == len(due) else "amber" if met else "red"
            cells[kind] = Cell(kind, period, len(due), met, len(got), status)
        out.append(ComplianceRow(b, cells))
    return Compliance(out, kinds, start, end)


def inactive_members(*, org: Organization, on: dt.date):
    """党章 第九条: members with no organisational life (attended no recorded meeting) for `inactive_months`
    months or more up to `on`, joined before that; with their last attendance. One query."""
    cutoff = add_months(on, -rules.params()["inactive_months"])
    return (within_subtree(Member, org.path).exclude(standing=Standing.SUSPENDED).filter(joined_on__lte=cutoff)
            .annotate(last_attended=Max("meeting_attendances__held_on",
                                        filter=Q(meeting_attendances__present=True)))
            .filter(Q(last_attended__isnull=True) | Q(last_attended__lte=cutoff))
            .select_related("organization").order_by("org_path", "id"))


# --- statistics ------------------------------------------------------------------------------------------

@dataclass
class MeetingStatistics:
    by_kind: list[tuple[str, str, int]]  # (code, label, meetings held)
    meetings: int
    should_attend: int
    attended: int
    lectures: int
    lecture_participants: int

    @property
    def attendance_rate(self) -> float | None:
        return round(100 * self.attended / self.should_attend, 1) if self.should_attend else None


def meeting_statistics(*, org: Organization, start: dt.date, end: dt.date) -> MeetingStatistics:
    """Meetings held by kind, attendance rate, lectures and their participants. Four queries."""
    done = {"meeting__status__in": DONE, "meeting__held_on__gte": start, "meeting__held_on__lte": end}
    counts = dict(within_subtree(MeetingKindRow, org.path).filter(**done).values_list("kind")
                  .annotate(n=Count("id")).values_list("kind", "n"))
    meetings = within_subtree(Meeting, org.path).filter(status__in=DONE, held_on__gte=start, held_on__lte=end).count()
    att = within_subtree(Attendance, org.path).filter(**done).aggregate(
        total=Count("id"), present=Count("id", filter=Q(present=True)))
    lecture = within_subtree(Attendance, org.path).filter(**done, meeting__kind_rows__kind=MeetingKind.PARTY_LECTURE,
                                                          present=True).count()
    return MeetingStatistics(
        by_kind=[(k, MeetingKind(k).label, counts.get(k, 0)) for k in MeetingKind.values],
        meetings=meetings, should_attend=att["total"], attended=att["present"],
        lectures=counts.get(MeetingKind.PARTY_LECTURE, 0), lecture_participants=lecture)


# --- 调阅, 抽查, 民主评议 ---------------------------------------------------------------------------------

@dataclass
class ReviewSummary:
    batches: int
    branches: int
    records: int

    @property
    def sentence(self) -> str:
        return f"调阅“三会一课”记录{self.batches}批次{self.branches}个党支部{self.records}余条"


def review_summary(*, org: Organization, start: dt.date, end: dt.date) -> ReviewSummary:
    """Reviews of the subtree opened in the period: batches, distinct organisations and distinct records."""
    tz = timezone.get_current_timezone()
    batches = within_subtree(ReviewBatch, org.path).filter(
        created_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        created_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    items = within_subtree(ReviewItem, org.path).filter(batch__in=batches.values("pk"))
    agg = items.aggregate(branches=Count("org_path", distinct=True), records=Count("meeting", distinct=True))
    return ReviewSummary(batches.count(), agg["branches"], agg["records"])


def review_batch_list(*, org: Organization | None = None):
    qs = within_subtree(ReviewBatch, org.path) if org is not None else ReviewBatch.objects.all()
    return qs.select_related("organization").annotate(n_records=Count("items")).order_by("-created_at", "-id")


def access_review_batch(*, actor, batch_id: int) -> ReviewBatch:
    return load_one(ReviewBatch.objects.select_related("organization"), batch_id)


def review_batch_meetings(*, batch: ReviewBatch):
    return (Meeting.objects.filter(pk__in=ReviewItem.objects.filter(batch=batch).values("meeting_id"))
            .select_related("organization").prefetch_related(_kinds_prefetch(),
                                                             Prefetch("resolutions", queryset=Resolution.objects.all()))
            .annotate(n_should=Count("attendances", distinct=True),
                      n_present=Count("attendances", filter=Q(attendances__present=True), distinct=True))
            .order_by("org_path", "-starts_at"))


def spot_check_list(*, org: Organization | None = None, status: str = ""):
    qs = within_subtree(SpotCheck, org.path) if org is not None else SpotCheck.objects.all()
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("organization", "meeting").order_by("-checked_on", "-id")


def access_spot_check(*, actor, check_id: int) -> SpotCheck:
    return load_one(SpotCheck.objects.select_related("organization", "organization__parent", "meeting"), check_id)


def appraisal_list(*, org: Organization, year: int):
    return Appraisal.objects.filter(organization=org, year=year).select_related("member").order_by("member_id")


def appraisal_members(*, org: Organization):
    """The members an organisation appraises: its own (not the sub-organisations')."""
    return within_subtree(Member, org.path).filter(organization=org).exclude(standing=Standing.SUSPENDED).order_by("id")
