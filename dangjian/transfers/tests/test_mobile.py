"""流动党员 stints: ended by a worker or by the transfer that moves the member's relationship, always audited,
never deleted."""

import datetime as dt

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import Conflict, PermissionDenied
from dangjian.transfers import services
from dangjian.transfers.models import MobileMember

from .conftest import TODAY

LEFT = dt.date(2026, 3, 1)


def _register(d, member=None):
    return services.mobile_register(actor=d.users["branch_worker"], member=member or d.member_a1, left_on=LEFT,
                                    destination="深圳", contact="13812345678", on=TODAY)


def test_a_worker_ends_a_stint_and_it_is_audited(district):
    d = district
    mobile = _register(d)
    with pytest.raises(PermissionDenied):
        services.mobile_end(actor=d.users["member"], mobile=mobile, on=TODAY)
    services.mobile_end(actor=d.users["branch_worker"], mobile=mobile, on=TODAY, reason="已返回本地")
    mobile.refresh_from_db()
    assert mobile.ended_on == TODAY
    entry = AuditEntry.objects.filter(action="transfers.mobile.ended").get()
    assert entry.actor_id == d.users["branch_worker"].pk and entry.changes["reason"] == "已返回本地"
    with pytest.raises(Conflict):
        services.mobile_end(actor=d.users["branch_worker"], mobile=mobile, on=TODAY)


def test_a_new_stint_keeps_the_ended_one(district):
    d = district
    first = _register(d)
    services.mobile_end(actor=d.users["branch_worker"], mobile=first, on=TODAY)
    second = _register(d)
    assert second.pk != first.pk
    assert list(MobileMember.unscoped.filter(member=d.member_a1).order_by("pk").values_list("ended_on", flat=True)) \
        == [TODAY, None]


def test_accepting_a_within_district_transfer_ends_the_stint(district, approved, b_admin):
    mobile = _register(district)
    services.transfer_accept(actor=b_admin, transfer=approved, on=TODAY)
    mobile.refresh_from_db()
    assert mobile.ended_on == TODAY
    entry = AuditEntry.objects.filter(action="transfers.mobile.ended").get()
    assert entry.actor_id == b_admin.pk and "第一中学党支部" in entry.changes["reason"]


def test_closing_an_out_transfer_ends_the_stint(district):
    d = district
    mobile = _register(d)
    t = services.transfer_create(actor=d.users["branch_worker"], member=d.member_a1, kind="out",
                                 to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=d.users["branch_worker"], transfer=t, on=TODAY)
    services.transfer_approve(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    services.transfer_close(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    mobile.refresh_from_db()
    assert mobile.ended_on == TODAY
    assert AuditEntry.objects.filter(action="transfers.mobile.ended", actor=d.users["committee_admin"]).count() == 1


def test_a_temporary_letter_leaves_the_stint_open(district):
    d = district
    mobile = _register(d)
    t = services.transfer_create(actor=d.users["branch_worker"], member=d.member_a1, kind="temporary",
                                 to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=d.users["branch_worker"], transfer=t, on=TODAY)
    services.transfer_approve(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    services.transfer_close(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    mobile.refresh_from_db()
    assert mobile.ended_on is None
    assert not AuditEntry.objects.filter(action="transfers.mobile.ended").exists()


def test_an_incoming_letter_stores_the_dues_month_as_its_first_day(district, b_admin):
    from dangjian.testing import MemberDataFactory

    t = services.transfer_register_incoming(
        actor=b_admin, to_org=district.branch_b1, person_name="赵六", id_number=MemberDataFactory()["id_number"],
        from_external="外省某大学党委", letter_number="外字18号", valid_until=TODAY + dt.timedelta(days=20),
        dues_paid_up_to=dt.date(2026, 10, 17), on=TODAY)
    t.refresh_from_db()
    assert t.dues_paid_up_to == dt.date(2026, 10, 1)


def test_two_registrations_of_one_incoming_letter_at_once_one_is_refused(district, b_admin, monkeypatch):
    """The check before saving can miss a registration made at the same moment: the constraint decides."""
    from django.db import IntegrityError, transaction

    from dangjian.core.errors import ValidationFailed
    from dangjian.testing import MemberDataFactory
    from dangjian.transfers.models import Transfer

    number = MemberDataFactory()["id_number"]

    def register():
        return services.transfer_register_incoming(
            actor=b_admin, to_org=district.branch_b1, person_name="赵六", id_number=number,
            from_external="外省某大学党委", letter_number="外字18号", valid_until=TODAY + dt.timedelta(days=20),
            on=TODAY)

    first = register()
    monkeypatch.setattr(services, "_open_incoming", lambda digest: False)  # as if both checked at once
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as e:
        register()
    assert "id_number" in e.value.fields and "转入登记" in e.value.fields["id_number"][0]
    assert list(Transfer.unscoped.values_list("pk", flat=True)) == [first.pk]
    assert AuditEntry.objects.count() == before
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.unscoped.create(kind="in", status="returned", person_name="赵六", id_number_masked="x",
                                 id_number_digest=first.id_number_digest)
    services.transfer_withdraw(actor=b_admin, transfer=first, on=TODAY)
    assert register().pk != first.pk  # a withdrawn registration no longer counts


def test_ending_a_stint_on_the_page(client, district):
    from django.urls import reverse

    from dangjian.testing import PASSWORD

    mobile = _register(district)
    url = reverse("transfers:mobile_end", args=[mobile.pk])
    assert client.login(username="member_a1", password=PASSWORD)
    assert client.post(url).status_code in (403, 404)
    assert client.login(username="worker_a1", password=PASSWORD)
    assert url in client.get(reverse("transfers:mobile")).content.decode()
    assert client.post(url, {"reason": "已返回"}).status_code == 302
    mobile.refresh_from_db()
    assert mobile.ended_on is not None
    assert "暂无流动党员" in client.get(reverse("transfers:mobile")).content.decode()
    assert AuditEntry.objects.filter(action="transfers.mobile.ended").count() == 1


def test_ending_a_stint_through_the_api(district):
    from dangjian.testing import make_user

    from .test_api import BASE, JSON, client_for

    mobile = _register(district)
    other = client_for(make_user("worker_b1", role="branch_worker", org=district.branch_b1))
    assert other.post(f"{BASE}/mobile/{mobile.pk}/end", {}, content_type=JSON).status_code == 404
    worker = client_for(district.users["branch_worker"])
    assert worker.post(f"{BASE}/mobile/{mobile.pk}/end", {"reason": "已返回"}, content_type=JSON).status_code == 200
    r = worker.post(f"{BASE}/mobile/{mobile.pk}/end", {}, content_type=JSON)
    assert r.status_code == 409 and "已结束" in r.json()["message"]
    assert worker.get(f"{BASE}/mobile").json()["total"] == 0
