"""The benchmark harness on a tiny district: every operation prints a row with numbers and every plan check
passes. Correctness of the harness (and of the selectors it measures), never timings (ARCHITECTURE §10)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections import Counter

import pytest
from django.db.models import F

from bench import run
from dangjian.core import codes
from dangjian.core.scoping import system_scope
from dangjian.members import demo
from dangjian.members.models import Member
from dangjian.members.selectors import member_statistics, political_birthday_days, political_birthdays

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def district(db):
    with system_scope("test: the bench's tiny district"):
        return demo.load_district(members=300, seed=3, today=TODAY, district_name="测试区", password="Bench-test-2026")  # noqa: S106 (test accounts only)  # nosec B106


def test_harness_prints_a_row_per_operation_and_plans_hold(district):
    opt = run.Options(quick=True, reps=2, budget_s=1.0, import_rows=(300,), http=False)
    out = io.StringIO()
    rows = run.run_operations(opt, out, today=TODAY)
    text = out.getvalue()

    measured = [r for r in rows if not r.operation.startswith("计划")]
    expected = ["工作台首页 workbench home（区委", "工作台首页 workbench home（支部", "党员列表 member list 第1页（区委",
                "第500页 page 500", "第1页（街道 mid-level", "支部 branch worker", "筛选 filtered（区委；学校、女",
                "筛选 filtered（区委；预备党员、31-35岁", "筛选 filtered（区委；研究生、女",
                "筛选 filtered（区委；61岁及以上、初中、女", "搜索 search 姓名 name", "搜索 search 姓氏、预备党员",
                "搜索 search 身份证号", "接口 API 党员列表 第1页", "接口 API 党员列表 offset=10000",
                "党员中心 member centre /my/", "我的档案 own record", "子树统计 subtree statistics（区委",
                "子树统计 subtree statistics（街道", "as-of count（区委", "as-of count（街道", "建议：党员列表第1页",
                "建议：党员列表第500页", "今日政治生日 political birthdays", "今日政治生日（区委；全部",
                "名册导入 roster import 300",
                "落实情况汇总 compliance summary（区委", "compliance detail 第1页（区委", "compliance detail 只看未达标",
                "合规表 compliance table（街道", "党费统计 dues statistics（区委", "党费统计 dues statistics（街道",
                "欠交党费名单 arrears list 第1页＋人数（区委", "欠交党费名单 arrears list 第1页＋人数（支部",
                "接转统计 transfer statistics"]
    for name in expected:
        hits = [r for r in measured if name in r.operation]
        assert len(hits) == 1, name
        r = hits[0]
        assert r.p50 is not None and r.p50 > 0 and r.p95 >= r.p50 and r.ref_p50 > 0 and r.ratio > 0, r
        assert r.database in ("sqlite", "postgresql") and r.dataset.startswith("300/")
    plans = [r for r in rows if r.operation.startswith("计划")]
    assert len(plans) == 22  # 11 checks, before and after the operations
    assert all(r.verdict == "计划正常 PLAN OK" for r in plans), [r.note for r in plans if r.verdict != "计划正常 PLAN OK"]
    # One printed table row per result, with numbers in the p50/p95 columns of the measured ones.
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| 操作")]
    assert len(table) == len(rows)
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 10
        if not cells[0].startswith("计划"):
            assert re.fullmatch(r"[\d,.]+", cells[3]) and re.fullmatch(r"[\d,.]+", cells[4]), line
    with system_scope("test: the import was rolled back"):
        assert Member.objects.count() == 300


def test_member_statistics_match_the_rows(district):
    with system_scope("test: statistics against a count in Python"):
        stats = member_statistics(org=district.root, today=TODAY)
        members = list(Member.objects.select_related("organization"))
    assert stats["total"]["all"] == len(members) == 300
    assert stats["gender"] == {g: n for g, n in Counter(m.gender for m in members).items()} | {
        g: 0 for g, _ in codes.Gender.choices if g not in {m.gender for m in members}}
    assert sum(stats["occupation"].values()) == 300
    assert stats["occupation"]["retired"] == sum(m.occupation == "retired" for m in members)
    assert stats["education_level"]["2"] == sum(m.education.startswith("2") for m in members)
    assert stats["sector"]["community"] == sum(m.organization.sector == "community" for m in members)
    expected_bands = Counter()
    for m in members:
        age = m.age_on(TODAY)
        expected_bands[next(label for label, lo, hi in codes.AGE_BANDS if lo <= age <= hi)] += 1
    assert stats["age_band"] == {label: expected_bands[label] for label, _, _ in codes.AGE_BANDS}


def test_the_seed_counts_its_organisations(district):
    """The organisations are inserted in bulk (members/demo.py): their counters (orgs.OrgTally) are kept there."""
    from dangjian.orgs.models import BRANCH_KINDS, Organization, OrgKind, OrgTally
    from dangjian.orgs.org_tally import org_tally_differences

    assert org_tally_differences() == {}
    with system_scope("test: the root's counters"):
        root = dict(OrgTally.objects.filter(org_path=district.root.path).values_list("part", "count"))
        assert root["branches"] == Organization.objects.filter(kind__in=BRANCH_KINDS).count() > 0
        parents = Organization.objects.filter(kind=OrgKind.PARTY_GROUP).values_list("parent_id", flat=True)
        assert root.get("grouped", 0) == len(set(parents))


def test_political_birthdays_use_the_stored_month_day(district):
    assert political_birthday_days(dt.date(2027, 2, 28)) == [228, 229]
    assert political_birthday_days(dt.date(2028, 2, 28)) == [228]
    with system_scope("test: today's political birthdays"):
        some = Member.objects.order_by("pk").first()
        on = some.joined_on.replace(year=2030) if (some.joined_on.month, some.joined_on.day) != (2, 29) else dt.date(2028, 2, 29)
        found = list(political_birthdays(on=on))
        expected = [m.pk for m in Member.objects.order_by("org_path", "pk")
                    if (m.joined_on.month, m.joined_on.day) == (on.month, on.day)]
    assert [m.pk for m in found] == expected and some.pk in expected


# --- bench/records.py: five years of meetings, dues and transfers on the tiny district ------------------------


def _fingerprint() -> tuple:
    """What the generator wrote, independent of ids: for the determinism check."""
    from dangjian.dues.models import DuesAccount, DuesPayment
    from dangjian.meetings.models import Attendance, MeetingKindRow
    from dangjian.transfers.models import Transfer

    return (
        sorted(MeetingKindRow.unscoped.values_list("org_path", "kind", "held_month")),
        sorted(Attendance.unscoped.values_list("member_id", "held_on", "present")),
        sorted(DuesAccount.unscoped.values_list("member_id", "paid_up_to")),
        sorted(DuesPayment.unscoped.values_list("member_id", "month", "amount_fen")),
        sorted(Transfer.unscoped.values_list("member_id", "kind", "status", "submitted_on", "closed_on")),
    )


@pytest.fixture
def records(district):
    from bench import records

    with system_scope("test: the bench records"):
        return records.add_records(seed=5, today=TODAY)


def test_records_follow_the_frequencies_and_leave_red_cells(records, district):
    from dangjian.meetings.models import Meeting, MeetingKindRow, MeetingRecordVersion, MeetingStatus
    from dangjian.meetings.selectors import compliance_table
    from dangjian.orgs.models import BRANCH_KINDS, Organization

    with system_scope("test: meetings written by the generator"):
        branches = Organization.unscoped.filter(kind__in=BRANCH_KINDS, is_dissolved=False).count()
        assert records.meetings == Meeting.unscoped.count() > 0
        assert records.kind_rows == MeetingKindRow.unscoped.count()
        # At most one 支委会 and one 主题党日 a month per branch, over 60 months, and never in the future.
        per_branch = Counter(MeetingKindRow.unscoped.filter(kind="committee_meeting").values_list("org_path", flat=True))
        assert len(per_branch) == branches and max(per_branch.values()) <= 60 < sum(per_branch.values()) / branches + 12
        months = set(MeetingKindRow.unscoped.values_list("held_month", flat=True))
        assert min(months) >= 202112 and max(months) <= 202611
        assert not Meeting.unscoped.filter(held_on__gte=TODAY).exists()
        # A record is frozen once its confirmation window has passed, with its sealed version 1.
        frozen = Meeting.unscoped.filter(status=MeetingStatus.FROZEN)
        assert records.versions == frozen.count() == MeetingRecordVersion.unscoped.count()
        assert not Meeting.unscoped.filter(status=MeetingStatus.RECORDED, confirm_until__lt=TODAY).exists()
        for v in MeetingRecordVersion.unscoped.select_related("meeting").order_by("?")[:20]:
            assert v.hash_matches() and v.content_hash == v.meeting.content_hash and v.meeting.version == 1
        table = compliance_table(org=district.root, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), today=TODAY)
    statuses = Counter(c.status for r in table.rows for c in r.cells.values() if c is not None)
    assert statuses["green"] and statuses["red"] + statuses["amber"], statuses


def test_attendance_only_for_the_recent_theme_days(records):
    from dangjian.meetings.models import Attendance
    from dangjian.members.models import LEFT_PATH, Member

    with system_scope("test: attendance rows"):
        assert records.attendances == Attendance.unscoped.count() > 0
        assert Attendance.unscoped.filter(held_on__lt=dt.date(2026, 9, 1)).count() == 0
        assert Attendance.unscoped.exclude(meeting__kind_rows__kind="theme_day").count() == 0
        present = Attendance.unscoped.filter(present=True).count()
        assert 0.8 < present / records.attendances < 0.97
        # Members who left before a meeting are not on its list.
        left = dict(Member.unscoped.filter(org_path=LEFT_PATH).values_list("pk", "left_on"))
        for member_id, held_on in Attendance.unscoped.filter(member_id__in=list(left)).values_list("member_id", "held_on"):
            assert held_on < left[member_id]


def test_dues_are_in_the_apps_shape_with_arrears(records, district):
    from dangjian.dues.models import DuesAccount, DuesAssessment, DuesPayment
    from dangjian.dues.selectors import arrears_list, dues_statistics
    from dangjian.members.models import LEFT_PATH

    with system_scope("test: dues written by the generator"):
        members = list(Member.unscoped.exclude(org_path=LEFT_PATH))
        assessments = Counter(DuesAssessment.unscoped.values_list("member_id", flat=True))
        for m in members:  # one a year since joining, over the five years
            assert assessments[m.pk] == len([y for y in range(2022, 2027) if y >= m.joined_on.year]), m.joined_on
        assert records.assessments == sum(assessments.values())
        accounts = dict(DuesAccount.unscoped.values_list("member_id", "paid_up_to"))
        assert len(accounts) == records.accounts == sum(1 for m in members if m.joined_on <= TODAY)
        # Every month after the account opened up to 已交至 has exactly one payment of the assessed amount.
        paid = Counter(DuesPayment.unscoped.filter(kind="due").values_list("member_id", flat=True))
        for a in DuesAssessment.unscoped.filter(year=2026):
            months = accounts[a.member_id].month - a.first_month + 1 if accounts[a.member_id].year == 2026 else 0
            assert paid[a.member_id] == max(months, 0)
        assert not DuesPayment.unscoped.exclude(amount_fen=F("assessment__monthly_fen")).exists()
        owing = arrears_list(org=district.root, on=TODAY, min_months=1).count()
        assert owing == records.in_arrears and 0 < owing < len(members) / 5
        assert arrears_list(org=district.root, on=TODAY, min_months=6).exists()  # 自行脱党 warnings too
        stats = dues_statistics(org=district.root, year=2026, on=TODAY)
        assessed = DuesAssessment.unscoped.filter(year=2026).count()
    assert stats.total.assessed == assessed and 0 < stats.total.paid_fen < stats.total.due_fen
    assert stats.total.arrears[1] == owing
    from dangjian.dues.tallies import dues_tally_differences
    from dangjian.meetings.compliance import compliance_differences

    with system_scope("test: the counters the generator computed at the end"):
        assert dues_tally_differences() == {}
        assert compliance_differences() == {}


def test_transfers_keep_the_member_history_and_counters_right(records, district):
    from dangjian.members.models import LEFT_PATH, MembershipPeriod
    from dangjian.members.tallies import tally_differences
    from dangjian.transfers.models import Transfer, TransferParty
    from dangjian.transfers.selectors import transfer_statistics
    from dangjian.transfers.tallies import transfer_tally_differences

    with system_scope("test: transfers written by the generator"):
        assert sum(records.transfers.values()) == Transfer.unscoped.count() > 0
        kinds = {k.split(":")[0] for k in records.transfers}
        assert {"within", "in", "out"} <= kinds and any(not k.endswith(":closed") for k in records.transfers)
        # Exactly one current period per member on the roster, none for those who left; no period inverted.
        current = Counter(MembershipPeriod.unscoped.filter(end__isnull=True).values_list("member_id", flat=True))
        on_roster = set(Member.unscoped.exclude(org_path=LEFT_PATH).values_list("pk", flat=True))
        assert set(current) == on_roster and set(current.values()) == {1}
        assert not MembershipPeriod.unscoped.filter(end__lt=F("start")).exists()
        left = Member.unscoped.filter(org_path=LEFT_PATH)
        assert left.count() == records.transfers["out:closed"] and not left.filter(left_on__isnull=True).exists()
        for t in Transfer.unscoped.filter(kind="within", status="closed")[:10]:  # moved in on the acceptance date
            assert MembershipPeriod.unscoped.get(member_id=t.member_id, end__isnull=True).start == t.accepted_on
            assert MembershipPeriod.unscoped.get(member_id=t.member_id, end=t.accepted_on).organization_id == t.from_org_id
        assert TransferParty.unscoped.filter(transfer__kind="within").count() == 2 * Transfer.unscoped.filter(kind="within").count()
        assert tally_differences() == {}  # the member counters follow the members who left
        assert transfer_tally_differences() == {}  # written around the services: counted once at the end
        stats = transfer_statistics(org=district.root, start=dt.date(2026, 1, 1), end=TODAY, on=TODAY)
    assert stats.completed > 0 and stats.pending > 0


def test_records_are_deterministic_and_written_once(district):
    from django.db import transaction

    from bench import records

    prints = []
    for _ in range(2):
        with system_scope("test: the same seed twice"), transaction.atomic():
            records.add_records(seed=5, today=TODAY)
            prints.append(_fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1] and prints[0][0]
    with system_scope("test: another seed"), transaction.atomic():
        records.add_records(seed=6, today=TODAY)
        assert _fingerprint() != prints[0]
        with pytest.raises(SystemExit, match="已有基准业务记录"):
            records.add_records(seed=6, today=TODAY)
        transaction.set_rollback(True)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
                    reason="copies into a PostgreSQL server: runs in CI's PostgreSQL pass")
def test_copy_to_postgres_gives_the_same_city(tmp_path):
    """bench.copy_to_postgres: every table of a generated SQLite city arrives whole in a new PostgreSQL
    database, the sequences continue after the copied ids, and the counters still match the rows."""
    import sqlite3
    import subprocess
    import sys

    import psycopg

    from bench.copy_to_postgres import main as copy_main

    source = tmp_path / "city.sqlite3"
    subprocess.run([sys.executable, "-m", "bench.generate", "--members", "300", "--today", "2026-11-29",  # noqa: S603  # nosec B603
                    "--sqlite-path", str(source)], cwd=run.ROOT, check=True, capture_output=True)
    server = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0]
    name = "dangjian_copy_test"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        assert copy_main(["--sqlite-path", str(source), "--database-url", f"{server}/{name}"]) == 0
        src = sqlite3.connect(source)
        with psycopg.connect(f"{server}/{name}") as pg:
            for table in ("members_member", "orgs_organization", "meetings_meeting", "dues_duespayment",
                          "dues_duestally", "members_membertally", "transfers_transfer", "audit_auditentry"):
                want = src.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table}").fetchone()  # noqa: S608  # nosec B608
                have = pg.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table}").fetchone()  # noqa: S608  # nosec B608
                assert tuple(have) == tuple(want) and want[0] > 0, table
                nxt = pg.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))").fetchone()[0]  # noqa: S608  # nosec B608
                assert nxt > want[1], table
            # booleans and text arrive as themselves
            assert pg.execute("SELECT COUNT(*) FROM orgs_organization WHERE is_dissolved").fetchone()[0] == \
                src.execute("SELECT COUNT(*) FROM orgs_organization WHERE is_dissolved = 1").fetchone()[0]
            assert pg.execute("SELECT name FROM members_member ORDER BY id LIMIT 1").fetchone()[0] == \
                src.execute("SELECT name FROM members_member ORDER BY id LIMIT 1").fetchone()[0]
        src.close()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")



def _python(code: str, tmp_path, **env) -> str:
    """What `code` prints in a fresh interpreter (settings are read once per process)."""
    import subprocess
    import sys

    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", **env)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,  # noqa: S603  # nosec B603
                          cwd=run.ROOT)
    return done.stdout.strip()


def test_the_bench_measures_the_production_settings_whatever_the_developers_env_says(tmp_path):
    """`make run` writes DJANGO_DEBUG=1 into .env; the bench must not measure debug mode."""
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    assert _python(code, tmp_path, DJANGO_SETTINGS_MODULE="bench.settings", DJANGO_DEBUG="1") == "False"


def test_a_worker_freezes_what_it_loaded(tmp_path):
    """config/wsgi.py takes the loaded application, its views and APIs included (loaded by the first request
    otherwise), out of the collector's walks (gc.freeze)."""
    code = ("import gc, sys, config.wsgi; print(gc.get_freeze_count() > 10_000, "
            "'dangjian.members.views' in sys.modules, 'dangjian.api.api' in sys.modules)")
    assert _python(code, tmp_path, DJANGO_SETTINGS_MODULE="config.settings") == "True True True"
