"""/api/v1/transfers: the one error shape, scope (404 outside), each side's view, nothing saved on a refusal."""

from django.test import Client

from dangjian.accounts.services import api_token_create
from dangjian.testing import make_user
from dangjian.transfers.models import Transfer

JSON = "application/json"
BASE = "/api/v1/transfers"


def client_for(user):
    _, plain = api_token_create(actor=user, user=user, name="测试")
    return Client(headers={"authorization": f"Bearer {plain}"})


def test_the_whole_path_through_the_api(district):
    d = district
    worker = client_for(d.users["branch_worker"])
    r = worker.post(BASE, {"member": d.member_a1.pk, "kind": "within", "to_org": d.branch_b1.pk, "reason": "调动"},
                    content_type=JSON)
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert r.json()["actions"] == ["submit", "withdraw"]
    assert worker.post(f"{BASE}/{tid}/submit", {}, content_type=JSON).json()["status"] == "submitted"
    committee = client_for(d.users["committee_admin"])
    r = committee.post(f"{BASE}/{tid}/approve", {"valid_days": 30}, content_type=JSON)
    assert r.status_code == 200 and r.json()["letter_number"].endswith("第001号")
    b_admin = make_user("committee_b", role="committee_admin", org=d.committee_b)
    receiver = client_for(b_admin)
    seen = receiver.get(f"{BASE}/{tid}").json()
    assert seen["person_name"] == "张三" and "*" in seen["id_number_masked"] and "accept" in seen["actions"]
    assert "work_unit" not in seen and "phone_masked" not in seen
    r = committee.post(f"{BASE}/{tid}/accept", {}, content_type=JSON)
    assert r.status_code == 403 and "接收方党委" in r.json()["message"]
    assert receiver.post(f"{BASE}/{tid}/accept", {}, content_type=JSON).json()["status"] == "accepted"
    r = receiver.post(f"{BASE}/{tid}/place", {"branch": d.branch_b1.pk}, content_type=JSON)
    assert r.json()["status"] == "placed"
    mine = client_for(d.users["member"]).get(f"{BASE}/my").json()
    assert [e["action"] for e in mine[0]["events"]] == ["create", "submit", "approve", "accept", "place"]
    stats = committee.get(f"{BASE}/statistics?start=2000-01-01&end=2100-01-01").json()
    assert stats["out"] == 1 and stats["completed"] == 1


def test_refusals_use_the_one_error_shape_and_save_nothing(district):
    d = district
    worker = client_for(d.users["branch_worker"])
    r = worker.post(BASE, {"member": d.member_a1.pk, "kind": "within", "to_org": d.branch_a1.pk}, content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["to_org"]
    r = worker.post(BASE, {"member": d.member_a1.pk, "kind": "within", "to_org": 999999}, content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["to_org"]
    r = worker.post(BASE, {"member": d.member_b1.pk, "kind": "out", "to_external": "外省"}, content_type=JSON)
    assert r.status_code == 404
    r = worker.post(BASE, {"member": d.member_a1.pk, "kind": "sideways"}, content_type=JSON)
    assert r.status_code == 422 and set(r.json()) >= {"code", "message", "fields"}
    assert not Transfer.unscoped.exists()


def test_outside_the_scope_is_404(district):
    d = district
    r = client_for(d.users["district_admin"]).post(
        BASE, {"member": d.member_b1.pk, "kind": "out", "to_external": "外省"}, content_type=JSON)
    tid = r.json()["id"]
    assert client_for(d.users["branch_worker"]).get(f"{BASE}/{tid}").status_code == 404
    assert client_for(d.users["committee_admin"]).post(f"{BASE}/{tid}/submit", {}, content_type=JSON).status_code == 404
    assert Transfer.unscoped.get().status == "draft"


def test_incoming_whole_unit_and_mobile_through_the_api(district):
    from dangjian.testing import MemberDataFactory

    d = district
    admin = client_for(d.users["district_admin"])
    number = MemberDataFactory()["id_number"]
    r = admin.post(f"{BASE}/incoming", {"to_org": d.branch_b1.pk, "person_name": "赵六", "id_number": number,
                                        "from_external": "外省", "letter_number": "18", "valid_until": "2020-01-01"},
                   content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["valid_until"]
    r = admin.post(f"{BASE}/incoming", {"to_org": d.branch_b1.pk, "person_name": "赵六", "id_number": number,
                                        "from_external": "外省", "letter_number": "18", "valid_until": "2099-01-01"},
                   content_type=JSON)
    assert r.status_code == 201 and r.json()["status"] == "approved" and r.json()["kind"] == "in"
    r = admin.post(f"{BASE}/whole-unit", {"unit": d.branch_a2.pk, "to_parent": d.committee_b.pk}, content_type=JSON)
    assert r.status_code == 201 and r.json()["status"] == "closed"
    worker = client_for(d.users["branch_worker"])
    r = worker.post(f"{BASE}/mobile", {"member": d.member_a1.pk, "left_on": "2026-01-01", "destination": "深圳",
                                       "contact": "微信"}, content_type=JSON)
    assert r.status_code == 201, r.content
    mid = r.json()["id"]
    r = worker.post(f"{BASE}/mobile/{mid}/contact", {"report": True}, content_type=JSON)
    assert r.status_code == 200 and r.json()["last_report_on"]
    assert worker.get(f"{BASE}/mobile").json()["total"] == 1
    assert client_for(d.users["committee_admin"]).post(
        f"{BASE}/mobile", {"member": d.member_b1.pk, "left_on": "2026-01-01", "destination": "x", "contact": "y"},
        content_type=JSON).status_code == 404


def test_accepting_an_incoming_letter_with_the_member_data(district):
    import datetime as dt

    from dangjian.testing import MemberDataFactory

    d = district
    receiver = client_for(make_user("committee_b", role="committee_admin", org=d.committee_b))
    data = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in MemberDataFactory(name="赵六").items()
            if v is not None}
    r = receiver.post(f"{BASE}/incoming", {"to_org": d.branch_b1.pk, "person_name": "赵六",
                                           "id_number": data["id_number"], "from_external": "外省",
                                           "letter_number": "18", "valid_until": "2099-01-01"}, content_type=JSON)
    tid = r.json()["id"]
    r = receiver.post(f"{BASE}/{tid}/accept", {}, content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["member"]
    r = receiver.post(f"{BASE}/{tid}/accept", {"member": data | {"education": "bogus"}}, content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["education"]
    r = receiver.post(f"{BASE}/{tid}/accept", {"member": data | {"id_number": "110105199001011237"}},
                      content_type=JSON)
    assert r.status_code == 422 and r.json()["fields"]["id_number"]
    assert Transfer.unscoped.get().status == "approved"
    r = receiver.post(f"{BASE}/{tid}/accept", {"member": data}, content_type=JSON)
    assert r.status_code == 200, r.content
    t = Transfer.unscoped.select_related("member").get()
    assert t.status == "accepted" and t.member.name == "赵六" and t.member.organization_id == d.branch_b1.pk
