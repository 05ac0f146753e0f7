"""The year's compliance of a large subtree: the summary by child organisation and the paged detail, read from
the precomputed marks and counters, agree with `compliance_table` (the per-branch truth); the services keep the
marks equal to a rebuild; fixed query counts; scoping."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.meetings import compliance, selectors, services
from dangjian.meetings.models import ComplianceMark, ComplianceTally, MeetingStatus
from dangjian.orgs import tallies
from dangjian.orgs.models import Organization, OrgKind
from dangjian.orgs.org_tally import rebuild_org_tallies
from dangjian.testing import acting_as, make_member, make_org

from .test_compliance import TZ, build_year, held

TODAYS = [dt.date(2025, 1, 15), dt.date(2025, 3, 31), dt.date(2025, 7, 1), dt.date(2025, 12, 31),
          dt.date(2026, 11, 29)]


def build_city(d):
    """build_year's 甲 branches, plus under 区教育局党委: 第一中学 with some months, and a new branch with a
    党小组 that holds its group meetings."""
    build_year(d)
    for month in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12):
        held(d.branch_b1, dt.date(2025, month, 8), ["committee_meeting", "theme_day"])
    held(d.branch_b1, dt.date(2025, 1, 20), ["life_meeting", "member_appraisal"])
    extra = make_org(d.committee_b, "第二中学党支部", OrgKind.BRANCH)
    make_member(extra, name="王二")
    group = make_org(extra, "第二中学第一党小组", OrgKind.PARTY_GROUP)
    make_member(group, name="赵小组")
    for month in (2, 3, 5):
        held(group, dt.date(2025, month, 12), ["group_meeting"])
    held(extra, dt.date(2025, 6, 30), ["general_meeting", "party_lecture"])
    return extra, group


def expected_summary(d, org, today):
    """{child path: {kind: Counter(status)}} and the totals, counted from compliance_table's rows."""
    table = selectors.compliance_table(org=org, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), today=today)
    n = len(org.path) + 4
    out: dict[str, dict[str, Counter]] = {}
    for row in table.rows:
        for kind, cell in row.cells.items():
            if cell is not None:
                out.setdefault(row.org.path[:n], {}).setdefault(kind, Counter())[cell.status] += 1
    return table, out


def as_counters(summary):
    got = {}
    for row in summary.rows:
        got[row.org.path] = {k: Counter({s: getattr(c, s) for s in ("green", "amber", "red", "none") if getattr(c, s)})
                             for k, c in row.cells.items() if c is not None}
    return got


def all_pages(org, today, *, size, problems_only=False):
    rows, after, pages = [], "", 0
    while True:
        page = selectors.compliance_page(org=org, year=2025, today=today, after=after, size=size,
                                         problems_only=problems_only)
        rows += page.rows
        pages += 1
        if page.next_after is None:
            return rows, pages
        after = page.next_after


def cells(rows):
    return {r.org.pk: {k: None if c is None else (c.status, c.due, c.met, c.held) for k, c in r.cells.items()}
            for r in rows}


@pytest.mark.parametrize("today", TODAYS)
def test_summary_and_pages_equal_the_full_table(district, today):
    d = district
    build_city(d)
    with acting_as(d.users["district_admin"]):
        table, expected = expected_summary(d, d.root, today)
        summary = selectors.compliance_summary(org=d.root, year=2025, today=today)
        assert as_counters(summary) == expected
        assert [r.org.name for r in summary.rows] == ["甲街道党工委", "区教育局党委"]
        assert summary.total.branches == len(table.rows) == 4
        for kind, cell in summary.total.cells.items():
            assert cell.branches == sum(sum(e.get(kind, Counter()).values()) for e in expected.values())
        # Every page put together is the full table, cell by cell, in path order.
        rows, pages = all_pages(d.root, today, size=1)
        assert pages == 4 and [r.org.pk for r in rows] == [r.org.pk for r in table.rows]
        assert cells(rows) == cells(table.rows)
        # "Only branches with a red or amber cell" is exactly those of the full table.
        problems, _ = all_pages(d.root, today, size=2, problems_only=True)
        want = [r.org.pk for r in table.rows if any(c and c.status in ("red", "amber") for c in r.cells.values())]
        assert [r.org.pk for r in problems] == want


def test_summary_of_a_street_drills_to_its_branches(district):
    d = district
    build_city(d)
    today = dt.date(2026, 11, 29)
    with acting_as(d.users["committee_admin"]):
        _, expected = expected_summary(d, d.committee_a, today)
        summary = selectors.compliance_summary(org=d.committee_a, year=2025, today=today)
        assert [r.org for r in summary.rows] == [d.branch_a1, d.branch_a2]  # each branch is its own child
        assert as_counters(summary) == expected
        a1 = summary.rows[0].cells
        assert (a1["committee_meeting"].amber, a1["general_meeting"].green, a1["group_meeting"].red) == (1, 1, 1)
        assert summary.rows[1].cells["group_meeting"] is None  # 乙社区 has no 党小组


def test_dissolved_branches_and_gone_groups_are_left_out_as_in_the_full_table(district):
    d = district
    extra, group = build_city(d)
    today = dt.date(2026, 11, 29)
    # Set directly: organization_dissolve needs the members moved first; only the flags matter here.
    Organization.unscoped.filter(pk=group.pk).update(is_dissolved=True)  # 第二中学 loses its only 党小组
    Organization.unscoped.filter(pk=d.branch_b1.pk).update(is_dissolved=True)
    rebuild_org_tallies()  # written around the services: the organisation counters are recomputed, as for bench data
    with acting_as(d.users["district_admin"]):
        table, expected = expected_summary(d, d.root, today)
        summary = selectors.compliance_summary(org=d.root, year=2025, today=today)
        assert as_counters(summary) == expected
        school = summary.rows[1]
        assert school.branches == 1 and school.cells["group_meeting"] is None
        assert cells(all_pages(d.root, today, size=50)[0]) == cells(table.rows)


def _stored():
    marks = set(ComplianceMark.unscoped.values_list("organization_id", "org_path", "year", "kind", "months",
                                                    "met_end", "gap_end"))
    return marks, tallies.stored(ComplianceTally)


def _record_again(meeting, when):
    with system_scope("test"):
        members = list(meeting.attendances.values_list("member_id", flat=True))
        return services.meeting_record(actor=SYSTEM, meeting=meeting, held_at=when, minutes="纪要（更正日期）",
                                       chair="书记", recorder="委员", attendance={pk: (True, "") for pk in members})


def test_services_keep_the_marks_equal_to_a_rebuild(district):
    d = district
    build_city(d)
    assert compliance.compliance_differences() == {}
    marks, counters = _stored()
    assert marks and counters
    compliance.rebuild_compliance()
    assert _stored() == (marks, counters)

    # A second record moves a meeting from June to July: June's bit goes, July's comes.
    june = held(d.branch_a2, dt.date(2025, 6, 3), ["theme_day"])
    mark = ComplianceMark.unscoped.get(organization=d.branch_a2, year=2025, kind="theme_day")
    assert mark.months == 1 << 5
    _record_again(june, dt.datetime(2025, 7, 4, 9, tzinfo=TZ))
    mark.refresh_from_db()
    assert (mark.months, mark.met_end, mark.gap_end) == (1 << 6, 7, 1)
    assert compliance.compliance_differences() == {}
    # Moved into another year: the old year's mark goes, the counters follow.
    _record_again(june, dt.datetime(2026, 1, 4, 9, tzinfo=TZ))
    assert not ComplianceMark.unscoped.filter(organization=d.branch_a2, year=2025, kind="theme_day").exists()
    assert ComplianceMark.unscoped.get(organization=d.branch_a2, year=2026, kind="theme_day").months == 1
    assert compliance.compliance_differences() == {}

    # Planned, kinds edited, cancelled, and a record confirmed and frozen: the marks stay equal to a rebuild.
    with system_scope("test"):
        m = services.meeting_plan(actor=SYSTEM, organization=d.branch_a2, title="会", kinds=["general_meeting"],
                                  place="室", starts_at=dt.datetime(2025, 9, 1, 9, tzinfo=TZ))
        services.meeting_update(actor=SYSTEM, meeting=m, data={"kinds": ["general_meeting", "party_lecture"]})
        services.meeting_cancel(actor=SYSTEM, meeting=m, reason="改期")
        assert m.status == MeetingStatus.CANCELLED
        services.meeting_freeze(actor=SYSTEM, meeting=june, today=dt.date(2026, 11, 29))
    assert compliance.compliance_differences() == {}
    before = _stored()
    compliance.rebuild_compliance()
    assert _stored() == before


def test_the_check_finds_a_damaged_counter(district):
    d = district
    held(d.branch_a1, dt.date(2025, 2, 5), ["theme_day"])
    ComplianceMark.unscoped.filter(organization=d.branch_a1).update(months=3)
    ComplianceTally.unscoped.filter(org_path=d.root.path).update(branches=5)
    diffs = compliance.compliance_differences()
    assert ("mark", d.branch_a1.pk, 2025, "theme_day") in diffs
    assert any(k[0] == "tally" and k[1] == d.root.path for k in diffs)
    compliance.rebuild_compliance()
    assert compliance.compliance_differences() == {}


def test_the_command_checks_and_rebuilds(district):
    import io

    from django.core.management import call_command

    d = district
    held(d.branch_a1, dt.date(2025, 2, 5), ["theme_day"])
    ComplianceMark.unscoped.filter(organization=d.branch_a1).update(months=3)
    with pytest.raises(Exception, match="不一致"):
        call_command("rebuild_compliance", "--check", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_compliance", stdout=out)
    assert "已重建组织生活落实情况" in out.getvalue()
    call_command("rebuild_compliance", "--check", stdout=io.StringIO())
    assert compliance.compliance_differences() == {}


def test_a_moved_branch_takes_its_marks_along(district):
    from dangjian.orgs.services import organization_move

    d = district
    build_city(d)
    with system_scope("test"):
        organization_move(actor=SYSTEM, org=d.branch_a2, new_parent=d.committee_b)
    assert compliance.compliance_differences() == {}


def _count(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow(district):
    d = district
    admin = d.users["district_admin"]
    today = dt.date(2026, 11, 29)

    def run():
        with acting_as(admin):
            selectors.compliance_summary(org=d.root, year=2025, today=today)

    def page(problems_only):
        def go():
            with acting_as(admin):
                selectors.compliance_page(org=d.root, year=2025, today=today, problems_only=problems_only)
        return go

    held(d.branch_a1, dt.date(2025, 2, 1), ["general_meeting"])
    run()  # the first call loads the user's grants (cached on the user): not counted
    small = (_count(run), _count(page(False)), _count(page(True)))
    for i in range(3):
        org = make_org(d.committee_b, f"新支部{i}", OrgKind.BRANCH)
        make_member(org)
        make_org(org, f"新党小组{i}", OrgKind.PARTY_GROUP)
        held(org, dt.date(2025, 4, 1), ["general_meeting", "party_lecture"])
        held(org, dt.date(2025, 5, 1), ["theme_day"])
    assert (_count(run), _count(page(False)), _count(page(True))) == small == (4, 3, 3)


def test_a_worker_sees_only_their_subtree(district):
    d = district
    build_city(d)
    today = dt.date(2026, 11, 29)
    with acting_as(d.users["committee_admin"]):  # 甲街道党工委: not the school's
        rows, _ = all_pages(d.committee_a, today, size=50)
        assert {r.org.pk for r in rows} == {d.branch_a1.pk, d.branch_a2.pk}
        rows, _ = all_pages(d.root, today, size=50)  # asked for the root: the scope still holds
        assert {r.org.pk for r in rows} == {d.branch_a1.pk, d.branch_a2.pk}
    with acting_as(d.users["branch_worker"]):
        s = selectors.compliance_summary(org=d.branch_a1, year=2025, today=today)
        assert s.rows == [] and s.total.branches == 0  # a branch has no child organisations to sum
        page = selectors.compliance_page(org=d.branch_a1, year=2025, today=today)
        assert [r.org.pk for r in page.rows] == [d.branch_a1.pk]


# --- the page and the API ----------------------------------------------------------------------------------

@pytest.fixture
def small_limit(monkeypatch):
    """The demo district has four branches: above one counts as large here."""
    monkeypatch.setattr(selectors, "FULL_TABLE_BRANCHES", 1)


def test_large_page_shows_the_summary_and_pages_branches(district, client, small_limit, monkeypatch):
    from .test_pages import login

    d = district
    build_city(d)
    login(client, d, "district_admin")
    url = reverse("meetings:compliance")
    html = client.get(url, {"org": d.root.pk, "start": "2025-01-01", "end": "2025-12-31"}).content.decode()
    assert "各下级党组织汇总" in html and "甲街道党工委" in html and "区教育局党委" in html
    assert "各党支部明细" in html and "甲社区党支部" in html and "第二中学党支部" in html
    assert "已是最后一页" in html and "未开展 " in html
    # Two branches a page: a next link that continues after the second branch's path.
    monkeypatch.setattr(selectors, "PAGE_BRANCHES", 2)

    def detail(params):  # the branch table only (the organisation picker above lists every name)
        return client.get(url, params).content.decode().split("各党支部明细")[1]

    html = detail({"org": d.root.pk, "start": "2025-01-01", "end": "2025-12-31"})
    assert "下一页" in html and f"after={d.branch_a2.path}" in html and "第一中学党支部" not in html
    html = detail({"org": d.root.pk, "start": "2025-01-01", "end": "2025-12-31", "after": d.branch_a2.path})
    assert "第一中学党支部" in html and "甲社区党支部" not in html and "回到第一页" in html
    html = client.get(url, {"org": d.root.pk, "end": "2025-12-31", "problems": "1", "after": "../x"}).content.decode()
    assert "只看有" in html  # a malformed `after` starts from the first page
    # Outside the scope: the picker refuses the root and the page stays on the user's own organisation.
    client.logout()
    login(client, d, "committee_admin")
    html = client.get(url, {"org": d.root.pk, "end": "2025-12-31"}).content.decode()
    assert "组织生活落实情况 · 甲街道党工委" in html and "区教育局党委" not in html.split("各下级党组织汇总")[1]
    assert "甲社区党支部" in client.get(url, {"org": d.committee_a.pk, "end": "2025-12-31"}).content.decode()


def test_api_summary(district):
    from dangjian.api.tests.conftest import assert_error, token_client

    from .test_api import BASE

    d = district
    build_city(d)
    admin = token_client(d.users["district_admin"])
    body = admin.get(f"{BASE}/compliance/summary", {"org": d.root.pk, "year": 2025, "limit": 3}).json()
    assert [c["name"] for c in body["children"]] == ["甲街道党工委", "区教育局党委"]
    assert body["total"]["branches"] == 4 and len(body["branches"]) == 3 and body["next_after"]
    rest = admin.get(f"{BASE}/compliance/summary", {"org": d.root.pk, "year": 2025,
                                                     "after": body["next_after"]}).json()
    assert len(rest["branches"]) == 1 and rest["next_after"] is None
    worker = token_client(d.users["branch_worker"])
    assert_error(worker.get(f"{BASE}/compliance/summary", {"org": d.root.pk}), 404, "org")
    own = worker.get(f"{BASE}/compliance/summary").json()  # defaults: the worker's own organisation, this year
    assert own["organization"]["id"] == d.branch_a1.pk and [b["id"] for b in own["branches"]] == [d.branch_a1.pk]
    assert_error(token_client(d.users["member"]).get(f"{BASE}/compliance/summary"), 403)
