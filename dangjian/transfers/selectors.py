"""Reads of 组织关系接转, always through the scoped managers, with explicit joins.

What the receiver sees before acceptance is the transfer's own snapshot (name, masked ID number, status,
dates, dues paid-up-to): the member record stays in the sender's scope until the member is moved.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, Func, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from dangjian.core.dates import add_months
from dangjian.core.permissions import load_one
from dangjian.core.scoping import within_subtree
from dangjian.orgs.models import BRANCH_KINDS, Organization

from . import rules, workflow
from .models import (
    OPEN_TO_RECEIVER,
    MobileMember,
    Side,
    Transfer,
    TransferKind,
    TransferParty,
    TransferStatus,
)

S = TransferStatus
JOINS = ("member", "from_org", "to_org", "sender_committee", "receiver_committee", "placed_org", "unit")


def transfer_list(*, status: str = "", kind: str = "", side: str = "", org: Organization | None = None):
    """Visible transfers, newest first. `side` ("sender"/"receiver") with `org`: those whose party on that
    side lies in `org`'s subtree (a worker's 转出 / 转入 lists)."""
    qs = Transfer.objects.select_related(*JOINS)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if org is not None:
        parties = within_subtree(TransferParty, org.path)  # one path range, not two stacked
        if side:
            parties = parties.filter(side=side)
        qs = qs.filter(pk__in=parties.values("transfer_id"))
    return qs.order_by("-created_at", "-id")


def access_transfer(*, actor, transfer_id: int) -> Transfer:
    """One transfer through the scope: outside it (neither side's subtree, not one's own) the answer is 404."""
    return load_one(Transfer.objects.select_related(*JOINS), transfer_id)


def transfer_events(*, transfer: Transfer):
    return transfer.events.select_related("actor").order_by("at", "id")


def my_transfers(*, member_id: int):
    """The member's own transfers (转接进程), newest first; needs a scope that includes the member."""
    return (Transfer.objects.filter(member_id=member_id).select_related(*JOINS)
            .prefetch_related("events").order_by("-created_at", "-id"))


def is_private(*, actor, t: Transfer) -> bool:
    """Whether the actor may read the transfer's free text (转接原因, 退回原因, the notes of its steps): the
    member themself, the sending side (member.view over the sending organisation; for a letter from outside
    the district, the receiving side that registered it), or anyone who sees it once it is accepted, placed
    or closed. Before acceptance the receiving side sees only the snapshot: name, masked ID number, status,
    dates and the dues month (DOMAIN-RULES §4.1)."""
    from dangjian.core.permissions import can

    if t.status in OPEN_TO_RECEIVER:
        return True
    if t.member_id is not None and getattr(actor, "pk", None) is not None and t.member.user_id == actor.pk:
        return True
    if t.kind == TransferKind.IN:
        return t.to_org_id is not None and can(actor, "member.view", t.to_org)
    return t.from_org_id is not None and can(actor, "member.view", t.from_org)


def holder(t: Transfer, *, private: bool = True) -> str:
    """Who holds the transfer now (the member's "where is it"); without `private`, no 退回原因."""
    if t.status == S.DRAFT:
        return f"{t.from_name}（待提交）"
    if t.status == S.SUBMITTED:
        return f"{t.sender_committee.name}（待审批）"
    if t.status == S.APPROVED:
        if t.kind in (TransferKind.OUT, TransferKind.TEMPORARY):
            return f"{t.to_external}（待接收，回执返回{t.sender_committee.name}）"
        return f"{t.receiver_committee.name}（待接收）"
    if t.status == S.ACCEPTED:
        return f"{t.receiver_committee.name}（待编入党支部）"
    if t.status == S.PLACED:
        return f"{t.sender_committee.name if t.sender_committee_id else t.receiver_committee.name}（待回执）"
    if t.status == S.RETURNED:
        return f"{t.from_name}（已退回：{t.return_reason}）" if private else f"{t.from_name}（已退回）"
    if t.status == S.EXPIRED:
        return f"{t.sender_committee.name if t.sender_committee_id else t.from_external}（待重新开具介绍信）"
    return "已办结" if t.status == S.CLOSED else "已撤回"


def may(*, actor, t: Transfer, action: str) -> bool:
    """Whether this actor holds the role an action needs on this transfer, whatever its status (the page
    answers 403 before any form is read; the services check again, and the workflow checks the status)."""
    from dangjian.core.permissions import can

    cap = rules.config()["committee_capability"]
    own = t.member_id is not None and t.member.user_id == getattr(actor, "pk", None)
    sender_branch = own or (t.from_org_id is not None and can(actor, "member.manage", t.from_org))
    sender = t.sender_committee_id is not None and can(actor, cap, t.sender_committee)
    receiver = t.receiver_committee_id is not None and can(actor, cap, t.receiver_committee)
    incoming = t.kind == TransferKind.IN
    return {
        "submit": sender_branch,
        "withdraw": receiver if incoming else sender_branch,
        "approve": sender, "reissue": sender and not incoming,
        "return": sender if t.status == S.SUBMITTED else receiver,
        "accept": receiver, "place": receiver,
        "close": receiver if incoming else sender,
    }.get(action, False)


def actions_for(*, actor, t: Transfer) -> list[str]:
    """The transitions the page offers this actor now."""
    return [a for a in workflow.allowed(t.kind, t.status) if may(actor=actor, t=t, action=a)]


def destination_choices():
    """Organisations a transfer may go to: every live branch, general branch and committee of the district.
    Names only, unscoped on purpose: the sender must name a receiver outside its own subtree (the exact full
    name of the receiving organisation, DOMAIN-RULES §4.4)."""
    from .services import TARGET_KINDS

    return Organization.unscoped.filter(kind__in=TARGET_KINDS, is_dissolved=False).order_by("path")


def branch_choices(*, committee: Organization):
    lo, hi = committee.subtree_range()
    return Organization.unscoped.filter(path__gte=lo, path__lt=hi, kind__in=BRANCH_KINDS,
                                        is_dissolved=False).order_by("path")


# --- Statistics ----------------------------------------------------------------------------------------------


PENDING = (S.SUBMITTED, S.APPROVED, S.RETURNED, S.EXPIRED)  # open, not yet accepted
COUNTED_KINDS = (TransferKind.WITHIN, TransferKind.OUT, TransferKind.IN)  # not 证明信, not 整建制
SENDER_ONLY, RECEIVER_ONLY = 1, 2  # summed over a transfer's party rows in a subtree: 3 is both
# A subtree with more party rows than this (one per side in it of every transfer it ever had) is counted
# from the transfers of the period instead of its party rows (transfer_statistics): 10,000 party rows and
# their transfers take about as long as a year's transfers of the 1,000,000-member district (29,000).
PARTY_ROWS_MAX = 10_000


@dataclass
class TransferStats:
    out: int = 0  # started in the period, sender in the subtree, receiver outside it (or outside the district)
    into: int = 0  # received into the subtree from outside it
    within: int = 0  # both sides in the subtree
    completed: int = 0  # accepted in the period (“完成党员组织关系在线接转X名”)
    median_days: float | None = None  # submitted → accepted, of those completed
    pending_by_age: dict[str, int] = field(default_factory=dict)  # open, not yet accepted, by days waiting
    pending: int = 0


class DaysBetween(Func):
    """`later - earlier` in whole days, computed by the database: the median needs the durations, and
    Django's own date subtraction on SQLite calls a Python function per row."""

    output_field = IntegerField()
    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ",
                              **extra_context)  # PostgreSQL: date - date is an integer of days

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
                              arg_joiner=") - julianday(", **extra_context)


class SumOfRows(Func):
    """SUM over all the rows of a subquery, with no GROUP BY (Django's Sum would group the subquery by the
    transfer it is already restricted to, a few per cent of the statistics' time)."""

    function = "SUM"
    output_field = IntegerField()


def age_labels() -> list[str]:
    """The pending age buckets (rules: `age_buckets`), as the statistics page shows them."""
    buckets = rules.config()["age_buckets"]
    labels = [f"{lo + 1 if lo else 0}–{hi}天" for lo, hi in zip([0, *buckets[:-1]], buckets, strict=True)]
    labels.append(f"{buckets[-1]}天以上")
    return labels


def transfer_statistics(*, org: Organization | None, start: dt.date, end: dt.date, on: dt.date) -> TransferStats:
    """For a subtree (or the whole scope) and a period [start, end]: two queries, whatever the number of
    transfers or organisations, the second answering at most a few hundred grouped rows.

    The first asks whether the subtree has more than PARTY_ROWS_MAX party rows; the second starts from
    whichever is smaller:
    - a small subtree (a branch, a street: every transfer it ever had) from its party rows, as before
      issue 8, assembled here;
    - a large one (the whole district: 300,000 party rows, docs/performance.md §7.5) from the transfers
      of the period: four grouped parts, each one index range of the transfer table that holds every
      column the part needs (the table itself is not read), each transfer checking its parties against
      the subtree with one index seek. The parts are disjoint, no transfer is read twice:
        started   submitted in the period: its flow, and whether it was completed or is pending;
        accepted  accepted in the period but submitted outside it (or never: letters from outside);
        closed    out of the district, closed in the period but submitted outside it;
        pending   pending, submitted before (or after) the period.
    """
    # One path range (within_subtree), not the scope's range stacked with the subtree's. Every transfer
    # counted has a party in this scoped set, exactly as when the statistics read the party rows alone.
    parties = within_subtree(TransferParty, org.path) if org is not None else TransferParty.objects.all()
    large = parties.order_by()[PARTY_ROWS_MAX:PARTY_ROWS_MAX + 1].exists()  # ≤ PARTY_ROWS_MAX index entries
    rows = _from_the_period(parties, start, end, on) if large else _from_the_parties(parties, start, end, on)

    out = TransferStats()
    labels = age_labels()
    out.pending_by_age = dict.fromkeys(labels, 0)
    flows = {SENDER_ONLY: "out", RECEIVER_ONLY: "into", SENDER_ONLY + RECEIVER_ONLY: "within"}
    durations: dict[int, int] = {}
    for started, sides, done, days, age, n in rows:
        if sides is None:  # started in the period without a party in the subtree (a count, never shown)
            continue
        if started:
            setattr(out, flows[sides], getattr(out, flows[sides]) + n)
        if done:
            out.completed += n
            if days is not None:
                durations[days] = durations.get(days, 0) + n
        if age is not None:
            out.pending += n
            out.pending_by_age[labels[age]] += n
    # the median of the per-transfer durations (a list of ints, one per completed transfer)
    days = [d for d in sorted(durations) for _ in range(durations[d])]
    out.median_days = statistics.median(days) if days else None
    return out


def _grouped(qs, *, started, sides, done, days, age):
    """The statistics' rows: (started in the period, sides in the subtree, completed in it, days taken,
    age bucket, number of transfers); the same columns in the same order for every part of a UNION ALL."""
    return (qs.annotate(started=started, sides=sides, done=done, days=days, age=age)
            .values("started", "sides", "done", "days", "age").annotate(n=Count("pk"))
            .values_list("started", "sides", "done", "days", "age", "n"))


ONE, ZERO, NULL = Value(1), Value(0), Value(None, output_field=IntegerField())


def _from_the_parties(parties, start, end, on):
    """A small subtree, from its party rows (transfer_party_scope) and their transfers, one row per
    transfer assembled here: a few thousand rows at most, cheaper than grouping them in SQL."""
    relevant = (Q(transfer__submitted_on__range=(start, end)) | Q(transfer__accepted_on__range=(start, end))
                | Q(transfer__kind=TransferKind.OUT, transfer__closed_on__range=(start, end))
                | Q(transfer__status__in=PENDING))  # only what the period can count
    rows = parties.filter(relevant, transfer__kind__in=COUNTED_KINDS).values_list(
        "transfer_id", "side", "transfer__status", "transfer__submitted_on", "transfer__accepted_on",
        "transfer__closed_on", "transfer__kind")
    by_transfer: dict[int, list] = {}
    for tid, side, *item in rows:
        by_transfer.setdefault(tid, [0, *item])[0] += SENDER_ONLY if side == Side.SENDER else RECEIVER_ONLY
    buckets = rules.config()["age_buckets"]
    for sides, status, submitted, accepted, closed, kind in by_transfer.values():
        done_on = accepted or (closed if kind == TransferKind.OUT else None)
        done = done_on is not None and start <= done_on <= end
        days = (done_on - submitted).days if done and submitted is not None else None
        age = None
        if status in PENDING and submitted is not None:
            waited = (on - submitted).days
            age = next((i for i, hi in enumerate(buckets) if waited <= hi), len(buckets))
        started = submitted is not None and start <= submitted <= end
        yield started, sides, done, days, age, 1


def _from_the_period(parties, start, end, on):
    """A large subtree, from the period's transfers: four grouped parts, one index range each (see
    transfer_statistics)."""
    mine = parties.filter(transfer=OuterRef("pk")).order_by()
    # which of the transfer's sides lie in the subtree: 1 the sender's only, 2 the receiver's only, 3 both,
    # NULL neither (one seek into transfer_party_sides, both rows next to each other)
    sides = Subquery(mine.annotate(
        code=SumOfRows(Case(When(side=Side.SENDER, then=Value(SENDER_ONLY)), default=Value(RECEIVER_ONLY))))
        .values("code"))
    # Unscoped on purpose: a transfer counts only with a party in `mine`, the scoped party set (through
    # `sides` or Exists); the scoped manager would add a second EXISTS per transfer on the same index.
    counted = Transfer.unscoped.filter(kind__in=COUNTED_KINDS).order_by()
    period = (start, end)
    started_in = Q(submitted_on__range=period)
    # completed: accepted, or out of the district its receipt (closed) back without an acceptance
    done_in = Q(done_on__range=period)
    done_on = Coalesce("accepted_on", Case(When(kind=TransferKind.OUT, then="closed_on")))
    # waiting `on - submitted` days ≤ hi  ⇔  submitted ≥ on - hi: the age bucket without date arithmetic
    age = Case(*(When(submitted_on__gte=on - dt.timedelta(days=hi), then=Value(i))
                 for i, hi in enumerate(rules.config()["age_buckets"])),
               default=Value(len(rules.config()["age_buckets"])))
    started = _grouped(counted.alias(done_on=done_on).filter(started_in), started=ONE, sides=sides,
                       done=Case(When(done_in, then=ONE), default=ZERO),
                       days=Case(When(done_in, then=DaysBetween("done_on", "submitted_on"))),
                       age=Case(When(status__in=PENDING, then=age)))
    # `~started_in` is never an index range (its NULL test keeps it so): SQLite keeps to each part's own
    # date range (the submitted_on index would also answer `submitted_on < start OR submitted_on > end`);
    # the EXISTS comes last so that only the part's own rows pay for it
    rest = counted.filter(~started_in)
    accepted = _grouped(rest.filter(accepted_on__range=period).filter(Exists(mine)), started=ZERO, sides=ONE,
                        done=ONE, days=DaysBetween("accepted_on", "submitted_on"), age=NULL)
    # and no filter on accepted_on IS NULL: SQLite would take that (an equality) over the closed_on range
    closed = _grouped(rest.filter(kind=TransferKind.OUT, closed_on__range=period).filter(Exists(mine)),
                      started=ZERO, sides=ONE, done=Case(When(accepted_on__isnull=True, then=ONE), default=ZERO),
                      days=DaysBetween("closed_on", "submitted_on"), age=NULL)
    pending = _grouped(rest.filter(status__in=PENDING, submitted_on__isnull=False).filter(Exists(mine)),
                       started=ZERO, sides=ONE, done=ZERO, days=NULL, age=age)
    return started.union(accepted, closed, pending, all=True)


# --- 流动党员 ------------------------------------------------------------------------------------------------


def mobile_list():
    """Mobile members in the scope, those out of contact longest first (§4.5)."""
    return (MobileMember.objects.filter(ended_on__isnull=True).select_related("member__organization")
            .order_by("last_contact_on", "id"))


def lost_contact_since(on: dt.date) -> dt.date:
    """A last contact on or before this day means 失联 on `on` (no contact for `lost_contact_months`, §4.5)."""
    return add_months(on, -rules.config()["lost_contact_months"])


def is_lost(mobile: MobileMember, on: dt.date) -> bool:
    return mobile.last_contact_on <= lost_contact_since(on)


def report_due(mobile: MobileMember, on: dt.date) -> bool:
    last = mobile.last_report_on or mobile.left_on
    return (on - last).days >= 365

