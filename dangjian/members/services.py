"""Writes to the roster. Each public function is one transaction with its audit entry."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from dangjian.audit import registry
from dangjian.audit.services import diff, log_action, log_failure
from dangjian.core import crypto
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.masking import mask_id_number, mask_phone
from dangjian.core.permissions import can, require
from dangjian.orgs import tallies
from dangjian.orgs.models import Organization

from .models import LEFT_PATH, Discipline, DisciplineKind, LeaveReason, Member, MembershipPeriod
from .tallies import member_dimensions, tally_apply

registry.register(
    {
        "members.member.created": "新增党员",
        "members.member.updated": "修改党员信息",
        "members.member.moved": "调整党员所在组织",
        "members.member.left": "党员减少（移出本区名册）",
        "members.member.rejoined": "党员重新登记（回到本区名册）",
        "members.member.revealed": "查看完整个人信息",
        "members.roster.imported": "导入党员名册",
        "members.roster.exported": "导出党员名册",
        "members.demo.seeded": "生成演示数据",
        "members.discipline.recorded": "记录党纪处分",
        "members.discipline.updated": "修改党纪处分记录",
    }
)

PLAIN_FIELDS = ("name", "gender", "ethnicity", "birth_date", "education", "occupation", "work_unit", "post",
                "address", "status", "joined_on", "confirmed_on", "standing", "is_mobile", "is_lost_contact")
REVEALABLE = {"id_number": ("id_number_encrypted", "身份证号"), "phone": ("phone_encrypted", "手机号码")}


def member_build(data: dict) -> Member:
    """An unsaved Member from validated form data (shared by create and the bulk import)."""
    member = Member()
    member_assign(member, data)
    return member


def member_assign(member: Member, data: dict, *, id_number_digest: str = "") -> None:
    """Set a member's fields from validated form data: the plain ones as given, the identifiers encrypted,
    hashed for lookup and masked. `id_number_digest` is `crypto.lookup_digest(data["id_number"])` where the
    caller has it already (the roster import computed it to find a number given twice)."""
    for f in PLAIN_FIELDS:
        if f in data:
            setattr(member, f, data[f])
    member.education_level = member.education[:1]
    if "organization" in data:
        member.organization = data["organization"]
        member.org_path = data["organization"].path
        member.sector = data["organization"].sector
    if "id_number" in data:
        member.id_number_encrypted = crypto.encrypt(data["id_number"])
        member.id_number_digest = id_number_digest or crypto.lookup_digest(data["id_number"])
        member.id_number_masked = mask_id_number(data["id_number"])
    if "phone" in data:
        member.phone_encrypted = crypto.encrypt(data["phone"])
        member.phone_digest = crypto.lookup_digest(data["phone"])
        member.phone_masked = mask_phone(data["phone"])
    member.joined_month_day = member.joined_on.month * 100 + member.joined_on.day


def _audit_view(member: Member) -> dict:
    """What an audit entry may show of a member: masked identifiers, plain dates as text."""
    out = {f: getattr(member, f) for f in PLAIN_FIELDS}
    out = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in out.items()}
    out["organization"] = member.organization.name if member.organization_id else None
    out["id_number"] = member.id_number_masked
    out["phone"] = member.phone_masked
    return out


# The birth date is the part of the ID number its mask hides (110105********002X): written next to the
# masked number it would give the whole number away, so the audit log records only that it changed.
AUDIT_HIDDEN = {"birth_date": "****-**-**"}


def _hide(changes: dict) -> dict:
    """`changes` (a view or an old → new diff) as the audit log may keep it."""
    def hidden(value, mask):
        if isinstance(value, list):
            return [hidden(v, mask) for v in value]
        return mask if value else value

    return {k: hidden(v, AUDIT_HIDDEN[k]) if k in AUDIT_HIDDEN else v for k, v in changes.items()}


def _current(*objs) -> None:
    """Lock the rows and reload the callers' objects in place, organisations before members (the order
    `organization_move` takes them). An object loaded before a subtree move still carries the old path."""
    for obj in objs:
        if obj is not None:
            obj.refresh_from_db(from_queryset=type(obj).unscoped.select_for_update())


def _not_left(member: Member) -> None:
    if member.left_on is not None:
        raise ValidationFailed("该党员已减少", fields={"member": [
            f"党员：{member.name}已于{member.left_on.isoformat()}移出本区名册（{member.get_left_reason_display()}）"]})


def id_number_taken(number: str, *, exclude_pk: int | None = None, including_left: bool = False) -> bool:
    """Whether a current member (or, `including_left`, any record) has this ID number. Unscoped on purpose: an
    ID number is unique in the whole platform, whoever's subtree holds it. A person who left and comes back
    is not "taken": member_create gives them their record back."""
    qs = Member.unscoped.filter(id_number_digest=crypto.lookup_digest(number))
    if not including_left:
        qs = qs.filter(left_on__isnull=True)
    return qs.exclude(pk=exclude_pk).exists() if exclude_pk else qs.exists()


DUPLICATE_ID = "身份证号：该身份证号已登记（可能在其他党组织），如党员调动请办理组织关系接转"


@transaction.atomic
def member_create(*, actor, data: dict, since: dt.date | None = None) -> Member:
    """Register a member. `since` is the day they came into this organisation (default: joined_on)."""
    org: Organization = data["organization"]
    _current(org)
    require(actor, "member.manage", org)
    if org.is_dissolved:  # the form says so too; imports and jobs must not bypass it
        raise ValidationFailed("所在党组织已撤销", fields={"organization": ["所在党组织：该组织已撤销"]})
    if id_number_taken(data["id_number"]):
        raise ValidationFailed("身份证号重复", fields={"id_number": [DUPLICATE_ID]})
    returning = Member.unscoped.select_for_update().filter(
        id_number_digest=crypto.lookup_digest(data["id_number"]), left_on__isnull=False).first()
    if returning is not None:
        return _rejoin(actor, returning, data, since or timezone.localdate())
    member = member_build(data)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        if id_number_taken(data["id_number"]):  # a concurrent insert of the same ID number won the race
            raise ValidationFailed("身份证号重复", fields={"id_number": [DUPLICATE_ID]}) from None
        raise
    MembershipPeriod.unscoped.create(member=member, organization=org, org_path=org.path,
                                     start=since or member.joined_on, reason="登记")
    tally_apply([(member.org_path, member_dimensions(member, org.sector), +1)])
    log_action(actor=actor, action="members.member.created", target=member, changes=_hide(_audit_view(member)))
    return member


@transaction.atomic
def member_update(*, actor, member: Member, data: dict) -> Member:
    """Edit the record. A change of organisation is a move (history kept), not an edit."""
    data = dict(data)
    new_org = data.pop("organization", None)
    _current(new_org, member)
    require(actor, "member.manage", member.organization)
    _not_left(member)
    new_org = new_org or member.organization
    if "id_number" in data and id_number_taken(data["id_number"], exclude_pk=member.pk, including_left=True):
        raise ValidationFailed("身份证号重复", fields={"id_number": [DUPLICATE_ID]})
    before = _audit_view(member)
    sector = member.organization.sector
    tallied_before = member_dimensions(member, sector)
    member_assign(member, data)
    member.save()
    tallied_after = member_dimensions(member, sector)
    if tallied_after != tallied_before:  # same transaction: the counters move with the row
        tally_apply([(member.org_path, tallied_before, -1), (member.org_path, tallied_after, +1)])
    changes = diff(before, _audit_view(member))
    if changes:
        log_action(actor=actor, action="members.member.updated", target=member, changes=_hide(changes))
    if new_org.pk != member.organization_id:
        member_move(actor=actor, member=member, to=new_org, on=timezone.localdate(), reason="组织调整")
    return member


def _rejoin(actor, member: Member, data: dict, since: dt.date) -> Member:
    """A person who left the roster comes back (转入本区, admitted again): one person, one record. Their data is
    taken as registered now, a new period opens in the new organisation, and they count again."""
    last = MembershipPeriod.unscoped.filter(member=member).order_by("-start").first()
    if last is not None and last.end is not None and since < last.end:
        raise ValidationFailed("日期早于上次减少日期", fields={"on": [f"日期：不能早于上次减少日期 {last.end.isoformat()}"]})
    member_assign(member, data)
    member.left_on, member.left_reason = None, ""
    member.save()
    org = member.organization
    MembershipPeriod.unscoped.create(member=member, organization=org, org_path=org.path, start=since, reason="重新登记")
    _carry_followers(member, LEFT_PATH, org.path)
    tally_apply([(member.org_path, member_dimensions(member, org.sector), +1)])
    log_action(actor=actor, action="members.member.rejoined", target=member,
               changes=_hide(_audit_view(member)) | {"since": since.isoformat()})
    return member


@transaction.atomic
def member_leave(*, actor, member: Member, on: dt.date, reason: str) -> Member:
    """The member leaves the district's roster: the current period ends on `on`, they stop counting anywhere,
    and no worker's list shows them again (models.LEFT_PATH). Called by the services that decide it (a
    transfer out of the district closed, a probationary membership cancelled)."""
    member = Member.unscoped.select_for_update().select_related("organization").get(pk=member.pk)
    require(actor, "member.manage", member.organization)
    _not_left(member)
    if reason not in LeaveReason.values:
        raise ValidationFailed("请选择减少原因", fields={"reason": ["减少原因：请选择"]})
    current = MembershipPeriod.unscoped.select_for_update().get(member=member, end__isnull=True)
    if on < current.start:
        raise ValidationFailed("减少日期早于当前组织关系的起始日期",
                               fields={"on": [f"减少日期：不能早于 {current.start.isoformat()}"]})
    current.end = on
    current.save(update_fields=["end"])
    tally_apply([(member.org_path, member_dimensions(member, member.organization.sector), -1)])
    _carry_followers(member, member.org_path, LEFT_PATH)
    member.org_path, member.left_on, member.left_reason = LEFT_PATH, on, reason
    member.save(update_fields=["org_path", "left_on", "left_reason", "updated_at"])
    log_action(actor=actor, action="members.member.left", target=member,
               changes={"organization": member.organization.name, "on": on.isoformat(),
                        "reason": LeaveReason(reason).label})
    return member


@transaction.atomic
def member_move(*, actor, member: Member, to: Organization, on: dt.date, reason: str = "组织调整") -> Member:
    """Close the current period and open the next on the same date: counts see the member exactly once."""
    _current(to, member)
    require(actor, "member.manage", member.organization)
    require(actor, "member.manage", to)
    _not_left(member)
    if to.is_dissolved:
        raise ValidationFailed("目标组织已撤销", fields={"organization": ["所在党组织：该组织已撤销"]})
    if to.pk == member.organization_id:
        return member
    current = MembershipPeriod.unscoped.select_for_update().get(member=member, end__isnull=True)
    if on < current.start:
        raise ValidationFailed("调整日期早于当前组织关系的起始日期",
                               fields={"on": [f"调整日期：不能早于 {current.start.isoformat()}"]})
    old = member.organization
    current.end = on
    current.save(update_fields=["end"])
    MembershipPeriod.unscoped.create(member=member, organization=to, org_path=to.path, start=on, reason=reason)
    old_path = member.org_path
    member.organization = to
    member.org_path = to.path
    member.sector = to.sector
    member.save(update_fields=["organization", "org_path", "sector", "updated_at"])
    _carry_followers(member, old_path, to.path)
    _tell_member_moved(member, actor=actor, on=on)
    # The shared ancestors' counters cancel out: only the two branches of the tree below them are written.
    tally_apply([(old_path, member_dimensions(member, old.sector), -1),
                 (to.path, member_dimensions(member, to.sector), +1)])
    log_action(actor=actor, action="members.member.moved", target=member,
               changes={"organization": [old.name, to.name], "on": on.isoformat(), "reason": reason})
    return member


def _declared(name: str) -> list[tuple[type, object]]:
    """(model, value) of every model, in this app and the apps above it, whose ScopeMeta declares `name`."""
    return [(m, value) for m in apps.get_models() if (value := getattr(getattr(m, "ScopeMeta", None), name, None))]


def _followers() -> list[type]:
    """Models whose rows belong to the member's CURRENT organisation (`ScopeMeta.follows_member`: their
    `org_path` copies the member's), in this app and in the apps above it (discipline records, dues
    assessments and accounts)."""
    return [m for m, _ in _declared("follows_member")]


def _carry_followers(member: Member, old_path: str, new_path: str) -> None:
    """Move the member's follower rows to `new_path` in this transaction, and the counters they feed
    (`tally_contributions`: the rows' (tally model, key, sums)) from the old path's chain to the new one's.

    The same declared-metadata pattern as organization_move's copied paths: a lower app rewrites copies that
    higher apps declare, with no import of them and no signal (ARCHITECTURE §4)."""
    by_tally: dict[type, list] = {}
    for model in _followers():
        rows = model.unscoped.filter(member_id=member.pk)
        for tally, key, sums in getattr(model, "tally_contributions", lambda _rows: [])(rows):
            by_tally.setdefault(tally, []).extend([(old_path, key, tuple(-v for v in sums)), (new_path, key, sums)])
        rows.update(org_path=new_path)
    for tally, deltas in by_tally.items():
        tallies.tally_add(tally, deltas)


def _tell_member_moved(member: Member, *, actor, on: dt.date) -> None:
    """Rows of the apps above that follow a member's moves by their own rule (`ScopeMeta.member_moved`: the
    dotted path of a function `(member, *, actor, on)`), called in the move's transaction after the member holds
    the new organisation: a 预备党员's recruitment case moves to the new branch with a dated record and an audit
    entry (recruitment.services.case_follow_member, 细则 第三十四条), whether the move came from a transfer or
    from the roster's edit page. Declared, like `follows_member`, so this app imports none of them."""
    for _, moved in _declared("member_moved"):
        import_string(moved)(member, actor=actor, on=on)


def member_reveal(*, actor, member: Member, field: str) -> str:
    """Show one personal field in full. Needs `member.reveal` (or being the member); every reveal, and
    every refused attempt, is in the audit log."""
    if field not in REVEALABLE:
        raise ValidationFailed("该字段不能查看", fields={"field": ["字段：只能查看身份证号或手机号码"]})
    column, label = REVEALABLE[field]
    own = member.user_id is not None and member.user_id == getattr(actor, "pk", None)
    if not own and not can(actor, "member.reveal", member.organization):
        log_failure(actor=actor, action="members.member.revealed", target=member, changes={"field": label})
        raise PermissionDenied()
    log_action(actor=actor, action="members.member.revealed", target=member, changes={"field": label})
    return crypto.decrypt(getattr(member, column))




# --- 党纪处分 ------------------------------------------------------------------------------------------------

DISCIPLINE_FIELDS = ("kind", "decided_on", "decided_by", "in_effect_until", "rights_restored_on", "document_number",
                     "note")


@transaction.atomic
def discipline_record(*, actor, member: Member, data: dict, today: dt.date | None = None) -> Discipline:
    """Record a 党纪处分 on the member (in their current organisation)."""
    _current(member)
    require(actor, "member.manage", member.organization)
    user = None if getattr(actor, "is_system", False) else actor
    discipline = Discipline(member=member, org_path=member.org_path, created_by=user)
    _discipline_assign(discipline, data, today or timezone.localdate())
    discipline.save()
    log_action(actor=actor, action="members.discipline.recorded", target=discipline,
               changes=_discipline_view(discipline))
    return discipline


@transaction.atomic
def discipline_update(*, actor, discipline: Discipline, data: dict, today: dt.date | None = None) -> Discipline:
    """Correct a record, end it (影响期至) or restore the member's rights (恢复党员权利日期, 留党察看 only)."""
    member = discipline.member
    _current(member, discipline)
    discipline.member = member  # the reload dropped the cached (now locked and current) member
    require(actor, "member.manage", member.organization)
    before = _discipline_view(discipline)
    _discipline_assign(discipline, data, today or timezone.localdate())
    discipline.save()
    changes = diff(before, _discipline_view(discipline))
    if changes:
        log_action(actor=actor, action="members.discipline.updated", target=discipline, changes=changes)
    return discipline


def _discipline_assign(d: Discipline, data: dict, today: dt.date) -> None:
    """Set the fields from `data`, then check the record as a whole; refusals name the field in Chinese."""
    unknown = set(data) - set(DISCIPLINE_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {unknown}")
    for f, v in data.items():
        setattr(d, f, v.strip() if isinstance(v, str) else v)
    errors: dict[str, list[str]] = {}
    if d.kind not in DisciplineKind.values:
        errors["kind"] = ["处分种类：请选择警告、严重警告、撤销党内职务或留党察看"]
    if not d.decided_by:
        errors["decided_by"] = ["作出处分的党组织：不能为空"]
    if d.decided_on is None:
        errors["decided_on"] = ["处分日期：不能为空"]
    elif d.decided_on > today:
        errors["decided_on"] = ["处分日期：不能晚于今天"]
    if d.decided_on is not None and d.in_effect_until is not None and d.in_effect_until < d.decided_on:
        errors["in_effect_until"] = ["影响期至：不能早于处分日期"]
    if d.rights_restored_on is not None:
        if d.kind != DisciplineKind.PROBATION:
            errors["rights_restored_on"] = ["恢复党员权利日期：只适用于留党察看处分"]
        elif d.rights_restored_on > today:
            errors["rights_restored_on"] = ["恢复党员权利日期：不能晚于今天"]
        elif d.decided_on is not None and d.rights_restored_on < d.decided_on:
            errors["rights_restored_on"] = ["恢复党员权利日期：不能早于处分日期"]
    if errors:
        raise ValidationFailed("党纪处分记录有误", fields=errors)


def _discipline_view(d: Discipline) -> dict:
    out = {f: getattr(d, f) for f in DISCIPLINE_FIELDS}
    out["kind"] = d.get_kind_display()
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in out.items()}
