"""落实情况标记 and 落实情况汇总 (`ComplianceMark`, `ComplianceTally`): the organisational-life compliance of
every branch, precomputed per (branch, year, kind) so that the root of a city (30,000 branches) gets its
summary from a few hundred counters instead of a million `MeetingKindRow`s (docs/performance.md §7.5).

A mark holds the months a kind was held in a year (bit m−1 for month m) — the facts, independent of today —
and, under the kind's frequency rule, `met_end` / `gap_end`: the last month of the first held / first missed
period (13 = none). A period is due once it has ended, so with H = the months of the year already over on
`min(31 December, today)`, a branch is 达标 when `gap_end > H`, 未开展 when `met_end > H`, otherwise 部分达标;
when nothing is due yet, 达标 if anything was held (`met_end ≤ 12`), else 未到期. Exactly `compliance_table`'s
rule for a whole calendar year, as a comparison the database can count.

Who writes: the meeting services that change a kind row's `held_month` — the record (a second record may
move the meeting to another month) and the edit of its kinds — call `held_pairs()` before and
`marks_refresh()` after, in their own transaction. The branch row is locked first so two records of one
branch on PostgreSQL do not each miss the other's month. Cancelling (only before the record, so no month is
set), confirming and freezing change no month: like `compliance_table`, the marks follow the kind rows, not
the meeting's status, and those services leave them alone.

Who reads: `compliance_table` (any whole-month period, per branch: the `months` bits inside the period),
`compliance_summary` (the counters) and `compliance_page` (a page of marks) in `selectors.py`. Marks exist only
for kinds that had a frequency when they were written: a setting that gives a kind a frequency it lacked shows
nothing for that kind until the rebuild below.

`rebuild_compliance()` recomputes everything from the kind rows (the migration's backfill, `manage.py
rebuild_compliance`, and the repair after rows were written around the services — bench data, or a change of
a frequency setting, which changes `met_end`/`gap_end` or gives a kind a frequency it lacked).
`compliance_differences()` recomputes the marks in Python from the ORM and compares marks and counters: the
consistency check of the tests and of `--check`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connections, router, transaction

from dangjian.core.scoping import subtree_bounds
from dangjian.orgs import tallies
from dangjian.orgs.models import BRANCH_KINDS, SEGMENT, Organization

from . import rules
from .models import ComplianceMark, ComplianceTally, MeetingKindRow

NONE = 13  # met_end / gap_end when no period was held / missed
CHUNK = 10_000


# --- the rule's periods within one year ---------------------------------------------------------------

def periods(period: str) -> list[tuple[int, int]]:
    """(last month, month bits) of every month / quarter / the year."""
    if period == "month":
        return [(m, 1 << (m - 1)) for m in range(1, 13)]
    if period == "quarter":
        return [(3 * q, 0b111 << (3 * (q - 1))) for q in range(1, 5)]
    return [(12, 0xFFF)]


def mark_values(months: int, period: str) -> tuple[int, int]:
    """(met_end, gap_end) of a months bitmap under a frequency."""
    ps = periods(period)
    met = next((end for end, bits in ps if months & bits), NONE)
    gap = next((end for end, bits in ps if not months & bits), NONE)
    return met, gap


def months_over(year: int, today: dt.date) -> int:
    """H: how many months of `year` have ended by `today` (a period is due when its last day ≤ today)."""
    if today.year > year:
        return 12
    if today.year < year:
        return 0
    last_day = (today + dt.timedelta(days=1)).month != today.month
    return today.month if last_day else today.month - 1


def status_of(met_end: int, gap_end: int, first_end: int, horizon: int) -> str:
    """green | amber | red | none, as `compliance_table` decides it; `first_end`: the first period's last month."""
    if horizon < first_end:  # nothing due yet
        return "green" if met_end < NONE else "none"
    if gap_end > horizon:
        return "green"
    return "red" if met_end > horizon else "amber"


def frequencies() -> dict[str, str]:
    return {k: v for k, v in rules.params()["frequencies"].items() if v}


# --- maintenance by the services -------------------------------------------------------------------------

def held_pairs(meeting) -> set[tuple[str, int]]:
    """(kind, held_month) of a meeting's recorded kinds: taken before a change, handed to `marks_refresh`."""
    return set(MeetingKindRow.unscoped.filter(meeting=meeting, held_month__isnull=False)
               .values_list("kind", "held_month"))


def marks_refresh(meeting, before: set[tuple[str, int]]) -> int:
    """Recompute the marks (and counters) of the meeting's branch for every (kind, year) the meeting was or is
    counted in. In the caller's transaction. Returns the number of marks written."""
    freqs = frequencies()
    pairs = {(k, m // 100) for k, m in before | held_pairs(meeting) if k in freqs}
    if not pairs:
        return 0
    # The branch a meeting counts for: its organisation or the nearest branch above it (a 党小组's branch).
    # Locked: two records of one branch serialise here, so each reads the other's committed month.
    paths = [meeting.org_path[:i] for i in range(SEGMENT, len(meeting.org_path) + 1, SEGMENT)]
    branch = (Organization.unscoped.select_for_update().filter(path__in=paths, kind__in=BRANCH_KINDS)
              .order_by("-depth").values_list("pk", "path").first())
    if branch is None:  # a committee's own meeting: not a branch's organisational life
        return 0
    return _refresh_branch(*branch, pairs, freqs)


def _refresh_branch(branch_id: int, path: str, pairs: set[tuple[str, int]], freqs: dict[str, str]) -> int:
    kinds = {k for k, _ in pairs}
    years = {y for _, y in pairs}
    lo, hi = subtree_bounds(path)
    months: dict[tuple[str, int], int] = defaultdict(int)
    for kind, month in (MeetingKindRow.unscoped.filter(org_path__gte=lo, org_path__lt=hi, kind__in=kinds,
                                                       held_month__gte=min(years) * 100 + 1,
                                                       held_month__lte=max(years) * 100 + 12)
                        .values_list("kind", "held_month").distinct()):
        if (kind, month // 100) in pairs:
            months[(kind, month // 100)] |= 1 << (month % 100 - 1)
    have = {(m.kind, m.year): m for m in ComplianceMark.unscoped.filter(organization_id=branch_id, year__in=years,
                                                                          kind__in=kinds)}
    deltas, written = [], 0
    for kind, year in sorted(pairs):
        bits = months.get((kind, year), 0)
        old = have.get((kind, year))
        if old is not None and old.months == bits and old.org_path == path:
            continue
        if old is not None:
            deltas.append((path, (year, kind, old.met_end, old.gap_end), (-1,)))
        if not bits:
            if old is not None:
                old.delete()
            continue
        met, gap = mark_values(bits, freqs[kind])
        deltas.append((path, (year, kind, met, gap), (1,)))
        if old is None:
            ComplianceMark.unscoped.create(organization_id=branch_id, org_path=path, year=year, kind=kind,
                                           months=bits, met_end=met, gap_end=gap)
        else:
            old.org_path, old.months, old.met_end, old.gap_end = path, bits, met, gap
            old.save(update_fields=["org_path", "months", "met_end", "gap_end"])
        written += 1
    tallies.tally_add(ComplianceTally, deltas)
    return written


# --- rebuild and the consistency check -------------------------------------------------------------------

def _branch_finder(branches: dict[str, int]):
    """path → (branch id, branch path) of the nearest branch at or above it, cached per path."""
    cache: dict[str, tuple[int, str] | None] = {}

    def find(path: str):
        if path not in cache:
            cache[path] = next(((branches[path[:n]], path[:n]) for n in range(len(path), 0, -SEGMENT)
                                if path[:n] in branches), None)
        return cache[path]
    return find


def _marks_from(rows: Iterable[tuple[str, str, int]], branches: dict[str, int]) -> dict[tuple, tuple]:
    """{(branch id, year, kind): (branch path, months, met_end, gap_end)} from (org_path, kind, held_month)."""
    freqs = frequencies()
    find = _branch_finder(branches)
    months: dict[tuple, int] = defaultdict(int)
    path_of: dict[int, str] = {}
    for path, kind, month in rows:
        if kind not in freqs or not month:
            continue
        branch = find(path)
        if branch is None:
            continue
        path_of[branch[0]] = branch[1]
        months[(branch[0], month // 100, kind)] |= 1 << (month % 100 - 1)
    return {key: (path_of[key[0]], bits, *mark_values(bits, freqs[key[2]])) for key, bits in months.items()}


def _roll_up(marks: dict[tuple, tuple]) -> dict[tuple, list[int]]:
    return tallies.roll_up(ComplianceTally, [(path, (year, kind, met, gap), (1,))
                                             for (_, year, kind), (path, _, met, gap) in marks.items()])


def rebuild_compliance(*, using: str | None = None) -> tuple[int, int]:
    """Truncate and recompute every mark and counter from the kind rows (raw SQL, no scope: system work, the
    migration's backfill too). Returns (marks, counters)."""
    connection = connections[using or router.db_for_write(ComplianceMark)]
    qn = connection.ops.quote_name
    kind_rows, orgs = qn(MeetingKindRow._meta.db_table), qn(Organization._meta.db_table)
    marks_table = qn(ComplianceMark._meta.db_table)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        kinds = ", ".join(["%s"] * len(BRANCH_KINDS))
        cursor.execute(f"SELECT path, id FROM {orgs} WHERE kind IN ({kinds})", list(BRANCH_KINDS))  # noqa: S608  # nosec B608
        branches = dict(cursor.fetchall())
        cursor.execute(f"SELECT DISTINCT org_path, kind, held_month FROM {kind_rows} "  # noqa: S608  # nosec B608
                       "WHERE held_month IS NOT NULL")
        marks = _marks_from(cursor.fetchall(), branches)
        cursor.execute(f"DELETE FROM {marks_table}")  # noqa: S608  # nosec B608
        columns = ("organization_id", "org_path", "year", "kind", "months", "met_end", "gap_end")
        sql = (f"INSERT INTO {marks_table} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608  # nosec B608
               f"VALUES ({', '.join(['%s'] * len(columns))})")
        rows = sorted((b, p, y, k, bits, met, gap) for (b, y, k), (p, bits, met, gap) in marks.items())
        for i in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[i: i + CHUNK])
        counters = tallies.replace_all(ComplianceTally, _roll_up(marks), using=connection.alias)
    return len(rows), counters


def compliance_differences() -> dict[tuple, tuple]:
    """{("mark", branch id, year, kind) or ("tally", path, year, kind, met_end, gap_end): (stored, expected)}
    wherever they differ; {} when consistent. The marks are recomputed through the ORM in Python (not the
    rebuild's SQL), the counters rolled up from those. System check: unscoped."""
    branches = dict(Organization.unscoped.filter(kind__in=BRANCH_KINDS).values_list("path", "pk"))
    rows = (MeetingKindRow.unscoped.filter(held_month__isnull=False)
            .values_list("org_path", "kind", "held_month").iterator())
    expected = _marks_from(rows, branches)
    stored = {(b, y, k): (p, bits, met, gap) for b, y, k, p, bits, met, gap in ComplianceMark.unscoped.values_list(
        "organization_id", "year", "kind", "org_path", "months", "met_end", "gap_end").iterator()}
    out = {("mark", *k): (stored.get(k), expected.get(k)) for k in sorted(set(stored) | set(expected))
           if stored.get(k) != expected.get(k)}
    out.update({("tally", *k): v for k, v in tallies.differences(ComplianceTally, _roll_up(expected)).items()})
    return out
