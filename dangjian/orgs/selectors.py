"""Reads of the organisation tree, through the scoped manager."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Count

from dangjian.core.permissions import load_one

from .models import CommitteeMember, Organization, Position
from .rules import SIZE_RULE_KINDS


def organization_list(*, under: Organization | None = None, kind: str = "", q: str = "",
                      include_dissolved: bool = False):
    qs = Organization.objects.all()
    if under is not None:
        lo, hi = under.subtree_range()
        qs = qs.filter(path__gte=lo, path__lt=hi)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__contains=q.strip())
    if not include_dissolved:
        qs = qs.filter(is_dissolved=False)
    return qs.order_by("path")


def organization_roots():
    """The topmost organisations the actor sees: those whose parent is outside the scope."""
    orgs = list(Organization.objects.filter(is_dissolved=False).order_by("path").only("path", "name", "kind", "depth"))
    roots, last = [], None
    for org in orgs:
        if last is None or not org.path.startswith(last):
            roots.append(org)
            last = org.path
    return roots


def organization_children(*, org: Organization):
    return (
        Organization.objects.filter(parent=org, is_dissolved=False)
        .annotate(n_children=Count("children"))
        .order_by("path")
    )


def access_organization(*, actor, org_id: int, for_write: bool = False) -> Organization:
    return load_one(Organization.objects.select_related("parent"), org_id, actor=actor,
                    capability="org.manage" if for_write else None, org_of=lambda org: org)


def organization_ancestors(*, org: Organization) -> list[Organization]:
    """Breadcrumbs: the ancestors the actor may see (scoped), root first."""
    paths = org.ancestor_paths()[:-1]
    return list(Organization.objects.filter(path__in=paths).order_by("path"))


def committee_list(*, org: Organization, current_only: bool = True):
    qs = CommitteeMember.objects.filter(organization=org).select_related("member")
    if current_only:
        qs = qs.filter(left_on__isnull=True)
    return qs.order_by("position", "term_start")


def committee_seats_in_scope(*, under: Organization | None = None, ending_by=None):
    """Current seats; with `ending_by`, only those whose term ends by then (the workbench's reminders
    read a few hundred rows instead of every seat of the district)."""
    qs = CommitteeMember.objects.filter(left_on__isnull=True, organization__is_dissolved=False).select_related("organization")
    if ending_by is not None:  # the committee's term is its secretary's (orgs.rules.term_warnings)
        qs = qs.filter(term_end__lte=ending_by, position=Position.SECRETARY)
    if under is not None:
        lo, hi = under.subtree_range()
        qs = qs.filter(organization__path__gte=lo, organization__path__lt=hi)
    return qs


class OrgRef(NamedTuple):
    """An organisation as the warnings need it: a plain row, not a model (tens of thousands per district)."""

    pk: int
    name: str
    path: str
    kind: str
    is_dissolved: bool


def organizations_with_size_rules() -> list[OrgRef]:
    """The organisations the size rules look at, as plain rows (building ~33,000 model instances for the
    district's workbench cost about a third of a second)."""
    rows = organization_list().filter(kind__in=SIZE_RULE_KINDS).values_list("pk", "name", "path", "kind", "is_dissolved")
    return [OrgRef(*row) for row in rows]


def organization_kind_counts(*, under: Organization | None = None) -> dict[str, int]:
    qs = organization_list(under=under)
    return {r["kind"]: r["n"] for r in qs.values("kind").annotate(n=Count("id")).order_by()}


def access_committee_seat(*, actor, seat_id: int, for_write: bool = False) -> CommitteeMember:
    return load_one(CommitteeMember.objects.select_related("organization"), seat_id, actor=actor,
                    capability="org.manage" if for_write else None)
