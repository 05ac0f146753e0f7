"""转接提醒: pending at the receiver → its workers, then the superior's; expiring letters → the member and the
sender; past validity → expired. Running twice sends nothing new."""

import datetime as dt

from dangjian.core.scoping import system_scope
from dangjian.notifications.models import Notification
from dangjian.transfers.jobs import transfer_reminders
from dangjian.transfers.models import Transfer

from .conftest import TODAY


def _run(day):
    with system_scope("test: the daily job"):
        return transfer_reminders(on=day)


def test_pending_reminds_the_receiver_then_its_superior(district, approved, b_admin):
    assert _run(TODAY + dt.timedelta(days=6)) == 0
    assert _run(TODAY + dt.timedelta(days=7)) == 1
    note = Notification.unscoped.get(kind="transfers.pending")
    assert note.user_id == b_admin.pk and "7天" in note.title and "区教育局党委" in note.body
    assert _run(TODAY + dt.timedelta(days=8)) == 0  # once per level
    assert _run(TODAY + dt.timedelta(days=15)) == 1
    superior = Notification.unscoped.filter(kind="transfers.pending").exclude(user_id=b_admin.pk).get()
    assert superior.user_id == district.users["district_admin"].pk


def test_expiring_letters_remind_the_member_and_the_sender_then_expire(district, approved, b_admin):
    valid_until = approved.valid_until
    _run(valid_until - dt.timedelta(days=5))
    expiring = Notification.unscoped.filter(kind="transfers.expiring")
    assert {n.member_id for n in expiring if n.member_id} == {district.member_a1.pk}
    assert district.users["committee_admin"].pk in {n.user_id for n in expiring}
    count = expiring.count()
    _run(valid_until - dt.timedelta(days=4))
    assert Notification.unscoped.filter(kind="transfers.expiring").count() == count
    assert _run(valid_until + dt.timedelta(days=1)) >= 1
    assert Transfer.unscoped.get(pk=approved.pk).status == "expired"
    assert _run(valid_until + dt.timedelta(days=2)) == 0


def test_reminders_take_the_same_number_of_queries_for_more_committees(district):
    """Each receiving 党委's workers are looked up together (workers_of_many), not once per transfer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.core.actors import SYSTEM
    from dangjian.orgs.models import OrgKind
    from dangjian.testing import make_member, make_org, make_user
    from dangjian.transfers import services

    def grow(n, start):
        for i in range(start, start + n):
            committee = make_org(district.root, f"接收党委{i}", OrgKind.PRIMARY_COMMITTEE)
            branch = make_org(committee, f"接收支部{i}", OrgKind.BRANCH)
            make_user(f"receiver{i}", role="committee_admin", org=committee)
            t = services.transfer_create(actor=SYSTEM, member=make_member(district.branch_a1), kind="within",
                                         to_org=branch, on=TODAY)
            services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY)
            services.transfer_approve(actor=SYSTEM, transfer=t, on=TODAY)

    def queries(day):
        with system_scope("test: the daily job"), CaptureQueriesContext(connection) as ctx:
            assert transfer_reminders(on=day) > 0
        return len(ctx.captured_queries)

    grow(2, 0)
    small = queries(TODAY + dt.timedelta(days=7))
    grow(6, 2)
    Notification.unscoped.all().delete()
    assert queries(TODAY + dt.timedelta(days=7)) == small
