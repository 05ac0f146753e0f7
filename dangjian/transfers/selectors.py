"""Reads of 组织关系接转, always through the scoped managers, with explicit joins.

What the receiver sees before acceptance is the transfer's own snapshot (name, masked ID number, status,
dates, dues paid-up-to): the member record stays in the sender's scope until the member is moved.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import DateField, F, Q, Sum, Value

from dangjian.core.dates import add_months
from dangjian.core.permissions import load_one
from dangjian.core.scoping import collapse_paths, current_scope, within_subtree
from dangjian.orgs.models import BRANCH_KINDS, Organization

from . import rules, tallies, workflow
from .models import (
    COUNTED_KINDS,
    OPEN,
    OPEN_TO_RECEIVER,
    MobileMember,
    Side,
    Transfer,
    TransferKind,
    TransferParty,
    TransferStatus,
    TransferTally,
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


SENDER_ONLY, RECEIVER_ONLY = 1, 2  # summed over a transfer's party rows in a subtree: 3 is both


@dataclass
class TransferStats:
    out: int = 0  # started in the period, sender in the subtree, receiver outside it (or outside the district)
    into: int = 0  # received into the subtree from outside it
    within: int = 0  # both sides in the subtree
    completed: int = 0  # accepted in the period (“完成党员组织关系在线接转X名”)
    median_days: float | None = None  # submitted → accepted, of those completed
    pending_by_age: dict[str, int] = field(default_factory=dict)  # open, not yet accepted, by days waiting
    pending: int = 0


def age_labels() -> list[str]:
    """The pending age buckets (rules: `age_buckets`), as the statistics page shows them."""
    buckets = rules.config()["age_buckets"]
    labels = [f"{lo + 1 if lo else 0}–{hi}天" for lo, hi in zip([0, *buckets[:-1]], buckets, strict=True)]
    labels.append(f"{buckets[-1]}天以上")
    return labels


def transfer_statistics(*, org: Organization | None, start: dt.date, end: dt.date, on: dt.date) -> TransferStats:
    """For a subtree (or the whole scope) and a period [start, end]: one query, whatever the number of
    transfers or organisations.

    The statistics are about the part of `org`'s subtree the scope shows. When that is one subtree (always, but
    for a worker holding several separate organisations under `org`), they are read from its counters
    (transfers.tallies: a few thousand rows for the whole district's year, grouped by the database to a few
    dozen). Counters of several subtrees cannot be added (a transfer between two of them is one `within`, not
    an `out` and an `into`): such a scope is counted from its party rows and their transfers instead."""
    where = _one_subtree(org)
    counts = _from_the_tally(where, start, end) if where is not None else _from_the_parties(org, start, end)
    out = TransferStats()
    labels = age_labels()
    buckets = rules.config()["age_buckets"]
    out.pending_by_age = dict.fromkeys(labels, 0)
    durations: dict[int, int] = {}
    for measure, submitted, days, n in counts:
        if measure in tallies.FLOWS:
            setattr(out, measure, getattr(out, measure) + n)
        elif measure == tallies.DONE:
            out.completed += n
            if days != tallies.NO_DAYS:
                durations[days] = durations.get(days, 0) + n
        elif n:  # PENDING, waiting since `submitted`
            waited = (on - submitted).days
            out.pending += n
            out.pending_by_age[labels[next((i for i, hi in enumerate(buckets) if waited <= hi), len(buckets))]] += n
    # the median of the per-transfer durations
    days = [d for d in sorted(durations) for _ in range(durations[d])]
    out.median_days = statistics.median(days) if days else None
    return out


def _one_subtree(org: Organization | None) -> Q | None:
    """Which counters hold the statistics of `org` (None: the whole scope) as the scope sees it, or None when
    the scope shows several separate subtrees of it."""
    active = current_scope()
    if active.everything:  # system work: the organisation asked about, or the tree itself (one district)
        return Q(org_path=org.path) if org is not None else Q(org_path__in=Organization.unscoped.filter(
            parent__isnull=True).values("path"))
    if org is not None and any(org.path.startswith(p) for p in active.subtrees):
        return Q(org_path=org.path)
    shown = [p for p in collapse_paths(active.subtrees) if org is None or p.startswith(org.path)]
    return Q(org_path=shown[0]) if len(shown) == 1 else None


def _from_the_tally(where: Q, start: dt.date, end: dt.date):
    """(measure, submitted day for pending, days, count): the period's flows and completions grouped by
    duration, and every open transfer by its submission day. Two parts, each one index range (as an OR,
    SQLite read every row of the organisation, all years). Unscoped: `where` names only visible subtrees."""
    counters = TransferTally.unscoped.filter(where).exclude(count=0).order_by()  # a finished pending day keeps its row

    def grouped(qs, submitted):
        return (qs.annotate(submitted=submitted).values("measure", "submitted", "days").annotate(n=Sum("count"))
                .values_list("measure", "submitted", "days", "n"))

    period = grouped(counters.filter(measure__in=(*tallies.FLOWS, tallies.DONE), day__range=(start, end)),
                     Value(None, output_field=DateField()))
    return period.union(grouped(counters.filter(measure=tallies.PENDING), F("day")), all=True)


def _from_the_parties(org: Organization | None, start: dt.date, end: dt.date):
    """Several subtrees shown (see transfer_statistics): from their party rows and the transfers of these,
    one row per transfer assembled here, in the counters' terms (transfers.tallies)."""
    parties = within_subtree(TransferParty, org.path) if org is not None else TransferParty.objects.all()
    relevant = (Q(transfer__submitted_on__range=(start, end)) | Q(transfer__accepted_on__range=(start, end))
                | Q(transfer__kind=TransferKind.OUT, transfer__closed_on__range=(start, end))
                | Q(transfer__status__in=OPEN))  # only what the period can count
    rows = parties.filter(relevant, transfer__kind__in=COUNTED_KINDS).values_list(
        "transfer_id", "side", "transfer__status", "transfer__submitted_on", "transfer__accepted_on",
        "transfer__closed_on", "transfer__kind")
    by_transfer: dict[int, list] = {}
    for tid, side, *item in rows:
        by_transfer.setdefault(tid, [0, *item])[0] += SENDER_ONLY if side == Side.SENDER else RECEIVER_ONLY
    flows = {SENDER_ONLY: tallies.OUT, RECEIVER_ONLY: tallies.INTO, SENDER_ONLY + RECEIVER_ONLY: tallies.WITHIN}
    for sides, status, submitted, accepted, closed, kind in by_transfer.values():
        if submitted is not None and start <= submitted <= end:
            yield flows[sides], None, 0, 1
        done_on = accepted or (closed if kind == TransferKind.OUT else None)
        if done_on is not None and start <= done_on <= end:
            yield tallies.DONE, None, (done_on - submitted).days if submitted is not None else tallies.NO_DAYS, 1
        if status in OPEN and submitted is not None:
            yield tallies.PENDING, submitted, 0, 1


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

