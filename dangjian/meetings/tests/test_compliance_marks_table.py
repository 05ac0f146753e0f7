"""`compliance_table` reads the compliance marks; its former implementation, which read every kind row of the
subtree, stays here as the oracle: on varied random data (branches, 党小组, a dissolved branch and 党小组,
meetings of every kind over two years, one moved by a second record) both give the same rows and cells for
periods of a month, a quarter, a year and across years, with `today` before, inside and after the period."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.core.scoping import within_subtree
from dangjian.meetings import compliance, rules, selectors
from dangjian.meetings.models import MeetingKind, MeetingKindRow
from dangjian.orgs.models import BRANCH_KINDS, SEGMENT, Organization, OrgKind
from dangjian.testing import acting_as, make_member, make_org

from .test_compliance import TZ, held
from .test_compliance_summary import _record_again


def _compliance_table_from_kind_rows(*, org, start, end, today) -> selectors.Compliance:
    """The implementation before the marks (every `MeetingKindRow` of the subtree in the period), unchanged."""
    freqs = {k: v for k, v in rules.params()["frequencies"].items() if v}
    kinds = [
        (k, MeetingKind(k).label, rules.PERIOD_LABELS[freqs[k]], rules.FREQUENCY_ARTICLES.get(k, ""))
        for k in MeetingKind.values
        if k in freqs
    ]
    orgs = within_subtree(Organization, org.path).filter(is_dissolved=False)
    branches = list(orgs.filter(kind__in=BRANCH_KINDS).only("id", "path", "name").order_by("path"))
    with_groups = {p[:-SEGMENT] for p in orgs.filter(kind=OrgKind.PARTY_GROUP).values_list("path", flat=True)}
    first, last = rules.month_key(start), rules.month_key(end)
    rows = (
        within_subtree(MeetingKindRow, org.path)
        .filter(held_month__gte=first, held_month__lte=last)
        .values_list("org_path", "kind", "held_month")
        .distinct()
    )
    by_path = {b.path: b for b in branches}
    horizon = min(end, today)
    plan = {}
    for kind, *_ in kinds:
        period = freqs[kind]
        buckets = rules.buckets_between(start, end, period)
        plan[kind] = (
            period,
            buckets,
            frozenset(x for x in buckets if rules.bucket_bounds(x, period)[1] <= horizon),
        )
    bucket_of: dict = {}
    branch_of: dict = {}
    held_buckets: dict = {}
    for path, kind, month in rows:
        if kind not in plan:
            continue
        branch = branch_of.get(path, "")
        if branch == "":
            branch = branch_of[path] = next(
                (path[:n] for n in range(len(path), 0, -SEGMENT) if path[:n] in by_path), None
            )
        if branch is None:
            continue
        key = (month, plan[kind][0])
        bucket = bucket_of.get(key)
        if bucket is None:
            bucket = bucket_of[key] = rules.bucket_of(month, plan[kind][0])
        held_buckets.setdefault((branch, kind), set()).add(bucket)
    empty: frozenset = frozenset()
    out = []
    for b in branches:
        cells: dict = {}
        for kind, *_ in kinds:
            if kind == MeetingKind.GROUP_MEETING and b.path not in with_groups:
                cells[kind] = None
                continue
            period, _buckets, due = plan[kind]
            got = held_buckets.get((b.path, kind), empty)
            met = len(due & got)
            if not due:
                status = "green" if got else "none"
            else:
                status = "green" if met == len(due) else "amber" if met else "red"
            cells[kind] = selectors.Cell(kind, period, len(due), met, len(got), status)
        out.append(selectors.ComplianceRow(b, cells))
    return selectors.Compliance(out, kinds, start, end)


PERIODS = [
    (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),  # a month
    (dt.date(2025, 4, 1), dt.date(2025, 6, 30)),  # a quarter
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),  # a year
    (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    (dt.date(2025, 11, 1), dt.date(2026, 2, 28)),  # across years, cutting two quarters
    (dt.date(2025, 10, 1), dt.date(2026, 11, 30)),
    (dt.date(2025, 1, 1), dt.date(2026, 12, 31)),  # two whole years
    (dt.date(2025, 2, 1), dt.date(2025, 8, 31)),  # cutting the first and the third quarter
]
TODAYS = [
    dt.date(2024, 12, 31),
    dt.date(2025, 3, 15),
    dt.date(2025, 6, 30),
    dt.date(2025, 11, 29),
    dt.date(2026, 1, 31),
    dt.date(2026, 11, 30),
    dt.date(2027, 1, 1),
]
KINDS = list(compliance.frequencies())


def build_random(d, seed: int):
    """Two new branches under each committee, 党小组 under three branches, members, and meetings of random kinds
    on random days of 2025 to November 2026 (a record cannot be in the future) at the branches and their 党小组; then a branch and a 党小组 dissolved (set
    directly: dissolving through the service needs the members moved first; only the flags matter here)."""
    rng = random.Random(seed)
    branches = [d.branch_a1, d.branch_a2, d.branch_b1]
    for parent in (d.committee_a, d.committee_b):
        for i in range(2):
            org = make_org(parent, f"随机支部{parent.pk}-{i}", rng.choice(BRANCH_KINDS))
            make_member(org, name=f"党员{parent.pk}{i}")
            branches.append(org)
    groups = []
    for b in rng.sample(branches, 3):
        group = make_org(b, f"{b.name}党小组", OrgKind.PARTY_GROUP)
        make_member(group, name=f"组员{b.pk}")
        groups.append(group)
    meetings = []
    for _ in range(28):
        where = rng.choice(branches + groups)
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 680))  # to November 2026: recorded
        kinds = rng.sample(KINDS, rng.choice((1, 1, 2)))
        if MeetingKind.GROUP_MEETING in kinds and where not in groups:
            kinds.remove(MeetingKind.GROUP_MEETING)
        meetings.append(held(where, day, kinds or ["theme_day"]))
    # A second record moves one meeting to another month of another year: its old month must go.
    _record_again(
        meetings[0], dt.datetime(2026 if meetings[0].starts_at.year == 2025 else 2025, 7, 4, 9, tzinfo=TZ)
    )
    gone = [b for b in branches if b not in (d.branch_a1, d.branch_a2, d.branch_b1)]
    Organization.unscoped.filter(pk=rng.choice(gone).pk).update(is_dissolved=True)
    Organization.unscoped.filter(pk=rng.choice(groups).pk).update(is_dissolved=True)


def table_cells(table):
    return (
        [
            (
                r.org.pk,
                {
                    k: None if c is None else (c.kind, c.period, c.due, c.met, c.held, c.status)
                    for k, c in r.cells.items()
                },
            )
            for r in table.rows
        ],
        table.kinds,
        table.start,
        table.end,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_marks_give_the_same_table_as_the_kind_rows(district, seed):
    d = district
    build_random(d, seed)
    assert compliance.compliance_differences() == {}  # the services kept the marks
    seen = set()
    for user, org in (
        ("district_admin", d.root),
        ("district_admin", d.committee_b),
        ("committee_admin", d.root),
        ("branch_worker", d.branch_a1),
    ):
        with acting_as(d.users[user]):
            for start, end in PERIODS:
                for today in TODAYS:
                    new = selectors.compliance_table(org=org, start=start, end=end, today=today)
                    old = _compliance_table_from_kind_rows(org=org, start=start, end=end, today=today)
                    assert table_cells(new) == table_cells(old), (user, org.name, start, end, today)
                    seen |= {c.status for r in new.rows for c in r.cells.values() if c}
    assert seen == {"green", "amber", "red", "none"}  # the data reach every status


def test_frequency_setting_changes_the_buckets_not_the_marks(district, settings):
    d = district
    build_random(d, 3)
    settings.DANGJIAN_MEETINGS = {
        "frequencies": {"party_lecture": "month", "general_meeting": "year", "member_appraisal": None}
    }
    with acting_as(d.users["district_admin"]):
        for start, end in PERIODS:
            new = selectors.compliance_table(org=d.root, start=start, end=end, today=dt.date(2026, 11, 30))
            old = _compliance_table_from_kind_rows(
                org=d.root, start=start, end=end, today=dt.date(2026, 11, 30)
            )
            assert table_cells(new) == table_cells(old)
            assert "member_appraisal" not in {k for k, *_ in new.kinds}


def test_months_outside_the_period_do_not_count_in_a_shared_quarter(district):
    d = district
    held(d.branch_a1, dt.date(2025, 10, 8), ["general_meeting"])  # Q4, before the period
    with acting_as(d.users["branch_worker"]):
        table = selectors.compliance_table(
            org=d.branch_a1, start=dt.date(2025, 11, 1), end=dt.date(2026, 1, 31), today=dt.date(2026, 2, 1)
        )
    cell = table.rows[0].cells["general_meeting"]
    assert (cell.due, cell.met, cell.held, cell.status) == (1, 0, 0, "red")  # Q4 2025 due, Q1 2026 not yet
    held(d.branch_a1, dt.date(2026, 1, 8), ["general_meeting"])
    with acting_as(d.users["branch_worker"]):
        table = selectors.compliance_table(
            org=d.branch_a1, start=dt.date(2025, 11, 1), end=dt.date(2026, 1, 31), today=dt.date(2026, 2, 1)
        )
    cell = table.rows[0].cells["general_meeting"]
    assert (cell.due, cell.met, cell.held, cell.status) == (1, 0, 1, "red")  # held in Q1, not yet due


def test_three_queries_whatever_the_size_and_the_years(district, django_assert_num_queries):
    d = district
    admin = d.users["district_admin"]

    def run(start, end):
        with acting_as(admin), CaptureQueriesContext(connection) as ctx:
            selectors.compliance_table(org=d.root, start=start, end=end, today=dt.date(2026, 11, 30))
        return len(ctx.captured_queries)

    with acting_as(admin):  # the first call loads the user's grants (cached on the user): not counted
        selectors.compliance_table(
            org=d.root, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), today=dt.date(2026, 11, 30)
        )
    held(d.branch_a1, dt.date(2025, 2, 1), ["general_meeting"])
    assert run(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == 3
    for i in range(3):
        org = make_org(d.committee_b, f"新支部{i}", OrgKind.BRANCH)
        make_member(org)
        make_org(org, f"新党小组{i}", OrgKind.PARTY_GROUP)
        held(org, dt.date(2025, 4, 1), ["general_meeting", "party_lecture"])
        held(org, dt.date(2026, 5, 1), ["theme_day"])
    with django_assert_num_queries(3):
        with acting_as(admin):
            selectors.compliance_table(
                org=d.root, start=dt.date(2025, 10, 1), end=dt.date(2026, 11, 30), today=dt.date(2026, 11, 30)
            )
    assert run(dt.date(2025, 1, 1), dt.date(2026, 12, 31)) == 3
