"""`make bench`: the operations of issue 8 against a bench database, one table row each.

    .venv/bin/python -m bench.run                          # bench/out/city-1000000.sqlite3
    .venv/bin/python -m bench.run --sqlite-path bench/out/city-100000.sqlite3 --quick
    .venv/bin/python -m bench.run --database-url postgres://127.0.0.1:55460/bench

Each row: operation | database | dataset (members/organisations) | p50 ms | p95 ms | reference p50 ms | ratio |
target | verdict. The reference is measured in the same run:
- for a selector, the raw SQL it sent (captured with `connection.execute_wrapper`) replayed through a plain
  cursor: the ratio is what Django adds on top of the database;
- for a page, the trivial view `/bench/trivial` through the same handler and middleware with the same
  logged-in user (django.test.Client in-process: server time, no network): ratio = page / trivial;
- for the roster import, the INSERTs it sent, replayed (inside a rolled-back transaction, like the import);
- for HTTP throughput (gunicorn, 2 sync workers, `wrk -t2 -c8 -d10s` on loopback), the trivial view's
  requests/s in the same run: ratio = page / trivial (the target is ≥ 0.5 for the member centre).
Plan checks run EXPLAIN (QUERY PLAN) on the queries whose speed rests on an index and print
"PLAN CHANGED" when that index is not used.

The harness itself (`run_operations`) needs only a configured Django and a database holding the demo
district (members/demo.py); bench/test_bench.py runs it with --quick on 300 members.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# Targets of issue 8 at 1,000,000 members (never changed here: a miss is reported as a miss).
STAT_TARGET_MS = {"sqlite": 100.0, "postgresql": 50.0}
PAGE_TARGET_MS = 50.0
BIRTHDAY_TARGET_MS = 10.0
IMPORT_TARGET_ROWS_S = 5000.0
MEMBER_CENTRE_MIN_RATIO = 0.5
IMPORT_REGION = "110105"  # 北京市朝阳区: not a region of the demo district's members

# The indexes the design relies on (ARCHITECTURE §10: an added index can flip a plan).
PLAN_EXPECTATIONS = {
    "stats": ("member_facets",),
    "stats_gender": ("member_facets",),
    "list": ("member_scope_order",),
    # the list's capped count under its filters: index entries only, through the index the plan names
    # (members.selectors.list_plan; SQLite is told it, PostgreSQL must reach the same one on its own)
    "list_count": ("member_facets",),
    "list_sector": ("member_sector_facets",),
    "list_probationary": ("member_probationary",),
    "list_education": ("member_education_facets",),
    "birthday": ("member_political_birthday",),
    "as_of": ("period_scope_dates",),
    "arrears": ("dues_account_owing",),
    # the unique constraint's index: SQLite names it itself when the table is created with the constraint
    "dues_tally": ("dues_tally_key", "sqlite_autoindex_dues_duestally_1"),
}
# PostgreSQL answers a range from any index that starts with org_path (it has no covering-index-only
# shortcut as decisive as SQLite's); what must never happen there is a sequential scan of the table.
# On a small table it may also walk another org_path-led index and sort the page's ids (Incremental Sort).
_ORG_PATH_LED = ("member_facets", "member_scope_order")
# A count over the whole district's range: every index holding the filters' columns answers it from its entries
# alone, and PostgreSQL takes the smallest (none of them orders better when every path is in range).
_COVERING_FACETS = ("member_facets", "member_birth_scope", "member_education_facets", "member_sector_facets")
PLAN_EXPECTATIONS_PG = PLAN_EXPECTATIONS | {"stats": _ORG_PATH_LED, "stats_gender": _ORG_PATH_LED, "list": _ORG_PATH_LED,
                                            "list_count": _COVERING_FACETS}


GROUPS = ("plans", "pages", "stats", "records", "import", "http")


@dataclass
class Row:
    operation: str
    database: str
    dataset: str
    p50: float | None = None
    p95: float | None = None
    ref_p50: float | None = None
    ratio: float | None = None
    target: str = ""
    verdict: str = ""  # 达标 OK / 未达标 MISSED / PLAN CHANGED / 跳过 skipped / ""
    note: str = ""


@dataclass
class Options:
    quick: bool = False
    reps: int = 30
    budget_s: float = 20.0  # per operation, measurement stops after this (at least 3 runs)
    import_rows: tuple[int, ...] = (10_000, 100_000)
    http: bool = True
    http_seconds: int = 10
    database_url: str = ""
    only: tuple[str, ...] = ()  # a subset of GROUPS; all when empty


# --- Measuring ---------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def measure(fn: Callable[[], object], *, reps: int, budget_s: float, warmup: int = 1,
            between: Callable[[], object] | None = None) -> list[float]:
    """Milliseconds of each call of `fn` after `warmup` untimed ones; `between` runs untimed before each call."""
    for _ in range(warmup):
        if between:
            between()
        fn()
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < reps and (len(times) < 3 or time.perf_counter() < deadline):
        if between:
            between()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def vacuumed(*tables: str) -> Callable[[], None] | None:
    """PostgreSQL: VACUUM the tables a rolled-back write case fills. Each rolled-back repetition leaves its rows
    behind as dead tuples (and index entries), which the next repetition would wade through and which
    autovacuum cleans up on the other core while the next one runs; a real import commits and leaves neither.
    SQLite rolls back without a trace: nothing to do."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None

    def vacuum():
        if connection.in_atomic_block:  # VACUUM cannot run in a transaction (the harness's own test runs in one)
            return
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM {connection.ops.quote_name(table)}")

    return vacuum


class SqlCapture:
    """Records (sql, params, many) of every statement an operation sends."""

    def __init__(self):
        self.calls: list[tuple[str, object, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        if many:
            params = list(params)
        self.calls.append((sql, params, many))
        return execute(sql, params, many, context)


def capture(fn: Callable[[], object]) -> list[tuple[str, object, bool]]:
    from django.db import connection

    cap = SqlCapture()
    with connection.execute_wrapper(cap):
        fn()
    return cap.calls


def replay(calls) -> None:
    """The same statements through a plain cursor, results fetched: the database's share of the work."""
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params, many in calls:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()


def rolled_back(fn: Callable[[], object]) -> Callable[[], object]:
    from django.db import transaction

    def run():
        with transaction.atomic():
            fn()
            transaction.set_rollback(True)

    return run


# --- The subjects: who asks, about what ------------------------------------------------------------------


@dataclass
class Subjects:
    root_user: object
    branch_user: object
    member_user: object | None
    root: object
    mid: object
    branch: object
    name: str  # a member's full name
    id_number: str  # a member's ID number, in clear
    members: int
    orgs: int
    today: dt.date


def find_subjects(today: dt.date) -> Subjects:
    """The demo accounts of members/demo.py (区委, 街道党工委, 支部, 党员) and one member to search for."""
    from dangjian.accounts.models import User
    from dangjian.core import crypto
    from dangjian.core.scoping import system_scope
    from dangjian.members.models import Member
    from dangjian.orgs.models import Organization

    with system_scope("bench: choosing the users and organisations to measure with"):
        users = {u.username: u for u in User.objects.filter(username__in=("quwei", "jiedao", "zhibu", "dangyuan"))}
        missing = {"quwei", "jiedao", "zhibu"} - set(users)
        if missing:
            raise SystemExit(f"基准数据库中缺少演示账号 {sorted(missing)}：请用 bench/generate.py 生成")

        def granted(user) -> Organization:
            return Organization.unscoped.get(path=user.capability_paths("member.view")[0])

        root, mid, branch = granted(users["quwei"]), granted(users["jiedao"]), granted(users["zhibu"])
        _agree_to_privacy_notice(users.values())
        n = Member.unscoped.count()
        probe = Member.unscoped.order_by("pk").only("name", "id_number_encrypted")[n // 2]
        return Subjects(
            root_user=users["quwei"], branch_user=users["zhibu"], member_user=users.get("dangyuan"),
            root=root, mid=mid, branch=branch, name=probe.name, id_number=crypto.decrypt(probe.id_number_encrypted),
            members=n, orgs=Organization.unscoped.count(), today=today,
        )


def _agree_to_privacy_notice(users) -> None:
    """The pages are measured as users who have passed the login steps; the demo accounts meet the consent
    page at their first login (accounts.policy), so the measured ones agree through the real service first,
    once per bench database. The step itself is not what is measured."""
    from dangjian.accounts import policy
    from dangjian.accounts.services import consent_accept

    for user in users:
        if policy.consent_needed(user):
            consent_accept(actor=user, ip=None)


# --- Rows --------------------------------------------------------------------------------------------


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def _fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}" if v < 100 else f"{v:,.0f}"


def print_header(out) -> None:
    out.write("| 操作 operation | 数据库 database | 数据集 dataset (党员/组织) | p50 ms | p95 ms | 参照 reference p50 ms "
              "| 倍数 ratio | 目标 target | 结果 verdict | 说明 note |\n")
    out.write("|---|---|---|---:|---:|---:|---:|---|---|---|\n")


def print_row(out, r: Row) -> None:
    ratio = "—" if r.ratio is None else f"{r.ratio:.2f}"
    out.write(f"| {r.operation} | {r.database} | {r.dataset} | {_fmt(r.p50)} | {_fmt(r.p95)} | {_fmt(r.ref_p50, 2)} "
              f"| {ratio} | {r.target} | {r.verdict} | {r.note} |\n")
    out.flush()


def _verdict(ok: bool) -> str:
    return "达标 OK" if ok else "未达标 MISSED"


# --- Operations --------------------------------------------------------------------------------------


def selector_row(opt: Options, s: Subjects, label: str, user, fn, *, target_ms: float | None, writes=False,
                 note="", between: Callable[[], object] | None = None) -> Row:
    """A selector under `user`'s scope; reference: its captured SQL replayed through a plain cursor. `between`
    runs untimed before each call of either (`vacuumed`)."""
    from dangjian.accounts.middleware import scope_for_user
    from dangjian.core.scoping import scope

    with scope(scope_for_user(user)):
        op = rolled_back(fn) if writes else fn
        times = measure(op, reps=opt.reps, budget_s=opt.budget_s, between=between)
        calls = capture(op)
    ref_calls = [c for c in calls if not c[0].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"))]
    ref = measure(rolled_back(lambda: replay(ref_calls)) if writes else (lambda: replay(ref_calls)),
                  reps=opt.reps, budget_s=opt.budget_s, between=between)
    r = Row(label, _vendor(), f"{s.members:,}/{s.orgs:,}", percentile(times, 50), percentile(times, 95),
            percentile(ref, 50), note=(note + f"；{len(ref_calls)} 条 SQL").lstrip("；"))
    r.ratio = r.p50 / r.ref_p50 if r.ref_p50 else None
    if target_ms is not None:
        r.target = f"p95 ≤ {target_ms:g} ms"
        r.verdict = _verdict(r.p95 <= target_ms)
    return r


def page_rows(opt: Options, s: Subjects) -> list[Row]:
    """Pages through django.test.Client in-process (the full middleware stack), trivial view as reference."""
    from django.test import Client
    from django.test.utils import override_settings

    pages = [
        ("工作台首页 workbench home（区委 root）", s.root_user, "/", None),
        ("工作台首页 workbench home（支部 branch）", s.branch_user, "/", None),
        ("党员列表 member list 第1页（区委）", s.root_user, "/members/", PAGE_TARGET_MS),
        ("党员列表 第500页 page 500（区委；正式党员、女）", s.root_user, "/members/?status=full&gender=female"
         + _page_500_link(s), PAGE_TARGET_MS),
        ("党员列表 第1页（街道 mid-level，org=）", s.root_user, f"/members/?org={s.mid.pk}", PAGE_TARGET_MS),
        ("党员列表 第1页（支部 branch worker）", s.branch_user, "/members/", PAGE_TARGET_MS),
        # filters that narrow the district to a few per cent, each walked through the index it leads
        ("党员列表 筛选 filtered（区委；学校、女）", s.root_user, "/members/?sector=school&gender=female", PAGE_TARGET_MS),
        ("党员列表 筛选 filtered（区委；预备党员、31-35岁）", s.root_user,
         "/members/?status=probationary&age_band=31-35%E5%B2%81", PAGE_TARGET_MS),
        ("党员列表 筛选 filtered（区委；研究生、女）", s.root_user, "/members/?education_level=1&gender=female",
         PAGE_TARGET_MS),
        ("党员列表 筛选 filtered（区委；61岁及以上、初中、女）", s.root_user,
         "/members/?age_band=61%E5%B2%81%E5%8F%8A%E4%BB%A5%E4%B8%8A&education_level=7&gender=female", PAGE_TARGET_MS),
        ("搜索 search 姓名 name（区委）", s.root_user, "/members/?q=" + s.name, PAGE_TARGET_MS),
        ("搜索 search 姓氏、预备党员 surname + filter（区委）", s.root_user,
         "/members/?status=probationary&q=" + s.name[:1], PAGE_TARGET_MS),
        ("搜索 search 身份证号 exact ID（区委）", s.root_user, "/members/?q=" + s.id_number, PAGE_TARGET_MS),
        ("接口 API 党员列表 第1页（区委；20条）", s.root_user, "/api/v1/members?limit=20", PAGE_TARGET_MS),
        ("接口 API 党员列表 offset=10000（区委；20条）", s.root_user, "/api/v1/members?limit=20&offset=10000",
         PAGE_TARGET_MS),
    ]
    if s.member_user is not None:
        pages.append(("党员中心 member centre /my/（党员）", s.member_user, "/my/", PAGE_TARGET_MS))
        pages.append(("我的档案 own record /members/me/（党员）", s.member_user, "/members/me/", PAGE_TARGET_MS))
    clients: dict[int, Client] = {}
    rows = []
    with override_settings(ROOT_URLCONF="bench.urls"):
        for label, user, url, target in pages:
            c = clients.get(user.pk)
            if c is None:
                c = clients[user.pk] = Client(HTTP_HOST="127.0.0.1")
                c.force_login(user)

            def get(c=c, url=url):
                resp = c.get(url)
                if resp.status_code != 200:
                    raise RuntimeError(f"{url}: HTTP {resp.status_code} {resp.get('Location', '')}")

            times = measure(get, reps=opt.reps, budget_s=opt.budget_s)
            ref = measure(lambda c=c: c.get("/bench/trivial"), reps=opt.reps, budget_s=opt.budget_s)
            r = Row(label, _vendor(), f"{s.members:,}/{s.orgs:,}", percentile(times, 50), percentile(times, 95),
                    percentile(ref, 50), note="参照：同一用户的 trivial view")
            r.ratio = r.p50 / r.ref_p50
            if target is not None:
                r.target = f"p95 ≤ {target:g} ms"
                r.verdict = _verdict(r.p95 <= target)
            rows.append(r)
    return rows


def statistic_rows(opt: Options, s: Subjects) -> list[Row]:
    from dangjian.members.selectors import member_count_as_of, member_statistics, political_birthdays

    target = STAT_TARGET_MS.get(_vendor(), 100.0)
    year_end = dt.date(s.today.year - 1, 12, 31)
    rows = [
        selector_row(opt, s, "子树统计 subtree statistics（区委 root）", s.root_user,
                     lambda: member_statistics(org=s.root, today=s.today), target_ms=target),
        selector_row(opt, s, "子树统计 subtree statistics（街道 mid-level）", s.root_user,
                     lambda: member_statistics(org=s.mid, today=s.today), target_ms=target),
        selector_row(opt, s, f"{year_end} 人数 as-of count（区委）", s.root_user,
                     lambda: member_count_as_of(org=s.root, on=year_end), target_ms=target),
        selector_row(opt, s, f"{year_end} 人数 as-of count（街道）", s.root_user,
                     lambda: member_count_as_of(org=s.mid, on=year_end), target_ms=target),
    ]

    def birthdays_page():
        qs = political_birthdays(on=s.today)
        return qs.count(), list(qs[:20])

    def birthdays_all():
        return list(political_birthdays(on=s.today).values_list("pk", "org_path"))

    rows.append(selector_row(opt, s, "今日政治生日 political birthdays（区委；总数+前20人）", s.root_user, birthdays_page,
                             target_ms=BIRTHDAY_TARGET_MS))
    n = political_birthdays_count(s)
    rows.append(selector_row(opt, s, f"今日政治生日（区委；全部 {n:,} 人的 id）", s.root_user, birthdays_all,
                             target_ms=BIRTHDAY_TARGET_MS))
    return rows


def _page_500_key(s: Subjects) -> tuple[str, int] | None:
    """The keyset position of page 500 of the district's "正式党员、女" (the last row of page 499), None when the
    list is shorter: the list pages only by its "下一页" links (`after=`), never by a page number."""
    from dangjian.accounts.middleware import scope_for_user
    from dangjian.core.scoping import scope
    from dangjian.members.selectors import MemberFilters, member_list

    filtered = MemberFilters(status="full", gender="female", today=s.today)
    with scope(scope_for_user(s.root_user)):
        keys = list(member_list(filters=filtered).values_list("org_path", "pk")[499 * 20 - 1: 499 * 20])
    return keys[0] if keys else None


def _page_500_link(s: Subjects) -> str:
    """The query string of the "下一页" link that leads to page 500 ("" on a list of fewer pages: page 1).
    (A `page=500` parameter, as this row used before, is ignored by the list: that measured page 1.)"""
    key = _page_500_key(s)
    return f"&after={key[0]}-{key[1]}" if key else ""


def proposal_rows(opt: Options, s: Subjects) -> list[Row]:
    """The list page's queries as proposed in docs/performance.md (capped count + keyset page), selector
    only: the page adds its template and middleware (compare the branch worker's list page row)."""
    from dangjian.members.selectors import MemberFilters, member_count_capped, member_list, member_page

    plain = MemberFilters()
    filtered = MemberFilters(status="full", gender="female", today=s.today)
    key = _page_500_key(s)

    def first_page():
        return member_count_capped(member_list(filters=plain)), member_page(filters=plain)

    def page_500():
        return member_count_capped(member_list(filters=filtered)), member_page(filters=filtered, after=key)

    note = "建议 proposed：计数上限 10,000 + keyset 分页；仅查询，不含模板"
    return [
        selector_row(opt, s, "建议：党员列表第1页（区委）计数上限+keyset", s.root_user, first_page,
                     target_ms=PAGE_TARGET_MS, note=note),
        selector_row(opt, s, "建议：党员列表第500页（区委；正式党员、女）计数上限+keyset", s.root_user, page_500,
                     target_ms=PAGE_TARGET_MS, note=note + ("" if key else "；数据不足 500 页，取第1页")),
    ]


def record_rows(opt: Options, s: Subjects) -> list[Row]:
    """The records of the other apps (bench/records.py: five years of meetings, dues, transfers), as the
    区委 administrator: the compliance table over last year for the root and a street, the dues statistics
    and the first page of the arrears list for the root, the transfer statistics of this year."""
    from dangjian.dues.selectors import arrears_count, arrears_list, dues_statistics
    from dangjian.meetings.selectors import compliance_page, compliance_summary, compliance_table
    from dangjian.transfers.selectors import transfer_statistics

    target = STAT_TARGET_MS.get(_vendor(), 100.0)
    year = s.today.year - 1
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)

    def arrears_page(org):
        # the page: the first 20 of the list and how many there are in all
        return list(arrears_list(org=org, on=s.today, min_months=1)[:20]), arrears_count(org=org, on=s.today,
                                                                                         min_months=1)

    return [
        # A subtree above 500 branches gets the summary by child organisation and paged branch detail (the
        # page meetings:compliance); the full table stays for a street and smaller.
        selector_row(opt, s, f"组织生活落实情况汇总 compliance summary（区委 root，{year}年）", s.root_user,
                     lambda: compliance_summary(org=s.root, year=year, today=s.today), target_ms=target),
        selector_row(opt, s, f"组织生活支部明细 compliance detail 第1页（区委 root，{year}年）", s.root_user,
                     lambda: compliance_page(org=s.root, year=year, today=s.today), target_ms=PAGE_TARGET_MS),
        selector_row(opt, s, f"组织生活支部明细 compliance detail 只看未达标第1页（区委 root，{year}年）", s.root_user,
                     lambda: compliance_page(org=s.root, year=year, today=s.today, problems_only=True),
                     target_ms=PAGE_TARGET_MS),
        selector_row(opt, s, f"组织生活合规表 compliance table（街道 mid-level，{year}年）", s.root_user,
                     lambda: compliance_table(org=s.mid, start=start, end=end, today=s.today), target_ms=target),
        selector_row(opt, s, f"党费统计 dues statistics（区委 root，{s.today.year}年）", s.root_user,
                     lambda: dues_statistics(org=s.root, year=s.today.year, on=s.today), target_ms=target),
        selector_row(opt, s, f"党费统计 dues statistics（街道 mid-level，{s.today.year}年）", s.root_user,
                     lambda: dues_statistics(org=s.mid, year=s.today.year, on=s.today), target_ms=target),
        selector_row(opt, s, "欠交党费名单 arrears list 第1页＋人数（区委 root）", s.root_user,
                     lambda: arrears_page(s.root), target_ms=PAGE_TARGET_MS),
        selector_row(opt, s, "欠交党费名单 arrears list 第1页＋人数（支部 branch）", s.branch_user,
                     lambda: arrears_page(s.branch), target_ms=PAGE_TARGET_MS),
        selector_row(opt, s, f"组织关系接转统计 transfer statistics（区委 root，{s.today.year}年）", s.root_user,
                     lambda: transfer_statistics(org=s.root, start=dt.date(s.today.year, 1, 1), end=s.today,
                                                 on=s.today), target_ms=target),
    ]


def political_birthdays_count(s: Subjects) -> int:
    from dangjian.core.scoping import system_scope
    from dangjian.members.selectors import political_birthdays

    with system_scope("bench: size of today's birthday list"):
        return political_birthdays(on=s.today).count()


# --- Roster import -----------------------------------------------------------------------------------


def roster_file(s: Subjects, rows: int, *, seed: int = 7919, spread: str = "city") -> bytes:
    """An .xlsx of `rows` new members (members/demo.py's generator, another seed) into existing branches,
    the 所在党组织 column holding the branch's 编号 (path), as the template allows.

    spread="city": each row in a different branch of the whole city, the worst case for the index pages and
    the counters (every new member lands somewhere else, every branch's counter set is touched).
    spread="street": the rows spread over the branches of one 街道 (s.mid's subtree), as a real roster comes
    from one street or unit."""
    import xlsxwriter

    from dangjian.core.validators import build_id_number
    from dangjian.members import demo, roster

    branches = _import_branches(s, spread)
    plan = demo.build_plan(members=max(rows, demo.MIN_MEMBERS), seed=seed)
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet(roster.DATA_SHEET)
    ws.write_row(0, 0, roster.HEADERS)
    fields = [c.field for c in roster.COLUMNS]
    taken: set[tuple] = set()
    for i, m in enumerate(demo.iter_members(plan, seed=seed, today=s.today)):
        if i >= rows:
            break
        # A region code the demo district never uses (REGIONS_* are Jiangsu's): no clash with registered numbers.
        seq = 0
        while (m.birth_date, seq, m.gender) in taken:
            seq += 1
        taken.add((m.birth_date, seq, m.gender))
        values = {
            "name": m.name, "id_number": build_id_number(IMPORT_REGION, m.birth_date, seq, m.gender), "gender": m.gender, "ethnicity": m.ethnicity,
            "birth_date": m.birth_date.isoformat(), "phone": m.phone, "education": m.education,
            "occupation": m.occupation, "work_unit": m.work_unit, "post": m.post, "address": m.address,
            "organization": branches[(i * 7919) % len(branches)], "status": m.status,
            "joined_on": m.joined_on.isoformat(), "confirmed_on": m.confirmed_on.isoformat() if m.confirmed_on else "",
            "since": "", "is_mobile": "是" if m.is_mobile else "否", "is_lost_contact": "是" if m.is_lost_contact else "否",
        }
        ws.write_row(i + 1, 0, [values[f] for f in fields])
    wb.close()
    return out.getvalue()


def _import_branches(s: Subjects, spread: str) -> list[str]:
    """The paths of the branches a bench roster imports into: the whole city's, or one 街道's (s.mid)."""
    from dangjian.core.scoping import system_scope
    from dangjian.orgs.models import BRANCH_KINDS, Organization

    with system_scope("bench: branches to import into"):
        qs = Organization.unscoped.filter(kind__in=BRANCH_KINDS, is_dissolved=False)
        if spread == "street":
            lo, hi = s.mid.subtree_range()
            qs = qs.filter(path__gte=lo, path__lt=hi)
        elif spread != "city":
            raise ValueError(spread)
        return list(qs.order_by("path").values_list("path", flat=True))


def import_row(opt: Options, s: Subjects, rows: int) -> Row:
    """roster_import (read + validate with MemberForm + save) inside a rolled-back transaction: the service the
    import page calls, with the upload as the page hands it over (an UploadedFile), under the importer's scope.

    The row (and its verdict) is the worst case, every row in a different branch of the city; the realistic
    case, the same number of rows from one 街道's branches, is measured too and given in the note."""
    row, rate = _import_case(opt, s, rows, "city")
    street, street_rate = _import_case(opt, s, rows, "street")
    branches = len(_import_branches(s, "street"))
    row.note = (f"{rate:,.0f} 行/秒（每行一个支部，全市；读取+校验+保存，事务回滚）；"
                f"一个街道 {branches:,} 个支部：{street_rate:,.0f} 行/秒（p50 {street.p50:,.0f} ms）；{row.note}")
    return row


def _import_case(opt: Options, s: Subjects, rows: int, spread: str) -> tuple[Row, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dangjian.members.roster import roster_import

    data = roster_file(s, rows, spread=spread)
    result = {}

    def run():
        upload = SimpleUploadedFile("名册.xlsx", data)
        outcome = roster_import(actor=s.root_user, upload=upload, today=s.today)
        if outcome.errors or outcome.saved != rows:
            raise RuntimeError(f"roster import: {outcome.saved} saved, errors {outcome.errors[:3]}")
        result["n"] = outcome.saved

    reps = 1 if opt.quick or rows > 10_000 else 3
    local = Options(quick=opt.quick, reps=reps, budget_s=opt.budget_s)
    written = ("members_member", "members_membershipperiod", "members_membertally")
    r = selector_row(local, s, f"名册导入 roster import {rows:,} 行", s.root_user, run, target_ms=None, writes=True,
                     between=vacuumed(*written))
    rate = rows / (r.p50 / 1000)
    r.target = f"≥ {IMPORT_TARGET_ROWS_S:,.0f} 行/秒"
    r.verdict = _verdict(rate >= IMPORT_TARGET_ROWS_S)
    r.note = f"参照=其 INSERT 重放；{reps} 次"
    return r, rate


# --- Plan checks -------------------------------------------------------------------------------------


def explain(qs) -> str:
    """The plan of a queryset, or of `(sql, params)`."""
    from django.db import connection

    sql, params = qs if isinstance(qs, tuple) else qs.query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def _count_sent(filters) -> tuple[str, None]:
    """The statement the list's capped count sends under `filters` (through the index its plan names), as
    sent: parameters in place."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.members.selectors import list_plan, member_count

    plan = list_plan(filters)
    with CaptureQueriesContext(connection) as ctx:
        member_count(filters=filters, plan=plan)
    return ctx.captured_queries[-1]["sql"], None


def plan_rows(opt: Options, s: Subjects) -> list[Row]:
    """The subtree ranges, the list order and the birthday lookup must use the indexes they were built on."""
    from django.db import connection, transaction
    from django.db.models import Count, Q

    from dangjian.accounts.middleware import scope_for_user
    from dangjian.core.scoping import scope
    from dangjian.dues.models import DuesTally
    from dangjian.dues.selectors import arrears_list
    from dangjian.members.models import Member, MembershipPeriod
    from dangjian.members.selectors import MemberFilters, member_list, political_birthdays

    year_end = dt.date(s.today.year - 1, 12, 31)
    lo, hi = s.mid.subtree_range()
    blo, bhi = s.branch.subtree_range()
    checks = [
        ("计划 plan：子树统计（街道）", "stats_gender",
         lambda: Member.objects.filter(org_path__gte=lo, org_path__lt=hi).order_by().values("gender")
         .annotate(n=Count("pk"))),
        ("计划 plan：子树统计（支部）", "stats",
         lambda: Member.objects.filter(org_path__gte=blo, org_path__lt=bhi).order_by().values("occupation")
         .annotate(n=Count("pk"))),
        ("计划 plan：党员列表第1页（街道）", "list", lambda: member_list(filters=MemberFilters(org=s.mid))[:20]),
        ("计划 plan：党员列表计数上限（区委；正式党员、女）", "list_count",
         lambda: _count_sent(MemberFilters(status="full", gender="female"))),
        ("计划 plan：党员列表计数上限（区委；学校、女）", "list_sector",
         lambda: _count_sent(MemberFilters(sector="school", gender="female"))),
        ("计划 plan：党员列表计数上限（区委；预备党员、女）", "list_probationary",
         lambda: _count_sent(MemberFilters(status="probationary", gender="female"))),
        ("计划 plan：党员列表计数上限（区委；研究生、女）", "list_education",
         lambda: _count_sent(MemberFilters(education_level="1", gender="female"))),
        ("计划 plan：今日政治生日（区委）", "birthday", lambda: political_birthdays(on=s.today)),
        ("计划 plan：12月31日人数（街道）", "as_of",
         lambda: MembershipPeriod.objects.filter(Q(start__lte=year_end) & (Q(end__isnull=True) | Q(end__gt=year_end)),
                                                 org_path__gte=lo, org_path__lt=hi).order_by()),
        ("计划 plan：欠交党费名单第1页（街道）", "arrears",
         lambda: arrears_list(org=s.mid, on=s.today, min_months=1)[:20]),
        ("计划 plan：党费汇总（街道及其下级）", "dues_tally",
         lambda: DuesTally.objects.filter(org_path__in=[s.mid.path, s.branch.path], metric="account")),
    ]
    small = s.members < 50_000
    rows = []
    with scope(scope_for_user(s.root_user)), transaction.atomic():
        if connection.vendor == "postgresql" and small:
            with connection.cursor() as cursor:  # a tiny table is read whole; ask whether the index is usable
                cursor.execute("ANALYZE members_member, members_membershipperiod, orgs_organization, "
                               "dues_duesaccount, dues_duestally")
                cursor.execute("SET LOCAL enable_seqscan = off")
        expectations = PLAN_EXPECTATIONS if connection.vendor == "sqlite" else PLAN_EXPECTATIONS_PG
        for label, kind, make in checks:
            plan = explain(make())
            wanted = expectations[kind]
            used = [name for name in wanted if name in plan]
            if connection.vendor == "sqlite":
                used = [n for n in used if re.search(rf"SEARCH \S+ USING (COVERING )?INDEX {n}\b", plan)]
            ok = bool(used)
            if connection.vendor == "postgresql" and small:
                # A few hundred rows give PostgreSQL's planner no real choice to check (with seqscan off it
                # picks among any usable indexes, partial ones included): only a sequential scan is wrong.
                ok = "Seq Scan" not in plan
            summary = " / ".join(line.strip() for line in plan.splitlines()[:3])[:160].replace("|", "¦")
            rows.append(Row(label, connection.vendor, f"{s.members:,}/{s.orgs:,}", target=f"用索引 {wanted[0]}",
                            verdict="计划正常 PLAN OK" if ok else "PLAN CHANGED",
                            note=summary + ("（小表：已关闭 seqscan 检查可用性）" if connection.vendor == "postgresql" and small else "")))
        transaction.set_rollback(True)
    return rows


# --- HTTP throughput (gunicorn + wrk) -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_LAT = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _wrk(port: int, path: str, cookie: str, seconds: int) -> tuple[float, dict[str, float], str]:
    cmd = [shutil.which("wrk"), "-t2", "-c8", f"-d{seconds}s", "--timeout", "5s", "--latency",
           "-H", f"Cookie: sessionid={cookie}", f"http://127.0.0.1:{port}{path}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)  # noqa: S603  # nosec B603
    rps = float(WRK_RPS.search(res.stdout)[1])
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {q: float(v) * unit[u] for q, v, u in WRK_LAT.findall(res.stdout)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", res.stdout)
    return rps, lat, (f"非2xx {errors[1]} 次" if errors else "")


def http_rows(opt: Options, s: Subjects) -> list[Row]:
    from django.contrib.sessions.backends.db import SessionStore  # noqa: F401  (the server reads these sessions)
    from django.test import Client

    dataset = f"{s.members:,}/{s.orgs:,}"
    if not shutil.which("wrk"):
        return [Row("HTTP 吞吐 throughput", _vendor(), dataset, verdict="跳过 skipped", note="未安装 wrk")]
    cookies = {}
    for who, user in (("root", s.root_user), ("member", s.member_user)):
        if user is not None:
            c = Client()
            c.force_login(user)
            cookies[who] = c.cookies["sessionid"].value
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=opt.database_url)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(  # noqa: S603  # nosec B603
        [gunicorn, "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    rows = []
    try:
        if not _wait_port(port, 30):
            return [Row("HTTP 吞吐 throughput", _vendor(), dataset, verdict="失败 failed", note="gunicorn 未启动")]
        targets = [("trivial view /bench/trivial", "/bench/trivial", cookies["root"])]
        if "member" in cookies:
            # 党员中心 is the home page members open (web:centre), the one the target is about; 我的档案 beside it.
            targets.append(("党员中心 member centre /my/", "/my/", cookies["member"]))
            targets.append(("我的档案 own record /members/me/", "/members/me/", cookies["member"]))
        targets.append(("党员列表 member list /members/（区委）", "/members/", cookies["root"]))
        for _label, path, cookie in targets:  # every page answers 200 with its cookie before wrk runs
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            status = conn.getresponse().status
            conn.close()
            if status != 200:
                server.terminate()
                _, err = server.communicate(timeout=15)
                raise RuntimeError(f"{path}: HTTP {status} under gunicorn\n{err[-3000:]}")
        results = {}
        for label, path, cookie in targets:
            results[label] = _wrk(port, path, cookie, opt.http_seconds)
        trivial_rps = results[targets[0][0]][0]
        for label, (rps, lat, errors) in results.items():
            r = Row(f"HTTP {label}", _vendor(), dataset, lat.get("50"), None, None, rps / trivial_rps,
                    note=f"{rps:,.0f} req/s（trivial {trivial_rps:,.0f}）；p90 {_fmt(lat.get('90'))} ms、p99 "
                         f"{_fmt(lat.get('99'))} ms；gunicorn -w 2，wrk -t2 -c8 -d{opt.http_seconds}s {errors}".strip())
            if "member centre" in label:
                r.target = f"≥ {MEMBER_CENTRE_MIN_RATIO:.0%} trivial"
                r.verdict = _verdict(r.ratio >= MEMBER_CENTRE_MIN_RATIO)
            rows.append(r)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    return rows


# --- Driver ------------------------------------------------------------------------------------------


def run_operations(opt: Options, out=None, today: dt.date | None = None) -> list[Row]:
    """Every operation, printed as it finishes; returns the rows. Django must be set up."""
    from django.utils import timezone

    out = out or sys.stdout
    s = find_subjects(today or timezone.localdate())
    print_header(out)
    rows: list[Row] = []

    def emit(new: list[Row]) -> None:
        for r in new:
            print_row(out, r)
            rows.append(r)

    want = set(opt.only or GROUPS)
    if "plans" in want:
        emit(plan_rows(opt, s))
    if "pages" in want:
        emit(page_rows(opt, s))
    if "stats" in want:
        emit(statistic_rows(opt, s))
        emit(proposal_rows(opt, s))
    if "records" in want:
        emit(record_rows(opt, s))
    if "import" in want:
        for n in opt.import_rows:
            emit([import_row(opt, s, n)])
    if "http" in want and opt.http and not opt.quick:
        emit(http_rows(opt, s))
    if "plans" in want:
        emit(plan_rows(opt, s))  # again at the end: nothing above may have changed a plan
    return rows


def open_bench_database(parser, database_url: str, sqlite_path: str, *, migrate: bool) -> str:
    """Point Django at the bench database (migrated to the code's tables first) and set it up."""
    if database_url:
        url = database_url
    else:
        path = Path(sqlite_path) if sqlite_path else OUT / "city-1000000.sqlite3"
        if not path.exists():
            parser.error(f"{path} 不存在：先运行 .venv/bin/python -m bench.generate")
        url = f"sqlite:///{path.resolve()}"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("DANGJIAN_VAR_DIR", str(OUT / "var"))
    if migrate:  # tables and indexes added since the dataset was generated
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],  # noqa: S603  # nosec B603
                       cwd=ROOT, env=dict(os.environ), check=True)
    import django

    django.setup()
    return url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="智慧党建 基准测试（issue 8）")
    p.add_argument("--database-url", default="", help="基准数据库 URL（PostgreSQL 等）")
    p.add_argument("--sqlite-path", default="", help="SQLite 基准库（默认 bench/out/city-1000000.sqlite3）")
    p.add_argument("--quick", action="store_true", help="快速：每项 5 次，只导入 10,000 行，不测 HTTP")
    p.add_argument("--reps", type=int, default=None, help="每项测量次数（默认 30，--quick 为 5）")
    p.add_argument("--no-http", action="store_true", help="不运行 gunicorn + wrk")
    p.add_argument("--no-migrate", action="store_true", help="不先执行 migrate")
    p.add_argument("--http-seconds", type=int, default=10)
    p.add_argument("--only", default="", help=f"只运行这些组（逗号分隔）：{','.join(GROUPS)}")
    args = p.parse_args(argv)

    url = open_bench_database(p, args.database_url, args.sqlite_path, migrate=not args.no_migrate)
    import config.wsgi  # noqa: F401  (measured in the state of a worker: the application loaded, then frozen)

    quick = args.quick
    opt = Options(quick=quick, reps=args.reps or (5 if quick else 30), budget_s=5.0 if quick else 20.0,
                  import_rows=(10_000,) if quick else (10_000, 100_000), http=not args.no_http,
                  http_seconds=args.http_seconds, database_url=url,
                  only=tuple(g for g in args.only.split(",") if g))
    started = time.perf_counter()
    out = sys.stdout
    out.write(f"# 智慧党建 bench — {dt.datetime.now():%Y-%m-%d %H:%M}, nproc {os.cpu_count()}, "
              f"{'quick' if quick else 'full'} run, {url.split('@')[-1]}\n\n")
    rows = run_operations(opt, out)
    changed = [r for r in rows if r.verdict == "PLAN CHANGED"]
    missed = [r for r in rows if r.verdict.startswith("未达标")]
    out.write(f"\n{len(rows)} 行，用时 {time.perf_counter() - started:.0f} 秒；未达标 {len(missed)} 项；"
              f"计划变化 {len(changed)} 项\n")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
