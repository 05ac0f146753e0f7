"""Reads of the 党建阵地, slots and reservations, and the usage statistics of the bases.

Two kinds of reader: the public (no login: published sites, their public fields and the free places of
their slots, nothing about who booked) and the workers (scoped: the sites their organisations manage, the
reservations of their branches and of their bases).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dangjian.core.errors import NotFound
from dangjian.core.permissions import load_one
from dangjian.core.scoping import current_scope, subtree_q, within_subtree
from dangjian.orgs.models import Organization

from . import rules
from .models import HOLDING, RECEIVED, Reservation, ReservationEvent, ReservationStatus, Site, SiteKind, Slot

# The fields a public page or the GeoJSON may show. Contact phone only where the site marks it public.
PUBLIC_FIELDS = ("id", "name", "kind", "category", "address", "street", "longitude", "latitude", "opens_at",
                 "closes_at", "open_weekdays", "hours_note", "capacity", "services", "description", "photo",
                 "contact_public", "contact_phone", "requires_approval", "organization_id", "org_path")


def _public_sites():
    # Unscoped on purpose: published sites are the platform's public directory (issue 7: no login needed).
    # Only published ones, and the pages show only PUBLIC_FIELDS.
    return Site.unscoped.filter(is_published=True).only(*PUBLIC_FIELDS)


def public_site_list(*, kind: str = "", street: str = "", service: str = "", q: str = ""):
    qs = _public_sites()
    if kind:
        qs = qs.filter(kind=kind)
    if street:
        qs = qs.filter(street=street)
    if service:
        qs = qs.filter(services__icontains=service)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(address__icontains=q))
    return qs.order_by("street", "name", "id")


def public_site_get(*, site_id: int) -> Site:
    site = _public_sites().filter(pk=site_id).first()
    if site is None:
        raise NotFound("未找到该阵地。")
    return site


# The filter choices of the public pages are read on every public page load (no login needed) and scan every
# published site; they change only when a site is saved. Cached briefly, and forgotten when a site is saved
# (site_create / site_update). Without Redis the cache is per process, so another worker may show a new street
# up to PUBLIC_CHOICES_SECONDS late; that is all it costs.
PUBLIC_CHOICES_SECONDS = 300
_STREETS_KEY = "bases:public_streets:v1"
_SERVICES_KEY = "bases:public_services:v1"


def public_streets() -> list[str]:
    streets = cache.get(_STREETS_KEY)
    if streets is None:
        streets = list(Site.unscoped.filter(is_published=True).exclude(street="").order_by("street")
                       .values_list("street", flat=True).distinct())
        cache.set(_STREETS_KEY, streets, PUBLIC_CHOICES_SECONDS)
    return streets


def public_services() -> list[str]:
    services = cache.get(_SERVICES_KEY)
    if services is None:
        seen: dict[str, None] = {}
        for text in Site.unscoped.filter(is_published=True).values_list("services", flat=True):
            for s in text.splitlines():
                if s.strip():
                    seen.setdefault(s.strip(), None)
        services = sorted(seen)
        cache.set(_SERVICES_KEY, services, PUBLIC_CHOICES_SECONDS)
    return services


def forget_public_choices() -> None:
    cache.delete_many([_STREETS_KEY, _SERVICES_KEY])


@dataclass
class FreeSlot:
    slot: Slot
    held: int

    @property
    def free(self) -> int:
        return max(self.slot.capacity - self.held, 0)


def free_slots(*, site: Site, today: dt.date | None = None, days: int | None = None,
               now: dt.datetime | None = None) -> list[FreeSlot]:
    """The base's open slots still to come, each with its free places (one query). Public: no names."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    days = days or rules.params()["booking_horizon_days"]
    # Unscoped on purpose: the slots of a published base are public; only their counts are read.
    slots = (Slot.unscoped.filter(site=site, is_closed=False, date__gte=today,
                                  date__lte=today + dt.timedelta(days=days))
             .annotate(held=Coalesce(Sum("reservations__people", filter=Q(reservations__status__in=HOLDING)),
                                     Value(0), output_field=IntegerField()))
             .order_by("date", "starts_at"))
    return [FreeSlot(s, s.held) for s in slots if s.start > now]


def public_slot_get(*, slot_id: int) -> Slot:
    """A bookable slot of a published base (the booking page loads it before a branch is chosen)."""
    # Unscoped on purpose: as free_slots, the slots of a published base are public.
    slot = Slot.unscoped.select_related("site", "site__organization").filter(
        pk=slot_id, site__is_published=True, site__kind=SiteKind.ACTIVITY_BASE).first()
    if slot is None:
        raise NotFound("未找到该预约时段。")
    return slot


# --- workers ------------------------------------------------------------------------------------------

def site_list(*, under: Organization | None = None, kind: str = ""):
    qs = (within_subtree(Site, under.path) if under is not None else Site.objects.all())
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("organization").order_by("street", "name", "id")


def access_site(*, actor, site_id: int, for_write: bool = False) -> Site:
    return load_one(Site.objects.select_related("organization"), site_id, actor=actor,
                    capability="org.manage" if for_write else None)


def manager_slots(*, site: Site, first: dt.date, last: dt.date):
    """The base's slots in a period with their places held (one query)."""
    return (Slot.unscoped.filter(site=site, date__gte=first, date__lte=last)
            .annotate(held=Coalesce(Sum("reservations__people", filter=Q(reservations__status__in=HOLDING)),
                                    Value(0), output_field=IntegerField()))
            .order_by("date", "starts_at"))


def reservations_visible():
    """Reservations the active scope may see: its branches' own, and those made at the bases it manages.
    The scoped manager knows one path per row; a reservation has two sides, so both are checked here."""
    active = current_scope()
    base = Reservation.unscoped.all()
    if active.everything:
        return base
    paths = active.subtrees
    return base.filter(subtree_q("org_path", paths) | subtree_q("site_path", paths))


def reservation_list(*, site: Site | None = None, branch_side: bool = False, status: str = "",
                     first: dt.date | None = None, last: dt.date | None = None):
    qs = reservations_visible()
    if site is not None:
        qs = qs.filter(site=site)
    if branch_side:
        qs = qs.filter(subtree_q("org_path", current_scope().subtrees))
    if status:
        qs = qs.filter(status=status)
    if first:
        qs = qs.filter(slot__date__gte=first)
    if last:
        qs = qs.filter(slot__date__lte=last)
    return qs.select_related("slot", "site", "site__organization", "branch").order_by("slot__date", "slot__starts_at", "requested_at",
                                                                 "id")


def access_reservation(*, reservation_id: int) -> Reservation:
    r = reservations_visible().select_related("slot", "site", "site__organization", "branch").filter(
        pk=reservation_id).first()
    if r is None:
        raise NotFound()
    return r


def reservation_events(*, reservation: Reservation):
    # Unscoped on purpose: the reservation itself was loaded through reservations_visible (either side may
    # read it); its events carry the branch's path only, which the base's side need not cover.
    return ReservationEvent.unscoped.filter(reservation=reservation).order_by("at", "id")


# --- statistics ---------------------------------------------------------------------------------------

@dataclass
class BaseUsage:
    site_id: int
    name: str
    received: int
    came: int
    people: int


@dataclass
class UsageReport:
    rows: list[BaseUsage]
    received: int
    came: int
    people: int

    @property
    def sentence(self) -> str:
        return (f"受理开放式组织生活基地网上预约{self.received}批，"
                f"先后有{self.came}批{rules.about_count(self.people)}名党员到基地开展了组织生活")


def base_usage(*, under: Organization, first: dt.date, last: dt.date) -> UsageReport:
    """For the bases managed within `under`'s subtree and the visits dated in [first, last]: the bookings
    received (受理, every booking but not the waiting list), the batches that came (签到) and the people who
    came (the real number at check-in). One query, whatever the number of bases."""
    lo_hi = subtree_q("site_path", [under.path])
    visible = reservations_visible().filter(lo_hi, slot__date__gte=first, slot__date__lte=last)
    came = Q(status=ReservationStatus.CHECKED_IN)
    rows = (visible.values("site_id", "site__name")
            .annotate(received=Count("id", filter=Q(status__in=RECEIVED)), came=Count("id", filter=came),
                      people=Coalesce(Sum("attended", filter=came), Value(0), output_field=IntegerField()))
            .order_by("site__name", "site_id"))
    out = [BaseUsage(r["site_id"], r["site__name"], r["received"], r["came"], r["people"]) for r in rows]
    return UsageReport(out, sum(r.received for r in out), sum(r.came for r in out), sum(r.people for r in out))
