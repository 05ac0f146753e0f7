"""Pre-aggregated member counts (党员统计汇总, `MemberTally`), kept in the same transaction as each change.

Every organisation has one row set for its subtree: (org_path, dimension, value) → count, through the one tally
mechanism of `orgs.tallies` (its docstring: roll-up to ancestors, the upsert, contention), with one exception:

- `status` counts the whole subtree, the organisation's own (direct) members included: the sizes every page
  shows (lists, workbench warnings) read nothing else;
- the other dimensions count the members BELOW the organisation only. A member's own organisation (a branch,
  nearly always) is the one path no other member shares, so it held six of the seven counters a member adds:
  a roster spread over a city's branches wrote 104,000 counters for 10,000 members, ~70,000 of them a
  branch's (bench/, issue 8; docs/performance.md §17). A reader adds an organisation's direct members'
  values itself (`direct_counts`: one short range of the member index: a branch's tens of members, none
  for a committee or the root).

Writers describe what changed as deltas and call `tally_apply` once:

    tally_apply([(org_path, member_dimensions(member, sector), +1)])        # created / imported
    tally_apply([(path, old, -1), (path, new, +1)])                          # a tallied field changed
    tally_apply([(old_path, old, -1), (new_path, new, +1)])                  # moved

`rebuild_tallies()` recomputes everything from the members (GROUP BY per organisation, rolled up to the
ancestors in Python): the migration's backfill, `manage.py rebuild_member_tallies`, and the repair path.
`tally_differences()` compares the stored counters with a count of the member rows in Python (a second,
independent computation): the consistency check of the tests and of the command's `--check`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from django.db import connections, router

from dangjian.core import codes
from dangjian.orgs import tallies
from dangjian.orgs.models import SEGMENT

DIMENSIONS = ("status", "gender", "ethnicity_minority", "education", "occupation", "sector", "birth_month")
OWN_LEVEL = frozenset({"status"})  # counted at the member's own organisation too (the module docstring)
HAN, MINORITY = "han", "minority"

Delta = tuple[str, Mapping[str, str], int]  # (member's org_path, {dimension: value}, +n / −n)


def _model():
    from .models import MemberTally

    return MemberTally


def birth_month(day) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def ethnicity_group(code: str) -> str:
    return HAN if code == codes.HAN else MINORITY


def member_dimensions(member, sector: str) -> dict[str, str]:
    """The tallied values of a member; `sector` is its organisation's, given apart from the row's copy
    (`Member.sector`) so a move can state the old organisation's after the row holds the new one."""
    return dimension_values(member.status, member.gender, member.ethnicity, member.education, member.occupation,
                            sector, member.birth_date)


def dimension_values(status, gender, ethnicity, education, occupation, sector, birth_date) -> dict[str, str]:
    """{dimension: value} from a member's fields (DIMENSIONS, in order)."""
    return {
        "status": status,
        "gender": gender,
        "ethnicity_minority": ethnicity_group(ethnicity),
        "education": education,
        "occupation": occupation,
        "sector": sector or "",
        "birth_month": birth_month(birth_date),
    }


def tally_apply(deltas: Iterable[Delta], *, using: str | None = None) -> int:
    """Add the deltas to the counters of each member's organisation and all its ancestors, in the caller's
    transaction. Returns the number of counters written (deltas that cancel out write nothing)."""
    return tally_write(tally_totals(deltas), using=using)


def tally_totals(deltas: Iterable[Delta]) -> dict:
    """`tally_apply` in two halves, for a writer that computes the totals while the database is busy with
    something else (the roster import, while the server inserts the members): the counters' changes..."""
    return tallies.roll_up(_model(), ((counted_from(path, dim), (dim, value), (n,)) for path, dims, n in deltas
                                      if n for dim, value in dims.items()))


def counted_from(path: str, dimension: str) -> str:
    """The lowest organisation whose counters hold a member of the organisation at `path` in `dimension`: its
    own for the status, its parent's for the others ("" for a root's own members: no counter holds them)."""
    return path if dimension in OWN_LEVEL else path[:-SEGMENT]


def tally_write(totals: Mapping, *, using: str | None = None, writer=None) -> int:
    """...and their one upsert, in the caller's transaction (or queued on the caller's core.bulk.BulkWriter)."""
    return tallies.upsert(_model(), totals, using=using, writer=writer)


def direct_counts(paths: Iterable[str], dimensions: Iterable[str], *, unscoped: bool = False
                  ) -> dict[str, dict[str, Counter]]:
    """{path: {dimension: {value: n}}} of the members whose own organisation is at one of `paths`: what the
    counters at those paths leave out in the dimensions other than OWN_LEVEL (asked for those only). One
    query on an org_path-led index, through the scoped manager unless `unscoped`: a branch's tens of rows,
    nothing for an organisation without members of its own."""
    from .models import Member

    wanted = set(dimensions) - OWN_LEVEL
    out: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    if not wanted:
        return out
    rows = (Member.unscoped if unscoped else Member.objects).filter(org_path__in=sorted(set(paths))).order_by()
    fields = ("org_path", "status", "gender", "ethnicity", "education", "occupation", "sector", "birth_date")
    for path, *values in rows.values_list(*fields):
        for dim, value in dimension_values(*values).items():
            if dim in wanted:
                out[path][dim][value] += 1
    return out


def move_deltas(path: str, old_parent_path: str | None, new_parent_path: str, new_path: str) -> list[tallies.Delta]:
    """The organisation at `path` moves to `new_path` (`ScopeMeta.tally_move`, orgs.tallies.subtree_move_deltas:
    called before the members' paths are rewritten). Its row set moves as every model's does; its direct
    members, which that row set holds in the status only, leave the old chain and join the new one too."""
    direct = direct_counts([path], DIMENSIONS, unscoped=True)[path]
    left_out = [((dim, value), (n,)) for dim, values in direct.items() for value, n in values.items()]
    return tallies.row_set_move_deltas(_model(), path, old_parent_path, new_parent_path, left_out)


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


def _roll_up(direct: Mapping[tuple[str, str, str], int]) -> dict:
    return tallies.roll_up(_model(), ((counted_from(path, dim), (dim, value), (n,))
                                      for (path, dim, value), n in direct.items()))


def rebuild_tallies(*, using: str | None = None) -> int:
    """Truncate and recompute every counter from the members. System work: no scope is involved (raw SQL
    on the tables), so the migration's backfill can call it too. Returns the number of counter rows."""
    connection = connections[using or router.db_for_write(_model())]
    return tallies.replace_all(_model(), _roll_up(_sql_counts(connection)), using=connection.alias)


def stored_tallies(*, using: str | None = None) -> Counter:
    return Counter({k: v[0] for k, v in tallies.stored(_model(), using=using).items()})


def expected_tallies() -> dict:
    """The counters recomputed member by member in Python (independent of `_sql_counts`). Unscoped: a
    system check over every member."""
    from dangjian.orgs.models import Organization

    from .models import Member

    sector_of = dict(Organization.unscoped.values_list("path", "sector"))
    direct: Counter = Counter()
    fields = ("org_path", "status", "gender", "ethnicity", "education", "occupation", "birth_date")
    for path, *values, birth in Member.unscoped.values_list(*fields).iterator():
        for dim, value in dimension_values(*values, sector_of.get(path), birth).items():
            direct[(path, dim, value)] += 1
    return _roll_up(direct)


def tally_differences() -> dict[tuple[str, str, str], tuple[int, int]]:
    """{(org_path, dimension, value): (stored, expected)} wherever they differ; {} when consistent."""
    return {k: (have[0], want[0]) for k, (have, want) in tallies.differences(_model(), expected_tallies()).items()}

