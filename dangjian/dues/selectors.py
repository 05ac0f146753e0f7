"""Reads of 党费: a member's position, a branch's roster and public_notice, arrears, statistics.

Every page-sized read is a fixed number of queries whatever the number of members; statistics aggregate
in SQL over index ranges (a subtree is one `org_path` range), grouped by the child organisation with
`Substr(path)` instead of one query per child.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from dangjian.core.permissions import load_one
from dangjian.core.scoping import subtree_q, within_subtree
from dangjian.members.models import Member
from dangjian.orgs.models import SEGMENT, Organization

from . import rules, tallies
from .models import (
    DuesAccount,
    DuesAssessment,
    DuesPayment,
    DuesReduction,
    DuesTally,
    PaymentKind,
    ReductionStatus,
)
from .rules import add_months, month_start, months_between


def paid_up_to(member: Member) -> dt.date | None:
    """已交至: the first day of the last month the member has settled, or None (no dues record yet).

    For the transfers module (the 介绍信 states it). The caller has loaded `member` through its scope, so
    this reads the member's own account without a second scope check."""
    return DuesAccount.unscoped.filter(member_id=member.pk).values_list("paid_up_to", flat=True).first()


def arrears_months(paid_to: dt.date | None, on: dt.date) -> int:
    """Whole months after `paid_to` and before the month of `on` (the current month is not yet late)."""
    if paid_to is None:
        return 0
    return max(0, months_between(paid_to, month_start(on)) - 1)


def arrears_threshold(months: int, on: dt.date) -> dt.date:
    """Accounts with `paid_up_to <= threshold` owe at least `months` months on `on` (an index range)."""
    return add_months(month_start(on), -(months + 1))


def months_settled(assessment: DuesAssessment | None, paid_to: dt.date | None) -> int:
    """Due months of the assessment's year that are settled (≤ 已交至), whether paid on the platform or
    before it (the 已交至 given when the account was opened)."""
    if assessment is None or paid_to is None:
        return 0
    first = dt.date(assessment.year, assessment.first_month, 1)
    return min(max(months_between(first, paid_to) + 1, 0), assessment.months_due)


def _waived(assessment: DuesAssessment | None) -> bool:
    """免交: the year's approved monthly amount is 0 (the member owes nothing, so is never in arrears)."""
    return assessment is not None and assessment.monthly_fen == 0


def access_assessment(*, actor, assessment_id: int, for_write: bool = False) -> DuesAssessment:
    return load_one(DuesAssessment.objects.select_related("member__organization"), assessment_id, actor=actor,
                    capability="member.manage" if for_write else None, org_of=lambda a: a.member.organization)


def access_reduction(*, actor, reduction_id: int) -> DuesReduction:
    return load_one(DuesReduction.objects.select_related("member__organization__parent", "assessment"),
                    reduction_id, actor=actor)


# --- One member ----------------------------------------------------------------------------------------


@dataclass
class MemberDues:
    member: Member
    year: int
    assessment: DuesAssessment | None
    paid_up_to: dt.date | None
    arrears: int
    arrears_level: str
    arrears_text: str
    months_paid: int  # due months of `year` paid
    paid_fen: int
    voluntary_fen: int
    payments: list = field(default_factory=list)
    pending_reduction: DuesReduction | None = None
    on: dt.date | None = None

    @property
    def months_due(self) -> int:
        return 13 - self.assessment.first_month if self.assessment else 0

    @property
    def yearly_fen(self) -> int:
        return self.assessment.yearly_fen if self.assessment else 0

    @property
    def months_settled(self) -> int:
        return months_settled(self.assessment, self.paid_up_to)

    @property
    def month_cells(self) -> list[dict]:
        """The year's twelve months: paid (a payment, or settled before the platform: ≤ 已交至), late (due,
        unpaid, before the current month), due (not yet late), none (not due that year)."""
        paid = {p.month.month for p in self.payments if p.kind == PaymentKind.DUE}
        first = self.assessment.first_month if self.assessment else 13
        current = month_start(self.on or timezone.localdate())
        cells = []
        for n in range(1, 13):
            m = dt.date(self.year, n, 1)
            if n in paid or (self.paid_up_to is not None and m <= self.paid_up_to):
                state, title = "paid", "已交"
            elif n < first:
                state, title = "none", "无需交纳"
            elif m < current:
                state, title = "late", "欠交"
            else:
                state, title = "due", "待交"
            cells.append({"n": n, "state": state, "title": title})
        return cells


def member_dues(*, member: Member, year: int, on: dt.date | None = None) -> MemberDues:
    """A member's dues for a year (their own page, the worker's member page): 4 queries (5 for another year)."""
    on = on or timezone.localdate()
    assessment = DuesAssessment.objects.filter(member=member, year=year).first()
    paid_to = DuesAccount.objects.filter(member=member).values_list("paid_up_to", flat=True).first()
    # By member id, unscoped: a payment's scope is the branch that collected it, so after a transfer the new
    # branch would see fewer payments. The caller loaded `member` through its scope (as dues_roster does).
    payments = list(DuesPayment.unscoped.filter(member_id=member.pk, month__gte=dt.date(year, 1, 1),
                                                month__lt=dt.date(year + 1, 1, 1))
                    .select_related("collected_by").order_by("month", "id"))
    pending = DuesReduction.objects.filter(member=member, status=ReductionStatus.REQUESTED).first()
    current = assessment if year == on.year else (
        DuesAssessment.unscoped.filter(member_id=member.pk, year=on.year).first())
    n = 0 if _waived(current) else arrears_months(paid_to, on)
    due = [p for p in payments if p.kind == PaymentKind.DUE]
    return MemberDues(
        member=member, year=year, assessment=assessment, paid_up_to=paid_to, arrears=n,
        arrears_level=rules.arrears_level(n), arrears_text=rules.arrears_text(n), months_paid=len(due),
        paid_fen=sum(p.amount_fen for p in due),
        voluntary_fen=sum(p.amount_fen for p in payments if p.kind == PaymentKind.VOLUNTARY),
        payments=payments, pending_reduction=pending, on=on,
    )


# --- A branch's roster and public_notice --------------------------------------------------------------------


@dataclass
class RosterRow:
    member: Member
    assessment: DuesAssessment | None
    paid_up_to: dt.date | None
    months_paid: int
    paid_fen: int
    voluntary_fen: int
    arrears: int

    @property
    def level(self) -> str:
        return rules.arrears_level(self.arrears)

    @property
    def months_settled(self) -> int:
        return months_settled(self.assessment, self.paid_up_to)

    @property
    def warning(self) -> str:
        return rules.arrears_text(self.arrears)


ROSTER_MAX = 3000  # a roster is a branch's page; a whole committee's members belong in the statistics


def dues_roster(*, org: Organization, year: int, on: dt.date | None = None, limit: int = ROSTER_MAX) -> list[RosterRow]:
    """Members of `org`'s subtree (at most `limit`) with their `year` assessment, paid months and arrears:
    4 queries (5 for a year other than the current one)."""
    on = on or timezone.localdate()
    members = list(within_subtree(Member, org.path).select_related("organization")
                   .order_by("org_path", "name", "id")[:limit])
    ids = [m.pk for m in members]
    # The members were loaded through the scope; their dues rows are read for exactly those ids.
    assessments = {a.member_id: a for a in DuesAssessment.unscoped.filter(member_id__in=ids, year=year)}
    # 免交 this year (an approved amount of 0): no arrears, as in arrears_list and the statistics
    waived = ({k for k, a in assessments.items() if _waived(a)} if year == on.year else
              set(DuesAssessment.unscoped.filter(member_id__in=ids, year=on.year, monthly_fen=0)
                  .values_list("member_id", flat=True)))
    accounts = dict(DuesAccount.unscoped.filter(member_id__in=ids).values_list("member_id", "paid_up_to"))
    sums: dict[int, dict] = {}
    for row in (DuesPayment.unscoped.filter(member_id__in=ids, month__gte=dt.date(year, 1, 1),
                                            month__lt=dt.date(year + 1, 1, 1))
                .values("member_id", "kind").annotate(n=Count("id"), s=Sum("amount_fen"))):
        sums.setdefault(row["member_id"], {})[row["kind"]] = (row["n"], row["s"] or 0)
    out = []
    for m in members:
        s = sums.get(m.pk, {})
        due_n, due_s = s.get(PaymentKind.DUE, (0, 0))
        out.append(RosterRow(member=m, assessment=assessments.get(m.pk), paid_up_to=accounts.get(m.pk),
                             months_paid=due_n, paid_fen=due_s, voluntary_fen=s.get(PaymentKind.VOLUNTARY, (0, 0))[1],
                             arrears=0 if m.pk in waived else arrears_months(accounts.get(m.pk), on)))
    return out


@dataclass
class RosterTotals:
    members: int
    assessed: int
    due_fen: int
    paid_fen: int
    voluntary_fen: int
    in_arrears: int


def roster_totals(rows: list[RosterRow]) -> RosterTotals:
    return RosterTotals(
        members=len(rows), assessed=sum(1 for r in rows if r.assessment),
        due_fen=sum(r.assessment.yearly_fen for r in rows if r.assessment),
        paid_fen=sum(r.paid_fen for r in rows), voluntary_fen=sum(r.voluntary_fen for r in rows),
        in_arrears=sum(1 for r in rows if r.level),
    )


# --- Arrears -----------------------------------------------------------------------------------------------


def arrears_list(*, org: Organization | None, on: dt.date, min_months: int):
    """Accounts of the scope (or `org`'s subtree) owing at least `min_months` months on `on`, longest first.
    Members whose dues are waived this year (approved 免交: monthly amount 0) are left out.

    Read from the `dues_account_owing` index (已交至, member, the copied path): longest owing first, the
    subtree checked inside the index, so a page costs its own rows whatever the size of the city."""
    qs = within_subtree(DuesAccount, org.path) if org is not None else DuesAccount.objects.all()
    waived = DuesAssessment.unscoped.filter(member_id=OuterRef("member_id"), year=on.year, monthly_fen=0)
    return (qs.filter(paid_up_to__lte=arrears_threshold(min_months, on)).filter(~Exists(waived))
            .select_related("member__organization").order_by("paid_up_to", "member_id"))


def arrears_count(*, org: Organization, on: dt.date, min_months: int) -> int:
    """How many `arrears_list` holds, from the counters (two small queries, not a count of the list)."""
    stats = _tally_statistics(org, year=on.year, from_month=1, to_month=1, on=on, thresholds=[min_months],
                              children={})
    return stats.total.arrears[min_months]


# --- Statistics ----------------------------------------------------------------------------------------------


@dataclass
class StatRow:
    org: Organization | None  # None: members attached to the organisation itself (本级)
    due_fen: int = 0
    paid_fen: int = 0
    voluntary_fen: int = 0
    assessed: int = 0
    months_paid: int = 0
    arrears: dict = field(default_factory=dict)  # threshold months → members owing at least that many

    @property
    def rate(self) -> str:
        return f"{self.paid_fen * 100 / self.due_fen:.1f}%" if self.due_fen else "—"

    def add(self, other: StatRow, sign: int = 1) -> None:
        self.due_fen += sign * other.due_fen
        self.paid_fen += sign * other.paid_fen
        self.voluntary_fen += sign * other.voluntary_fen
        self.assessed += sign * other.assessed
        self.months_paid += sign * other.months_paid
        for t, n in other.arrears.items():
            self.arrears[t] = self.arrears.get(t, 0) + sign * n


@dataclass
class Statistics:
    org: Organization
    year: int
    from_month: int
    to_month: int
    on: dt.date
    thresholds: list[int]
    total: StatRow
    rows: list[StatRow]


def dues_statistics(*, org: Organization, year: int, from_month: int = 1, to_month: int = 12,
                    on: dt.date | None = None) -> Statistics:
    """党费 due, paid and in arrears for `org`'s subtree over months `from_month`..`to_month` of `year`,
    in total and per child organisation: three queries whatever the size of the subtree.

    Due = Σ monthly amount × the assessment's due months within the period (from the year's assessments);
    paid = what the subtree's branches received for those months; arrears = members owing ≥ 1, 3, 5 and 6
    months on `on` (the warning months are settings). All from the counters (DuesTally: the rows of `org`
    and of its children, each holding its whole subtree), less the members whose dues are waived this year
    (免交, counted live: a handful)."""
    on = on or timezone.localdate()
    cfg = rules.config()
    thresholds = sorted({1, *cfg["arrears_warning_months"], cfg["self_departure_months"]})
    children = {c.path: c for c in Organization.objects.filter(parent=org).order_by("path")}
    return _tally_statistics(org, year=year, from_month=from_month, to_month=to_month, on=on,
                             thresholds=thresholds, children=children)


def _tally_statistics(org: Organization, *, year: int, from_month: int, to_month: int, on: dt.date,
                      thresholds: list[int], children: dict[str, Organization]) -> Statistics:
    lo, hi = f"{year:04d}-{from_month:02d}", f"{year:04d}-{to_month:02d}"
    limits = {t: tallies.month_key(arrears_threshold(t, on)) for t in thresholds}
    rows: dict[str, StatRow] = {p: StatRow(org=c) for p, c in children.items()}
    whole = StatRow(org=org)  # the counters at org.path hold the whole subtree
    counters = (DuesTally.objects.filter(org_path__in=[org.path, *children])
                .filter(Q(metric=tallies.ASSESSED, key__gte=f"{year:04d}-01", key__lte=hi)
                        | Q(metric__in=[tallies.PAID, tallies.VOLUNTARY], key__gte=lo, key__lte=hi)
                        | Q(metric=tallies.ACCOUNT, key__lte=max(limits.values())))
                .values_list("org_path", "metric", "key", "count", "amount_fen"))
    for path, metric, key, n, fen in counters:
        x = whole if path == org.path else rows[path]
        if metric == tallies.ASSESSED:
            first = int(key[5:])
            x.assessed += n
            x.due_fen += fen * (to_month + 1 - max(first, from_month))
        elif metric == tallies.PAID:
            x.paid_fen += fen
            x.months_paid += n
        elif metric == tallies.VOLUNTARY:
            x.voluntary_fen += fen
        else:
            for t, limit in limits.items():
                if key <= limit:
                    x.arrears[t] = x.arrears.get(t, 0) + n
    # 免交 this year: never in arrears (as in arrears_list and the roster), so subtracted from the counts
    cut = len(org.path) + SEGMENT
    waived = (within_subtree(DuesAssessment, org.path).filter(year=on.year, monthly_fen=0)
              .annotate(child=Substr("org_path", 1, cut)).values("child")
              .annotate(**{f"a{t}": Count("id", filter=Q(member__dues_account__paid_up_to__lte=arrears_threshold(t, on)))
                           for t in thresholds}).order_by())
    for r in waived:
        for x in (whole, rows.get(r["child"])):
            if x is not None:
                for t in thresholds:
                    x.arrears[t] = x.arrears.get(t, 0) - r[f"a{t}"]
    for x in (whole, *rows.values()):
        for t in thresholds:
            x.arrears.setdefault(t, 0)
    own = StatRow(org=None)  # members attached to the organisation itself: the whole less the children
    own.add(whole)
    for x in rows.values():
        own.add(x, -1)
    shown = [rows[p] for p in children]
    if own.assessed or own.paid_fen or own.voluntary_fen or any(own.arrears.values()):
        shown.append(own)
    return Statistics(org=org, year=year, from_month=from_month, to_month=to_month, on=on, thresholds=thresholds,
                      total=whole, rows=shown)


# --- Reductions -------------------------------------------------------------------------------------------------


def reduction_list(*, status: str = ""):
    qs = DuesReduction.objects.select_related("member__organization", "assessment", "requested_by", "decided_by")
    return qs.filter(status=status) if status else qs


def reductions_to_decide(*, actor):
    """Open requests the actor may decide: those of branches whose parent lies under the actor's grants."""
    paths = actor.capability_paths("member.manage")
    return reduction_list(status=ReductionStatus.REQUESTED).filter(
        subtree_q("member__organization__parent__path", paths))
