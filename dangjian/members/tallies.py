"""Pre-aggregated member counts (党员统计汇总, `MemberTally`), kept in the same transaction as each change.

Every organisation has one row set holding its whole subtree: (org_path, dimension, value) → count. A
member counts in the rows of its organisation's path and of every ancestor's (the path's prefixes every
`SEGMENT` characters). Writers describe what changed as deltas and call `tally_apply` once:

    tally_apply([(org_path, member_dimensions(member, sector), +1)])        # created / imported
    tally_apply([(path, old, -1), (path, new, +1)])                          # a tallied field changed
    tally_apply([(old_path, old, -1), (new_path, new, +1)])                  # moved

`tally_apply` aggregates in Python (ancestors shared by −1 and +1 cancel out and are not written), then
upserts every remaining counter with one prepared statement:
INSERT … ON CONFLICT (org_path, dimension, value) DO UPDATE SET count = count + excluded.count
(SQLite ≥ 3.24, PostgreSQL ≥ 9.5). The caller's transaction covers the member rows and the counters.

Contention: every write adds to the root's rows (and its other ancestors'). On PostgreSQL the upsert locks
those counter rows until the transaction ends, so concurrent member writes in one district serialise on
them (for the few milliseconds of a member transaction; SQLite serialises all writes anyway). Acceptable
for a district's workers; a city or province shards by province (docs/performance.md). Counters are
upserted in sorted key order so two transactions never wait on each other in opposite orders.

`rebuild_tallies()` recomputes everything from the members (GROUP BY per organisation, rolled up to the
ancestors in Python): the migration's backfill, `manage.py rebuild_member_tallies`, and the repair path.
`tally_differences()` compares the stored counters with a count of the member rows in Python (a second,
independent computation): the consistency check of the tests and of the command's `--check`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from django.db import connections, router, transaction

from dangjian.core import codes
from dangjian.orgs.models import SEGMENT

DIMENSIONS = ("status", "gender", "ethnicity_minority", "education", "occupation", "sector", "birth_month")
HAN, MINORITY = "han", "minority"
CHUNK = 10_000  # rows per executemany

Delta = tuple[str, Mapping[str, str], int]  # (member's org_path, {dimension: value}, +n / −n)


def _db(using: str | None = None):
    from .models import MemberTally

    return connections[using or router.db_for_write(MemberTally)]


def _table() -> str:
    from .models import MemberTally

    return MemberTally._meta.db_table


def ancestor_paths(path: str) -> list[str]:
    """`path` and every ancestor's path: its prefixes every SEGMENT characters."""
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


def birth_month(day) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def ethnicity_group(code: str) -> str:
    return HAN if code == codes.HAN else MINORITY


def member_dimensions(member, sector: str) -> dict[str, str]:
    """The tallied values of a member; `sector` is its organisation's (the member row does not carry it)."""
    return {
        "status": member.status,
        "gender": member.gender,
        "ethnicity_minority": ethnicity_group(member.ethnicity),
        "education": member.education,
        "occupation": member.occupation,
        "sector": sector or "",
        "birth_month": birth_month(member.birth_date),
    }


def tally_apply(deltas: Iterable[Delta], *, using: str | None = None) -> int:
    """Add the deltas to the counters of each member's organisation and all its ancestors, in the caller's
    transaction. Returns the number of counters written (deltas that cancel out write nothing)."""
    total: Counter = Counter()
    for path, dims, n in deltas:
        if not n:
            continue
        for p in ancestor_paths(path):
            for dim, value in dims.items():
                total[(p, dim, value)] += n
    return _upsert(total, using=using)


def _upsert(total: Mapping[tuple[str, str, str], int], *, using: str | None = None) -> int:
    rows = sorted((p, d, v, n) for (p, d, v), n in total.items() if n)
    if not rows:
        return 0
    connection = _db(using)
    qn = connection.ops.quote_name
    table, count = qn(_table()), qn("count")
    sql = (
        f"INSERT INTO {table} ({qn('org_path')}, {qn('dimension')}, {qn('value')}, {count}) "  # noqa: S608 (names)  # nosec B608
        f"VALUES (%s, %s, %s, %s) ON CONFLICT ({qn('org_path')}, {qn('dimension')}, {qn('value')}) "
        f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for i in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[i : i + CHUNK])
    return len(rows)


# --- Recomputation and the consistency check ---------------------------------------------------------


def _sql_counts(connection) -> Counter:
    """{(member org_path, dimension, value): n} by GROUP BY over the member table (per organisation)."""
    from dangjian.orgs.models import Organization

    from .models import Member

    qn = connection.ops.quote_name
    member = qn(Member._meta.db_table)
    month = "substr(birth_date, 1, 7)" if connection.vendor == "sqlite" else "to_char(birth_date, 'YYYY-MM')"
    out: Counter = Counter()
    with connection.cursor() as cursor:
        for dim, expr in (("status", "status"), ("gender", "gender"), ("ethnicity_minority", "ethnicity"),
                          ("education", "education"), ("occupation", "occupation"), ("birth_month", month)):
            cursor.execute(f"SELECT org_path, {expr}, COUNT(*) FROM {member} GROUP BY org_path, {expr}")  # noqa: S608  # nosec B608
            for path, value, n in cursor.fetchall():
                if dim == "ethnicity_minority":
                    value = ethnicity_group(value)
                out[(path, dim, str(value))] += n
        cursor.execute(f"SELECT path, sector FROM {qn(Organization._meta.db_table)}")  # noqa: S608  # nosec B608
        sector_of = dict(cursor.fetchall())
        cursor.execute(f"SELECT org_path, COUNT(*) FROM {member} GROUP BY org_path")  # noqa: S608  # nosec B608
        for path, n in cursor.fetchall():
            out[(path, "sector", sector_of.get(path) or "")] += n
    return out


def _roll_up(direct: Mapping[tuple[str, str, str], int]) -> Counter:
    total: Counter = Counter()
    for (path, dim, value), n in direct.items():
        for p in ancestor_paths(path):
            total[(p, dim, value)] += n
    return total


def rebuild_tallies(*, using: str | None = None) -> int:
    """Truncate and recompute every counter from the members. System work: no scope is involved (raw SQL
    on the tables), so the migration's backfill can call it too. Returns the number of counter rows."""
    connection = _db(using)
    with transaction.atomic(using=connection.alias):
        direct = _sql_counts(connection)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(_table())}")  # noqa: S608  # nosec B608
        return _upsert(_roll_up(direct), using=connection.alias)


def stored_tallies(*, using: str | None = None) -> Counter:
    connection = _db(using)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT org_path, dimension, value, {connection.ops.quote_name('count')} "  # noqa: S608  # nosec B608
                       f"FROM {connection.ops.quote_name(_table())}")
        return Counter({(p, d, v): n for p, d, v, n in cursor.fetchall() if n})


def expected_tallies() -> Counter:
    """The counters recomputed member by member in Python (independent of `_sql_counts`). Unscoped: a
    system check over every member."""
    from dangjian.orgs.models import Organization

    from .models import Member

    sector_of = dict(Organization.unscoped.values_list("path", "sector"))
    direct: Counter = Counter()
    fields = ("org_path", "status", "gender", "ethnicity", "education", "occupation", "birth_date")
    for path, status, gender, ethnicity, education, occupation, birth in Member.unscoped.values_list(*fields).iterator():
        for dim, value in (("status", status), ("gender", gender), ("ethnicity_minority", ethnicity_group(ethnicity)),
                           ("education", education), ("occupation", occupation),
                           ("sector", sector_of.get(path) or ""), ("birth_month", birth_month(birth))):
            direct[(path, dim, value)] += 1
    return _roll_up(direct)


def tally_differences() -> dict[tuple[str, str, str], tuple[int, int]]:
    """{(org_path, dimension, value): (stored, expected)} wherever they differ; {} when consistent."""
    stored, expected = stored_tallies(), expected_tallies()
    keys = set(stored) | set(expected)
    return {k: (stored.get(k, 0), expected.get(k, 0)) for k in sorted(keys) if stored.get(k, 0) != expected.get(k, 0)}
