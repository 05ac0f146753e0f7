"""Two people accepting the same transfer at once: exactly one succeeds, through real threads and real
transactions. The transfer row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions
take the write lock at BEGIN), so the second acceptance reads the row after the first has committed and is
refused. A barrier lines both up; a hook slows the move, so without the lock both would see `approved`.

SQLite test databases live in memory with a shared cache, where a second writer is told "database table is
locked" at once instead of waiting out busy_timeout as on the file database in production; the call is then
simply made again a moment later, which is what the busy timeout does there (as in bases/tests).
"""

import threading

from django.db import OperationalError, connection

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict
from dangjian.members.models import MembershipPeriod
from dangjian.testing import make_user
from dangjian.transfers import services
from dangjian.transfers.models import Transfer, TransferEvent

from .conftest import TODAY


def test_two_people_accepting_at_once_exactly_one_succeeds(transactional_db, district, monkeypatch):
    d = district
    b_admin = make_user("committee_b", role="committee_admin", org=d.committee_b)
    t = services.transfer_create(actor=SYSTEM, member=d.member_a1, kind="within", to_org=d.branch_b1, on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY)
    services.transfer_approve(actor=SYSTEM, transfer=t, on=TODAY)
    moved = services.member_move

    def slow_move(**kw):
        threading.Event().wait(0.3)  # the other acceptance would get in here if nothing held it back
        return moved(**kw)

    monkeypatch.setattr(services, "member_move", slow_move)
    barrier = threading.Barrier(2, timeout=20)
    results, refused, errors = [], [], []

    def accept(actor):
        try:
            barrier.wait()
            for _ in range(200):
                try:
                    services.transfer_accept(actor=actor, transfer=t, on=TODAY)
                    results.append(actor.username)
                    break
                except Conflict as exc:
                    refused.append(exc)
                    break
                except OperationalError as exc:  # shared-cache SQLite only (see the module docstring)
                    if "locked" not in str(exc):
                        raise
                    threading.Event().wait(0.05)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(u,)) for u in (b_admin, d.users["district_admin"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == [], errors
    assert len(results) == 1 and len(refused) == 1, (results, refused)
    assert "已接收" in refused[0].message
    assert Transfer.unscoped.get(pk=t.pk).status == "accepted"
    assert TransferEvent.objects.filter(transfer_id=t.pk, action="accept").count() == 1
    periods = MembershipPeriod.unscoped.filter(member=d.member_a1)
    assert periods.count() == 2 and periods.get(end__isnull=True).organization_id == d.branch_b1.pk
