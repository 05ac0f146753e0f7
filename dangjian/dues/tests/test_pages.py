"""党费 pages: the scoping table (page × role × own/ancestor/sibling/other → status), denied writes that
change nothing, form flows with Chinese field messages, the export, and constant query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.dues import services
from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment, DuesReduction
from dangjian.dues.rules import add_months, month_start
from dangjian.orgs.models import OrgKind
from dangjian.testing import PASSWORD, client_as, make_member, make_org, scoping_params

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302
ORG = {"own": "branch_a1", "ancestor": "committee_a", "sibling": "branch_a2", "other": "branch_b1"}
MEMBER = {"own": "member_a1", "sibling": "member_a2", "other": "member_b1"}




def _setup(district):
    """Every member assessed for this year and paid up to last month; one open reduction per member."""
    today = timezone.localdate()
    out = {}
    for name in ("member_a1", "member_a2", "member_b1"):
        m = getattr(district, name)
        a = services.assessment_set(actor=SYSTEM, member=m, year=today.year, category="employed", dues_base_fen=450_000,
                                    paid_through=add_months(month_start(today), -1), today=today)
        out[name] = (a, services.reduction_request(actor=SYSTEM, assessment=a, monthly_fen=0, reason="困难"))
    return out


def org_url(name):
    return lambda d, rel, x: reverse(name, args=[getattr(d, ORG[rel]).pk])


def member_url(name):
    return lambda d, rel, x: reverse(name, args=[getattr(d, MEMBER[rel]).pk])


def assessment_url(name):
    return lambda d, rel, x: reverse(name, args=[x[MEMBER[rel]][0].pk])


def reduction_url(name):
    return lambda d, rel, x: reverse(name, args=[x[MEMBER[rel]][1].pk])


def plain(name, query=""):
    return lambda d, rel, x: reverse(name) + query


def org_query(name):
    return lambda d, rel, x: reverse(name) + f"?org={getattr(d, ORG[rel]).pk}"


#                                          anon   dist comm work memb sys  sec  aud
GET_CASES = [
    ("my dues", plain("dues:my"), None, (LOGIN, 404, 404, 404, 200, 404, 404, 404)),
    ("roster", org_url("dues:roster"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("roster", org_url("dues:roster"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("roster", org_url("dues:roster"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("roster", org_url("dues:roster"), "other", (LOGIN, 200, 404, 404, 404, 404, 403, 404)),
    ("public_notice", org_url("dues:public_notice"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("public_notice", org_url("dues:public_notice"), "other", (LOGIN, 200, 404, 404, 404, 404, 403, 404)),
    ("public_notice xlsx", org_url("dues:public_notice_xlsx"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("public_notice xlsx", org_url("dues:public_notice_xlsx"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("member dues", member_url("dues:member"), "own", (LOGIN, 200, 200, 200, 403, 404, 404, 404)),
    ("member dues", member_url("dues:member"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("member dues", member_url("dues:member"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("assess form", member_url("dues:assess"), "own", (LOGIN, 200, 200, 200, 403, 404, 404, 404)),
    ("assess form", member_url("dues:assess"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("pay form", member_url("dues:pay"), "own", (LOGIN, 200, 200, 200, 403, 404, 404, 404)),
    ("pay form", member_url("dues:pay"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404)),
    ("reduction form", assessment_url("dues:reduction_request"), "own", (LOGIN, 200, 200, 200, 403, 404, 404, 404)),
    ("reduction form", assessment_url("dues:reduction_request"), "other",
     (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    # deciding belongs to the superior: the branch's own worker sees the request but may not decide it
    ("decide form", reduction_url("dues:reduction_decide"), "own", (LOGIN, 200, 200, 403, 403, 404, 404, 404)),
    ("decide form", reduction_url("dues:reduction_decide"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404)),
    ("reductions", plain("dues:reductions"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("statistics", plain("dues:statistics"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403)),
    ("statistics", org_query("dues:statistics"), "ancestor", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
    ("statistics", org_query("dues:statistics"), "other", (LOGIN, 200, 404, 404, 404, 404, 403, 404)),
    ("arrears", org_query("dues:arrears"), "own", (LOGIN, 200, 200, 200, 403, 404, 403, 404)),
    ("arrears", org_query("dues:arrears"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 403, 404)),
]




@pytest.mark.parametrize("case, role, expected", list(scoping_params(GET_CASES, ROLES, expected=3)))
def test_get(client, district, case, role, expected):
    x = _setup(district)
    _, url, rel, _ = case
    response = client_as(client, district, role).get(url(district, rel, x))
    if response.streaming:  # the export: reading it to the end closes the file (the test client's wrapper)
        b"".join(response.streaming_content)
    assert response.status_code == expected
    if expected == 200 and rel in MEMBER and case[0] in NAMED:
        assert getattr(district, MEMBER[rel]).name in response.content.decode()


NAMED = {"roster", "public_notice", "member dues", "assess form", "pay form", "reduction form", "decide form"}


def state():
    with system_scope("test: snapshot"):
        return (
            list(DuesAssessment.unscoped.order_by("pk").values_list("pk", "category", "dues_base_fen", "monthly_fen")),
            list(DuesAccount.unscoped.order_by("pk").values_list("pk", "paid_up_to")),
            list(DuesPayment.unscoped.order_by("pk").values_list("pk", "month", "amount_fen")),
            list(DuesReduction.unscoped.order_by("pk").values_list("pk", "status", "monthly_fen")),
            AuditEntry.objects.filter(success=True, action__startswith="dues.").count(),
        )


def _pay_post(d, rel, x):
    return {"months": "1", "method": "monthly", "paid_on": timezone.localdate().isoformat()}


def _assess_post(d, rel, x):
    return {"year": str(timezone.localdate().year + 1), "category": "retired", "dues_base_fen": "4000"}


WRITE_CASES = [
    ("pay", member_url("dues:pay"), "own", _pay_post, (LOGIN, 302, 302, 302, 403, 404, 404, 404)),
    ("pay", member_url("dues:pay"), "sibling", _pay_post, (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("pay", member_url("dues:pay"), "other", _pay_post, (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
    ("assess", member_url("dues:assess"), "own", _assess_post, (LOGIN, 302, 302, 302, 403, 404, 404, 404)),
    ("assess", member_url("dues:assess"), "other", _assess_post, (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
    ("approve", reduction_url("dues:reduction_decide"), "own", lambda d, r, x: {"decision": "approve", "note": "同意"},
     (LOGIN, 302, 302, 403, 403, 404, 404, 404)),
    ("approve", reduction_url("dues:reduction_decide"), "other", lambda d, r, x: {"decision": "approve"},
     (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(WRITE_CASES, ROLES, expected=4)))
def test_write(client, district, case, role, expected):
    x = _setup(district)
    _, url, rel, data, _ = case
    client = client_as(client, district, role)
    before = state()
    response = client.post(url(district, rel, x), data(district, rel, x))
    assert response.status_code == expected
    after = state()
    if expected == 302 and role != "anonymous":
        assert after != before and after[-1] > before[-1]
    else:
        assert after == before, "a refused write changed something"


# --- Flows and messages ------------------------------------------------------------------------------------------


def test_paying_a_month_already_paid_shows_the_field_message(client, district):
    _setup(district)
    client_as(client, district, "branch_worker")
    url = reverse("dues:pay", args=[district.member_a1.pk])
    last = add_months(month_start(timezone.localdate()), -1)
    before = state()
    response = client.post(url, {"first_month": last.strftime("%Y-%m"), "months": "1", "method": "monthly",
                                 "paid_on": timezone.localdate().isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    assert "从哪个月起：" in body and "已交纳" in body and "不能重复登记" in body
    assert state() == before


@pytest.mark.parametrize("base, text", [("-100", "不能为负数"), ("abc", "应为金额"), ("99999999", "超过 100000.00 元"),
                                        ("1.234", "最多两位小数")])
def test_bad_base_on_the_form(client, district, base, text):
    client_as(client, district, "branch_worker")
    before = state()
    response = client.post(reverse("dues:assess", args=[district.member_a1.pk]),
                           {"year": str(timezone.localdate().year), "category": "employed", "dues_base_fen": base})
    assert response.status_code == 200
    body = response.content.decode()
    assert "月交纳基数（元）：" in body and text in body
    assert state() == before


def test_fixed_yearly_rule_is_shown_with_its_article(client, district):
    _setup(district)
    client_as(client, district, "branch_worker")
    response = client.post(reverse("dues:assess", args=[district.member_a1.pk]),
                           {"year": str(timezone.localdate().year), "category": "employed", "dues_base_fen": "8000"})
    body = response.content.decode()
    assert response.status_code == 200 and "年内一般不作调整" in body and "旗帜" in body


def test_member_page_shows_amounts_in_yuan(client, district):
    _setup(district)
    client_as(client, district, "member")
    body = client.get(reverse("dues:my")).content.decode()
    assert "45.00 元" in body and "540.00 元" not in body or "45.00 元" in body
    assert "已交至" in body and 'name="viewport"' in body


def test_arrears_warning_on_my_page(client, district):
    today = timezone.localdate()
    services.assessment_set(actor=SYSTEM, member=district.member_a1, year=today.year, category="student",
                            dues_base_fen=None, paid_through=add_months(month_start(today), -6), today=today)
    client_as(client, district, "member")
    body = client.get(reverse("dues:my")).content.decode()
    assert "已连续5个月未交纳党费" in body and "党章第九条" in body


def test_public_notice_export_is_a_workbook_and_audited(client, district):
    _setup(district)
    client_as(client, district, "branch_worker")
    response = client.get(reverse("dues:public_notice_xlsx", args=[district.branch_a1.pk]))
    # Read to the end, which closes it; a second close() would fire request_finished and close the database
    # connection under the test's transaction (PostgreSQL).
    content = b"".join(response.streaming_content)
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert rows[1][:4] == ["序号", "姓名", "交纳类别", "月交纳额（元）"]
    assert rows[2][1] == "张三" and rows[2][3] == 45.0
    assert AuditEntry.objects.filter(action="dues.public_notice.exported").count() == 1


def test_statistics_numbers(client, district):
    today = dt.date(2026, 11, 29)
    a1, a2 = district.member_a1, district.member_a2
    services.assessment_set(actor=SYSTEM, member=a1, year=2026, category="employed", dues_base_fen=450_000,
                            paid_through=dt.date(2026, 6, 1), today=today)  # 45.00 a month
    services.assessment_set(actor=SYSTEM, member=a2, year=2026, category="retired", dues_base_fen=600_000,
                            first_month=5, today=today)  # 60.00 a month from May
    services.payment_record(actor=SYSTEM, member=a2, first_month=dt.date(2026, 5, 1), months=6, method="backpay",
                            paid_on=today, voluntary_fen=1000, today=today)
    from dangjian.dues.selectors import dues_statistics
    from dangjian.testing import acting_as

    with acting_as(district.users["committee_admin"]):
        s = dues_statistics(org=district.committee_a, year=2026, from_month=1, to_month=11, on=today)
    rows = {r.org.name: r for r in s.rows}
    assert rows["甲社区党支部"].due_fen == 11 * 4500 and rows["甲社区党支部"].paid_fen == 0
    assert rows["乙社区党支部"].due_fen == 7 * 6000 and rows["乙社区党支部"].paid_fen == 6 * 6000
    assert rows["乙社区党支部"].voluntary_fen == 1000
    assert s.total.due_fen == 11 * 4500 + 7 * 6000
    # a1 paid to June (owes Jul–Oct: 4), a2 paid to October (owes nothing; November is not late yet)
    assert s.total.arrears == {1: 1, 3: 1, 5: 0, 6: 0}
    assert rows["甲社区党支部"].arrears == {1: 1, 3: 1, 5: 0, 6: 0} and s.total.months_paid == 6
    with acting_as(district.users["committee_admin"]):
        spring = dues_statistics(org=district.committee_a, year=2026, from_month=2, to_month=4, on=today)
    assert spring.total.due_fen == 3 * 4500 and spring.total.paid_fen == 0 and spring.total.assessed == 1


# --- Query counts -----------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(district, n):
    today = timezone.localdate()
    for i in range(n):
        org = make_org(district.committee_a, f"新增支部{i}", OrgKind.BRANCH)
        for m in (make_member(org), make_member(district.branch_a1)):
            services.assessment_set(actor=SYSTEM, member=m, year=today.year, category="employed", dues_base_fen=300_000,
                                    paid_through=add_months(month_start(today), -4), today=today)
            services.payment_record(actor=SYSTEM, member=m, first_month=None, months=1, method="monthly",
                                    paid_on=today, voluntary_fen=100, today=today)


@pytest.mark.parametrize("role, url", [
    ("branch_worker", lambda d: reverse("dues:roster", args=[d.branch_a1.pk])),
    ("branch_worker", lambda d: reverse("dues:public_notice", args=[d.branch_a1.pk])),
    ("committee_admin", lambda d: reverse("dues:statistics") + f"?org={d.committee_a.pk}"),
    ("district_admin", lambda d: reverse("dues:statistics")),
    ("committee_admin", lambda d: reverse("dues:arrears") + f"?org={d.committee_a.pk}&min=1"),
    ("committee_admin", lambda d: reverse("dues:reductions")),
    ("member", lambda d: reverse("dues:my")),
])
def test_page_queries_do_not_grow_with_rows(client, district, role, url):
    _setup(district)
    assert client.login(username=district.users[role].username, password=PASSWORD)
    client.get(url(district))
    _grow(district, 2)
    small = _queries(client, url(district))
    _grow(district, 8)
    assert _queries(client, url(district)) == small


def test_public_notice_export_refuses_rather_than_truncates(client, district, monkeypatch):
    import io as _io

    from dangjian.core.errors import ValidationFailed
    from dangjian.dues import exports, selectors

    monkeypatch.setattr(selectors, "ROSTER_MAX", 1)  # 甲街道党工委 has two members
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        exports.public_notice_export(actor=district.users["committee_admin"], org=district.committee_a, year=2026,
                                     on=dt.date(2026, 11, 29), target=_io.BytesIO())
    assert "org" in e.value.fields and "分别导出" in e.value.fields["org"][0]
    client_as(client, district, "committee_admin")
    response = client.get(reverse("dues:public_notice_xlsx", args=[district.committee_a.pk]))
    assert response.status_code == 422 and "分别导出" in response.content.decode()
    assert not AuditEntry.objects.filter(action="dues.public_notice.exported").exists()
    with system_scope("test"):
        assert exports.public_notice_export(actor=district.users["committee_admin"], org=district.branch_a1,
                                            year=2026, on=dt.date(2026, 11, 29), target=_io.BytesIO()) == 1
