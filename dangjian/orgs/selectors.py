"""Reads of the organisation tree, through the scoped manager."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db.models import Count

from dangjian.core.permissions import load_one
from dangjian.core.scoping import collapse_paths, current_scope

from .models import CommitteeMember, Organization, Position


def scope_covers_every_root() -> bool:
    """True when the active scope's data subtrees are every tree there is (a district's own workbench):
    then "in the scope" means "everywhere", and a district-wide read is better without the path range,
    which makes SQLite walk the path index and fetch each row out of order (one small query)."""
    active = current_scope()
    if active.everything:
        return True
    roots = set(Organization.unscoped.filter(parent__isnull=True).values_list("path", flat=True))
    return bool(roots) and set(collapse_paths(active.subtrees)) == roots


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


def highest_organization(*, actor, capability: str = "member.view") -> Organization | None:
    """The highest organisation on which the actor holds `capability` (the shortest granted path), through
    the scope: what a page or API call is about when it names none. None without such a grant."""
    paths = actor.capability_paths(capability)
    return Organization.objects.filter(path=min(paths, key=len)).first() if paths else None


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


class SeatRef(NamedTuple):
    """A committee seat as the term warnings read it (orgs.rules.term_warnings), with its organisation as
    an OrgRef: the district's workbench reads a few thousand of them, and model instances cost ~50 µs each."""

    organization_id: int
    position: str
    term_end: dt.date
    left_on: dt.date | None
    organization: OrgRef


def term_warning_seats(*, ending_by: dt.date, everywhere: bool = False) -> list[SeatRef]:
    """`committee_seats_in_scope(ending_by=…)` as plain rows, in the same order (by organisation, then
    term start: term_reminders keeps the first seat of each organisation; all are secretaries).

    `everywhere`: the scope covers every root (scope_covers_every_root), so the rows are read without the
    scope's path range: scanning the seats (143,000 in a 1,000,000-member city) costs half of walking every
    organisation by path and looking up its seats."""
    qs = committee_seats_in_scope(ending_by=ending_by)
    if everywhere:  # unscoped only because the scope covers every tree: no row is outside it
        qs = (CommitteeMember.unscoped.filter(left_on__isnull=True, organization__is_dissolved=False,
                                              term_end__lte=ending_by, position=Position.SECRETARY))
    # The filter fixes a seat's position and left_on, and its organisation's dissolution: not read back.
    # Sorted here, not by the database: ORDER BY organization_id makes SQLite read the seats through that
    # index, one random row at a time (40 ms for the district against 24 ms for reading the table through).
    rows = qs.order_by().values_list("organization_id", "term_start", "term_end", "organization__name",
                                     "organization__path", "organization__kind")
    return [SeatRef(org_id, Position.SECRETARY, end, None, OrgRef(org_id, name, path, kind, False))
            for org_id, _, end, name, path, kind in sorted(rows, key=lambda r: (r[0], r[1]))]


def organization_kind_counts(*, under: Organization | None = None, everywhere: bool = False) -> dict[str, int]:
    """{kind: n} of the subtree (or the scope). `everywhere` as in term_warning_seats: one scan of the table
    instead of the path index (the directory covers at least the data subtrees, so every root too)."""
    qs = organization_list(under=under)
    if everywhere and under is None:  # unscoped only because the scope covers every tree
        qs = Organization.unscoped.filter(is_dissolved=False)
    return {r["kind"]: r["n"] for r in qs.values("kind").annotate(n=Count("id")).order_by()}


def access_committee_seat(*, actor, seat_id: int, for_write: bool = False) -> CommitteeMember:
    return load_one(CommitteeMember.objects.select_related("organization"), seat_id, actor=actor,
                    capability="org.manage" if for_write else None)
