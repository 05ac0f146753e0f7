"""What each side may read: the 流动党员 phone masked, the free text hidden from the receiver before
acceptance, and a void letter never printed (pages and API)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import Conflict
from dangjian.testing import PASSWORD
from dangjian.transfers import services

from .conftest import TODAY
from .test_api import BASE, JSON, client_for

PHONE = "13812345678"


def _page(user, url):
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    r = c.get(url)
    assert r.status_code == 200
    return r.content.decode()


# --- 2. 流动党员 contact ------------------------------------------------------------------------------------


def test_mobile_contact_phone_is_masked_on_the_page(district):
    services.mobile_register(actor=district.users["branch_worker"], member=district.member_a1, left_on=TODAY,
                             destination="深圳", contact=f"微信同号 {PHONE}", on=TODAY)
    page = _page(district.users["branch_worker"], reverse("transfers:mobile"))
    assert "微信同号 138****5678" in page and PHONE not in page


def test_mobile_contact_phone_is_masked_in_the_api(district):
    worker = client_for(district.users["branch_worker"])
    r = worker.post(f"{BASE}/mobile", {"member": district.member_a1.pk, "left_on": "2026-01-01",
                                       "destination": "深圳", "contact": f"0755-8765 4321 / {PHONE}"},
                    content_type=JSON)
    assert r.status_code == 201 and PHONE not in r.content.decode() and "87654321" not in r.content.decode()
    assert r.json()["contact"] == "075****4321 / 138****5678"
    listed = worker.get(f"{BASE}/mobile").content.decode()
    assert PHONE not in listed and "138****5678" in listed


# --- 3. The receiver sees the snapshot only before acceptance --------------------------------------------------


def test_receiver_does_not_read_the_reason_before_acceptance(district, approved, b_admin):
    url = reverse("transfers:detail", args=[approved.pk])
    assert "工作调动" in _page(district.users["committee_admin"], url)  # the sender side
    assert "工作调动" in _page(district.users["member"], url)  # the member themself
    receiver = _page(b_admin, url)
    assert "工作调动" not in receiver and "张三" in receiver and "党费交至" in receiver
    services.transfer_accept(actor=b_admin, transfer=approved, on=TODAY)
    assert "工作调动" in _page(b_admin, url)


def test_receiver_does_not_read_the_return_reason_before_acceptance(district, approved, b_admin):
    services.transfer_return(actor=b_admin, transfer=approved, reason="档案材料不全需补充", on=TODAY)
    services.transfer_submit(actor=district.users["branch_worker"], transfer=approved, on=TODAY)
    url = reverse("transfers:detail", args=[approved.pk])
    assert "档案材料不全" in _page(district.users["committee_admin"], url)
    assert "档案材料不全" not in _page(b_admin, url)


def test_receiver_does_not_read_the_reason_in_the_api(district, approved, b_admin):
    receiver, sender = client_for(b_admin), client_for(district.users["committee_admin"])
    seen = receiver.get(f"{BASE}/{approved.pk}").json()
    assert seen["private"] is False and seen["reason"] == "" and "工作调动" not in json.dumps(seen, ensure_ascii=False)
    assert all(e["note"] == "" for e in seen["events"]) and seen["person_name"] == "张三"
    assert seen["dues_paid_up_to"] is None or seen["dues_paid_up_to"]
    listed = receiver.get(BASE).content.decode()
    assert "工作调动" not in listed
    mine = sender.get(f"{BASE}/{approved.pk}").json()
    assert mine["private"] is True and mine["reason"] == "工作调动" and mine["events"][0]["note"] == "工作调动"
    receiver.post(f"{BASE}/{approved.pk}/accept", {}, content_type=JSON)
    assert receiver.get(f"{BASE}/{approved.pk}").json()["reason"] == "工作调动"


# --- 4. A void letter is not printed -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["withdraw", "expire"])
def test_a_void_letter_is_not_printed(district, approved, how):
    admin = district.users["committee_admin"]
    url = reverse("transfers:detail", args=[approved.pk])
    letter = reverse("transfers:letter", args=[approved.pk])
    assert letter in _page(admin, url)
    if how == "withdraw":
        services.transfer_withdraw(actor=district.users["branch_worker"], transfer=approved, on=TODAY)
    else:
        import datetime as dt

        services.transfer_expire(transfer=approved, on=approved.valid_until + dt.timedelta(days=1))
    approved.refresh_from_db()
    with pytest.raises(Conflict) as e:
        services.letter_printed(actor=admin, transfer=approved)
    assert "不能打印" in e.value.message
    assert letter not in _page(admin, url)
    c = Client()
    assert c.login(username=admin.username, password=PASSWORD)
    assert c.get(letter).status_code == 409
    assert not AuditEntry.objects.filter(action="transfers.letter.printed").exists()


def test_mobile_contact_is_stored_encrypted_and_revealed_only_with_an_audit(district):
    from dangjian.core.errors import PermissionDenied
    from dangjian.core.scoping import system_scope
    from dangjian.transfers.models import MobileMember

    mobile = services.mobile_register(actor=district.users["branch_worker"], member=district.member_a1,
                                      left_on=TODAY, destination="深圳", contact=PHONE, on=TODAY)
    with system_scope("test"):
        stored = MobileMember.unscoped.filter(pk=mobile.pk).values()[0]
    assert PHONE not in str(stored) and stored["contact_masked"] == "138****5678"
    with pytest.raises(PermissionDenied):  # a branch worker holds no member.reveal
        services.mobile_contact_reveal(actor=district.users["branch_worker"], mobile=mobile)
    assert AuditEntry.objects.filter(action="transfers.mobile.contact_revealed", success=False).count() == 1
    assert services.mobile_contact_reveal(actor=district.users["committee_admin"], mobile=mobile) == PHONE
    assert AuditEntry.objects.filter(action="transfers.mobile.contact_revealed", success=True).count() == 1


def test_mobile_contact_revealed_on_the_page(district):
    mobile = services.mobile_register(actor=district.users["branch_worker"], member=district.member_a1,
                                      left_on=TODAY, destination="深圳", contact=PHONE, on=TODAY)
    c = Client()
    assert c.login(username=district.users["committee_admin"].username, password=PASSWORD)
    url = reverse("transfers:mobile_reveal", args=[mobile.pk])
    page = c.get(reverse("transfers:mobile")).content.decode()
    assert url in page and PHONE not in page
    r = c.post(url)
    assert r.status_code == 200 and PHONE in r.content.decode() and r["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(action="transfers.mobile.contact_revealed").count() == 1
    assert PHONE not in c.get(reverse("transfers:mobile")).content.decode()


def test_mobile_contact_revealed_in_the_api(district):
    mobile = services.mobile_register(actor=district.users["branch_worker"], member=district.member_a1,
                                      left_on=TODAY, destination="深圳", contact=PHONE, on=TODAY)
    assert client_for(district.users["branch_worker"]).post(
        f"{BASE}/mobile/{mobile.pk}/reveal", {}, content_type=JSON).status_code == 403
    r = client_for(district.users["committee_admin"]).post(f"{BASE}/mobile/{mobile.pk}/reveal", {}, content_type=JSON)
    assert r.status_code == 200 and r.json() == {"contact": PHONE} and r["Cache-Control"] == "no-store"
