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
