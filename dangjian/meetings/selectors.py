"""Reads of organisational life, through the scoped managers, with explicit joins. The compliance table,
the inactive members and the statistics are a fixed number of aggregate queries whatever the size of the
scope (asserted in tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from dangjian.core.dates import add_months
from dangjian.core.errors import NotFound
from dangjian.core.permissions import load_one
from dangjian.core.scoping import within_subtree
from dangjian.members.models import Member, Standing
from dangjian.orgs.models import BRANCH_KINDS, SEGMENT, Organization, OrgKind, OrgTally

from . import compliance, rules
from .models import (
    Appraisal,
    Attachment,
    Attendance,
    ComplianceMark,
    ComplianceTally,
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
    """Per branch × frequency rule: met / partly / missed over the period (whole months), from the compliance
    marks (`ComplianceMark`: per branch, year and kind, the months a meeting of the kind was held — the
    branch's own or its 党小组's — kept with the records by the meeting services, `compliance.py`). Only the
    months inside the period count. A bucket is due when it has ended by the period's end and by today.
    Three queries."""
    freqs = compliance.frequencies()
    kinds = [(k, MeetingKind(k).label, rules.PERIOD_LABELS[freqs[k]], rules.FREQUENCY_ARTICLES.get(k, ""))
             for k in MeetingKind.values if k in freqs]
    orgs = within_subtree(Organization, org.path).filter(is_dissolved=False)
    # Only what the table shows (a link and a name): a street has ~500 branches, a city's root ~30,000.
    branches = list(orgs.filter(kind__in=BRANCH_KINDS).only("id", "path", "name").order_by("path"))
    with_groups = {p[:-SEGMENT] for p in orgs.filter(kind=OrgKind.PARTY_GROUP).values_list("path", flat=True)}
    plan = _bucket_plan(kinds, freqs, start, end, min(end, today))
    # One mark per branch × kind × year: a street's year is ~3,500 small rows, where the kind rows were
    # ~30,000. Marks of dissolved branches are read and skipped (the table shows live branches only).
    # The years and kinds as lists, not ranges: equality on both leading columns of the (year, kind, org_path)
    # index lets the subtree's path range bound the scan (year BETWEEN read every mark of the city: 28 ms).
    years = list(range(start.year, end.year + 1))
    marks = (within_subtree(ComplianceMark, org.path).filter(year__in=years, kind__in=list(plan))
             .values_list("organization_id", "kind", "year", "months"))
    live = {b.pk for b in branches}
    buckets_held = _held_buckets(rules.month_key(start), rules.month_key(end))
    held: dict[tuple[int, str], frozenset] = {}
    for branch_id, kind, year, months in marks:
        if branch_id in live:
            got = buckets_held(year, months, plan[kind][0])
            key = (branch_id, kind)
            # The cached set itself, joined only when the period spans years: no set per cell.
            held[key] = held[key] | got if key in held else got
    empty: frozenset = frozenset()
    out = []
    for b in branches:
        cells: dict[str, Cell | None] = {}
        for kind, *_ in kinds:
            if kind == MeetingKind.GROUP_MEETING and b.path not in with_groups:
                cells[kind] = None
                continue
            period, due = plan[kind]
            got = held.get((b.pk, kind), empty)
            met = len(due & got)
            if not due:
                status = "green" if got else "none"
            else:
                status = "green" if met == len(due) else "amber" if met else "red"
            cells[kind] = Cell(kind, period, len(due), met, len(got), status)
        out.append(ComplianceRow(b, cells))
    return Compliance(out, kinds, start, end)


def _bucket_plan(kinds, freqs: dict[str, str], start: dt.date, end: dt.date, horizon: dt.date) -> dict:
    """kind → (period, the period's buckets due by `horizon`): once per kind, not per branch (a city's root has
    ~30,000 branches × 7 rules, and recomputing the buckets and their bounds per cell was most of its time)."""
    plan = {}
    for kind, *_ in kinds:
        period = freqs[kind]
        buckets = rules.buckets_between(start, end, period)
        plan[kind] = (period, frozenset(x for x in buckets if rules.bucket_bounds(x, period)[1] <= horizon))
    return plan


def _held_buckets(first: int, last: int):
    """(year, months bitmap, period) → the buckets of the months held inside the period (month keys `first` to
    `last`): a mark's months outside the period are not the period's meetings, even in a bucket it shares (a
    quarter cut by the period's start or end). Cached: a street's marks repeat a few dozen bitmaps."""
    cache: dict[tuple[int, int, str], frozenset] = {}

    def buckets(year: int, months: int, period: str) -> frozenset:
        key = (year, months, period)
        if key not in cache:
            cache[key] = frozenset(rules.bucket_of(year * 100 + m, period) for m in range(1, 13)
                                   if months >> (m - 1) & 1 and first <= year * 100 + m <= last)
        return cache[key]
    return buckets


# --- compliance of a large subtree: the summary by child organisation and the paged detail ------------------
# `compliance_table` above reads one mark per branch, kind and year of the subtree and builds every branch's
# row: right for a street (~500 branches, ~3,000 marks, 20 ms on PostgreSQL at 1,000,000 members), too much
# for a city's root (~30,000 branches, ~200,000 marks, 200,000 cells). For a whole year these two read the
# counters (`ComplianceTally`) and one page of marks instead: the same statuses, in a fixed number of queries
# whose cost does not grow with the subtree (`compliance.py`, docs/performance.md §7.5).

PAGE_BRANCHES = 50
FULL_TABLE_BRANCHES = 500  # up to this many branches (a street) the whole table is quick enough (20 ms)


def compliance_branch_count(*, org: Organization, up_to: int) -> int:
    """The live branches of the subtree, counted no further than `up_to` + 1: enough to choose the page."""
    return within_subtree(Organization, org.path).filter(kind__in=BRANCH_KINDS, is_dissolved=False)[: up_to + 1].count()


def _year_rules():
    freqs = compliance.frequencies()
    kinds = [(k, MeetingKind(k).label, rules.PERIOD_LABELS[freqs[k]], rules.FREQUENCY_ARTICLES.get(k, ""))
             for k in MeetingKind.values if k in freqs]
    return freqs, kinds


@dataclass
class SummaryCell:
    """How many branches are 达标 / 部分达标 / 未开展 / 未到期 for one rule."""

    green: int = 0
    amber: int = 0
    red: int = 0
    none: int = 0

    @property
    def branches(self) -> int:
        return self.green + self.amber + self.red + self.none


@dataclass
class SummaryRow:
    org: Organization | None  # a direct child organisation; None for the totals
    branches: int
    cells: dict[str, SummaryCell | None]  # kind → counts; None where no branch has the rule (no 党小组)

    @property
    def problems(self) -> int:
        """Cells not 达标 (red and amber), over the rules: how much there is to look at below."""
        return sum(c.red + c.amber for c in self.cells.values() if c)


@dataclass
class ComplianceSummary:
    org: Organization
    year: int
    months_over: int  # months of the year already over: the due periods
    kinds: list[tuple[str, str, str, str]]
    rows: list[SummaryRow]
    total: SummaryRow


def compliance_summary(*, org: Organization, year: int, today: dt.date) -> ComplianceSummary:
    """For each direct child organisation of `org` (and in total): per rule, how many of its branches are
    达标 / 部分达标 / 未开展 (or 未到期) in `year`, as `compliance_table` would show them for 1 January–31 December.
    Four queries: the children, their branch counts, their counters, and the exceptions to subtract."""
    freqs, kinds = _year_rules()
    horizon = compliance.months_over(year, today)
    n = len(org.path) + SEGMENT
    children = list(within_subtree(Organization, org.path).filter(parent_id=org.pk, is_dissolved=False)
                    .exclude(kind=OrgKind.PARTY_GROUP).only("id", "path", "name", "kind").order_by("path"))
    sizes = _branch_sizes(org)
    paths = [c.path for c in children]
    counts: dict[tuple[str, str], dict[tuple[int, int], int]] = {}
    for path, kind, met, gap, branches in (within_subtree(ComplianceTally, org.path)
                                           .filter(org_path__in=paths, year=year)
                                           .values_list("org_path", "kind", "met_end", "gap_end", "branches")):
        counts.setdefault((path, kind), {})[(met, gap)] = branches
    # The counters hold every branch that held a meeting. Not shown by `compliance_table`, so subtracted here:
    # marks of dissolved branches, and 党小组会 marks of branches whose 党小组 are all gone. Normally none.
    # "Has a live 党小组" is a list evaluated once: a correlated EXISTS per mark scanned every 党小组 of the city
    # for each of its 1,600 党小组会 marks (1.4 s at the root).
    fields = ("org_path", "kind", "met_end", "gap_end")
    marks = within_subtree(ComplianceMark, org.path).filter(year=year)
    exceptions = (marks.filter(kind=MeetingKind.GROUP_MEETING, organization__is_dissolved=False)
                  .exclude(organization_id__in=_grouped_branches(org)).values_list(*fields))
    if any(row["dissolved"] for row in sizes.values()):  # still one query, with a second part
        dissolved = within_subtree(Organization, org.path).filter(kind__in=BRANCH_KINDS, is_dissolved=True)
        exceptions = exceptions.union(marks.filter(organization_id__in=dissolved.values("pk")).values_list(*fields),
                                      all=True)
    for path, kind, met, gap in exceptions:
        per = counts.get((path[:n], kind))
        if per and per.get((met, gap)):
            per[(met, gap)] -= 1

    def cells_of(path: str, size: dict) -> dict[str, SummaryCell | None]:
        cells: dict[str, SummaryCell | None] = {}
        for kind, *_ in kinds:
            applicable = size["grouped"] if kind == MeetingKind.GROUP_MEETING else size["branches"]
            if not applicable:
                cells[kind] = None
                continue
            first_end = compliance.periods(freqs[kind])[0][0]
            cell = SummaryCell()
            for (met, gap), k in counts.get((path, kind), {}).items():
                status = compliance.status_of(met, gap, first_end, horizon)
                if status in ("green", "amber"):
                    setattr(cell, status, getattr(cell, status) + k)
            rest = applicable - cell.green - cell.amber  # branches without a mark, or with one that is neither
            if horizon < first_end:
                cell.none = rest
            else:
                cell.red = rest
            cells[kind] = cell
        return cells

    rows = []
    for child in children:
        size = sizes.get(child.path)
        if size and size["branches"]:
            rows.append(SummaryRow(child, size["branches"], cells_of(child.path, size)))
    total_cells: dict[str, SummaryCell | None] = {}
    for kind, *_ in kinds:
        present = [r.cells[kind] for r in rows if r.cells[kind] is not None]
        total_cells[kind] = SummaryCell(*(sum(getattr(c, s) for c in present)
                                          for s in ("green", "amber", "red", "none"))) if present else None
    total = SummaryRow(None, sum(r.branches for r in rows), total_cells)
    return ComplianceSummary(org, year, horizon, kinds, rows, total)


def _branch_sizes(org: Organization) -> dict[str, dict[str, int]]:
    """Per direct child of `org` (its path): its live branches, its dissolved branches, and its organisations
    with a live 党小组 (the 党小组会 rule applies only to those), over the child's whole subtree. The dissolved
    ones are counted so that their marks are subtracted only if there are any. One query.

    Read from the organisation counters (`orgs.OrgTally`, kept in the same transaction as every organisation
    write, so a new or dissolved organisation counts at once): the children's few rows. Counting the city's
    30,000 branches here took 19 ms of the summary's SQL on PostgreSQL at 1,000,000 members (docs/performance.md
    §9.2). The result is that count's, edge cases included (its test keeps it as the oracle): it took the
    distinct parents of the live 党小组 under each child's path, so a 党小组 that is itself a child of `org`
    (or is `org`) counted its parent, outside its subtree, in its own entry. The counters hold subtrees only:
    the query's second part and the line after it add those. The summary shows no 党小组 entries."""
    children = within_subtree(Organization, org.path).filter(parent_id=org.pk).order_by()
    counters = (within_subtree(OrgTally, org.path).filter(org_path__in=children.values("path"))
                .order_by().values_list("org_path", "part", "count"))
    groups = (children.filter(kind=OrgKind.PARTY_GROUP, is_dissolved=False)
              .annotate(part=Value("grouped"), n=Value(1)).values_list("path", "part", "n"))
    rows = list(counters.union(groups, all=True))
    if org.kind == OrgKind.PARTY_GROUP and not org.is_dissolved:
        rows.append((org.path, "grouped", 1))
    sizes: dict[str, dict[str, int]] = {}
    for path, part, count in rows:
        if count:  # a counter that went back to 0 keeps its row
            sizes.setdefault(path, {"branches": 0, "dissolved": 0, "grouped": 0})[part] += count
    return sizes


@dataclass
class CompliancePage:
    rows: list[ComplianceRow]
    kinds: list[tuple[str, str, str, str]]
    year: int
    after: str
    next_after: str | None  # the path to continue after; None on the last page
    problems_only: bool


def _grouped_branches(org: Organization):
    """The ids of the subtree's branches that have a live 党小组, as a subquery."""
    return (within_subtree(Organization, org.path).filter(kind=OrgKind.PARTY_GROUP, is_dissolved=False)
            .values("parent_id"))


def _problem_filter(org: Organization, year: int, horizon: int, freqs: dict[str, str]) -> Q:
    """Branches with at least one red or amber cell: a rule already due without a 达标 mark (the 党小组会 rule
    only where the branch has a 党小组). Rules with nothing due cannot be red or amber.

    One correlated count per branch read (the unique (organization, year, kind) index), not one NOT EXISTS
    per rule: PostgreSQL turned those into seven hashed sets of the whole city's marks (200 ms at the root).
    The marks are read by the branch's id; the branch itself came through the scope."""
    due = [kind for kind, period in freqs.items() if compliance.periods(period)[0][0] <= horizon]
    common = [k for k in due if k != MeetingKind.GROUP_MEETING]
    met = ComplianceMark.unscoped.filter(organization_id=OuterRef("pk"), year=year, gap_end__gt=horizon)
    q = Q(pk__in=[])
    if common:
        met_common = Subquery(met.filter(kind__in=common).order_by().values("organization_id")
                              .annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField())
        q |= Q(LessThan(Coalesce(met_common, Value(0)), len(common)))
    if MeetingKind.GROUP_MEETING in due:
        q |= Q(pk__in=_grouped_branches(org)) & ~Exists(met.filter(kind=MeetingKind.GROUP_MEETING))
    return q


def compliance_page(*, org: Organization, year: int, today: dt.date, after: str = "", problems_only: bool = False,
                    size: int = PAGE_BRANCHES) -> CompliancePage:
    """One page of the per-branch table for `year`, in path order after the path `after` (keyset paging: every
    page costs the same). Cells equal `compliance_table`'s for 1 January–31 December of the year. Three queries."""
    freqs, kinds = _year_rules()
    horizon = compliance.months_over(year, today)
    qs = within_subtree(Organization, org.path).filter(kind__in=BRANCH_KINDS, is_dissolved=False)
    if after:
        qs = qs.filter(path__gt=after)
    if problems_only:
        qs = qs.filter(_problem_filter(org, year, horizon, freqs))
    branches = list(qs.only("id", "path", "name").order_by("path")[: size + 1])
    more, branches = len(branches) > size, branches[:size]
    ids = [b.pk for b in branches]
    months = {(b, k): m for b, k, m in within_subtree(ComplianceMark, org.path)
              .filter(organization_id__in=ids, year=year).values_list("organization_id", "kind", "months")}
    grouped = set(within_subtree(Organization, org.path).filter(kind=OrgKind.PARTY_GROUP, is_dissolved=False,
                                                                parent_id__in=ids).values_list("parent_id", flat=True))
    rows = []
    for b in branches:
        cells: dict[str, Cell | None] = {}
        for kind, *_ in kinds:
            if kind == MeetingKind.GROUP_MEETING and b.pk not in grouped:
                cells[kind] = None
                continue
            bits = months.get((b.pk, kind), 0)
            ps = compliance.periods(freqs[kind])
            due = [end <= horizon for end, _ in ps]
            got = [bool(bits & mask) for _, mask in ps]
            met = sum(d and g for d, g in zip(due, got, strict=True))
            if not any(due):
                status = "green" if any(got) else "none"
            else:
                status = "green" if met == sum(due) else "amber" if met else "red"
            cells[kind] = Cell(kind, freqs[kind], sum(due), met, sum(got), status)
        rows.append(ComplianceRow(b, cells))
    return CompliancePage(rows, kinds, year, after, branches[-1].path if more else None, problems_only)


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
