"""The benchmark harness on a tiny district: every operation prints a row with numbers and every plan check
passes. Correctness of the harness (and of the selectors it measures), never timings (ARCHITECTURE §10)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter

import pytest

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
        return demo.load_district(members=300, seed=3, today=TODAY, district_name="测试区", password="Bench-test-2026")  # noqa: S106 (test accounts only)


def test_harness_prints_a_row_per_operation_and_plans_hold(district):
    opt = run.Options(quick=True, reps=2, budget_s=1.0, import_rows=(300,), http=False)
    out = io.StringIO()
    rows = run.run_operations(opt, out, today=TODAY)
    text = out.getvalue()

    measured = [r for r in rows if not r.operation.startswith("计划")]
    expected = ["工作台首页 workbench home（区委", "工作台首页 workbench home（支部", "党员列表 member list 第1页（区委",
                "第500页 page 500", "第1页（街道 mid-level", "支部 branch worker", "搜索 search 姓名", "搜索 search 身份证号",
                "党员中心", "子树统计 subtree statistics（区委", "子树统计 subtree statistics（街道", "as-of count（区委",
                "as-of count（街道", "建议：党员列表第1页", "建议：党员列表第500页", "今日政治生日 political birthdays", "今日政治生日（区委；全部", "名册导入 roster import 300"]
    for name in expected:
        hits = [r for r in measured if name in r.operation]
        assert len(hits) == 1, name
        r = hits[0]
        assert r.p50 is not None and r.p50 > 0 and r.p95 >= r.p50 and r.ref_p50 > 0 and r.ratio > 0, r
        assert r.database in ("sqlite", "postgresql") and r.dataset.startswith("300/")
    plans = [r for r in rows if r.operation.startswith("计划")]
    assert len(plans) == 10  # checked before and after the operations
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
