"""/api/v1/members: masked output, create/patch through MemberForm and the services, audited reveal,
bad input answered in the error shape with nothing written, and a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.audit.models import AuditEntry
from dangjian.core import crypto
from dangjian.members.models import Member, MembershipPeriod
from dangjian.testing import MemberDataFactory, make_member, make_org

from .conftest import JSON, Unchanged, assert_error


@pytest.fixture
def worker(as_role):
    return as_role("branch_worker")


def member_data(district, **changes):
    return MemberDataFactory(born=dt.date(1990, 5, 17), sex="female") | {"organization": district.branch_a1.pk} | changes


def test_output_is_masked(district, worker):
    body = worker.get(f"/api/v1/members/{district.member_a1.pk}").json()
    full_id = crypto.decrypt(Member.unscoped.get(pk=district.member_a1.pk).id_number_encrypted)
    assert body["id_number_masked"] == full_id[:6] + "********" + full_id[-4:]
    assert body["phone_masked"].count("*") == 4
    assert body["organization"] == {"id": district.branch_a1.pk, "name": district.branch_a1.name}
    text = str(body)
    assert full_id not in text and "encrypted" not in text and "digest" not in text and "address" not in body


def test_create_writes_one_audit_entry(district, worker):
    before = AuditEntry.objects.count()
    response = worker.post("/api/v1/members", member_data(district, name="赵六"), content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "赵六" and body["gender"] == "female" and body["birth_date"] == "1990-05-17"
    assert body["id_number_masked"].startswith("110105****")
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.source, entry.target_id) == ("members.member.created", "api", str(body["id"]))
    assert entry.actor_id == district.users["branch_worker"].pk
    assert MembershipPeriod.unscoped.filter(member_id=body["id"]).count() == 1


def _bad_check_digit(data):
    number = data["id_number"]
    return {"id_number": number[:17] + ("0" if number[17] != "0" else "1")}


BAD_INPUT = {  # case: (change to valid data, expected status, field, start of its message)
    "bad ID check digit": (_bad_check_digit, 422, "id_number", "身份证号："),
    "impossible date": (lambda d: {"birth_date": "1990-02-30"}, 422, "birth_date", "出生日期：日期格式不正确"),
    "date that is not a date": (lambda d: {"joined_on": "昨天"}, 422, "joined_on", "入党日期：日期格式不正确"),
    "missing name": (lambda d: {"name": None}, 422, "name", "姓名："),
    "blank name": (lambda d: {"name": "   "}, 422, "name", "姓名："),
    "bad phone": (lambda d: {"phone": "12345"}, 422, "phone", "手机号码："),
    "org outside scope": (lambda d: {"organization": "B1"}, 422, "organization", "所在党组织："),
    "unknown org id": (lambda d: {"organization": 987654}, 422, "organization", "所在党组织："),
    "huge org id": (lambda d: {"organization": 10**30}, 422, "organization", "所在党组织："),
    "wrong type": (lambda d: {"name": 12345}, 422, "name", "姓名：应为文字"),
    "org as text": (lambda d: {"organization": "甲社区党支部"}, 422, "organization", "所在党组织：应为整数"),
    "bad choice": (lambda d: {"education": "99"}, 422, "education", "学历："),
    "unknown key": (lambda d: {"birthdate": "1990-05-17"}, 422, "birthdate", "birthdate：不是可识别的字段"),
    "joined before 18": (lambda d: {"joined_on": "2000-01-01", "confirmed_on": "2001-01-01"}, 422, "joined_on",
                         "入党日期："),
    "confirmed without being full": (lambda d: {"status": "probationary"}, 422, "confirmed_on", "转正日期："),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused_and_creates_nothing(district, worker, case):
    change, status, field, message = BAD_INPUT[case]
    data = member_data(district)
    data |= change(data)
    if data["organization"] == "B1":
        data["organization"] = district.branch_b1.pk
    data = {k: v for k, v in data.items() if v is not None}
    unchanged = Unchanged()
    body = assert_error(worker.post("/api/v1/members", data, content_type=JSON), status, field)
    assert body["code"] == "invalid"
    assert body["fields"][field][0].startswith(message), body
    assert message in body["message"]
    unchanged.check()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "", b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_422(district, worker, raw):
    unchanged = Unchanged()
    body = assert_error(worker.post("/api/v1/members", raw, content_type=JSON), 422, "body")
    assert body["code"] == "invalid" and body["fields"]["body"][0].startswith("请求内容：")
    unchanged.check()


def test_duplicate_id_number_is_422_from_the_service(district, worker):
    data = member_data(district)
    assert worker.post("/api/v1/members", data, content_type=JSON).status_code == 201
    unchanged = Unchanged()
    assert_error(worker.post("/api/v1/members", data | {"name": "另一人"}, content_type=JSON), 422, "id_number")
    unchanged.check()


def test_patch_is_partial_and_audited(district, as_role):
    client = as_role("committee_admin")
    member = district.member_a1
    before = AuditEntry.objects.count()
    response = client.patch(f"/api/v1/members/{member.pk}", {"work_unit": "区图书馆", "post": "馆员"},
                            content_type=JSON)
    assert response.status_code == 200, response.content
    stored = Member.unscoped.get(pk=member.pk)
    assert (stored.work_unit, stored.post, stored.name) == ("区图书馆", "馆员", member.name)
    assert stored.id_number_digest == member.id_number_digest and stored.phone_digest == member.phone_digest
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1 and entry.action == "members.member.updated"
    assert entry.changes == {"work_unit": [member.work_unit, "区图书馆"], "post": [member.post, "馆员"]}


def test_patch_can_move_and_change_the_phone(district, as_role):
    client = as_role("committee_admin")
    member = district.member_a1
    response = client.patch(f"/api/v1/members/{member.pk}",
                            {"organization": district.branch_a2.pk, "phone": "13800001111"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["organization"]["id"] == district.branch_a2.pk
    assert response.json()["phone_masked"] == "138****1111"
    actions = list(AuditEntry.objects.order_by("-id").values_list("action", flat=True)[:2])
    assert actions == ["members.member.moved", "members.member.updated"]


def test_bad_patch_changes_nothing(district, as_role):
    client = as_role("committee_admin")
    member = district.member_a1
    unchanged = Unchanged()
    cases = [({"confirmed_on": "1900-01-01"}, "confirmed_on"), ({"birth_date": "1990-13-01"}, "birth_date"),
             ({"organization": district.branch_b1.pk}, "organization"), ({"name": None}, "name"),
             ({"is_mobile": "maybe"}, "is_mobile")]
    for change, field in cases:
        assert_error(client.patch(f"/api/v1/members/{member.pk}", change, content_type=JSON), 422, field)
    unchanged.check()
    stored = Member.unscoped.get(pk=member.pk)
    assert (stored.organization_id, stored.confirmed_on, stored.name) == (
        member.organization_id, member.confirmed_on, member.name)


def test_reveal_is_audited(district, as_role):
    member = district.member_a1
    response = as_role("committee_admin").post(f"/api/v1/members/{member.pk}/reveal", {"field": "id_number"},
                                               content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json() == {"field": "id_number", "value": crypto.decrypt(member.id_number_encrypted)}
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.success, entry.target_id) == ("members.member.revealed", True, str(member.pk))
    assert entry.changes == {"field": "身份证号"}


def test_member_may_reveal_their_own_phone(district, as_role):
    response = as_role("member").post(f"/api/v1/members/{district.member_a1.pk}/reveal", {"field": "phone"},
                                      content_type=JSON)
    assert response.status_code == 200
    assert response.json()["value"] == crypto.decrypt(district.member_a1.phone_encrypted)


def test_reveal_refused_for_branch_worker(district, worker):
    """branch_worker has member.view but not member.reveal: 403; the attempt is logged as a failure only."""
    members = Member.unscoped.count()
    response = worker.post(f"/api/v1/members/{district.member_a1.pk}/reveal", {"field": "id_number"},
                           content_type=JSON)
    assert assert_error(response, 403)["code"] == "forbidden"
    assert "value" not in response.json()
    assert Member.unscoped.count() == members
    assert not AuditEntry.objects.filter(action="members.member.revealed", success=True).exists()
    refused = AuditEntry.objects.get(action="members.member.revealed", success=False)
    assert refused.actor_id == district.users["branch_worker"].pk and refused.source == "api"


def test_reveal_of_another_field_is_422(district, as_role):
    client = as_role("committee_admin")
    unchanged = Unchanged()
    response = client.post(f"/api/v1/members/{district.member_a1.pk}/reveal", {"field": "address"},
                           content_type=JSON)
    assert assert_error(response, 422, "field")["fields"]["field"][0].startswith("字段：")
    unchanged.check()


def test_list_filters_and_pagination(district, as_role):
    client = as_role("district_admin")
    for i in range(4):
        make_member(district.branch_b1, name=f"钱{i}", status="probationary", confirmed_on=None)
    body = client.get("/api/v1/members?status=probationary&limit=3").json()
    assert (body["total"], len(body["items"]), body["limit"]) == (4, 3, 3)
    assert len(client.get("/api/v1/members?status=probationary&limit=3&offset=3").json()["items"]) == 1
    assert client.get("/api/v1/members?q=钱").json()["total"] == 4
    assert client.get("/api/v1/members?sector=school").json()["total"] == 5
    assert client.get(f"/api/v1/members?org={district.committee_a.pk}").json()["total"] == 2
    assert_error(client.get("/api/v1/members?status=dead&limit=0&age_band=99"), 422, "status", "limit", "age_band")


def _count_list_queries(client, url):
    client.get(url)  # warm up: a token's first use records last_used_at
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["total"]


@pytest.mark.parametrize("url", ["/api/v1/members", "/api/v1/organizations"])
def test_list_queries_do_not_grow_with_rows(district, as_role, url):
    client = as_role("district_admin")
    few, total_before = _count_list_queries(client, url)
    for i in range(20):
        org = district.branch_a1 if i % 2 else district.branch_b1
        make_member(org, name=f"孙{i:02d}")
        if url.endswith("organizations"):
            make_org(district.committee_a, f"新支部{i}", "branch")
    many, total_after = _count_list_queries(client, url)
    assert total_after >= total_before + 20
    assert many == few


@pytest.mark.parametrize("query", ["limit=100000000000000000000", "offset=-1", "limit=1.5", "org=0", "org=-3",
                                   "org=99999999999999999999", "q=" + "张" * 51, "gender=x", "education_level=5"])
def test_odd_query_parameters_are_422_not_500(district, worker, query):
    body = assert_error(worker.get("/api/v1/members?" + query), 422)
    assert body["code"] == "invalid" and all("：" in m for ms in body["fields"].values() for m in ms)
