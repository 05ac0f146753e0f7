"""Writes of 组织关系接转. Each public function is one transaction: it locks the transfer row, checks the
from-state in workflow.py, checks who may act, saves, writes the dated event (the member's timeline) and the
audit entry, and sends its messages inside the same transaction (they commit with it or not at all)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action, log_failure
from dangjian.core import crypto
from dangjian.core.actors import SYSTEM, actor_label, actor_user
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.masking import mask_id_number
from dangjian.core.permissions import can, require
from dangjian.core.validators import parse_id_number
from dangjian.members.models import LeaveReason, Member
from dangjian.members.services import id_number_taken, member_create, member_leave, member_move, member_update
from dangjian.notifications.services import Message, notification_create
from dangjian.orgs.models import BRANCH_KINDS, Organization, OrgKind
from dangjian.orgs.services import organization_move
from dangjian.recruitment.services import case_member_left

from . import notices, rules, tallies, workflow
from .models import (
    COUNTED_KINDS,
    FINISHED,
    PRINTABLE,
    LetterCounter,
    MobileMember,
    Side,
    Transfer,
    TransferEvent,
    TransferKind,
    TransferParty,
    TransferStatus,
    mask_contact,
)

registry.register({
    "transfers.transfer.created": "发起组织关系转接",
    "transfers.transfer.registered": "登记转入介绍信",
    "transfers.transfer.submitted": "提交组织关系转接",
    "transfers.transfer.approved": "审批组织关系转出",
    "transfers.transfer.returned": "退回组织关系转接",
    "transfers.transfer.withdrawn": "撤回组织关系转接",
    "transfers.transfer.accepted": "接收组织关系",
    "transfers.transfer.placed": "编入党支部",
    "transfers.transfer.closed": "组织关系转接办结",
    "transfers.transfer.expired": "介绍信过期",
    "transfers.transfer.reissued": "重新开具介绍信",
    "transfers.transfer.moved_whole": "整建制转接党组织",
    "transfers.letter.printed": "打印组织关系介绍信",
    "transfers.mobile.registered": "登记流动党员",
    "transfers.mobile.contacted": "记录流动党员联系",
    "transfers.mobile.ended": "结束流动党员管理",
    "transfers.mobile.contact_revealed": "查看流动党员完整联系方式",
})

TARGET_KINDS = (*BRANCH_KINDS, OrgKind.GENERAL_BRANCH, OrgKind.PRIMARY_COMMITTEE, OrgKind.WORKING_COMMITTEE)


def _today(on: dt.date | None) -> dt.date:
    return on or timezone.localdate()


def handling_committee(org: Organization) -> Organization:
    """The 基层党委 that sends or receives for `org` (DOMAIN-RULES §4.1): the nearest ancestor (or itself) of a
    configured committee kind; the root when there is none. Unscoped on purpose: each side must name the
    other side's committee, which lies outside its own scope."""
    chain = list(Organization.unscoped.filter(path__in=org.ancestor_paths()).order_by("-depth"))
    kinds = set(rules.config()["committee_kinds"])
    for o in chain:
        if o.kind in kinds:
            return o
    return chain[-1]


def _record(t: Transfer, *, actor, action: str, old: str, on: dt.date, note: str = "", changes=None) -> None:
    """Every action ends here, after its writes: the event, the audit, and the statistics' counters (the
    transfer's as `_lock` found it replaced by its own now; none before for a new one)."""
    if t.kind in COUNTED_KINDS:
        tallies.retally(getattr(t, "tallied_before", None), tallies.facts_of(t))
    TransferEvent.objects.create(transfer=t, action=action, from_status=old, to_status=t.status, on=on,
                                 actor=actor_user(actor), actor_label=actor_label(actor), note=note[:200])
    audit = {"status": [old, t.status], "on": on.isoformat(), **(changes or {})}
    log_action(actor=actor, action=f"transfers.transfer.{_AUDIT[action]}", target=t, changes=audit)


_AUDIT = {"whole_unit": "moved_whole", "create": "created", "register": "registered", "submit": "submitted", "approve": "approved",
          "return": "returned", "withdraw": "withdrawn", "accept": "accepted", "place": "placed",
          "close": "closed", "expire": "expired", "reissue": "reissued"}


def _lock(transfer: Transfer) -> Transfer:
    """The row, locked and current. The caller loaded `transfer` through the scope; this reads it again
    under the lock (unscoped for that reason only) so two people acting at once see each other's result."""
    t = (Transfer.unscoped.select_for_update(of=("self",)).select_related("member", "from_org", "to_org")
         .get(pk=transfer.pk))
    if t.kind in COUNTED_KINDS:
        t.tallied_before = tallies.facts_of(t)  # what its counters hold now (`_record` replaces them)
    return t


def _move(t: Transfer, action: str, on: dt.date) -> str:
    old = t.status
    t.status = workflow.check(t.kind, action, old)
    return old


def _is_own(actor, t: Transfer) -> bool:
    user = actor_user(actor)
    return user is not None and t.member is not None and t.member.user_id == user.pk


def _require_sender_branch(actor, t: Transfer) -> None:
    """The member themself or a worker over the sending organisation."""
    if not _is_own(actor, t):
        require(actor, "member.manage", t.from_org)


def _require_committee(actor, committee: Organization, side: str) -> None:
    if not can(actor, rules.config()["committee_capability"], committee):
        raise PermissionDenied(f"只有{side}（{committee.name}）可以办理此步骤。")


def _check_target(to_org: Organization | None, *, member_org_id: int | None) -> None:
    if to_org is None:
        raise ValidationFailed("请选择转入党组织", fields={"to_org": ["转入党组织：请选择转入的党组织"]})
    if to_org.is_dissolved:
        raise ValidationFailed("转入党组织已撤销", fields={"to_org": [f"转入党组织：{to_org.name}已撤销，不能转入"]})
    if to_org.kind not in TARGET_KINDS:
        raise ValidationFailed("转入党组织类型不符", fields={"to_org": ["转入党组织：请选择党支部、党总支或党委"]})
    if member_org_id is not None and to_org.pk == member_org_id:
        raise ValidationFailed("不能转入本支部", fields={"to_org": ["转入党组织：不能转到党员当前所在的党组织"]})


def _dues_paid_up_to(member: Member) -> dt.date | None:
    from dangjian.dues.selectors import paid_up_to  # the 党费 module states it; read at each step

    return paid_up_to(member)


def _valid_days(kind: str, valid_days: int | None) -> int:
    cfg = rules.config()
    if valid_days is None:
        return cfg["letter_valid_days"]
    limit = cfg["temporary_max_valid_days"] if kind == TransferKind.TEMPORARY else cfg["letter_max_valid_days"]
    if not 1 <= valid_days <= limit:
        raise RuleViolation(f"有效期应为1至{limit}天", rule="transfers.letter_validity",
                            article=rules.ART_TEMPORARY if kind == TransferKind.TEMPORARY else rules.ART_LETTER,
                            fields={"valid_days": [f"有效期（天）：应为1至{limit}天"]})
    return valid_days


def _issue_letter(t: Transfer, *, on: dt.date, valid_days: int) -> None:
    """Number the letter per issuing 党委 per year: the counter row is locked, so two approvals never share
    a number."""
    committee = t.sender_committee
    LetterCounter.objects.get_or_create(committee=committee, year=on.year)
    counter = LetterCounter.objects.select_for_update().get(committee=committee, year=on.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    t.letter_number = rules.config()["letter_number_format"].format(committee=committee.name, year=on.year,
                                                                   n=counter.last)
    t.letter_issued_on = on
    t.valid_until = on + dt.timedelta(days=valid_days)


def _open_transfer_of(member: Member) -> Transfer | None:
    return Transfer.unscoped.filter(member=member).exclude(status__in=FINISHED).first()


def _already(t: Transfer) -> ValidationFailed:
    return ValidationFailed("该党员已在转接中", fields={"member": [
        f"党员：{t.person_name}已有正在办理的组织关系转接（{t.get_status_display()}，转往{t.to_name}），"
        "请先办结或撤回"]})


def _party(t: Transfer, side: str, org: Organization) -> None:
    TransferParty.unscoped.update_or_create(transfer=t, side=side,
                                           defaults={"organization": org, "org_path": org.path})


# --- Starting a transfer -------------------------------------------------------------------------------------


@transaction.atomic
def transfer_create(*, actor, member: Member, kind: str, to_org: Organization | None = None, to_external: str = "",
                    reason: str = "", on: dt.date | None = None) -> Transfer:
    """A draft, by the member themself or a worker over the member's organisation. The member stays where
    they are until the receiver accepts (DOMAIN-RULES §4.1)."""
    on = _today(on)
    member = Member.unscoped.select_for_update().select_related("organization").get(pk=member.pk)
    own = actor_user(actor) is not None and member.user_id == actor.pk
    if not own:
        require(actor, "member.manage", member.organization)
    if kind not in (TransferKind.WITHIN, TransferKind.OUT, TransferKind.TEMPORARY):
        raise ValidationFailed("转接类型有误", fields={"kind": ["转接类型：请选择区内转接、转出本区或临时组织关系"]})
    to_external = " ".join((to_external or "").split())
    if kind == TransferKind.WITHIN:
        _check_target(to_org, member_org_id=member.organization_id)
        to_external = ""
    else:
        to_org = None
        if not to_external:
            raise ValidationFailed("请填写转入党组织", fields={"to_external": ["转入党组织（区外）：请填写接收党组织的准确全称"]})
        if len(to_external) > 100:
            raise ValidationFailed("转入党组织名称过长", fields={"to_external": ["转入党组织（区外）：不能超过100个字"]})
    reason = " ".join((reason or "").split())
    if len(reason) > 200:
        raise ValidationFailed("转接原因过长", fields={"reason": ["转接原因：不能超过200个字"]})
    existing = _open_transfer_of(member)
    if existing is not None:
        raise _already(existing)
    t = Transfer(kind=kind, status=TransferStatus.DRAFT, member=member, person_name=member.name,
                 id_number_masked=member.id_number_masked, id_number_digest=member.id_number_digest,
                 member_status=member.status, from_org=member.organization, to_org=to_org, to_external=to_external,
                 sender_committee=handling_committee(member.organization),
                 receiver_committee=handling_committee(to_org) if to_org else None,
                 reason=reason, dues_paid_up_to=_dues_paid_up_to(member), created_by=actor_user(actor))
    try:
        with transaction.atomic():
            t.save()
    except IntegrityError:  # a concurrent start for the same member won the race
        raise _already(_open_transfer_of(member) or t) from None
    _party(t, Side.SENDER, member.organization)
    if to_org is not None:
        _party(t, Side.RECEIVER, to_org)
    _record(t, actor=actor, action="create", old="", on=on, note=reason,
            changes={"kind": kind, "from": t.from_name, "to": t.to_name})
    return t


@transaction.atomic
def transfer_register_incoming(*, actor, to_org: Organization | None, person_name: str, id_number: str,
                               from_external: str, letter_number: str, valid_until: dt.date | None,
                               dues_paid_up_to: dt.date | None = None, member_status: str = "",
                               on: dt.date | None = None) -> Transfer:
    """Into the district: the receiving 党委 registers an incoming paper letter (its number and validity)."""
    on = _today(on)
    _check_target(to_org, member_org_id=None)
    committee = handling_committee(to_org)
    _require_committee(actor, committee, "接收党委")
    errors: dict[str, list[str]] = {}
    person_name = " ".join((person_name or "").split())
    if not person_name:
        errors["person_name"] = ["姓名：不能为空"]
    number = ""
    try:
        number = parse_id_number(id_number or "").number
    except ValidationError as e:
        errors["id_number"] = [f"身份证号：{e.messages[0]}"]
    from_external = " ".join((from_external or "").split())
    if not from_external:
        errors["from_external"] = ["转出党组织（区外）：请填写介绍信上的转出党组织"]
    letter_number = (letter_number or "").strip()
    if not letter_number:
        errors["letter_number"] = ["介绍信编号：不能为空"]
    if valid_until is None:
        errors["valid_until"] = ["有效期至：请填写介绍信的有效期"]
    if errors:
        raise ValidationFailed("登记信息有误", fields=errors)
    if dues_paid_up_to is not None:  # 党费交至 is a month: stored as its first day, as everywhere else
        dues_paid_up_to = dues_paid_up_to.replace(day=1)
    if valid_until < on:
        raise RuleViolation("介绍信已过有效期，请持原转出党组织重新开具的介绍信办理", rule="transfers.letter_validity",
                            article=rules.ART_LETTER, fields={"valid_until": ["有效期至：介绍信已过有效期"]})
    if id_number_taken(number):
        raise ValidationFailed("该党员已在本区", fields={"id_number": [
            "身份证号：该党员的组织关系已在本区，请由其所在党组织办理区内转接"]})
    digest = crypto.lookup_digest(number)
    if _open_incoming(digest):
        raise _already_incoming()
    try:
        with transaction.atomic():  # the partial unique constraint catches two registrations at once
            t = Transfer.unscoped.create(
                kind=TransferKind.IN, status=TransferStatus.APPROVED, person_name=person_name,
                id_number_masked=mask_id_number(number), id_number_digest=digest, member_status=member_status,
                from_external=from_external[:100], to_org=to_org, receiver_committee=committee,
                letter_number=letter_number[:60], letter_issued_on=min(on, valid_until), valid_until=valid_until,
                dues_paid_up_to=dues_paid_up_to, submitted_on=on, approved_on=on, created_by=actor_user(actor))
    except IntegrityError:
        raise _already_incoming() from None
    _party(t, Side.RECEIVER, to_org)
    _record(t, actor=actor, action="register", old="", on=on,
            changes={"from": from_external, "to": to_org.name, "letter_number": letter_number})
    return t


def _open_incoming(digest: str) -> bool:
    return Transfer.unscoped.filter(kind=TransferKind.IN, id_number_digest=digest).exclude(
        status__in=FINISHED).exists()


def _already_incoming() -> ValidationFailed:
    return ValidationFailed("该党员已在转接中", fields={"id_number": ["身份证号：该党员已有正在办理的转入登记"]})


# --- The sender's steps --------------------------------------------------------------------------------------


@transaction.atomic
def transfer_submit(*, actor, transfer: Transfer, on: dt.date | None = None) -> Transfer:
    on = _today(on)
    t = _lock(transfer)
    _require_sender_branch(actor, t)
    if t.to_org is not None:
        _check_target(t.to_org, member_org_id=t.member.organization_id)
    old = _move(t, "submit", on)
    t.submitted_on = on
    t.return_reason = ""
    t.save()
    _record(t, actor=actor, action="submit", old=old, on=on)
    return t


@transaction.atomic
def transfer_approve(*, actor, transfer: Transfer, valid_days: int | None = None,
                     on: dt.date | None = None) -> Transfer:
    """The sending 基层党委 approves and issues the numbered letter; the dues month is read again now."""
    on = _today(on)
    t = _lock(transfer)
    _require_committee(actor, t.sender_committee, "转出党委")
    old = _move(t, "approve", on)
    days = _valid_days(t.kind, valid_days)
    if t.to_org is not None:
        _check_target(t.to_org, member_org_id=t.member.organization_id)
    t.dues_paid_up_to = _dues_paid_up_to(t.member)
    _issue_letter(t, on=on, valid_days=days)
    t.approved_on = on
    t.save()
    _record(t, actor=actor, action="approve", old=old, on=on,
            changes={"letter_number": t.letter_number, "valid_until": t.valid_until.isoformat()})
    return t


@transaction.atomic
def transfer_reissue(*, actor, transfer: Transfer, valid_days: int | None = None,
                     on: dt.date | None = None) -> Transfer:
    """An expired letter is void; the sender issues a new number and validity (DOMAIN-RULES §4.3)."""
    on = _today(on)
    t = _lock(transfer)
    if t.kind == TransferKind.IN:
        raise Conflict("从区外转入的介绍信由原转出党组织重新开具，请撤回后重新登记。")
    _require_committee(actor, t.sender_committee, "转出党委")
    old_number = t.letter_number
    old = _move(t, "reissue", on)
    days = _valid_days(t.kind, valid_days)
    if t.to_org is not None:
        _check_target(t.to_org, member_org_id=t.member.organization_id)
    t.dues_paid_up_to = _dues_paid_up_to(t.member)
    _issue_letter(t, on=on, valid_days=days)
    t.approved_on = on
    t.save()
    _record(t, actor=actor, action="reissue", old=old, on=on, note=f"原介绍信{old_number}作废",
            changes={"letter_number": [old_number, t.letter_number], "valid_until": t.valid_until.isoformat()})
    return t


@transaction.atomic
def transfer_withdraw(*, actor, transfer: Transfer, reason: str = "", on: dt.date | None = None) -> Transfer:
    on = _today(on)
    t = _lock(transfer)
    if t.kind == TransferKind.IN:
        _require_committee(actor, t.receiver_committee, "接收党委")
    else:
        _require_sender_branch(actor, t)
    old = _move(t, "withdraw", on)
    t.save()
    _record(t, actor=actor, action="withdraw", old=old, on=on, note=reason)
    return t


@transaction.atomic
def transfer_return(*, actor, transfer: Transfer, reason: str, on: dt.date | None = None) -> Transfer:
    """Sent back with a reason: by the sending 党委 before approval, by the receiving 党委 after it. The
    member hears at once (an urgent message)."""
    on = _today(on)
    t = _lock(transfer)
    reason = " ".join((reason or "").split())
    if t.status == TransferStatus.SUBMITTED:
        committee, side = t.sender_committee, "转出党委"
    else:
        committee, side = t.receiver_committee, "接收党委"
    if committee is None:
        workflow.check(t.kind, "return", t.status)  # refuses in Chinese
    _require_committee(actor, committee, side)
    old = _move(t, "return", on)
    if not reason:
        raise ValidationFailed("请填写退回原因", fields={"reason": ["退回原因：请填写退回原因"]})
    if len(reason) > 200:
        raise ValidationFailed("退回原因过长", fields={"reason": ["退回原因：不能超过200个字"]})
    t.return_reason = reason
    t.save()
    _record(t, actor=actor, action="return", old=old, on=on, note=reason)
    if t.member is not None:
        notification_create(actor=actor, messages=[Message(
            kind=notices.RETURNED.code, member=t.member, link=reverse("transfers:my"),
            context={"姓名": t.person_name, "转入党组织": t.to_name, "退回方": committee.name, "原因": reason,
                     "转出党组织": t.from_name},
            dedupe_key=f"transfers.returned:{t.pk}:{t.events.count()}")])
    return t


# --- The receiver's steps ------------------------------------------------------------------------------------


@transaction.atomic
def transfer_accept(*, actor, transfer: Transfer, on: dt.date | None = None,
                    member_data: dict | None = None) -> Transfer:
    """The receiving 基层党委 accepts: in this one transaction the member's history is closed at the sender
    and opened at the receiver on the same date (members.services.member_move), so no count sees them twice
    or nowhere. The move runs as the system (the receiver holds no grant on the sender) after this
    service's own checks; the audit names the real actor. Two people accepting at once: the row lock makes
    the second wait and then find the transfer accepted, and refuses."""
    on = _today(on)
    t = _lock(transfer)
    committee = t.receiver_committee
    if committee is None:
        workflow.check(t.kind, "accept", t.status)
    if not can(actor, rules.config()["committee_capability"], committee):
        raise PermissionDenied(f"只有接收方党委（{committee.name}）可以接收该转接。")
    old = _move(t, "accept", on)
    if t.valid_until is not None and t.valid_until < on:
        raise RuleViolation(f"介绍信已于{t.valid_until.isoformat()}过期，需由转出党组织重新开具后再接收",
                            rule="transfers.letter_validity", article=rules.ART_LETTER,
                            fields={"valid_until": ["有效期至：介绍信已过有效期"]})
    _check_target(t.to_org, member_org_id=None)
    if t.kind == TransferKind.IN:
        t.member = _create_incoming_member(t, member_data, on)
    else:
        member = Member.unscoped.select_for_update().get(pk=t.member_id)
        if member.organization_id != t.from_org_id:
            raise Conflict("该党员的所在组织已变更，请转出党组织核实后重新发起。")
        # A 预备党员's recruitment case moves with them (member_move: the new 党组织 runs the conversion).
        member_move(actor=SYSTEM, member=member, to=t.to_org, on=on, reason="组织关系转接")
        _end_mobile_stint(t, actor=actor, on=on, reason=f"组织关系已转入{t.to_org.name}")
    t.accepted_on = on
    t.save()
    _record(t, actor=actor, action="accept", old=old, on=on, changes={"to": t.to_org.name})
    return t


def _create_incoming_member(t: Transfer, data: dict | None, on: dt.date) -> Member:
    if not data:
        raise ValidationFailed("请填写党员信息", fields={"member": ["党员信息：接收区外转入的党员须登记其党员信息"]})
    if crypto.lookup_digest(data["id_number"]) != t.id_number_digest:
        raise ValidationFailed("身份证号不一致", fields={"id_number": ["身份证号：与登记的转入介绍信不一致"]})
    data = {**data, "organization": t.to_org}
    return member_create(actor=SYSTEM, data=data, since=on)


@transaction.atomic
def transfer_place(*, actor, transfer: Transfer, branch: Organization | None, on: dt.date | None = None) -> Transfer:
    """The receiving 党委 puts the member in one of its branches (the one named, or another of its own)."""
    on = _today(on)
    t = _lock(transfer)
    committee = t.receiver_committee
    if committee is None:
        workflow.check(t.kind, "place", t.status)
    _require_committee(actor, committee, "接收党委")
    old = _move(t, "place", on)
    if branch is None:
        raise ValidationFailed("请选择党支部", fields={"branch": ["党支部：请选择编入的党支部"]})
    if branch.kind not in BRANCH_KINDS:
        raise ValidationFailed("请选择党支部", fields={"branch": ["党支部：只能编入党支部"]})
    if branch.is_dissolved:
        raise ValidationFailed("党支部已撤销", fields={"branch": [f"党支部：{branch.name}已撤销"]})
    if not branch.path.startswith(committee.path):
        raise ValidationFailed("不属于接收党委", fields={"branch": [f"党支部：只能编入{committee.name}所属的党支部"]})
    member = Member.unscoped.select_for_update().get(pk=t.member_id)
    if member.organization_id != branch.pk:
        member_move(actor=SYSTEM, member=member, to=branch, on=on, reason="组织关系转接：编入党支部")
    t.placed_org = branch
    t.placed_on = on
    t.save()
    _party(t, Side.RECEIVER, branch)
    _record(t, actor=actor, action="place", old=old, on=on, changes={"branch": branch.name})
    return t


@transaction.atomic
def transfer_close(*, actor, transfer: Transfer, on: dt.date | None = None) -> Transfer:
    """The receipt (回执) is back: at the sending 党委 (within, out, temporary) or, for a transfer into the
    district, sent back by the receiving 党委."""
    on = _today(on)
    t = _lock(transfer)
    if t.kind == TransferKind.IN:
        _require_committee(actor, t.receiver_committee, "接收党委")
    else:
        _require_committee(actor, t.sender_committee, "转出党委")
    old = _move(t, "close", on)
    t.closed_on = on
    t.save()
    if t.kind == TransferKind.OUT:  # the member has left the district: off the roster, no more contact
        _end_mobile_stint(t, actor=actor, on=on, reason=f"组织关系已转出本区（{t.to_name}）")
        member_leave(actor=SYSTEM, member=t.member, on=on, reason=LeaveReason.TRANSFERRED_OUT)
        case_member_left(actor=actor, member=t.member, on=on,  # a 预备党员's case goes on at the receiver
                         reason=f"组织关系转出本区（{t.to_name}），由接收地党组织继续教育考察")
    _record(t, actor=actor, action="close", old=old, on=on)
    return t


@transaction.atomic
def transfer_expire(*, transfer: Transfer, on: dt.date) -> Transfer | None:
    """A letter past its validity (run by the daily job as the system)."""
    t = _lock(transfer)
    if t.status != TransferStatus.APPROVED or t.valid_until is None or t.valid_until >= on:
        return None
    old = _move(t, "expire", on)
    t.save()
    _record(t, actor=SYSTEM, action="expire", old=old, on=on, note=f"介绍信{t.letter_number}已过有效期")
    return t


def letter_printed(*, actor, transfer: Transfer) -> None:
    """Printing the letter shows the member's particulars: only the sending 党委, and it is audited. A
    withdrawn, returned or expired letter is void (DOMAIN-RULES §4.3) and is not printed."""
    if transfer.kind == TransferKind.IN or not transfer.letter_number:
        raise Conflict("该转接没有本区开具的介绍信。")
    if transfer.status not in PRINTABLE:
        raise Conflict(f"该转接当前状态为“{transfer.get_status_display()}”，介绍信已作废，不能打印；"
                       "如需继续转接，请重新开具介绍信或重新发起。")
    _require_committee(actor, transfer.sender_committee, "转出党委")
    log_action(actor=actor, action="transfers.letter.printed", target=transfer,
               changes={"letter_number": transfer.letter_number})


@transaction.atomic
def transfer_whole_unit(*, actor, unit: Organization, to_parent: Organization | None, reason: str = "",
                        on: dt.date | None = None) -> Transfer:
    """整建制: an organisation moves under another 党委 with all its members (DOMAIN-RULES §4.2), in one
    transaction through orgs.services.organization_move (every path column follows). Needs the committee
    capability on both the sending and the receiving 党委; refused while any member below is in transfer."""
    on = _today(on)
    Organization.unscoped.select_for_update().filter(pk=unit.pk).first()
    unit.refresh_from_db()
    if to_parent is None:
        raise ValidationFailed("请选择接收的上级党组织", fields={"to_org": ["接收党组织：请选择接收的上级党组织"]})
    if unit.parent_id is None or unit.is_dissolved:
        raise ValidationFailed("该组织不能整建制转接", fields={"unit": ["党组织：区委或已撤销的组织不能整建制转接"]})
    if to_parent.is_dissolved:
        raise ValidationFailed("接收党组织已撤销", fields={"to_org": [f"接收党组织：{to_parent.name}已撤销"]})
    if to_parent.pk == unit.parent_id:
        raise ValidationFailed("已隶属该组织", fields={"to_org": [f"接收党组织：{unit.name}已隶属于{to_parent.name}"]})
    sender, receiver = handling_committee(unit.parent), handling_committee(to_parent)
    _require_committee(actor, sender, "转出党委")
    _require_committee(actor, receiver, "接收党委")
    lo, hi = unit.subtree_range()
    members = Member.unscoped.filter(org_path__gte=lo, org_path__lt=hi)
    busy = Transfer.unscoped.filter(member__in=members).exclude(status__in=FINISHED).count()
    if busy:
        raise ValidationFailed("有党员正在转接", fields={"unit": [
            f"党组织：{unit.name}有{busy}名党员正在办理组织关系转接，请先办结或撤回"]})
    old_parent = unit.parent
    count = members.count()
    organization_move(actor=SYSTEM, org=unit, new_parent=to_parent)  # refuses a move into its own subtree
    unit.refresh_from_db()
    t = Transfer.unscoped.create(
        kind=TransferKind.WHOLE_UNIT, status=TransferStatus.CLOSED, person_name=unit.name[:50], id_number_masked="—",
        from_org=old_parent, to_org=to_parent, sender_committee=sender, receiver_committee=receiver, unit=unit,
        unit_members=count, reason=" ".join((reason or "").split())[:200], submitted_on=on, approved_on=on,
        accepted_on=on, placed_on=on, closed_on=on, created_by=actor_user(actor))
    _party(t, Side.SENDER, old_parent)
    _party(t, Side.RECEIVER, to_parent)
    _record(t, actor=actor, action="whole_unit", old="", on=on, note=f"{unit.name}及所属{count}名党员",
            changes={"from": old_parent.name, "to": to_parent.name, "members": count})
    return t


# --- 流动党员 ------------------------------------------------------------------------------------------------


@transaction.atomic
def mobile_register(*, actor, member: Member, left_on: dt.date | None, destination: str, contact: str,
                    card_number: str = "", on: dt.date | None = None) -> MobileMember:
    """A member away ≥ 6 months without a transfer (DOMAIN-RULES §4.5): the sending branch keeps contact."""
    on = _today(on)
    member = Member.unscoped.select_for_update().select_related("organization").get(pk=member.pk)
    require(actor, "member.manage", member.organization)
    errors = {}
    if left_on is None:
        errors["left_on"] = ["外出日期：不能为空"]
    elif left_on > on:
        errors["left_on"] = ["外出日期：不能晚于今天"]
    destination = " ".join((destination or "").split())
    contact = " ".join((contact or "").split())
    if not destination:
        errors["destination"] = ["流入地：不能为空"]
    if not contact:
        errors["contact"] = ["联系方式：不能为空"]
    if errors:
        raise ValidationFailed("流动党员信息有误", fields=errors)
    if MobileMember.unscoped.filter(member=member, ended_on__isnull=True).exists():
        raise ValidationFailed("已登记", fields={"member": [f"党员：{member.name}已登记为流动党员"]})
    card_number = (card_number or "").strip()[:40]
    try:
        with transaction.atomic():  # an ended stint stays as it was: the new one is a new row
            mobile = MobileMember.unscoped.create(member=member, left_on=left_on, destination=destination[:100],
                                                 contact_encrypted=crypto.encrypt(contact[:100]),
                                                 contact_masked=mask_contact(contact[:100])[:100],
                                                 card_number=card_number,
                                                 card_issued_on=on if card_number else None, last_contact_on=on)
    except IntegrityError:  # a concurrent registration of the same member won the race
        raise ValidationFailed("已登记", fields={"member": [f"党员：{member.name}已登记为流动党员"]}) from None
    log_action(actor=actor, action="transfers.mobile.registered", target=member,
               changes={"destination": mobile.destination, "left_on": left_on.isoformat(),
                        "card_number": card_number})
    return mobile


@transaction.atomic
def mobile_contact(*, actor, mobile: MobileMember, on: dt.date | None = None, report: bool = False) -> MobileMember:
    """Record a contact (and, with `report`, the yearly report-in)."""
    on = _today(on)
    mobile = (MobileMember.unscoped.select_for_update(of=("self",)).select_related("member__organization")
              .get(pk=mobile.pk))
    require(actor, "member.manage", mobile.member.organization)
    if mobile.ended_on is not None:
        raise Conflict("该流动党员的管理已结束。")
    if on < mobile.last_contact_on:
        raise ValidationFailed("日期有误", fields={"on": [f"联系日期：不能早于上次联系日期{mobile.last_contact_on.isoformat()}"]})
    mobile.last_contact_on = on
    if report:
        mobile.last_report_on = on
    mobile.save()
    if mobile.member.is_lost_contact:  # found again: no longer 失联 on the roster
        member_update(actor=SYSTEM, member=mobile.member, data={"is_lost_contact": False})
    log_action(actor=actor, action="transfers.mobile.contacted", target=mobile.member,
               changes={"on": on.isoformat(), "report": report})
    return mobile


def mobile_lost_contact_mark(*, on: dt.date) -> int:
    """Flag as 失联 on the roster every 流动党员 with no contact since `selectors.lost_contact_since(on)` (the
    daily job; §4.5). The member page then shows the 停止党籍 steps; a recorded contact clears the flag.
    Returns how many members were newly flagged."""
    from .selectors import lost_contact_since

    lost = (MobileMember.unscoped.filter(ended_on__isnull=True, last_contact_on__lte=lost_contact_since(on),
                                         member__is_lost_contact=False, member__left_on__isnull=True)
            .select_related("member__organization").order_by("pk"))
    flagged = 0
    for mobile in lost:
        with transaction.atomic():
            member_update(actor=SYSTEM, member=mobile.member, data={"is_lost_contact": True})
        flagged += 1
    return flagged


@transaction.atomic
def mobile_end(*, actor, mobile: MobileMember, on: dt.date | None = None, reason: str = "",
               audit_actor=None) -> MobileMember:
    """End the 流动党员 management of a stint (the member came back, or their organisation relationship moved):
    the row stays, with its end date, and the end is audited. Called by a worker over the member's
    organisation, or by the transfer services as the system (`audit_actor` names the real actor)."""
    on = _today(on)
    mobile = (MobileMember.unscoped.select_for_update(of=("self",)).select_related("member__organization")
              .get(pk=mobile.pk))
    require(actor, "member.manage", mobile.member.organization)
    if mobile.ended_on is not None:
        raise Conflict("该流动党员的管理已结束。")
    reason = " ".join((reason or "").split())
    if len(reason) > 200:
        raise ValidationFailed("结束原因过长", fields={"reason": ["结束原因：不能超过200个字"]})
    if on < mobile.left_on:
        raise ValidationFailed("日期有误", fields={"on": [f"结束日期：不能早于外出日期{mobile.left_on.isoformat()}"]})
    mobile.ended_on = on
    mobile.save(update_fields=["ended_on"])
    log_action(actor=audit_actor or actor, action="transfers.mobile.ended", target=mobile.member,
               changes={"ended_on": on.isoformat(), "left_on": mobile.left_on.isoformat(),
                        "destination": mobile.destination, "reason": reason})
    return mobile


def _end_mobile_stint(t: Transfer, *, actor, on: dt.date, reason: str) -> None:
    """The member's organisation relationship has moved: an open 流动党员 record at the old branch ends."""
    if t.member_id is None:
        return
    open_stint = MobileMember.unscoped.filter(member_id=t.member_id, ended_on__isnull=True).first()
    if open_stint is not None:
        mobile_end(actor=SYSTEM, mobile=open_stint, on=max(on, open_stint.left_on), reason=reason,
                   audit_actor=actor)


def mobile_contact_reveal(*, actor, mobile: MobileMember) -> str:
    """The 联系方式 in full (to call the member). Needs `member.reveal` over the member's organisation (or
    being the member); every reveal, and every refused attempt, is in the audit log."""
    member = mobile.member
    own = member.user_id is not None and member.user_id == getattr(actor, "pk", None)
    if not own and not can(actor, "member.reveal", member.organization):
        log_failure(actor=actor, action="transfers.mobile.contact_revealed", target=member,
                    changes={"field": "联系方式"})
        raise PermissionDenied()
    log_action(actor=actor, action="transfers.mobile.contact_revealed", target=member, changes={"field": "联系方式"})
    return crypto.decrypt(mobile.contact_encrypted)
