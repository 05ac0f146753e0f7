"""Two branches book the last places at the same moment, through real parallel requests: exactly one wins.

Lock, then check, then create (pretix): the slot row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
IMMEDIATE transactions take the write lock at BEGIN), so the second request counts after the first has
committed. A barrier lines both requests up; a hook slows the window between counting and inserting, so
without the lock both would see the places free.

SQLite test databases live in memory with a shared cache, where a second writer is told "database table is
locked" at once instead of waiting out busy_timeout as it does on the file database in production; the
request is then simply sent again a moment later, which is what the busy timeout does there.
"""

import threading

from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from dangjian.testing import PASSWORD

from .. import services
from ..models import Reservation, ReservationStatus
from .conftest import book


def test_two_branches_booking_the_last_places_at_once_only_one_wins(transactional_db, bases, monkeypatch):
    d = bases.district
    book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=6)  # 4 of 10 places left
    barrier = threading.Barrier(2, timeout=20)
    counted = services.places_held

    def slow_count(slot):
        held = counted(slot)
        threading.Event().wait(0.3)  # the other request would book here if nothing held it back
        return held

    monkeypatch.setattr(services, "places_held", slow_count)
    results, errors = {}, []

    def logged_in(user):
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    def branch_books(client, branch):
        try:
            data = {"branch": branch.pk, "people": 4, "purpose": "主题党日", "contact_name": "联系人",
                    "contact_phone": "13800000000"}
            barrier.wait()
            for _ in range(200):
                try:
                    results[branch.name] = client.post(reverse("bases:book", args=[bases.slot.pk]), data)
                    break
                except OperationalError as exc:  # shared-cache SQLite only (see the module docstring)
                    if "locked" not in str(exc):
                        raise
                    threading.Event().wait(0.05)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=branch_books, args=(logged_in(bases.worker_a1), d.branch_a1)),
               threading.Thread(target=branch_books, args=(logged_in(bases.worker_a2), d.branch_a2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [], errors
    won = Reservation.unscoped.filter(slot=bases.slot, branch__in=[d.branch_a1, d.branch_a2])
    assert won.count() == 1  # exactly one of the two got the last places
    loser = d.branch_a2 if won.get().branch_id == d.branch_a1.pk else d.branch_a1
    assert results[loser.name].status_code == 200  # the form again, with the reason
    assert "该时段已约满，不能预约4人" in results[loser.name].content.decode()
    assert won.get().status == ReservationStatus.REQUESTED and won.get().people == 4
    assert services.places_held(bases.slot) == 10
