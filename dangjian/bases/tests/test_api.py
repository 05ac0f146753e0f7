"""/api/v1/bases: scoped reads, booking with its refusals in the one error shape, the workflow, statistics."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.api.tests.conftest import JSON, assert_error, token_client

from ..models import Reservation
from ..models import ReservationStatus as S
from .conftest import book, local

BASE = "/api/v1/bases"


def booking(branch, **kw):
    return {"branch": branch.pk, "people": 4, "purpose": "主题党日", "contact_name": "张联系",
            "contact_phone": "13800000000", **kw}


def test_slots_show_free_places(bases):
    book(bases, bases.slot, bases.district.branch_b1, bases.worker_b1, people=6)
    body = token_client(bases.worker_a1).get(f"{BASE}/sites/{bases.site.pk}/slots").json()
    assert body == [{"id": bases.slot.pk, "date": bases.slot.date.isoformat(), "starts_at": "09:00:00",
                     "ends_at": "11:00:00", "capacity": 10, "free": 4}]


def test_book_approve_and_check_in_over_the_api(bases, monkeypatch):
    d = bases.district
    worker = token_client(bases.worker_a1)
    response = worker.post(f"{BASE}/slots/{bases.slot.pk}/reservations", booking(d.branch_a1), content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["branch"], body["people"]) == ("requested", "甲社区党支部", 4)
    manager = token_client(bases.manager)
    assert_error(worker.post(f"{BASE}/reservations/{body['id']}/approve"), 403)
    assert manager.post(f"{BASE}/reservations/{body['id']}/approve").json()["status"] == "approved"
    assert_error(manager.post(f"{BASE}/reservations/{body['id']}/check-in", {"attended": 3}, content_type=JSON),
                 422, "reservation")
    monkeypatch.setattr(timezone, "now", lambda: local(bases.slot.date, 9, 10))
    checked = manager.post(f"{BASE}/reservations/{body['id']}/check-in", {"attended": 3}, content_type=JSON).json()
    assert (checked["status"], checked["attended"]) == ("checked_in", 3)


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"people": 11}, 422, "people"),
    ({"people": 0}, 422, "people"),
    ({"contact_phone": "x"}, 422, "contact_phone"),
    ({"unknown": 1}, 422, None),
])
def test_bad_bookings_answer_the_error_shape_and_save_nothing(bases, payload, status, field):
    worker = token_client(bases.worker_a1)
    response = worker.post(f"{BASE}/slots/{bases.slot.pk}/reservations", booking(bases.district.branch_a1,
                                                                                  **payload), content_type=JSON)
    assert_error(response, status, *([field] if field else []))
    assert not Reservation.unscoped.exists()


def test_booking_for_another_branch_is_not_found(bases):
    response = token_client(bases.worker_a1).post(f"{BASE}/slots/{bases.slot.pk}/reservations",
                                                  booking(bases.district.branch_b1), content_type=JSON)
    assert_error(response, 404, "branch")
    assert not Reservation.unscoped.exists()


def test_waitlist_and_accept_over_the_api(bases):
    d = bases.district
    first = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10)
    worker = token_client(bases.worker_a1)
    full = worker.post(f"{BASE}/slots/{bases.slot.pk}/reservations", booking(d.branch_a1), content_type=JSON)
    assert "已约满" in assert_error(full, 422, "people")["fields"]["people"][0]
    queued = worker.post(f"{BASE}/slots/{bases.slot.pk}/reservations", booking(d.branch_a1, waitlist=True),
                         content_type=JSON).json()
    assert queued["status"] == "waiting"
    token_client(bases.worker_b1).post(f"{BASE}/reservations/{first.pk}/cancel", {}, content_type=JSON)
    offered = worker.get(f"{BASE}/reservations/{queued['id']}").json()
    assert offered["status"] == "offered" and offered["offer_expires_at"]
    assert worker.post(f"{BASE}/reservations/{queued['id']}/accept").json()["status"] == S.REQUESTED


def test_lists_are_scoped(bases):
    d = bases.district
    book(bases, bases.slot, d.branch_a1, bases.worker_a1)
    book(bases, bases.slot, d.branch_a2, bases.worker_a2)
    mine = token_client(bases.worker_a1).get(f"{BASE}/reservations").json()
    assert [r["branch"] for r in mine["items"]] == ["甲社区党支部"]
    base_side = token_client(bases.manager).get(f"{BASE}/reservations", {"site": bases.site.pk}).json()
    assert base_side["total"] == 2
    assert token_client(bases.worker_a1).get(f"{BASE}/sites").json()["total"] == 0
    assert token_client(bases.manager).get(f"{BASE}/sites").json()["total"] == 1
    assert_error(token_client(d.users["member"]).get(f"{BASE}/reservations"), 403)


def test_statistics_over_the_api(bases):
    d = bases.district
    r = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=6)
    from dangjian.core.scoping import system_scope

    from .. import services
    with system_scope("test"):
        services.reservation_approve(actor=bases.manager, reservation=r)
        services.reservation_check_in(actor=bases.manager, reservation=r, attended=6, now=local(bases.slot.date, 9))
    query = {"org": d.committee_a.pk, "first": bases.slot.date.isoformat(), "last": bases.slot.date.isoformat()}
    body = token_client(bases.manager).get(f"{BASE}/statistics", query).json()
    assert (body["received"], body["came"], body["people"]) == (1, 1, 6)
    assert body["bases"][0]["name"] == "甲街道红色教育基地"
    assert_error(token_client(bases.worker_a1).get(f"{BASE}/statistics", query), 404, "org")
    assert_error(token_client(bases.manager).get(f"{BASE}/statistics", {**query, "first": "2099-01-01"}), 422, "last")


def test_sites_and_slots_are_managed_over_the_api(bases):
    d = bases.district
    admin = token_client(bases.manager)
    payload = {"organization": d.committee_a.pk, "name": "科技党建基地", "kind": "activity_base", "category": "technology",
               "address": "创新路8号", "longitude": 116.3, "latitude": 39.95, "opens_at": "09:00", "closes_at": "17:00",
               "open_weekdays": "0123456", "capacity": 20, "services": ["科普", "党课"]}
    response = admin.post(f"{BASE}/sites", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    site = response.json()
    assert site["services"] == ["科普", "党课"] and site["category"] == "technology"
    bad = admin.post(f"{BASE}/sites", {**payload, "longitude": 20.5}, content_type=JSON)
    assert "经度" in assert_error(bad, 422, "longitude")["fields"]["longitude"][0]
    assert_error(token_client(bases.worker_a1).post(f"{BASE}/sites", payload, content_type=JSON), 403)
    patched = admin.patch(f"{BASE}/sites/{site['id']}", {"capacity": 25}, content_type=JSON).json()
    assert patched["capacity"] == 25 and patched["name"] == "科技党建基地"
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    created = admin.post(f"{BASE}/sites/{site['id']}/slots", {"first": day, "last": day, "times": "09:00-10:00"},
                         content_type=JSON)
    assert created.status_code == 201 and created.json() == {"created": 1}
    outside = admin.post(f"{BASE}/sites/{site['id']}/slots", {"first": day, "last": day, "times": "18:00-19:00"},
                         content_type=JSON)
    assert_error(outside, 422, "times")
    assert_error(token_client(bases.worker_a1).post(f"{BASE}/sites/{site['id']}/slots",
                                                    {"first": day, "last": day, "times": "09:00-10:00"},
                                                    content_type=JSON), 404)


def test_closing_a_slot_over_the_api(bases):
    url = f"{BASE}/slots/{bases.slot.pk}/close"
    assert_error(token_client(bases.manager).post(url, {"reason": ""}, content_type=JSON), 422, "reason")
    assert_error(token_client(bases.worker_b1).post(url, {"reason": "检修"}, content_type=JSON), 404)
    body = token_client(bases.manager).post(url, {"reason": "检修"}, content_type=JSON).json()
    assert body["is_closed"] and body["closed_reason"] == "检修"
    assert token_client(bases.worker_a1).get(f"{BASE}/sites/{bases.site.pk}/slots").json() == []
