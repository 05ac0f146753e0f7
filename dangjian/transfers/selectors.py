"""Reads of 组织关系接转, always through the scoped managers, with explicit joins.

What the receiver sees before acceptance is the transfer's own snapshot (name, masked ID number, status,
dates, dues paid-up-to): the member record stays in the sender's scope until the member is moved.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Q

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


@dataclass
class TransferStats:
    out: int = 0  # started in the period, sender in the subtree, receiver outside it (or outside the district)
    into: int = 0  # received into the subtree from outside it
    within: int = 0  # both sides in the subtree
    completed: int = 0  # accepted in the period (“完成党员组织关系在线接转X名”)
    median_days: float | None = None  # submitted → accepted, of those completed
    pending_by_age: dict[str, int] = field(default_factory=dict)  # open, not yet accepted, by days waiting
    pending: int = 0


def transfer_statistics(*, org: Organization | None, start: dt.date, end: dt.date, on: dt.date) -> TransferStats:
    """For a subtree (or the whole scope) and a period [start, end]: one query over the party rows in the
    subtree, whatever the number of transfers or organisations."""
    # one path range (within_subtree), not the scope's range stacked with the subtree's
    parties = within_subtree(TransferParty, org.path) if org is not None else TransferParty.objects.all()
    # only what the period can count: started or completed in it, or still pending (the age buckets);
    # never every party row ever written
    relevant = (Q(transfer__submitted_on__gte=start, transfer__submitted_on__lte=end)
                | Q(transfer__accepted_on__gte=start, transfer__accepted_on__lte=end)
                | Q(transfer__kind=TransferKind.OUT, transfer__closed_on__gte=start, transfer__closed_on__lte=end)
                | Q(transfer__status__in=PENDING))
    rows = parties.filter(relevant, transfer__kind__in=[TransferKind.WITHIN, TransferKind.OUT, TransferKind.IN]).values_list(
        "transfer_id", "side", "transfer__status", "transfer__submitted_on", "transfer__accepted_on",
        "transfer__closed_on", "transfer__kind")
    by_transfer: dict[int, dict] = {}
    for tid, side, status, submitted, accepted, closed, kind in rows:
        item = by_transfer.setdefault(tid, {"sides": set(), "status": status, "submitted": submitted,
                                            "accepted": accepted, "closed": closed, "kind": kind})
        item["sides"].add(side)
    out = TransferStats()
    buckets = rules.config()["age_buckets"]
    labels = [f"{lo + 1 if lo else 0}–{hi}天" for lo, hi in zip([0, *buckets[:-1]], buckets, strict=True)]
    labels.append(f"{buckets[-1]}天以上")
    out.pending_by_age = dict.fromkeys(labels, 0)
    durations = []
    for item in by_transfer.values():
        sides, submitted = item["sides"], item["submitted"]
        if submitted is not None and start <= submitted <= end:
            if sides == {Side.SENDER, Side.RECEIVER}:
                out.within += 1
            elif Side.SENDER in sides:
                out.out += 1
            else:
                out.into += 1
        done = item["accepted"] or (item["closed"] if item["kind"] == TransferKind.OUT else None)
        if done is not None and start <= done <= end:
            out.completed += 1
            if submitted is not None:
                durations.append((done - submitted).days)
        if item["status"] in PENDING and submitted is not None:
            age = (on - submitted).days
            out.pending += 1
            for label, hi in zip(labels, [*buckets, None], strict=True):
                if hi is None or age <= hi:
                    out.pending_by_age[label] += 1
                    break
    out.median_days = statistics.median(durations) if durations else None
    return out


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

