"""Every operation of /api/v1, as everyone who must not see 支部A1's data (issue 9: the scoping table covers
every endpoint). The per-app tables (test_scoping.py here, recruitment/tests/test_scoping.py, each app's
test_api.py) say role by role what each endpoint answers; this one only says that nothing of A1 leaks, but
for ALL operations the OpenAPI document lists, so an endpoint added without scoping fails here.

One real object of every kind a path addresses by `{id}` is built in A1 (or owned by A1's member); ID_PATHS
maps each `{id}` path to one of them, and `test_the_tables_cover_the_document` fails until a new path, a new
body or a new required query parameter is added to the tables below. Then every operation is called with a
token as each outsider (and anonymously), naming A1's objects in the path, in the filters and in the body:
  - anonymous: 401 everywhere (the document has no public operation);
  - others: 403 or 404; 422 only where VALIDATION_FIRST says why; 2xx only for reads, and then the body
    holds nothing of A1 (no id of A1's objects, none of their names, and the same body as before A1's
    objects existed, so a count of them in a statistic shows too), except the documented EXCEPTIONS;
  - nothing changed: every row of every table and the audit log are as before.
The A1 branch worker reading the same ids gets 200, so the 404s above are about scope, not bad ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from dangjian import testing_world
from dangjian.api.api import api
from dangjian.core.validators import build_id_number
from dangjian.testing_world import World, build_a1, everything, world_before

from .conftest import JSON, token_client

PREFIX = "/api/v1"
OUTSIDERS = ("anonymous", "nobody", "system_admin", "security_admin", "audit_admin", "worker_b1")

# --- A1's objects (dangjian/testing_world.py, shared with the page test) -----------------------------------

outsiders = testing_world.outsiders
forget_public_choices = testing_world.forget_public_choices  # autouse


# --- the tables ------------------------------------------------------------------------------------------

# Path prefix → the kind of A1 object its `{id}` names. The longest matching prefix wins.
ID_PATHS = {
    "/organizations/{id}": "organization",
    "/members/{id}": "member",
    "/meetings/{id}": "meeting",
    "/meetings/mine/{id}": "meeting",
    "/dues/members/{id}": "member",
    "/dues/organizations/{id}": "organization",
    "/dues/reductions/{id}": "reduction",
    "/transfers/{id}": "transfer",
    "/transfers/mobile/{id}": "mobile",
    "/bases/sites/{id}": "site",
    "/bases/slots/{id}": "slot",
    "/bases/reservations/{id}": "reservation",
    "/recruitment/cases/{id}": "case",
}


class A1:
    """A placeholder in a query or body: the id of A1's object of `kind` (or of the district's organisation
    of that name, such as "committee_b"), filled in per world."""

    def __init__(self, kind: str):
        self.kind = kind


def fill(value, w: World):
    if isinstance(value, A1):
        if value.kind in w.ids:
            return w.ids[value.kind]
        return w.assessment if value.kind == "assessment" else getattr(w.district, value.kind).pk
    if isinstance(value, dict):
        return {k: fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, w) for v in value]
    return value


def needs(value) -> set[str]:
    """The kinds of A1 object a query or body names."""
    if isinstance(value, A1):
        return {value.kind}
    if isinstance(value, dict):
        return set().union(*(needs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(needs(v) for v in value))
    return set()


TODAY = timezone.localdate()
PERIOD = {"start": "2024-01-01", "end": (TODAY + dt.timedelta(days=60)).isoformat()}  # covers A1's objects' dates

# Query variants per (method, path): the bare call (required parameters filled in) and one naming A1 in each
# filter that takes an id or a name. Anything not listed is called once, without a query.
QUERIES = {
    ("GET", "/organizations"): [{}, {"under": A1("organization")}, {"q": "甲社区"}],
    ("GET", "/members"): [{}, {"org": A1("organization")}, {"q": "张三"}],
    ("GET", "/meetings"): [{}, {"org": A1("organization")}],
    ("GET", "/meetings/compliance"): [{"org": A1("organization"), **PERIOD}],
    ("GET", "/meetings/statistics"): [{"org": A1("organization"), **PERIOD}],
    ("GET", "/dues/statistics"): [{}, {"org": A1("organization")}],
    ("GET", "/dues/arrears"): [{"min_months": 1}, {"org": A1("organization"), "min_months": 1}],
    ("GET", "/transfers/statistics"): [PERIOD, {"org": A1("organization"), **PERIOD}],
    ("GET", "/bases/reservations"): [{}, {"site": A1("site")}],
    ("GET", "/bases/statistics"): [{"org": A1("organization"), "first": PERIOD["start"], "last": PERIOD["end"]}],
    ("GET", "/recruitment/cases"): [{}, {"org": A1("organization")}, {"q": "甲一申请人"},
                                    {"due_before": "2099-12-31"}],
    ("GET", "/recruitment/statistics"): [PERIOD, {"org": A1("organization"), **PERIOD}],
}

# A plausible body for every operation that takes one, naming A1's objects wherever the input names one, so
# each lookup in the body is exercised too. A new write operation fails the coverage test until added here.
_LATER = (TODAY + dt.timedelta(days=5)).isoformat()
BODIES = {
    ("POST", "/organizations"): {"parent": A1("organization"), "name": "外人新建党小组", "kind": "party_group"},
    ("PATCH", "/organizations/{id}"): {"name": "外人改名"},
    ("POST", "/members"): {"organization": A1("organization"), "name": "外人新增党员", "status": "full",
                           "id_number": build_id_number("110105", dt.date(1990, 1, 1), 5, "male"), "education": "21",
                           "occupation": "professional", "joined_on": "2015-07-01", "confirmed_on": "2016-07-01"},
    ("PATCH", "/members/{id}"): {"work_unit": "外人改了"},
    ("POST", "/members/{id}/reveal"): {"field": "id_number"},
    ("POST", "/meetings"): {"organization": A1("organization"), "title": "外人会议", "kinds": ["general_meeting"],
                            "starts_at": f"{_LATER}T09:00:00", "place": "外人会议室"},
    ("POST", "/meetings/{id}/notify"): {},
    ("POST", "/meetings/{id}/record"): {"held_at": f"{TODAY.isoformat()}T09:00:00", "chair": "外人", "recorder": "外人",
                                        "minutes": "外人记录", "attendance": [{"member_id": A1("member"), "present": True}]},
    ("POST", "/dues/members/{id}/assessments"): {"year": TODAY.year, "category": "retired", "dues_base_fen": 300_000,
                                                 "correction": True, "note": "外人核定"},
    ("POST", "/dues/members/{id}/payments"): {"months": 1, "method": "monthly", "paid_on": TODAY.isoformat()},
    ("POST", "/dues/reductions"): {"assessment": A1("assessment"), "monthly_fen": 0, "reason": "外人申请"},
    ("POST", "/dues/reductions/{id}/decision"): {"decision": "approve", "note": "外人批准"},
    ("POST", "/transfers"): {"member": A1("member"), "kind": "out", "to_external": "外省某党委", "reason": "外人发起"},
    ("POST", "/transfers/incoming"): {"to_org": A1("organization"), "person_name": "外来人",
                                      "id_number": build_id_number("110105", dt.date(1991, 5, 6), 9, "male"),
                                      "from_external": "外省某党委", "letter_number": "外-0001", "valid_until": _LATER},
    ("POST", "/transfers/whole-unit"): {"unit": A1("organization"), "to_parent": A1("committee_b"), "reason": "外人整建制"},
    ("POST", "/transfers/mobile"): {"member": A1("member"), "left_on": "2025-01-01", "destination": "外人外出地",
                                    "contact": "13900004444"},
    ("POST", "/transfers/mobile/{id}/contact"): {"report": True},
    ("POST", "/transfers/mobile/{id}/end"): {"reason": "外人结束"},
    ("POST", "/transfers/{id}/{action}"): {"reason": "外人办理", "valid_days": 30},
    ("POST", "/bases/sites"): {"organization": A1("organization"), "name": "外人阵地", "kind": "activity_base",
                               "address": "外人路1号", "opens_at": "09:00", "closes_at": "17:00", "capacity": 20},
    ("PATCH", "/bases/sites/{id}"): {"name": "外人改名"},
    ("POST", "/bases/sites/{id}/slots"): {"first": _LATER, "last": _LATER, "times": "09:00-11:00"},
    ("POST", "/bases/slots/{id}/close"): {"reason": "外人关闭"},
    ("POST", "/bases/slots/{id}/reservations"): {"branch": A1("organization"), "people": 2, "purpose": "外人预约",
                                                 "contact_name": "外人", "contact_phone": "13800000000"},
    ("POST", "/bases/reservations/{id}/reject"): {"reason": "外人退回"},
    ("POST", "/bases/reservations/{id}/cancel"): {"reason": "外人取消"},
    ("POST", "/bases/reservations/{id}/check-in"): {"attended": 3},
    ("POST", "/recruitment/cases"): {"organization": A1("organization"), "applied_on": TODAY.isoformat(),
                                     "name": "外人申请人", "id_number": build_id_number("110105", dt.date(1999, 1, 2), 8,
                                                                                       "female"),
                                     "education": "21", "occupation": "professional", "consent_method": "written",
                                     "consent_on": TODAY.isoformat()},
    ("POST", "/recruitment/cases/{id}/steps"): {"number": 2, "on": "2024-05-16", "details": {"talker": "外人"}},
}

# Operations that may answer 422 to an outsider, and why: validation that must come before any lookup.
# Each is also checked to answer alike for an id that does not exist (so the 422 tells nothing of A1).
VALIDATION_FIRST = {
    ("POST", "/members"): "MemberForm 校验所在党组织：可选项只有调用者有 member.manage 的组织，范围外与不存在的编号"
                          "同样答“该选择不在可用的选项中”（页面和导入用同一表单）",
}

# Documented exceptions: (role, method, path) → (status, kinds of A1 object the answer may show, why).
EXCEPTIONS = {
    ("security_admin", "GET", "/organizations"): (200, {"organization"}, "组织目录：安全管理员在任意组织上授予角色"
                                                   "（roles.py org.directory；test_scoping.ORG_DETAIL）"),
    ("security_admin", "GET", "/organizations/{id}"): (200, {"organization"}, "同上：组织目录"),
    **{(role, "GET", "/bases/sites/{id}/slots"): (200, {"slot"}, "已发布基地的可预约时段公开（公开预约页面同样展示，"
                                                  "bases.selectors.public_site_get）；只有日期、时段和名额")
       for role in OUTSIDERS if role != "anonymous"},
}

# What a role may know exists, though it may not read it: those ids are not swapped for a missing one when
# comparing refusals ("*": every signed-in role).
KNOWN_TO = {
    "*": {"slot"},  # the slots of a published base are public (EXCEPTIONS); booking one names its slot
    "security_admin": {"organization"},  # the organisation directory (EXCEPTIONS)
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # without /api/v1
    spec: dict

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def path_params(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.spec.get("parameters", []) if p["in"] == "path"}

    @property
    def required_query(self) -> set[str]:
        return {p["name"] for p in self.spec.get("parameters", []) if p["in"] == "query" and p.get("required")}


def document_operations() -> list[Operation]:
    """Every operation of the OpenAPI document, read anew each time (endpoints are being added)."""
    doc = api.get_openapi_schema()
    return [Operation(method.upper(), path.removeprefix(PREFIX), spec)
            for path, ops in doc["paths"].items() for method, spec in ops.items()]


def id_kind(path: str) -> str | None:
    """The kind of object `{id}` names in `path`: the longest ID_PATHS prefix that matches."""
    matches = [prefix for prefix in ID_PATHS if path == prefix or path.startswith(prefix + "/")]
    return ID_PATHS[max(matches, key=len)] if matches else None


def path_values(op: Operation) -> list[dict[str, str]]:
    """Values for the path parameters other than `{id}`: every value the document allows (`{action}`)."""
    combos = [{}]
    for name, param in op.path_params.items():
        if name == "id":
            continue
        choices = param["schema"].get("enum") or []
        combos = [c | {name: v} for c in combos for v in choices]
    return combos


@dataclass(frozen=True)
class Call:
    op: Operation
    url: str
    query: dict
    body: dict | None

    def send(self, client):
        if self.op.method == "GET":
            return client.get(self.url, self.query)
        return getattr(client, self.op.method.lower())(self.url, self.body or {}, content_type=JSON)

    def __str__(self):
        return f"{self.op.method} {self.url}" + (f" {self.query}" if self.query else "")


def calls(w: World, ops: list[Operation], *, only_lists: bool = False) -> list[Call]:
    """Every concrete call: each operation × its path values × its query variants. With `only_lists`, the
    reads without `{id}` whose filters name nothing but what `w` holds (for the before/after comparison)."""
    out = []
    for op in ops:
        if only_lists and (op.method != "GET" or op.path_params):
            continue
        for values in path_values(op):
            ids = {"id": w.ids[id_kind(op.path)]} if "id" in op.path_params else {}
            url = PREFIX + op.path.format(**ids, **values)
            for query in QUERIES.get(op.key, [{}]):
                if only_lists and not needs(query) <= set(w.ids):
                    continue
                body = BODIES[op.key] if "requestBody" in op.spec else None
                out.append(Call(op, url, fill(query, w), fill(body, w)))
    return out


# --- what counts as a leak ---------------------------------------------------------------------------------

ID_KEYS = {"organization_id": "organization", "branch_id": "organization", "member_id": "member",
           "meeting_id": "meeting", "site_id": "site", "slot_id": "slot"}
# The kind of the objects under a key (an `id` under any other key, a step's or a payment's, is not checked:
# ids of different tables coincide). "items" is a page's list of the endpoint's own objects.
NESTED = {"organization": "organization", "org": "organization", "branch": "organization", "meeting": "meeting",
          "branches": "organization", "inactive_members": "member", "bases": "site"}
# Sub-collections answer with objects of another kind than the `{id}` in their path.
SUB_COLLECTIONS = {"/bases/sites/{id}/slots": "slot"}


def leaks(body, w: World, *, kind: str | None, allowed: set[str] = frozenset()) -> list[str]:
    """What of A1 the JSON `body` shows: its objects' ids (by key: `member_id`, or `id` of an object of the
    endpoint's kind or nested under `organization`) and their names anywhere, as strings."""
    markers = {k: m for k, m in w.markers().items() if k not in allowed}
    found = []

    def walk(value, kind):
        if isinstance(value, dict):
            for key, v in value.items():
                id_of = kind if key == "id" else ID_KEYS.get(key)
                if id_of in markers and v is not None and v == markers[id_of][0]:
                    found.append(f"{key}={v} ({id_of})")
                walk(v, kind if key == "items" else NESTED.get(key))
        elif isinstance(value, list):
            for v in value:
                walk(v, kind)
        elif isinstance(value, str):
            found.extend(f"“{n}”" for _, names in markers.values() for n in names if n in value)

    walk(body, kind)
    return found


def response_kind(op: Operation) -> str | None:
    """The kind of the objects an operation answers with: a list's items are those its `{id}` path names."""
    if op.path in SUB_COLLECTIONS:
        return SUB_COLLECTIONS[op.path]
    return id_kind(op.path if op.path_params else op.path + "/{id}")


def verdict(call: Call, role: str, response, w: World) -> str | None:
    """None when the answer gives nothing of A1 away, else what is wrong."""
    status = response.status_code
    body = response.json() if response.get("Content-Type", "").startswith("application/json") else None
    if role == "anonymous":
        return None if status == 401 else f"{status} for anonymous, expected 401"
    expected, allowed, _ = EXCEPTIONS.get((role, *call.op.key), (None, frozenset(), ""))
    shown = leaks(body, w, kind=response_kind(call.op), allowed=allowed)
    if shown:
        return f"{status} shows A1's {', '.join(shown)}"
    if expected is not None:
        return None if status == expected else f"{status}, the exception table says {expected}"
    if status in (403, 404):
        return None
    if status == 422:
        return None if call.op.key in VALIDATION_FIRST else f"422 {body}: not in VALIDATION_FIRST"
    if 200 <= status < 300:
        return None if call.op.method == "GET" else f"{status}: an outsider's write was accepted"
    return f"unexpected {status}"


GHOST = 2_000_000_000  # an id no table holds


def ghost_of(w: World, role: str) -> World:
    """The same calls with A1's ids replaced by one that does not exist: a refusal must not tell them apart
    (same status, same body), or the answer says that A1's object exists. What the role may know exists
    anyway (KNOWN_TO) keeps its real id."""
    known = KNOWN_TO.get(role, set()) | KNOWN_TO["*"]
    return World(w.district, {k: v if k in known else GHOST for k, v in w.ids.items()}, assessment=GHOST)


def client_for(district, role: str) -> Client:
    return Client() if role == "anonymous" else token_client(district.users[role])


# --- the tests -----------------------------------------------------------------------------------------------

def test_the_tables_cover_the_document():
    """A path, body or required filter the tables do not know fails here, naming what to add."""
    ops = document_operations()
    keys = {op.key for op in ops}
    missing = []
    for op in ops:
        if "id" in op.path_params and id_kind(op.path) is None:
            missing.append(f"ID_PATHS: {op.path}")
        for name, param in op.path_params.items():
            if name != "id" and not param["schema"].get("enum"):
                missing.append(f"a value for {{{name}}} in {op.path}")
        if "requestBody" in op.spec and op.key not in BODIES:
            missing.append(f"BODIES: {op.key}")
        for query in QUERIES.get(op.key, [{}]):
            if not op.required_query <= set(query):
                missing.append(f"QUERIES: {op.key} needs {sorted(op.required_query - set(query))}")
    assert missing == []
    # and nothing the document no longer has (a renamed path would otherwise go untested unnoticed)
    used_prefixes = {p for op in ops for p in ID_PATHS if op.path == p or op.path.startswith(p + "/")}
    assert set(ID_PATHS) - used_prefixes == set()
    assert set(BODIES) - keys == set() and set(QUERIES) - keys == set() and set(VALIDATION_FIRST) - keys == set()
    assert {k[1:] for k in EXCEPTIONS} - keys == set()
    assert len(ops) >= 63  # the document as of this test; fewer means the schema lost a router


def test_a1_worker_reads_every_object_by_id(outsiders):
    """The positive side: each id in the table is real and readable by A1's own branch worker, and the answer
    shows the markers the leak check looks for (so a 200 with A1's data would be caught)."""
    w = build_a1(outsiders)
    client = client_for(outsiders, "branch_worker")
    reads = [c for c in calls(w, document_operations()) if c.op.method == "GET" and c.op.path_params]
    assert len(reads) >= 9
    for call in reads:
        response = call.send(client)
        assert response.status_code == 200, (str(call), response.content.decode())
        assert leaks(response.json(), w, kind=response_kind(call.op)), f"{call}: shows none of A1's markers"
    # The objects no GET addresses by id are in the worker's lists (or, the reduction, on its member's year).
    assert w.ids["site"] in {s["id"] for s in client.get(f"{PREFIX}/bases/sites").json()["items"]}
    assert w.ids["mobile"] in {m["id"] for m in client.get(f"{PREFIX}/transfers/mobile").json()["items"]}
    slots = client.get(f"{PREFIX}/bases/sites/{w.ids['site']}/slots").json()
    assert w.ids["slot"] in {s["id"] for s in slots}
    dues_year = client.get(f"{PREFIX}/dues/members/{w.ids['member']}").json()
    assert dues_year["assessment"]["id"] == w.assessment


@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsider_gets_nothing_of_a1_from_any_operation(outsiders, role):
    client = client_for(outsiders, role)
    ops = document_operations()
    # What the reads without an id answer before A1's objects exist: after, they must answer the same.
    before = {}
    for call in calls(world_before(outsiders), ops, only_lists=True):
        response = call.send(client)
        before[str(call)] = (response.status_code, response.content)
    w = build_a1(outsiders)
    state = everything()

    failures = []
    real, ghost = calls(w, ops), calls(ghost_of(w, role), ops)
    for call, twin in zip(real, ghost, strict=True):
        response = call.send(client)
        problem = verdict(call, role, response, w)
        if problem:
            failures.append(f"{call}: {problem}")
        if str(call) in before and (response.status_code, response.content) != before[str(call)]:
            failures.append(f"{call}: answers differently now that A1's objects exist: {response.content.decode()}")
        if role != "anonymous" and response.status_code in (403, 404, 422):
            other = twin.send(client)
            if (other.status_code, other.content) != (response.status_code, response.content):
                failures.append(f"{call}: {response.status_code} {response.content.decode()}, but for ids that do "
                                f"not exist {other.status_code} {other.content.decode()}: A1's objects show through")
    assert failures == [], "\n".join(failures)
    assert len(real) > len(ops)
    assert everything() == state, "a refused call changed rows or wrote audit entries"


@pytest.mark.parametrize("path", ["/transfers/incoming", "/transfers/whole-unit"])
def test_committee_acts_are_refused_before_the_organisation_is_looked_up(outsiders, path):
    """Found by the test above: these answered a branch worker (or anyone with a token) "只有接收党委（甲街道
    党工委）可以办理此步骤" for an organisation id of another committee, and 422 for one that does not exist,
    so any id told which 党委 handles it. As the pages, those without the committee capability anywhere are
    refused first (403, the same for every id); the 党委's own administrator still gets through."""
    w = world_before(outsiders)
    clients = {role: client_for(outsiders, role) for role in ("worker_b1", "branch_worker", "nobody", "committee_admin")}
    state = everything()
    for role in ("worker_b1", "branch_worker", "nobody"):
        client = clients[role]
        answers = {client.post(PREFIX + path, fill(BODIES[("POST", path)], world), content_type=JSON).content
                   for world in (w, ghost_of(w, role))}
        assert len(answers) == 1 and "甲街道党工委" not in answers.pop().decode("unicode_escape"), role
    assert everything() == state
    if path == "/transfers/incoming":
        response = clients["committee_admin"].post(PREFIX + path, fill(BODIES[("POST", path)], w), content_type=JSON)
        assert response.status_code == 201, response.content.decode()
        assert response.json()["to_name"] == "甲社区党支部" and response.json()["status"] == "approved"
