"""Pre-aggregated member counters (MemberTally): after every kind of change they equal a fresh recount, the
statistics read from them equal the old computation from the member rows, and scoping still holds."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dangjian.core import codes
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members import demo, roster
from dangjian.members.models import Member, MemberTally
from dangjian.members.selectors import member_statistics, member_statistics_direct, member_status_counts
from dangjian.members.services import member_move, member_update
from dangjian.members.tallies import rebuild_tallies, stored_tallies, tally_differences
from dangjian.orgs.models import OrgKind, Sector
from dangjian.orgs.services import organization_dissolve, organization_move, organization_update
from dangjian.testing import acting_as, make_member, make_org

TODAY = dt.date(2026, 11, 29)


def consistent() -> bool:
    diffs = tally_differences()
    assert diffs == {}, list(diffs.items())[:10]
    return True


def same_statistics(user, orgs, today=TODAY):
    with acting_as(user):
        for org in orgs:
            fast = member_statistics(org=org, today=today)
            assert fast == member_statistics_direct(org=org, today=today), org
            assert member_status_counts(org=org) == {k: v for k, v in _direct_status(org).items() if v}


def _direct_status(org):
    from django.db.models import Count

    from dangjian.core.scoping import within_subtree

    rows = within_subtree(Member, org.path).values("status").annotate(n=Count("id")).order_by()
    return {r["status"]: r["n"] for r in rows}


# --- Every writer keeps the counters -----------------------------------------------------------------


def test_the_fixture_district_is_consistent_and_the_root_holds_everyone(district):
    assert consistent()
    with system_scope("test"):
        rows = dict(((d, v), n) for d, v, n in MemberTally.objects.filter(org_path=district.root.path)
                    .values_list("dimension", "value", "count"))
    assert sum(n for (d, _), n in rows.items() if d == "status") == 3
    assert rows[("sector", "community")] == 2 and rows[("sector", "school")] == 1


@pytest.mark.parametrize("field,value", [
    ("status", "probationary"), ("gender", "female"), ("ethnicity", "02"), ("education", "31"),
    ("occupation", "retired"), ("birth_date", dt.date(1971, 3, 4)),
])
def test_update_of_each_tallied_field(district, field, value):
    m = district.member_a1
    data = {field: value}
    if field == "status":
        data["confirmed_on"] = None
    member_update(actor=SYSTEM, member=m, data=data)
    assert consistent()
    same_statistics(district.users["district_admin"], [district.root, district.committee_a, district.branch_a1])


def test_update_of_an_untallied_field_writes_no_counter(district):
    with CaptureQueriesContext(connection) as ctx:
        member_update(actor=SYSTEM, member=district.member_a1, data={"work_unit": "新单位"})
    assert not [q for q in ctx.captured_queries if MemberTally._meta.db_table in q["sql"]]
    assert consistent()


def test_move_and_update_with_a_new_organisation(district):
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_b1, on=TODAY)
    assert consistent()
    member_update(actor=SYSTEM, member=district.member_a2, data={"organization": district.branch_a1, "gender": "female"})
    assert consistent()
    same_statistics(district.users["district_admin"], [district.root, district.committee_a, district.committee_b])


def test_a_move_within_a_committee_does_not_write_the_shared_ancestors(district):
    with CaptureQueriesContext(connection) as ctx:
        member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_a2, on=TODAY)
    upserts = [q for q in ctx.captured_queries if "ON CONFLICT" in q["sql"]]
    assert len(upserts) == 1
    assert consistent()


def _xlsx(rows: list[dict]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "党员名册"
    ws.append(roster.HEADERS)
    for r in rows:
        ws.append([r.get(h) for h in roster.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _roster_rows(n: int) -> list[dict]:
    from dangjian.core.validators import build_id_number

    out = []
    for i in range(n):
        born = dt.date(1960 + i % 30, 1 + i % 12, 1 + i % 28)
        sex = "male" if i % 2 else "female"
        joined = dt.date(born.year + 25, born.month, born.day)
        out.append({
            "姓名": f"汇总{i:04d}", "身份证号": build_id_number("320102", born, 500 + i, sex), "性别": "男" if sex == "male" else "女",
            "民族": ("汉族", "回族")[i % 2], "学历": ("大学本科毕业", "大学专科毕业", "硕士研究生毕业")[i % 3],
            "职业类别": "党政机关工作人员", "所在党组织": ("甲社区党支部", "第一中学党支部")[i % 2],
            "党员类别": "正式党员", "入党日期": joined.isoformat(), "转正日期": joined.replace(year=joined.year + 1).isoformat(),
        })
    return out


def test_roster_import_updates_the_counters_once(district):
    user = district.users["district_admin"]
    with acting_as(user), CaptureQueriesContext(connection) as ctx:
        outcome = roster.roster_import(actor=user, upload=_xlsx(_roster_rows(60)))
    assert outcome.saved == 60 and not outcome.errors
    assert len([q for q in ctx.captured_queries if "ON CONFLICT" in q["sql"]]) == 1
    assert consistent()
    same_statistics(user, [district.root, district.committee_a, district.branch_b1])


def test_org_sector_change_moves_the_sector_counts(district):
    organization_update(actor=SYSTEM, org=district.branch_a1, sector=Sector.NEW_ECONOMIC_SOCIAL)
    assert consistent()
    same_statistics(district.users["district_admin"], [district.root, district.committee_a])


def test_subtree_move_and_dissolve(district):
    make_member(district.branch_a2, name="赵六")
    organization_move(actor=SYSTEM, org=district.branch_a2, new_parent=district.committee_b)
    assert consistent()
    sub = make_org(district.committee_a, "新支部", OrgKind.BRANCH, sector=Sector.GOVERNMENT)
    make_member(sub, name="钱七")
    organization_move(actor=SYSTEM, org=district.committee_a, new_parent=district.committee_b)  # a whole subtree
    assert consistent()
    empty = make_org(district.root, "空党委", OrgKind.PRIMARY_COMMITTEE)
    organization_dissolve(actor=SYSTEM, org=empty, on=TODAY)
    assert consistent()
    with system_scope("test"):
        a = type(district.committee_a).objects.get(pk=district.committee_a.pk)
    same_statistics(district.users["district_admin"], [district.root, district.committee_b, a])


def test_an_organisations_own_members_count_there_in_the_status_only(district):
    """members.tallies: a member's own organisation counts it in 党员类别 only; its gender, education, … are
    counted from its parent up, and a reader of the organisation adds its direct members itself."""
    with system_scope("test"):
        own = dict(((d, v), n) for d, v, n in MemberTally.objects.filter(org_path=district.branch_a1.path)
                   .values_list("dimension", "value", "count") if n)
        above = dict(MemberTally.objects.filter(org_path=district.committee_a.path, dimension="gender")
                     .values_list("value", "count"))
        members = Member.objects.filter(org_path__startswith=district.committee_a.path)
        genders = {g: members.filter(gender=g).count() for g in members.values_list("gender", flat=True)}
    assert {d for d, _ in own} == {"status"} and sum(own.values()) == members.filter(organization=district.branch_a1).count()
    assert above == genders and sum(genders.values()) >= 2
    same_statistics(district.users["district_admin"], [district.branch_a1, district.committee_a])
    same_statistics(district.users["branch_worker"], [district.branch_a1])


def test_a_moved_organisation_takes_its_direct_members_along(district):
    """A committee with members of its own moves: the old and new ancestors lose and gain them in every
    dimension (members.tallies.move_deltas), not only the status its row set holds."""
    make_member(district.committee_a, name="直属党员", sex="female")
    make_member(district.root, name="区委直属", sex="female")  # a root's own: counted in no dimension above it
    assert consistent()
    organization_move(actor=SYSTEM, org=district.committee_a, new_parent=district.committee_b)
    assert consistent()
    with system_scope("test"):
        a = type(district.committee_a).objects.get(pk=district.committee_a.pk)
    same_statistics(district.users["district_admin"], [district.root, district.committee_b, a])


def test_rolled_back_changes_leave_the_counters_unchanged(district):
    before = stored_tallies()
    with pytest.raises(RuntimeError), transaction.atomic():
        member_update(actor=SYSTEM, member=district.member_a1, data={"gender": "female", "education": "11"})
        member_move(actor=SYSTEM, member=district.member_b1, to=district.branch_a1, on=TODAY)
        raise RuntimeError("roll back")
    assert stored_tallies() == before
    with pytest.raises(ValidationFailed):  # refused inside the service: nothing written at all
        member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_b1, on=dt.date(1900, 1, 1))
    assert stored_tallies() == before
    assert consistent()


def test_rebuild_command_repairs_and_check_reports(district):
    with system_scope("test: corrupt one counter"):
        MemberTally.objects.filter(org_path=district.root.path, dimension="gender").update(count=99)
    assert tally_differences()
    with pytest.raises(Exception, match="不一致"):
        call_command("rebuild_member_tallies", "--check", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("rebuild_member_tallies", stdout=io.StringIO())
    assert consistent()
    call_command("rebuild_member_tallies", "--check", stdout=io.StringIO())


# --- The statistics read from the counters -----------------------------------------------------------


def _boundary_members(org, today=TODAY):
    """Members born exactly on each age-band boundary of `today`, the days around it, and the month's first
    and last days (the two sides a boundary month is counted from)."""
    import calendar

    from dangjian.members.selectors import _years_before

    made = []
    for i, (_, _, hi) in enumerate(codes.AGE_BANDS[:-1]):
        b = _years_before(today, hi + 1)
        last = b.replace(day=calendar.monthrange(b.year, b.month)[1])
        for day in sorted({b, min(b + dt.timedelta(days=1), last), max(b - dt.timedelta(days=1), b.replace(day=1)),
                           b.replace(day=1), last}):
            made.append(make_member(org, born=day, sex=("male", "female")[i % 2]))
    return made


def test_statistics_from_counters_equal_the_direct_computation_on_the_fixture(district):
    _boundary_members(district.branch_a1)
    assert consistent()
    for role in ("district_admin", "committee_admin", "branch_worker"):
        user = district.users[role]
        with acting_as(user):
            for org in (None,):
                assert member_statistics(org=org, today=TODAY) == member_statistics_direct(org=org, today=TODAY)
    same_statistics(district.users["district_admin"],
                    [district.root, district.committee_a, district.branch_a1, district.branch_b1])
    # the boundary months counted from either side (selectors._born_after_in_month): the 1st, both sides of
    # the middle, the last day; a leap day
    for today in (TODAY, dt.date(2024, 2, 29), dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 6, 15),
                  dt.date(2026, 6, 16), dt.date(2026, 7, 16)):
        _boundary_members(district.branch_b1, today)
        same_statistics(district.users["district_admin"], [district.root, district.branch_a1], today=today)


def test_boundary_months_are_counted_from_their_shorter_side(district):
    """On the 1st the seven boundary months are counted from their first day (one day each), not from the 30
    days after it (bench/: 19–21 ms at the root of 1,000,000 members on PostgreSQL)."""
    with acting_as(district.users["district_admin"]), CaptureQueriesContext(connection) as ctx:
        member_statistics(org=district.root, today=dt.date(2026, 12, 1))
    (sql,) = [q["sql"] for q in ctx.captured_queries if '"birth_date" IN (' in q["sql"]]
    listed = sql.split('"birth_date" IN (')[1].split(")")[0].split(",")
    assert len(listed) == len(codes.AGE_BANDS) - 1


@pytest.fixture
def seeded(db):
    with system_scope("test: a seeded district"):
        return demo.load_district(members=2000, seed=5, today=TODAY, district_name="汇总区")


def test_seed_and_statistics_on_a_seeded_district(seeded):
    assert consistent()
    root = seeded.root
    with system_scope("test"):
        _boundary_members(root.children.order_by("path").first().children.order_by("path").first()
                          if root.children.first().children.exists() else root)
        branch = Member.objects.order_by("org_path").first().organization
        middle = root.children.order_by("path").first()
        stats = member_statistics(org=root, today=TODAY)
        assert stats == member_statistics_direct(org=root, today=TODAY)
        assert stats["total"]["all"] == Member.objects.count()
        for org in (middle, branch, None):
            assert member_statistics(org=org, today=TODAY) == member_statistics_direct(org=org, today=TODAY)
    assert consistent()
    rebuild_tallies()
    assert consistent()


def test_a_branch_worker_cannot_read_another_subtree(district):
    with acting_as(district.users["branch_worker"]):
        other = member_statistics(org=district.branch_b1, today=TODAY)
        assert other["total"]["all"] == 0 and sum(other["gender"].values()) == 0
        assert member_status_counts(org=district.branch_b1) == {}
        # The root is not covered by the worker's scope: only their own branch's part, as before.
        root = member_statistics(org=district.root, today=TODAY)
        assert root == member_statistics_direct(org=district.root, today=TODAY)
        assert root["total"]["all"] == 1
        assert member_statistics(org=district.branch_a1, today=TODAY)["total"]["all"] == 1


@pytest.mark.parametrize("where", ["root", "branch_a1"])
def test_statistics_query_count_is_constant(district, where):
    """The counters, the organisation's direct members (members.tallies.direct_counts) and the age bands'
    boundary months: three queries, at the root and at a branch, however many members there are."""
    user = district.users["district_admin"]
    org = getattr(district, where)

    def queries() -> int:
        with acting_as(user), CaptureQueriesContext(connection) as ctx:
            member_statistics(org=org, today=TODAY)
        return len(ctx.captured_queries)

    small = queries()
    for i in range(20):
        make_member((district.branch_a1, district.branch_b1)[i % 2])
    assert queries() == small <= 3


def test_warning_counts_from_tallies_equal_counting_members(district, monkeypatch):
    """member_counts_by_org reads the status counters when the scope covers the subtree; the numbers are
    those of the grouped member query, for every organisation, with and without `under`."""
    from dangjian.members import selectors
    from dangjian.orgs.models import Organization, OrgKind
    from dangjian.testing import acting_as, make_member, make_org

    group = make_org(district.branch_a1, "第一党小组", OrgKind.PARTY_GROUP)
    make_member(group)
    make_member(district.branch_a1, status="probationary", confirmed_on="")
    with acting_as(district.users["district_admin"]):
        orgs = list(Organization.objects.all())
        for under in (None, district.committee_a, district.branch_a1):
            from_tallies = selectors.member_counts_by_org(orgs=orgs, under=under)
            with monkeypatch.context() as m:
                m.setattr(selectors, "_tally_paths", lambda org: None)
                counted = selectors.member_counts_by_org(orgs=orgs, under=under)
            assert from_tallies == counted, under
    assert counted[district.branch_a1.pk] == {"full": 1, "total": 2, "subtree": 3}


# --- How the counters are stored (orgs.tallies.TallyIndex, migration 0012) ------------------------------


def test_counter_updates_are_heap_only_on_postgresql_and_the_status_read_is_covering_on_sqlite(district):
    """PostgreSQL: `count` is in no index and pages keep room, so every counter update is HOT (no new index
    entries); SQLite: the status index carries `count`, so the size warnings' read never touches the table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'members_membertally'")
            assert cursor.fetchone()[0] == ["fillfactor=70"]
            cursor.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                           "AND a.attnum = ANY(i.indkey) WHERE i.indexrelid = 'member_tally_dimension'::regclass")
            assert sorted(name for (name,) in cursor.fetchall()) == ["dimension", "org_path", "value"]
            updates = ("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                       "WHERE relname = 'members_membertally'")
            cursor.execute(updates)
            before = cursor.fetchone()
            # Three real changes: the fixture's genders come from a factory's process-wide cycle, so a fixed
            # sequence could start with the member's own gender (a change that writes nothing).
            own = district.member_a1.gender
            other = "male" if own == "female" else "female"
            for gender in (other, own, other):
                member_update(actor=SYSTEM, member=district.member_a1, data={"gender": gender})
            cursor.execute(updates)
            updated, heap_only = (now - was for now, was in zip(cursor.fetchone(), before, strict=True))
            # each change takes one from an existing counter at the 2 levels that count a branch member's gender
            # (its committee and the root: counted_from); adding to the other may insert it
            assert updated >= 3 * 2 and heap_only == updated
        else:
            cursor.execute("PRAGMA index_info(member_tally_dimension)")
            assert [row[2] for row in cursor.fetchall()] == ["org_path", "value", "dimension", "count"]
            cursor.execute("EXPLAIN QUERY PLAN SELECT value, count FROM members_membertally "
                           "WHERE dimension = 'status' AND org_path = %s", [district.root.path])
            assert "COVERING INDEX member_tally_dimension" in " ".join(str(r[-1]) for r in cursor.fetchall())
    assert consistent()
