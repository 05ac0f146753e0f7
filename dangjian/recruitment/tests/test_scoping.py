"""The recruitment scoping table (ARCHITECTURE §5): page or endpoint × role × which case → expected status,
written out by hand; a denied write changes nothing and logs no `recruitment.*` act as done.

Cases are opened by the district admin with `open_case`, and named from the branch worker's side: `own` in
支部A1 (their branch; the committee admin's 党工委A and the district admin sit on its ancestors), `sibling` in
支部A2 (same 党工委A), `other` in 支部B1 (under 区教育局党委, the one committee with approval authority), and
`own_activist`, a second A1 case at step 3, waiting for the 上级党委's filing (step 4: 甲街道党工委's act).
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dangjian.accounts.services import api_token_create
from dangjian.audit.models import AuditEntry
from dangjian.core.scoping import system_scope
from dangjian.recruitment.models import CaseDocument, DocumentKind, RecruitmentCase, RecruitmentStep
from dangjian.recruitment.services import document_add
from dangjian.recruitment.tests.factories import START, open_case, person, schedule, walk
from dangjian.testing import client_as, scoping_params

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member", "nobody",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302  # a page sends the anonymous to the login form
DATES = schedule(START)
JSON = "application/json"


def pdf(name="入党申请书.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 test", content_type="application/pdf")


@pytest.fixture
def world(district, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploaded files of these tests go away with them
    admin = district.users["district_admin"]
    district.cases = {
        "own": open_case(admin, district.branch_a1, n=1),
        "sibling": open_case(admin, district.branch_a2, n=2),
        "other": open_case(admin, district.branch_b1, n=3),
        "own_activist": walk(admin, open_case(admin, district.branch_a1, n=4), until=3),
    }
    district.documents = {rel: document_add(actor=admin, case=district.cases[rel], kind=DocumentKind.APPLICATION,
                                            upload=pdf()) for rel in ("own", "other")}
    return district


def api_client(district, role: str) -> Client:
    if role == "anonymous":
        return Client()
    _, plain = api_token_create(actor=district.users[role], user=district.users[role], name="测试")
    return Client(headers={"authorization": f"Bearer {plain}"})


def state():
    """What a write may change: the cases, their step records, and the recruitment acts logged as done."""
    with system_scope("test: snapshot"):
        return (list(RecruitmentCase.unscoped.order_by("pk").values_list("pk", "status", "stage", "next_step",
                                                                          "organization_id")),
                list(RecruitmentStep.objects.order_by("pk").values_list("pk", "case_id", "number")),
                list(CaseDocument.objects.order_by("pk").values_list("pk", "case_id")),
                AuditEntry.objects.filter(action__startswith="recruitment.", success=True).count())


# --- the API ---------------------------------------------------------------------------------------------

def api(path):
    return lambda d, rel: f"/api/v1/recruitment{path}"


def api_case(suffix=""):
    return lambda d, rel: f"/api/v1/recruitment/cases/{d.cases[rel].pk}{suffix}"


def stats_of(d, rel):
    org = d.cases[rel].organization_id
    return f"/api/v1/recruitment/statistics?start=2024-01-01&end=2026-12-31&org={org}"


#                                                              anon  dist  comm  work  memb  nob   sys   sec   aud
API_GET = [
    ("api cases", api("/cases"), None, (401, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("api case", api_case(), "own", (401, 200, 200, 200, 404, 404, 404, 404, 404)),
    ("api case", api_case(), "sibling", (401, 200, 200, 404, 404, 404, 404, 404, 404)),
    ("api case", api_case(), "other", (401, 200, 404, 404, 404, 404, 404, 404, 404)),
    ("api statistics", api("/statistics?start=2024-01-01&end=2026-12-31"), None,
     (401, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("api statistics of", stats_of, "own", (401, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("api statistics of", stats_of, "other", (401, 200, 404, 404, 403, 403, 403, 403, 403)),
    ("api my cases", api("/my/cases"), None, (401, 200, 200, 200, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(API_GET, ROLES)))
def test_api_get(world, case, role, expected):
    label, url, rel, _ = case
    response = api_client(world, role).get(url(world, rel))
    assert response.status_code == expected, response.content.decode()[:300]
    body = response.json()
    if expected == 200 and label == "api case":
        assert body["id"] == world.cases[rel].pk and body["name"] == world.cases[rel].name
    if expected != 200:
        assert set(body) >= {"code", "message", "fields"}


VISIBLE = {"district_admin": {"own", "sibling", "other", "own_activist"},
           "committee_admin": {"own", "sibling", "own_activist"}, "branch_worker": {"own", "own_activist"}}


@pytest.mark.parametrize("role", VISIBLE)
def test_api_list_holds_only_the_scope(world, role):
    body = api_client(world, role).get("/api/v1/recruitment/cases").json()
    assert {item["id"] for item in body["items"]} == {world.cases[rel].pk for rel in VISIBLE[role]}
    assert body["total"] == len(VISIBLE[role])


def create_in(rel_org):
    def payload(d, rel):
        return {"organization": getattr(d, rel_org).pk, "applied_on": START.isoformat(), **person(11)}
    return payload


def talk(d, rel):
    return {"number": 2, "on": DATES[2].isoformat(), "body": "branch", "details": {"talker": "赵书记"}}


def filing(d, rel):
    return {"number": 4, "on": DATES[4].isoformat(), "body": "committee"}


#                                                                        anon  dist  comm  work  memb  nob   sys   sec   aud
API_WRITE = [
    ("api create", api("/cases"), "own", create_in("branch_a1"), (401, 201, 201, 201, 403, 403, 403, 403, 403)),
    ("api create", api("/cases"), "other", create_in("branch_b1"), (401, 201, 404, 404, 403, 403, 403, 403, 403)),
    ("api step", api_case("/steps"), "own", talk, (401, 201, 201, 201, 404, 404, 404, 404, 404)),
    ("api step", api_case("/steps"), "sibling", talk, (401, 201, 201, 404, 404, 404, 404, 404, 404)),
    ("api step", api_case("/steps"), "other", talk, (401, 201, 404, 404, 404, 404, 404, 404, 404)),
    # the 上级党委's filing: 甲街道党工委's act, not the branch worker's (403 inside the scope)
    ("api committee step", api_case("/steps"), "own_activist", filing,
     (401, 201, 201, 403, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(API_WRITE, ROLES)))
def test_api_write(world, case, role, expected):
    _, url, rel, payload, _ = case
    client = api_client(world, role)
    before = state()
    response = client.post(url(world, rel), payload(world, rel), content_type=JSON)
    assert response.status_code == expected, response.content.decode()[:300]
    if expected == 201:
        assert state() != before
        assert AuditEntry.objects.filter(action__startswith="recruitment.", success=True).count() > before[-1]
    else:
        assert set(response.json()) >= {"code", "message", "fields"}
        assert state() == before, "a denied write changes nothing and logs nothing as done"


# --- the pages -------------------------------------------------------------------------------------------

def page(name):
    return lambda d, rel: reverse(name)


def case_page(name, *args):
    return lambda d, rel: reverse(name, args=[d.cases[rel].pk, *args])


def document_file(d, rel):
    return reverse("recruitment:document_file", args=[d.cases[rel].pk, d.documents[rel].pk])


#                                                                   anon   dist  comm  work  memb  nob   sys   sec   aud
PAGE_GET = [
    ("mine", page("recruitment:mine"), None, (LOGIN, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("list", page("recruitment:list"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("create form", page("recruitment:create"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("due", page("recruitment:due"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("plans", page("recruitment:plans"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 403)),
    ("queue", page("recruitment:queue"), None, (LOGIN, 200, 200, 403, 403, 403, 403, 403, 403)),
    ("practice", page("recruitment:practice"), None, (LOGIN, 200, 200, 403, 403, 403, 403, 403, 403)),
    ("detail", case_page("recruitment:detail"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404, 404)),
    ("detail", case_page("recruitment:detail"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404, 404)),
    ("detail", case_page("recruitment:detail"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404, 404)),
    ("step form", case_page("recruitment:step", 2), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404, 404)),
    ("step form", case_page("recruitment:step", 2), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404, 404)),
    ("committee step form", case_page("recruitment:step", 4), "own_activist",
     (LOGIN, 200, 200, 403, 404, 404, 404, 404, 404)),
    ("dossier", case_page("recruitment:dossier"), "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404, 404)),
    ("dossier", case_page("recruitment:dossier"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404, 404)),
    ("document file", document_file, "own", (LOGIN, 200, 200, 200, 404, 404, 404, 404, 404)),
    ("document file", document_file, "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(PAGE_GET, ROLES)))
def test_page_get(client, world, case, role, expected):
    _, url, rel, _ = case
    response = client_as(client, world, role).get(url(world, rel))
    if response.streaming:  # a file: read it and close it
        assert b"".join(response.streaming_content).startswith(b"%PDF")
        response.close()
    assert response.status_code == expected
    if expected == 200 and rel and "html" in response["Content-Type"]:
        assert world.cases[rel].name in response.content.decode()


def step_form(d, rel):
    return {"on": DATES[2].isoformat(), "body": "branch", "talker": "赵书记"}


def end_form(d, rel):
    return {"end-on": timezone.localdate().isoformat(), "end-reason": "本人撤回申请"}  # EndForm's prefix "end"


def move_form(d, rel):
    return {"move-to": d.branch_a2.pk, "move-on": timezone.localdate().isoformat()}  # MoveForm's prefix "move"


def upload_form(d, rel):
    return {"kind": DocumentKind.THOUGHT_REPORT, "file": pdf("思想汇报.pdf")}


def create_form(d, rel):
    return {"organization": d.branch_a1.pk, "applied_on": START.isoformat(), "ethnicity": "01", **person(12)}


#                                                                                  anon   dist  comm  work  memb  nob   sys   sec   aud
PAGE_WRITE = [
    ("create", page("recruitment:create"), None, create_form, (LOGIN, 302, 302, 302, 403, 403, 403, 403, 403)),
    ("step", case_page("recruitment:step", 2), "own", step_form, (LOGIN, 302, 302, 302, 404, 404, 404, 404, 404)),
    ("step", case_page("recruitment:step", 2), "other", step_form, (LOGIN, 302, 404, 404, 404, 404, 404, 404, 404)),
    ("end", case_page("recruitment:end"), "own", end_form, (LOGIN, 302, 302, 302, 404, 404, 404, 404, 404)),
    ("end", case_page("recruitment:end"), "sibling", end_form, (LOGIN, 302, 302, 404, 404, 404, 404, 404, 404)),
    ("end", case_page("recruitment:end"), "other", end_form, (LOGIN, 302, 404, 404, 404, 404, 404, 404, 404)),
    # the branch worker may not place a case in the sibling branch: the form refuses the choice (nothing moves)
    ("move", case_page("recruitment:move"), "own", move_form, (LOGIN, 302, 302, 422, 404, 404, 404, 404, 404)),
    ("move", case_page("recruitment:move"), "other", move_form, (LOGIN, 302, 404, 404, 404, 404, 404, 404, 404)),
    ("upload", case_page("recruitment:document"), "own", upload_form,
     (LOGIN, 302, 302, 302, 404, 404, 404, 404, 404)),
    ("upload", case_page("recruitment:document"), "other", upload_form,
     (LOGIN, 302, 404, 404, 404, 404, 404, 404, 404)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(PAGE_WRITE, ROLES)))
def test_page_write(client, world, case, role, expected):
    _, url, rel, data, _ = case
    c = client_as(client, world, role)
    before = state()
    response = c.post(url(world, rel), data(world, rel))
    assert response.status_code == expected, response.content.decode()[:500]
    if expected == 302 and role != "anonymous":
        assert state() != before
    else:
        assert state() == before, "a denied write changes nothing and logs nothing as done"
