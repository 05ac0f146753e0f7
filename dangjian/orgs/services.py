"""Writes to the organisation tree. Each function is one transaction with its audit entry."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from dangjian.audit import registry
from dangjian.audit.services import diff, log_action
from dangjian.core.errors import Conflict, ValidationFailed
from dangjian.core.permissions import require
from dangjian.core.scoping import ScopedModel, subtree_bounds

from . import org_tally, tallies
from .models import BRANCH_KINDS, CommitteeMember, Organization, OrgKind, path_segment

registry.register(
    {
        "orgs.organization.created": "新建党组织",
        "orgs.organization.updated": "修改党组织",
        "orgs.organization.moved": "调整党组织隶属关系",
        "orgs.organization.dissolved": "撤销党组织",
        "orgs.committee_member.added": "新增班子成员",
        "orgs.committee_member.updated": "修改班子成员",
        "orgs.committee_member.ended": "班子成员离任",
    }
)

ORG_FIELDS = ("name", "kind", "unit_category", "sector", "subdistrict", "has_approval_authority")


def _check_placement(kind: str, parent: Organization | None) -> None:
    if parent is None:
        if kind != OrgKind.DISTRICT_COMMITTEE:
            raise ValidationFailed("只有区委可以作为根组织", fields={"parent": ["上级组织：请选择上级组织"]})
        return
    if kind == OrgKind.DISTRICT_COMMITTEE:
        raise ValidationFailed("区委只能作为根组织", fields={"kind": ["组织类型：区委不能设在其他组织之下"]})
    if parent.is_dissolved:
        raise ValidationFailed("上级组织已撤销", fields={"parent": ["上级组织：该组织已撤销"]})
    if parent.kind == OrgKind.PARTY_GROUP:
        raise ValidationFailed("党小组下不能再设组织", fields={"parent": ["上级组织：党小组下不能再设组织"]})
    if kind == OrgKind.PARTY_GROUP and parent.kind not in BRANCH_KINDS:
        raise ValidationFailed("党小组只能设在党支部之下", fields={"parent": ["上级组织：党小组只能设在党支部之下"]})
    if parent.kind in BRANCH_KINDS and kind != OrgKind.PARTY_GROUP:
        raise ValidationFailed("党支部之下只能设党小组", fields={"kind": ["组织类型：党支部之下只能设党小组"]})


def _current(*orgs: Organization | None) -> None:
    """Lock the rows and reload the callers' objects in place. An object loaded before another move still
    carries the old path: permissions, ranges and copied paths must use the path the row has now."""
    pks = sorted({o.pk for o in orgs if o is not None})
    list(Organization.unscoped.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk"))
    for o in orgs:
        if o is not None:
            o.refresh_from_db()


def _check_children_under(kind: str, org: Organization) -> None:
    """A change of kind must keep the live sub-organisations' placement valid (e.g. a branch with party
    groups cannot become a general branch; a committee with branches cannot become a branch)."""
    as_parent = Organization(kind=kind)
    for child in Organization.unscoped.filter(parent=org, is_dissolved=False).order_by("path"):
        try:
            _check_placement(child.kind, as_parent)
        except ValidationFailed:
            raise ValidationFailed(
                f"改为该类型后，下级组织“{child.name}”的设置不再符合规定",
                fields={"kind": [f"组织类型：下级组织“{child.name}”（{child.get_kind_display()}）不能设在该类型之下"]},
            ) from None


def _next_child_path(parent: Organization | None) -> tuple[str, int]:
    """Hand out the next path segment under `parent`, with the parent row locked."""
    if parent is None:
        last = Organization.unscoped.filter(depth=1).order_by("-path").values_list("path", flat=True).first()
        n = (int(last, 36) if last else 0) + 1
        return path_segment(n), 1
    locked = Organization.unscoped.select_for_update().get(pk=parent.pk)
    locked.child_seq += 1
    Organization.unscoped.filter(pk=parent.pk).update(child_seq=locked.child_seq)
    return locked.path + path_segment(locked.child_seq), locked.depth + 1


@transaction.atomic
def organization_create(*, actor, parent: Organization | None, name: str, kind: str, unit_category: str = "",
                        sector: str = "", subdistrict: str = "", has_approval_authority: bool = False) -> Organization:
    _current(parent)
    if parent is None:
        require(actor, "system.bootstrap")
    else:
        require(actor, "org.manage", parent)
    _check_placement(kind, parent)
    path, depth = _next_child_path(parent)
    counted = org_tally.Change(parent.pk if parent else None)  # a new 党小组 may make its parent `grouped`
    org = Organization.unscoped.create(
        path=path, depth=depth, parent=parent, name=name.strip(), kind=kind, unit_category=unit_category,
        sector=sector, subdistrict=subdistrict.strip(), has_approval_authority=has_approval_authority,
    )
    counted.done(org.pk)
    log_action(actor=actor, action="orgs.organization.created", target=org,
               changes={f: getattr(org, f) for f in ORG_FIELDS} | {"parent": str(parent) if parent else None})
    return org


@transaction.atomic
def organization_update(*, actor, org: Organization, **fields) -> Organization:
    """Rename and re-describe. The kind may change only where the placement rules still hold."""
    _current(org)
    require(actor, "org.manage", org)
    unknown = set(fields) - set(ORG_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {unknown}")
    if org.is_dissolved:
        raise Conflict("该组织已撤销，不能修改")
    if "kind" in fields and fields["kind"] != org.kind:
        _check_placement(fields["kind"], org.parent)
        _check_children_under(fields["kind"], org)
    old = {f: getattr(org, f) for f in fields}
    # Of these fields only the kind is counted (orgs.org_tally: a branch or not; a 党小组 counts in its parent's).
    counted = org_tally.Change(org.pk, org.parent_id) if fields.get("kind", org.kind) != org.kind else None
    for f, v in fields.items():
        setattr(org, f, v.strip() if isinstance(v, str) else v)
    org.save(update_fields=list(fields))
    if counted:
        counted.done()
    if "sector" in fields and org.sector != old["sector"]:
        _retally_sector(org, old["sector"])
    changes = diff(old, {f: getattr(org, f) for f in fields})
    if changes:
        log_action(actor=actor, action="orgs.organization.updated", target=org, changes=changes)
    return org


def _path_denormalised_models() -> list[tuple[type, str]]:
    """Every (scoped model, local column) holding a copy of an organisation's path: the scope's own path
    column and any `ScopeMeta.copied_paths`."""
    found = []
    for model in apps.get_models():
        if issubclass(model, ScopedModel) and model is not Organization:
            fields = (model.ScopeMeta.path, *getattr(model.ScopeMeta, "copied_paths", ()))
            found += [(model, field) for field in fields if "__" not in field]
    return found


@transaction.atomic
def organization_move(*, actor, org: Organization, new_parent: Organization) -> Organization:
    """Move a whole subtree under another parent: paths of organisations and of every row that copies them."""
    _current(org, new_parent, org.parent)  # the old parent too (org_tally.Change reads it): one lock order
    require(actor, "org.manage", org)
    require(actor, "org.manage", new_parent)
    if new_parent.pk == org.pk or org.is_ancestor_of(new_parent):
        raise ValidationFailed("不能移到自身或下级组织之下", fields={"parent": ["上级组织：不能选择本组织或其下级组织"]})
    if org.parent_id == new_parent.pk:
        return org
    _check_placement(org.kind, new_parent)
    old_parent = org.parent
    old_path = org.path
    # The subtree's organisation counters move with its paths below; only the two parents' `grouped` can
    # change (a 党小组 leaves one branch for another): orgs.org_tally.
    counted = org_tally.Change(org.parent_id, new_parent.pk)
    new_path, new_depth = _next_child_path(new_parent)
    cut = len(old_path) + 1
    lo, hi = subtree_bounds(old_path)
    Organization.unscoped.filter(path__gte=lo, path__lt=hi).update(
        path=Concat(Value(new_path), Substr("path", cut)), depth=F("depth") + (new_depth - org.depth)
    )
    # Every tally model (orgs.tallies: one row set per organisation holding its whole subtree) moves with the
    # paths in the loop below; above the subtree, the old ancestor chain loses exactly the moved
    # organisation's own row set and the new chain gains it: no recount of any member or record. (Two models
    # move by rules of their own, ScopeMeta.tally_move: the transfers' rows count at two paths and recount what
    # touches the subtree; the members' add the moved organisation's direct members, outside its row set.)
    moved = [(model, tallies.subtree_move_deltas(model, old_path, old_parent.path if old_parent else None,
                                                 new_parent.path, new_path)) for model in tallies.tally_models()]
    for model, field in _path_denormalised_models():
        model.unscoped.filter(**{f"{field}__gte": lo, f"{field}__lt": hi}).update(
            **{field: Concat(Value(new_path), Substr(field, cut))}
        )
    for model, deltas in moved:
        tallies.tally_add(model, deltas)
    Organization.unscoped.filter(pk=org.pk).update(parent=new_parent)
    counted.done()
    org.refresh_from_db()
    log_action(actor=actor, action="orgs.organization.moved", target=org,
               changes={"parent": [str(old_parent), str(new_parent)], "path": [old_path, org.path]})
    return org


def _retally_sector(org: Organization, old_sector: str) -> None:
    """A member's sector is its organisation's: a sector change rewrites the copy on the direct members' rows
    (members.Member.sector) and moves their sector counts of the organisation and its ancestors (in this
    transaction). The members who left the roster keep their organisation and get the new copy too; they
    count nowhere."""
    from dangjian.members.models import LEFT_PATH
    from dangjian.members.tallies import tally_apply

    Member = apps.get_model("members", "Member")
    n = Member.unscoped.filter(org_path=org.path).update(sector=org.sector)  # by org_path: its index
    Member.unscoped.filter(org_path=LEFT_PATH, organization=org).update(sector=org.sector)
    tally_apply([(org.path, {"sector": old_sector or ""}, -n), (org.path, {"sector": org.sector or ""}, +n)])


@transaction.atomic
def organization_dissolve(*, actor, org: Organization, on: dt.date) -> Organization:
    """撤销: the record and its history stay; members and live sub-organisations must be moved first."""
    _current(org)
    require(actor, "org.manage", org)
    if org.is_dissolved:
        raise Conflict("该组织已经撤销")
    if org.parent_id is None:
        raise ValidationFailed("根组织不能撤销")
    lo, hi = org.subtree_range()
    Member = apps.get_model("members", "Member")
    remaining = Member.unscoped.filter(org_path__gte=lo, org_path__lt=hi).count()
    if remaining:
        raise Conflict(f"该组织及其下级还有 {remaining} 名党员，请先转移组织关系后再撤销")
    live_children = Organization.unscoped.filter(path__gt=lo, path__lt=hi, is_dissolved=False).count()
    if live_children:
        raise Conflict(f"该组织还有 {live_children} 个未撤销的下级组织，请先撤销或调整")
    counted = org_tally.Change(org.pk, org.parent_id)  # a branch counts as dissolved; a 党小组 its parent's
    org.is_dissolved = True
    org.dissolved_on = on
    org.save(update_fields=["is_dissolved", "dissolved_on"])
    counted.done()
    for seat in CommitteeMember.unscoped.filter(organization=org, left_on__isnull=True):
        seat.left_on = on
        seat.save(update_fields=["left_on"])
    log_action(actor=actor, action="orgs.organization.dissolved", target=org, changes={"dissolved_on": on.isoformat()})
    return org


SEAT_FIELDS = ("person_name", "member", "position", "employment", "term_start", "term_end", "left_on")


def _check_term(term_start, term_end):
    if term_end <= term_start:
        raise ValidationFailed("任期届满日期应晚于任期开始日期", fields={"term_end": ["任期届满：应晚于任期开始日期"]})


@transaction.atomic
def committee_member_add(*, actor, org: Organization, person_name: str, position: str, term_start: dt.date,
                         term_end: dt.date, employment: str = "part_time", member=None) -> CommitteeMember:
    _current(org)
    require(actor, "org.manage", org)
    if org.is_dissolved:
        raise Conflict("该组织已撤销，不能新增班子成员")
    _check_term(term_start, term_end)
    if member is not None and not person_name:
        person_name = member.name
    seat = CommitteeMember.unscoped.create(
        organization=org, person_name=person_name, member=member, position=position, employment=employment,
        term_start=term_start, term_end=term_end,
    )
    log_action(actor=actor, action="orgs.committee_member.added", target=seat,
               changes={"person_name": person_name, "position": position, "term_start": term_start.isoformat(),
                        "term_end": term_end.isoformat()})
    return seat


@transaction.atomic
def committee_member_update(*, actor, seat: CommitteeMember, **fields) -> CommitteeMember:
    require(actor, "org.manage", seat.organization)
    if set(fields) - set(SEAT_FIELDS):
        raise ValueError("unknown fields")
    old = {f: _plain(getattr(seat, f)) for f in fields}
    for f, v in fields.items():
        setattr(seat, f, v)
    _check_term(seat.term_start, seat.term_end)
    seat.save()
    action = "orgs.committee_member.ended" if fields.get("left_on") else "orgs.committee_member.updated"
    log_action(actor=actor, action=action, target=seat, changes=diff(old, {f: _plain(getattr(seat, f)) for f in fields}))
    return seat


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "pk", value)
