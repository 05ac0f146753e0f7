"""The transfers scoping table (ARCHITECTURE §5): page × role × which transfer → status; denied writes change
nothing; list pages keep a constant number of queries; the member's progress page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member, MembershipPeriod
from dangjian.orgs.models import OrgKind
from dangjian.testing import PASSWORD, client_as, make_member, make_org, make_user, scoping_params
from dangjian.transfers import services
from dangjian.transfers.models import Transfer, TransferEvent

from .conftest import TODAY

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin", "receiver")
LOGIN = 302


@pytest.fixture
def world(district):
    """own: 张三 (支部A1 → 支部B1), approved; sibling: 李四 of 支部A2 out of the district, submitted;
    other: 王五 of 支部B1 out of the district, submitted. `receiver` administers 区教育局党委."""
    d = district
    d.users["receiver"] = make_user("committee_b", role="committee_admin", org=d.committee_b)
    own = services.transfer_create(actor=SYSTEM, member=d.member_a1, kind="within", to_org=d.branch_b1, on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=own, on=TODAY)
    services.transfer_approve(actor=SYSTEM, transfer=own, on=TODAY)
    sibling = services.transfer_create(actor=SYSTEM, member=d.member_a2, kind="out", to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=sibling, on=TODAY)
    other = services.transfer_create(actor=SYSTEM, member=d.member_b1, kind="out", to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=other, on=TODAY)
    d.transfers = {"own": own, "sibling": sibling, "other": other}
    return d


def t_url(name):
    return lambda d, rel: reverse(name, args=[d.transfers[rel].pk])


def act(action):
    return lambda d, rel: reverse("transfers:act", args=[d.transfers[rel].pk, action])


def plain(name):
    return lambda d, rel: reverse(name)


#                                        anon  dist  comm  work  memb  sys   sec   aud   recv
GET_CASES = [
    ("list", plain("transfers:list"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 200)),
    ("statistics", plain("transfers:statistics"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 200)),
    ("mobile", plain("transfers:mobile"), None, (LOGIN, 200, 200, 200, 403, 403, 403, 403, 200)),
    ("incoming form", plain("transfers:incoming"), None, (LOGIN, 200, 200, 403, 403, 403, 403, 403, 200)),
    ("my progress", plain("transfers:my"), None, (LOGIN, 404, 404, 404, 200, 404, 404, 404, 404)),
    ("detail", t_url("transfers:detail"), "own", (LOGIN, 200, 200, 200, 200, 404, 404, 404, 200)),
    ("detail", t_url("transfers:detail"), "sibling", (LOGIN, 200, 200, 404, 404, 404, 404, 404, 404)),
    ("detail", t_url("transfers:detail"), "other", (LOGIN, 200, 404, 404, 404, 404, 404, 404, 200)),
    ("letter", t_url("transfers:letter"), "own", (LOGIN, 200, 200, 403, 403, 404, 404, 404, 403)),
    ("create form", lambda d, rel: reverse("transfers:create", args=[d.member_a1.pk]), None,
     (LOGIN, 200, 200, 200, 403, 404, 404, 404, 404)),
]






@pytest.mark.parametrize("case, role, expected", list(scoping_params(GET_CASES, ROLES)))
def test_get(client, world, case, role, expected):
    _, url, rel, _ = case
    response = client_as(client, world, role).get(url(world, rel))
    assert response.status_code == expected
    if expected == 200 and rel and "html" in response["Content-Type"]:
        assert world.transfers[rel].person_name in response.content.decode()


def state():
    with system_scope("test: snapshot"):
        return (list(Transfer.unscoped.order_by("pk").values_list("pk", "status", "letter_number", "accepted_on")),
                TransferEvent.objects.count(),
                list(Member.unscoped.order_by("pk").values_list("pk", "organization_id")),
                MembershipPeriod.unscoped.count(),
                AuditEntry.objects.filter(success=True).exclude(action__startswith="accounts.login").count())


WRITE_CASES = [
    ("accept", act("accept"), "own", {}, (LOGIN, 302, 403, 403, 403, 404, 404, 404, 302)),
    ("approve", act("approve"), "sibling", {"valid_days": "30"}, (LOGIN, 302, 302, 404, 404, 404, 404, 404, 404)),
    ("approve", act("approve"), "other", {"valid_days": "30"}, (LOGIN, 302, 404, 404, 404, 404, 404, 404, 302)),
    ("return", act("return"), "own", {"reason": "名称有误"}, (LOGIN, 302, 403, 403, 403, 404, 404, 404, 302)),
    ("withdraw", act("withdraw"), "own", {}, (LOGIN, 302, 302, 302, 302, 404, 404, 404, 403)),
]


@pytest.mark.parametrize("case, role, expected", list(scoping_params(WRITE_CASES, ROLES)))
def test_write(client, world, case, role, expected):
    _, url, rel, data, _ = case
    c = client_as(client, world, role)
    before = state()
    response = c.post(url(world, rel), data)
    assert response.status_code == expected, response.content.decode()[:500]
    if expected != 302 or role == "anonymous":
        assert state() == before, "a denied write changes nothing and logs nothing as done"
    else:
        assert state() != before


def test_a_refusal_on_the_page_names_the_field_and_saves_nothing(client, world):
    assert client.login(username="committee_a", password=PASSWORD)
    before = state()
    response = client.post(reverse("transfers:act", args=[world.transfers["sibling"].pk, "approve"]),
                           {"valid_days": "120"})
    assert response.status_code == 422
    assert "有效期（天）" in response.content.decode()
    assert state() == before


def test_creating_a_transfer_to_the_own_branch_is_refused_on_the_form(client, district):
    assert client.login(username="worker_a1", password=PASSWORD)
    response = client.post(reverse("transfers:create", args=[district.member_a1.pk]),
                           {"kind": "within", "to_org": district.branch_a1.pk})
    assert response.status_code == 200
    assert "不能转到党员当前所在的党组织" in response.content.decode()
    with system_scope("test"):
        assert not Transfer.unscoped.exists()


def test_the_member_starts_and_follows_their_transfer(client, district):
    assert client.login(username="member_a1", password=PASSWORD)
    response = client.post(reverse("transfers:my_create"), {"kind": "within", "to_org": district.branch_b1.pk,
                                                             "reason": "搬家"})
    assert response.status_code == 302
    t = Transfer.unscoped.get()
    assert client.post(reverse("transfers:act", args=[t.pk, "submit"])).status_code == 302
    page = client.get(reverse("transfers:my")).content.decode()
    assert "甲街道党工委（待审批）" in page and "转往第一中学党支部" in page
    assert "：已提交" in page and "submitted" not in page  # the timeline speaks Chinese
    assert 'name="viewport"' in page


def test_the_receiver_page_shows_the_snapshot_not_the_record(client, world):
    assert client.login(username="committee_b", password=PASSWORD)
    page = client.get(reverse("transfers:detail", args=[world.transfers["own"].pk])).content.decode()
    member = world.member_a1
    assert member.id_number_masked in page and "党费交至" in page
    assert member.work_unit not in page and member.phone_masked not in page
    assert client.get(reverse("members:detail", args=[member.pk])).status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(district, n):
    for i in range(n):
        org = make_org(district.committee_a, f"新增支部{i}", OrgKind.BRANCH)
        m = make_member(org)
        t = services.transfer_create(actor=SYSTEM, member=m, kind="within", to_org=district.branch_b1, on=TODAY)
        services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY)
        m2 = make_member(district.branch_a1)
        services.transfer_create(actor=SYSTEM, member=m2, kind="out", to_external="外省", on=TODAY)
        services.mobile_register(actor=SYSTEM, member=m2, left_on=TODAY, destination="外省", contact="微信")


@pytest.mark.parametrize("url", ["/transfers/", "/transfers/?side=sender",
                                 "/transfers/statistics/", "/transfers/mobile/"])
def test_list_pages_keep_a_constant_number_of_queries(client, world, url):
    assert client.login(username="committee_a", password=PASSWORD)
    client.get(url)
    _grow(world, 2)
    small = _queries(client, url)
    _grow(world, 8)
    assert _queries(client, url) == small


def test_registering_and_accepting_an_incoming_letter_on_the_pages(client, district):
    from dangjian.testing import MemberDataFactory

    d = district
    make_user("committee_b", role="committee_admin", org=d.committee_b)
    assert client.login(username="committee_b", password=PASSWORD)
    data = MemberDataFactory(name="赵六")
    form = {"to_org": d.branch_b1.pk, "person_name": "赵六", "id_number": data["id_number"],
            "from_external": "外省某大学党委", "letter_number": "外字18号", "valid_until": "2020-01-01"}
    response = client.post(reverse("transfers:incoming"), form)
    assert response.status_code == 200 and "介绍信已过有效期" in response.content.decode()
    assert not Transfer.unscoped.exists()
    response = client.post(reverse("transfers:incoming"), form | {"valid_until": "2099-01-01"})
    assert response.status_code == 302
    t = Transfer.unscoped.get()
    page = client.get(reverse("transfers:detail", args=[t.pk])).content.decode()
    assert "接收区外转入的党员" in page
    member = {k: v for k, v in data.items() if v is not None} | {"organization": d.branch_b1.pk}
    response = client.post(reverse("transfers:act", args=[t.pk, "accept"]), member | {"id_number": "110105199001011234"})
    assert response.status_code == 422
    response = client.post(reverse("transfers:act", args=[t.pk, "accept"]), member)
    assert response.status_code == 302, response.content.decode()[:3000]
    t.refresh_from_db()
    assert t.status == "accepted" and t.member.name == "赵六" and t.member.organization == d.branch_b1
