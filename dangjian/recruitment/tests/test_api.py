"""/api/v1/recruitment: each endpoint's answer, refusals in the one error shape naming the field (and, for a
rule, the rule and its article) with nothing saved, 404 outside the scope, and list queries that do not grow
with the number of cases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from dangjian.accounts.services import api_token_create
from dangjian.audit.models import AuditEntry
from dangjian.recruitment.models import RecruitmentCase, RecruitmentStep
from dangjian.recruitment.rules import REG_2014
from dangjian.recruitment.services import case_create
from dangjian.recruitment.tests.factories import START, full_members, open_case, person, schedule, walk
from dangjian.testing import make_user

pytestmark = pytest.mark.django_db

JSON = "application/json"
BASE = "/api/v1/recruitment"
DATES = schedule(START)


def client_for(user) -> Client:
    _, plain = api_token_create(actor=user, user=user, name="测试")
    return Client(headers={"authorization": f"Bearer {plain}"})


def error(response, status: int, *fields: str) -> dict:
    """The one error shape (ARCHITECTURE §8), each named field with a Chinese message."""
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert set(body) >= {"code", "message", "fields"} and body["message"], body
    for field in fields:
        assert body["fields"].get(field), body
    return body


class Nothing:
    """What a refused write must leave as it was: cases, step records, recruitment audit entries."""

    def __init__(self):
        self.before = self.state()

    @staticmethod
    def state():
        return (RecruitmentCase.unscoped.count(), RecruitmentStep.objects.count(),
                list(RecruitmentCase.unscoped.order_by("pk").values_list("pk", "stage", "next_step", "status")),
                AuditEntry.objects.filter(action__startswith="recruitment.", success=True).count())

    def check(self):
        assert self.state() == self.before, "a refused write saves nothing"


def create_payload(district, n: int = 1, **kw) -> dict:
    return {"organization": district.branch_a1.pk, "applied_on": START.isoformat(), **person(n), **kw}


def talk(**kw) -> dict:
    return {"number": 2, "on": DATES[2].isoformat(), "body": "branch", "details": {"talker": "赵书记"}, **kw}


# --- success --------------------------------------------------------------------------------------------

def test_open_a_case_record_a_step_then_list_and_read_it(district):
    worker = client_for(district.users["branch_worker"])
    r = worker.post(f"{BASE}/cases", create_payload(district), content_type=JSON)
    assert r.status_code == 201, r.content
    case = r.json()
    assert case["name"] == "申请人001" and "*" in case["id_number_masked"]
    assert case["organization"] == {"id": district.branch_a1.pk, "name": "甲社区党支部"}
    assert case["stage"] == {"code": "applicant", "label": "入党申请人"} and case["status"]["code"] == "open"
    assert [(s["number"], s["label"], s["body"]["code"]) for s in case["steps"]] == [(1, "递交入党申请书", "applicant")]
    assert case["steps"][0]["entered_by"] == "worker_a1" and case["steps"][0]["rule_version"] == "2014"
    assert [s["number"] for s in case["allowed_steps"]] == [2]
    assert case["allowed_steps"][0]["details"] == [{"key": "talker", "label": "谈话人"}]
    assert case["next_step"] == {"number": 2, "label": "党组织派人谈话"}
    talk_due = case["deadlines"][0]
    assert talk_due["label"] == "派人谈话" and talk_due["state"] == "red" and "发展党员工作细则" in talk_due["article"]
    assert case["next_due"] == talk_due["on"] and case["next_due_label"] == "派人谈话"

    r = worker.post(f"{BASE}/cases/{case['id']}/steps", talk(note="在支部活动室"), content_type=JSON)
    assert r.status_code == 201, r.content
    after = r.json()
    step = after["steps"][-1]
    assert step["number"] == 2 and step["label"] == "党组织派人谈话" and step["on"] == DATES[2].isoformat()
    assert step["details"] == {"talker": "赵书记"} and step["note"] == "在支部活动室" and step["late"] == ""
    assert step["acting_org"] == {"id": district.branch_a1.pk, "name": "甲社区党支部"}
    assert step["outcome"] == {"code": "passed", "label": "通过"} and step["entered_by"] == "worker_a1"
    assert [s["number"] for s in after["allowed_steps"]] == [3]
    assert after["next_step"]["number"] == 3 and after["deadlines"] == []

    listed = worker.get(f"{BASE}/cases").json()
    assert listed["total"] == 1
    row = listed["items"][0]
    assert row["id"] == case["id"] and row["next_step"] == {"number": 3, "label": "推荐和确定入党积极分子"}
    assert row["stage"]["code"] == "applicant" and row["applied_on"] == START.isoformat()
    assert "steps" not in row
    assert worker.get(f"{BASE}/cases/{case['id']}").json()["steps"][-1]["number"] == 2


def test_list_filters(district):
    admin = district.users["district_admin"]
    a1 = open_case(admin, district.branch_a1, n=1)
    b1 = open_case(admin, district.branch_b1, n=2)
    walk(admin, b1, until=3)
    c = client_for(admin)

    def ids(query=""):
        r = c.get(f"{BASE}/cases{query}")
        assert r.status_code == 200, r.content
        return [row["id"] for row in r.json()["items"]]

    assert sorted(ids()) == sorted([a1.pk, b1.pk])
    assert ids(f"?org={district.committee_b.pk}") == [b1.pk]
    assert ids("?stage=activist") == [b1.pk]
    assert ids("?stage=applicant&status=open") == [a1.pk]
    assert ids("?status=completed") == []
    assert ids("?q=申请人002") == [b1.pk]
    # a1 is due to be talked to a month after applying; b1 waits for its half-yearly assessment
    assert ids("?due_before=2024-06-30") == [a1.pk]
    assert ids("?due_before=2099-01-01") == [a1.pk, b1.pk]
    body = error(c.get(f"{BASE}/cases?stage=bogus"), 422, "stage")
    assert body["fields"]["stage"][0].startswith("阶段：")
    error(c.get(f"{BASE}/cases?due_before=2026-02-30"), 422, "due_before")


def test_statistics_counts_the_admitted_and_writes_the_sentence(district):
    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=17, mentors=full_members(district.branch_b1), sponsors=full_members(district.branch_b1))
    open_case(admin, district.branch_a1, n=2)
    c = client_for(admin)
    r = c.get(f"{BASE}/statistics?start=2024-01-01&end=2026-12-31")
    assert r.status_code == 200, r.content
    stats = r.json()
    assert stats["applicants"] == 2 and stats["activists"] == 1 and stats["admitted"] == 1
    assert stats["women"] == 1 and stats["young"] == 1 and stats["college"] == 1
    assert stats["sentence"] == "审批发展党员1人，其中女性1人，35岁及以下1人，大专以上文化1人，“两新”组织0人"
    assert stats["org"] is None and stats["by_occupation"] == {"企事业单位、社会组织专业技术人员": 1}
    r = c.get(f"{BASE}/statistics?start=2024-01-01&end=2026-12-31&org={district.committee_a.pk}")
    assert r.json()["admitted"] == 0 and r.json()["applicants"] == 1
    assert r.json()["org"] == {"id": district.committee_a.pk, "name": "甲街道党工委"}
    error(c.get(f"{BASE}/statistics?start=2026-12-31&end=2026-01-01"), 422, "end")
    error(c.get(f"{BASE}/statistics?start=2026-01-01"), 422, "end")
    worker = client_for(district.users["branch_worker"])
    body = error(worker.get(f"{BASE}/statistics?start=2024-01-01&end=2026-12-31&org={district.branch_b1.pk}"),
                 404, "org")
    assert body["fields"]["org"][0].startswith("党组织：")


def test_my_cases_shows_the_person_their_own_progress(district):
    admin = district.users["district_admin"]
    applicant = make_user("applicant", display_name=person(7)["name"])
    mine = case_create(actor=admin, organization=district.branch_b1, data=person(7), applied_on=START, user=applicant)
    walk(admin, mine, until=2)
    open_case(admin, district.branch_a1, n=8)  # somebody else's
    r = client_for(applicant).get(f"{BASE}/my/cases")
    assert r.status_code == 200, r.content
    (case,) = r.json()
    assert case["id"] == mine.pk and case["organization"] == "第一中学党支部"
    assert [(s["number"], s["label"]) for s in case["steps"]] == [(1, "递交入党申请书"), (2, "党组织派人谈话")]
    assert case["next_step"]["number"] == 3 and case["stage"]["label"] == "入党申请人"
    assert "note" not in case["steps"][0] and "id_number_masked" not in case
    assert client_for(district.users["member"]).get(f"{BASE}/my/cases").json() == []
    assert client_for(applicant).get(f"{BASE}/cases/{mine.pk}").status_code == 404  # not in any scope of theirs
    error(Client().get(f"{BASE}/my/cases"), 401)


def test_once_admitted_the_member_still_reads_progress_not_the_workers_record(district):
    admin = district.users["district_admin"]
    b1 = district.branch_b1
    applicant = make_user("applicant", display_name=person(7)["name"])
    mine = case_create(actor=admin, organization=b1, data=person(7), applied_on=START, user=applicant)
    walk(admin, mine, until=17, mentors=full_members(b1), sponsors=full_members(b1))
    person_client = client_for(applicant)  # now a probationary member: the case is in their own scope
    (case,) = person_client.get(f"{BASE}/my/cases").json()
    assert case["stage"]["code"] == "probationary" and case["admitted_on"] == DATES[15].isoformat()
    assert case["steps"][-1]["label"] == "上级党委审批"
    error(person_client.get(f"{BASE}/cases/{mine.pk}"), 403)
    error(person_client.get(f"{BASE}/cases"), 403)


# --- bad input: the field named, nothing saved -----------------------------------------------------------

def test_creating_with_missing_fields_names_each_field(district):
    worker = client_for(district.users["branch_worker"])
    nothing = Nothing()
    payload = create_payload(district)
    del payload["name"], payload["applied_on"]
    body = error(worker.post(f"{BASE}/cases", payload, content_type=JSON), 422, "name", "applied_on")
    assert body["fields"]["name"] == ["姓名：必须填写"]
    assert body["fields"]["applied_on"] == ["递交申请日期：必须填写"]
    assert "姓名：必须填写" in body["message"]
    body = error(worker.post(f"{BASE}/cases", create_payload(district, name="   "), content_type=JSON), 422, "name")
    assert body["fields"]["name"] == ["姓名：不能为空"] and "姓名：不能为空" in body["message"]
    body = error(worker.post(f"{BASE}/cases", create_payload(district, education="99"), content_type=JSON),
                 422, "education")
    assert body["fields"]["education"] == ["学历：请选择"]
    body = error(worker.post(f"{BASE}/cases", create_payload(district, birthdate="1998-01-01"), content_type=JSON),
                 422, "birthdate")
    nothing.check()


def test_creating_with_a_bad_id_number_names_it(district):
    worker = client_for(district.users["branch_worker"])
    nothing = Nothing()
    number = person(1)["id_number"]
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    body = error(worker.post(f"{BASE}/cases", create_payload(district, id_number=bad), content_type=JSON),
                 422, "id_number")
    assert body["fields"]["id_number"][0].startswith("身份证号：") and "身份证号：" in body["message"]
    body = error(worker.post(f"{BASE}/cases", create_payload(district, id_number="123"), content_type=JSON),
                 422, "id_number")
    assert body["fields"]["id_number"][0].startswith("身份证号：")
    # under 18 on the day: the rule and its article
    young = create_payload(district, **person(2, born=dt.date(2010, 1, 1)))
    body = error(worker.post(f"{BASE}/cases", young, content_type=JSON), 422, "id_number")
    assert body["code"] == "rule" and body["rule"] == "recruitment.min_age" and "第一条" in body["article"]
    nothing.check()


def test_creating_outside_the_scope_or_without_the_right(district):
    nothing = Nothing()
    worker = client_for(district.users["branch_worker"])
    body = error(worker.post(f"{BASE}/cases", create_payload(district, organization=district.branch_b1.pk),
                             content_type=JSON), 404, "organization")
    assert body["fields"]["organization"][0].startswith("培养党组织：")
    error(client_for(district.users["member"]).post(f"{BASE}/cases", create_payload(district), content_type=JSON), 403)
    error(worker.post(f"{BASE}/cases", create_payload(district, applied_on="2099-01-01"), content_type=JSON), 422, "applied_on")
    nothing.check()
    assert worker.post(f"{BASE}/cases", create_payload(district), content_type=JSON).status_code == 201
    nothing = Nothing()
    body = error(worker.post(f"{BASE}/cases", create_payload(district), content_type=JSON), 422, "id_number")
    assert "正在进行" in body["fields"]["id_number"][0]
    nothing.check()


def test_a_step_out_of_order_is_refused_naming_the_step(district):
    case = open_case(district.users["district_admin"], district.branch_a1)
    worker = client_for(district.users["branch_worker"])
    nothing = Nothing()
    body = error(worker.post(f"{BASE}/cases/{case.pk}/steps",
                             {"number": 3, "on": DATES[3].isoformat(), "body": "branch_committee"},
                             content_type=JSON), 409, "number")
    assert body["fields"]["number"][0].startswith("步骤：请先完成") and "第2步" in body["fields"]["number"][0]
    assert "第2步" in body["message"]
    body = error(worker.post(f"{BASE}/cases/{case.pk}/steps", {"number": 1, "on": START.isoformat(),
                                                               "body": "applicant"}, content_type=JSON), 409, "number")
    body = error(worker.post(f"{BASE}/cases/{case.pk}/steps", talk(number=26), content_type=JSON), 422, "number")
    assert body["fields"]["number"] == ["步骤：不能大于25"]
    nothing.check()


def test_bad_step_input_names_the_field(district):
    case = open_case(district.users["district_admin"], district.branch_a1)
    worker = client_for(district.users["branch_worker"])
    url = f"{BASE}/cases/{case.pk}/steps"
    nothing = Nothing()
    body = error(worker.post(url, {"number": 2, "body": "branch"}, content_type=JSON), 422, "on")
    assert body["fields"]["on"] == ["日期：必须填写"]
    body = error(worker.post(url, talk(on="2024-13-01"), content_type=JSON), 422, "on")
    assert body["fields"]["on"][0].startswith("日期：日期格式不正确")
    body = error(worker.post(url, talk(details={}), content_type=JSON), 422, "talker")
    assert body["fields"]["talker"] == ["谈话人：请填写"]
    body = error(worker.post(url, talk(body="committee"), content_type=JSON), 422, "body")
    assert body["fields"]["body"][0].startswith("决定或办理主体：")
    body = error(worker.post(url, talk(on="2099-01-01"), content_type=JSON), 422, "on")
    body = error(worker.post(url, talk(details={"talker": "赵书记", "talkr": "x"}), content_type=JSON), 422, "details")
    assert "talkr" in body["fields"]["details"][0] and body["fields"]["details"][0].startswith("其他事项：")
    body = error(worker.post(url, talk(meeting_id=999999), content_type=JSON), 404, "meeting_id")
    assert body["fields"]["meeting_id"][0].startswith("会议：")
    error(worker.post(url, talk(voters_present=-1), content_type=JSON), 422, "voters_present")
    error(worker.post(url, talk(extra=1), content_type=JSON), 422, "extra")
    error(worker.post(url, "{not json", content_type=JSON), 422, "body")
    nothing.check()


def test_people_are_loaded_through_the_scope(district):
    admin = district.users["district_admin"]
    case = walk(admin, open_case(admin, district.branch_a1), until=4)
    worker = client_for(district.users["branch_worker"])
    url = f"{BASE}/cases/{case.pk}/steps"
    mentor = {"number": 5, "on": DATES[5].isoformat(), "body": "branch"}
    nothing = Nothing()
    body = error(worker.post(url, mentor | {"people": [district.member_b1.pk]}, content_type=JSON), 404, "people")
    assert body["fields"]["people"][0].startswith("培养联系人或入党介绍人：")
    body = error(worker.post(url, mentor | {"people": []}, content_type=JSON), 422, "people")
    assert body["rule"] == "recruitment.mentors" and body["article"] == REG_2014  # 2024: the 2014 text
    assert body["fields"]["people"][0].startswith("培养联系人：")
    nothing.check()
    r = worker.post(url, mentor | {"people": [district.member_a1.pk]}, content_type=JSON)
    assert r.status_code == 201, r.content
    assert r.json()["steps"][-1]["people"] == [{"role": {"code": "mentor", "label": "培养联系人"}, "name": "张三"}]


def test_a_committee_step_needs_the_committee(district):
    admin = district.users["district_admin"]
    case = walk(admin, open_case(admin, district.branch_a1), until=3)
    nothing = Nothing()
    filing = {"number": 4, "on": DATES[4].isoformat(), "body": "committee"}
    body = error(client_for(district.users["branch_worker"]).post(f"{BASE}/cases/{case.pk}/steps", filing,
                                                                    content_type=JSON), 403)
    assert "甲街道党工委" in body["message"]
    nothing.check()
    r = client_for(district.users["committee_admin"]).post(f"{BASE}/cases/{case.pk}/steps", filing, content_type=JSON)
    assert r.status_code == 201, r.content
    assert r.json()["steps"][-1]["acting_org"]["name"] == "甲街道党工委"


def test_a_vote_without_quorum_is_refused_with_rule_and_article(district):
    admin = district.users["district_admin"]
    b1 = district.branch_b1
    case = walk(admin, open_case(admin, b1), until=14, mentors=full_members(b1), sponsors=full_members(b1))
    c = client_for(admin)
    url = f"{BASE}/cases/{case.pk}/steps"
    vote = {"number": 15, "on": DATES[15].isoformat(), "body": "branch_general", "voters_expected": 10,
            "voters_present": 5, "written_opinions": 0, "yes": 5, "no": 0, "abstain": 0}
    nothing = Nothing()
    body = error(c.post(url, vote, content_type=JSON), 422, "voters_present")
    assert body["code"] == "rule" and body["rule"] == "recruitment.quorum" and body["article"] == REG_2014
    assert body["fields"]["voters_present"][0].startswith("实到会有表决权党员：") and "半数" in body["message"]
    body = error(c.post(url, vote | {"voters_present": 8, "yes": 5}, content_type=JSON), 422, "yes")
    assert body["rule"] == "recruitment.majority"
    body = error(c.post(url, {k: v for k, v in vote.items() if k != "voters_expected"}, content_type=JSON),
                 422, "voters_expected")
    assert body["fields"]["voters_expected"] == ["应到会有表决权党员：表决事项必须填写"]
    nothing.check()
    r = c.post(url, vote | {"voters_present": 8, "yes": 7, "no": 1}, content_type=JSON)
    assert r.status_code == 201, r.content
    step = r.json()["steps"][-1]
    assert (step["voters_expected"], step["voters_present"], step["yes"], step["no"]) == (10, 8, 7, 1)


def test_approval_without_an_approving_committee_names_the_rule(district):
    """支部A1's chain (甲街道党工委, 示范区委) has no 党委 with approval authority in the fixture (§22)."""
    admin = district.users["district_admin"]
    a1 = district.branch_a1
    case = walk(admin, open_case(admin, a1), until=12, mentors=full_members(a1), sponsors=full_members(a1))
    nothing = Nothing()
    body = error(client_for(admin).post(f"{BASE}/cases/{case.pk}/steps",
                                        {"number": 13, "on": DATES[13].isoformat(), "body": "committee"},
                                        content_type=JSON), 422, "number")
    assert body["rule"] == "recruitment.approval_authority" and body["article"] == REG_2014
    assert body["fields"]["number"][0].startswith("步骤：甲社区党支部没有具备审批预备党员权限的上级党委")
    nothing.check()


# --- scope ----------------------------------------------------------------------------------------------

def test_another_branch_case_is_404(district):
    admin = district.users["district_admin"]
    b1 = open_case(admin, district.branch_b1)
    worker = client_for(district.users["branch_worker"])
    nothing = Nothing()
    error(worker.get(f"{BASE}/cases/{b1.pk}"), 404)
    error(worker.post(f"{BASE}/cases/{b1.pk}/steps", talk(), content_type=JSON), 404)
    error(client_for(district.users["committee_admin"]).post(f"{BASE}/cases/{b1.pk}/steps", talk(),
                                                             content_type=JSON), 404)
    error(worker.get(f"{BASE}/cases/999999"), 404)
    assert worker.get(f"{BASE}/cases").json()["total"] == 0
    body = error(worker.get(f"{BASE}/cases?org={district.branch_b1.pk}"), 404, "org")
    assert body["fields"]["org"][0].startswith("党组织：")
    nothing.check()


# --- queries --------------------------------------------------------------------------------------------

LIST_QUERIES = 5  # the token, the caller's grants and member record, the count, the page (with its joins)


def test_list_queries_do_not_grow_with_the_cases(district, django_assert_max_num_queries):
    admin = district.users["district_admin"]
    c = client_for(admin)
    open_case(admin, district.branch_a1, n=1)
    c.get(f"{BASE}/cases")  # the token's first use is stamped once an hour: not part of the count
    with django_assert_max_num_queries(LIST_QUERIES):
        assert c.get(f"{BASE}/cases").json()["total"] == 1
    for n in range(2, 6):
        open_case(admin, district.branch_a1 if n % 2 else district.branch_b1, n=n)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert c.get(f"{BASE}/cases").json()["total"] == 5
    with django_assert_max_num_queries(LIST_QUERIES + 1):  # + the organisation of the filter
        r = c.get(f"{BASE}/cases?org={district.committee_a.pk}&due_before=2099-01-01&stage=applicant")
    assert r.json()["total"] == 3


def test_detail_queries_do_not_grow_with_the_steps(district, django_assert_max_num_queries):
    admin = district.users["district_admin"]
    b1 = district.branch_b1
    short = open_case(admin, b1, n=1)
    long = walk(admin, open_case(admin, b1, n=2), until=9, mentors=full_members(b1), sponsors=full_members(b1))
    c = client_for(admin)
    c.get(f"{BASE}/cases/{short.pk}")
    for case, steps in ((short, 1), (long, 10)):
        # the token, grants, member; the case; its steps, their people and documents; the local practices
        with django_assert_max_num_queries(8):
            r = c.get(f"{BASE}/cases/{case.pk}")
        assert len(r.json()["steps"]) == steps
