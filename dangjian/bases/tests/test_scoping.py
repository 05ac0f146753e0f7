"""The scoping table of the bases (ARCHITECTURE §5): page × role × target relation → expected status.

Targets are named from the branch worker's point of view (支部A1): `own` is A1, `ancestor` 党工委A above
it, `sibling` 支部A2 beside it, `other` 支部B1 under another committee. For sites the relation is the
managing organisation's; for reservations it is the booking branch's, all made at 党工委A's base. The public
pages answer everyone, login or not. A denied write leaves the reservation as it was and logs nothing.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.testing import PASSWORD, make_user

from ..models import Reservation
from ..models import ReservationStatus as S
from .conftest import book, make_site, make_slot

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302
ORG = {"own": "branch_a1", "ancestor": "committee_a", "sibling": "branch_a2", "other": "branch_b1"}


@pytest.fixture
def world(bases):
    d = bases.district
    sites = {"ancestor": bases.site}
    for rel in ("own", "sibling", "other"):
        sites[rel] = make_site(getattr(d, ORG[rel]), name=f"{rel}基地")
    reservations = {}
    for rel, worker in (("own", bases.worker_a1), ("sibling", bases.worker_a2), ("other", bases.worker_b1)):
        reservations[rel] = book(bases, bases.slot, getattr(d, ORG[rel]), worker, people=2)
    return {"d": d, "sites": sites, "reservations": reservations, "slot": bases.slot}


def site_url(name):
    return lambda w, rel: reverse(name, args=[w["sites"][rel].pk])


def reservation_url(name, *extra):
    return lambda w, rel: reverse(name, args=[w["reservations"][rel].pk, *extra])


def plain(name):
    return lambda w, rel: reverse(name)


def stats(w, rel):
    return reverse("bases:statistics") + f"?org={getattr(w['d'], ORG[rel]).pk}"


def book_url(w, rel):
    return reverse("bases:book", args=[w["slot"].pk])


ALL = (200,) * 8
#                                           anon   dist comm work memb sys  sec  aud
GET_CASES = [
    ("directory", plain("bases:directory"), None, ALL),
    ("map", plain("bases:map"), None, ALL),
    ("geojson", plain("bases:geojson"), None, ALL),
    ("public site", site_url("bases:site"), "other", ALL),
    ("manage list", plain("bases:manage"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("my reservations", plain("bases:reservations"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("book form", book_url, None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("site manage", site_url("bases:site_manage"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("site manage", site_url("bases:site_manage"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("site manage", site_url("bases:site_manage"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("site manage", site_url("bases:site_manage"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("site edit", site_url("bases:site_edit"), "own", (LOGIN, 200, 200, 403, 404, 404, 404, 404)),
    ("site edit", site_url("bases:site_edit"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("site edit", site_url("bases:site_edit"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("site create", plain("bases:site_create"), None, (LOGIN, 200, 200, 403, 403, 403, 403, 403)),
    ("reservation", reservation_url("bases:reservation"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404)),
    ("reservation", reservation_url("bases:reservation"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    # 支部B1's booking at 党工委A's base: the base's committee sees it, B1's sibling branches do not
    ("reservation", reservation_url("bases:reservation"), "other", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("statistics", stats, "own", (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("statistics", stats, "ancestor", (LOGIN, 200, 200, 404, 403, 403, 403, 403)),
    ("statistics", stats, "other", (LOGIN, 200, 404, 404, 403, 403, 403, 403)),
]


def _client(d, role):
    client = Client()
    if role != "anonymous":
        assert client.login(username=d.users[role].username, password=PASSWORD)
    return client


@pytest.mark.parametrize(("label", "url", "rel", "expected"), [
    pytest.param(label, url, rel, expected, id=f"{label}-{rel or '-'}") for label, url, rel, expected in GET_CASES])
@pytest.mark.parametrize("role", ROLES)
def test_get(world, label, url, rel, expected, role):
    response = _client(world["d"], role).get(url(world, rel))
    assert response.status_code == expected[ROLES.index(role)], (label, rel, role)


#                                   anon   dist comm work memb sys  sec  aud
WRITE_CASES = [
    ("approve", "own", (LOGIN, 302, 302, 403, 404, 404, 404, 404)),
    ("approve", "other", (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("cancel", "own", (LOGIN, 302, 302, 302, 404, 404, 404, 404)),
    ("cancel", "sibling", (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize(("action", "rel", "expected"), WRITE_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_post(world, action, rel, expected, role):
    r = world["reservations"][rel]
    audit = AuditEntry.objects.count()
    response = _client(world["d"], role).post(reverse("bases:reservation_action", args=[r.pk, action]))
    status = expected[ROLES.index(role)]
    assert response.status_code == status, (action, rel, role)
    after = Reservation.unscoped.get(pk=r.pk).status
    if status == 302 and role != "anonymous":
        assert after == (S.APPROVED if action == "approve" else S.CANCELLED)
    else:
        assert after == S.REQUESTED
        assert AuditEntry.objects.count() == audit
        assert not AuditEntry.objects.filter(action__startswith="bases.", success=True, id__gt=0).exclude(
            action__in=["bases.site.created", "bases.slots.created", "bases.reservation.requested"]).exists()


def test_a_worker_of_another_committee_cannot_close_the_bases_slot(world):
    other = make_user("worker_b_committee", role="committee_admin", org=world["d"].committee_b)
    client = Client()
    client.force_login(other)
    slot = make_slot(world["sites"]["ancestor"], world["slot"].date, (14, 0), (16, 0))
    response = client.post(reverse("bases:slot_close", args=[slot.pk]), {"reason": "检修"})
    assert response.status_code == 404
    slot.refresh_from_db()
    assert not slot.is_closed
