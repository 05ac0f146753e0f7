"""Periodic work of the bases. A plain function `<name>(*, now) -> int`, idempotent: an offer is made once
(the entry leaves the waiting state) and its message carries a dedupe key."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope

from . import services
from .models import Reservation, ReservationStatus, Slot


def waiting_list_offers(*, now: dt.datetime | None = None) -> int:
    """Expire the offers whose response deadline has passed (and every waiting-list entry of a slot that has
    started), and offer the freed places to the next branches in line. Returns how many offers were made."""
    now = now or timezone.now()
    made = 0
    with system_scope("job: waiting-list offers of every base in the district"):
        slot_ids = set(Reservation.objects.filter(
            Q(status=ReservationStatus.WAITING) | Q(status=ReservationStatus.OFFERED, offer_expires_at__lte=now))
            .values_list("slot_id", flat=True))
        for slot in Slot.objects.filter(pk__in=slot_ids).order_by("date", "starts_at", "pk"):
            _expired, offered = services.waiting_list_advance(actor=SYSTEM, slot=slot, now=now)
            made += offered
    return made
