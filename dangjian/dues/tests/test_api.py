"""/api/v1/dues: money in 分, months as YYYY-MM, the one error shape, scope (404 outside), nothing saved
on a refusal."""

import pytest
from django.test import Client
from django.utils import timezone

from dangjian.accounts.services import api_token_create
from dangjian.core.actors import SYSTEM
from dangjian.dues import services
from dangjian.dues.models import DuesPayment
from dangjian.dues.rules import add_months, month_start

JSON = "application/json"


def client_for(district, role):
    if role == "anonymous":
        return Client()
    user = district.users[role]
    _, plain = api_token_create(actor=user, user=user, name="测试")
    return Client(headers={"authorization": f"Bearer {plain}"})


def _assess(member, paid_months_ago=1):
    today = timezone.localdate()
    return services.assessment_set(actor=SYSTEM, member=member, year=today.year, category="employed",
                                   dues_base_fen=450_000, paid_through=add_months(month_start(today), -paid_months_ago),
                                   today=today)


def assert_error(response, status, *fields):
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert set(body) >= {"code", "message", "fields"}
    for f in fields:
        assert body["fields"].get(f), body
    return body


def test_my_dues(district):
    _assess(district.member_a1, paid_months_ago=4)
    body = client_for(district, "member").get("/api/v1/dues/my").json()
    assert body["assessment"]["monthly_fen"] == 4500 and body["assessment"]["rate"] == "1%"
    assert body["arrears_months"] == 3 and body["arrears_level"] == "warning"
    today = timezone.localdate()
    assert body["months_settled"] == max(today.month - 4, 0) and body["months_paid"] == 0
    assert body["paid_up_to"] == add_months(month_start(timezone.localdate()), -4).strftime("%Y-%m")


@pytest.mark.parametrize("role, rel, status", [
    ("branch_worker", "member_a1", 200), ("branch_worker", "member_a2", 404), ("committee_admin", "member_b1", 404),
    ("district_admin", "member_b1", 200), ("member", "member_a1", 403), ("audit_admin", "member_a1", 404),
    ("anonymous", "member_a1", 401),
])
def test_member_dues_scope(district, role, rel, status):
    response = client_for(district, role).get(f"/api/v1/dues/members/{getattr(district, rel).pk}")
    assert response.status_code == status


def test_assess_then_pay_then_refuse_the_same_month(district):
    worker = client_for(district, "branch_worker")
    today = timezone.localdate()
    url = f"/api/v1/dues/members/{district.member_a1.pk}"
    last = add_months(month_start(today), -1).strftime("%Y-%m")
    r = worker.post(url + "/assessments", {"year": today.year, "category": "retired", "dues_base_fen": 600_000,
                                           "paid_through": add_months(month_start(today), -2).strftime("%Y-%m")},
                    content_type=JSON)
    assert r.status_code == 201, r.content
    assert r.json()["monthly_fen"] == 6000
    r = worker.post(url + "/payments", {"months": 1, "method": "monthly", "paid_on": today.isoformat()},
                    content_type=JSON)
    assert r.status_code == 201 and r.json()[0]["month"] == last and r.json()[0]["amount_fen"] == 6000
    n = DuesPayment.unscoped.count()
    r = worker.post(url + "/payments", {"first_month": last, "months": 1, "method": "monthly",
                                        "paid_on": today.isoformat()}, content_type=JSON)
    body = assert_error(r, 422, "first_month")
    assert "已交纳" in body["fields"]["first_month"][0]
    assert DuesPayment.unscoped.count() == n


@pytest.mark.parametrize("payload, field", [
    ({"dues_base_fen": -1}, "dues_base_fen"),
    ({"dues_base_fen": 99_999_999}, "dues_base_fen"),
    ({"category": "astronaut"}, "category"),
    ({"year": 1999}, "year"),
])
def test_bad_assessment(district, payload, field):
    data = {"year": timezone.localdate().year, "category": "employed", "dues_base_fen": 300_000} | payload
    r = client_for(district, "branch_worker").post(f"/api/v1/dues/members/{district.member_a1.pk}/assessments",
                                                   data, content_type=JSON)
    assert_error(r, 422, field)


def test_backpay_refusal_names_rule_and_article(district):
    _assess(district.member_a1, paid_months_ago=9)
    r = client_for(district, "branch_worker").post(
        f"/api/v1/dues/members/{district.member_a1.pk}/payments",
        {"months": 1, "method": "backpay", "paid_on": timezone.localdate().isoformat()}, content_type=JSON)
    body = assert_error(r, 422, "first_month")
    assert body["rule"] == "dues.backpay_limit" and "旗帜" in body["article"]


def test_statistics_and_roster(district):
    _assess(district.member_a1, paid_months_ago=4)
    admin = client_for(district, "committee_admin")
    body = admin.get(f"/api/v1/dues/statistics?org={district.committee_a.pk}").json()
    assert body["total"]["assessed"] == 1 and body["total"]["arrears"]["3"] == 1
    assert {r["organization"] for r in body["rows"]} == {"甲社区党支部", "乙社区党支部"}
    assert_error(admin.get(f"/api/v1/dues/statistics?org={district.branch_b1.pk}"), 404, "org")
    roster = admin.get(f"/api/v1/dues/organizations/{district.branch_a1.pk}/roster").json()
    assert roster[0]["name"] == "张三" and roster[0]["arrears_months"] == 3
    arrears = admin.get("/api/v1/dues/arrears?min_months=3").json()
    assert [a["name"] for a in arrears] == ["张三"]


def test_reduction_request_and_decision(district):
    a = _assess(district.member_a1)
    r = client_for(district, "branch_worker").post("/api/v1/dues/reductions",
                                                   {"assessment": a.pk, "monthly_fen": 0, "reason": "重病"},
                                                   content_type=JSON)
    assert r.status_code == 201
    rid = r.json()["id"]
    assert client_for(district, "branch_worker").post(f"/api/v1/dues/reductions/{rid}/decision",
                                                      {"decision": "approve"}, content_type=JSON).status_code == 403
    r = client_for(district, "committee_admin").post(f"/api/v1/dues/reductions/{rid}/decision",
                                                     {"decision": "approve", "note": "同意"}, content_type=JSON)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert client_for(district, "member").get("/api/v1/dues/my").json()["assessment"]["monthly_fen"] == 0
