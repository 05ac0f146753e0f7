"""Organisation counts per subtree (组织数汇总, `OrgTally`), kept in the same transaction as each change.

Through the one tally mechanism of `orgs.tallies` (its docstring: roll-up to ancestors, the upsert, moves),
each organisation adds 1 at its own path — so the row of an organisation holds its whole subtree, itself
included — to each part that describes it:

    branches    its kind is a branch kind (BRANCH_KINDS) and it is not dissolved;
    dissolved   its kind is a branch kind and it is dissolved;
    grouped     at least one live 党小组 sits directly under it, whatever its own kind or state. The compliance
                summary counted the distinct parents of the live 党小组 (`meetings.selectors._branch_sizes`);
                the placement rules put 党小组 only under live branches, but rows written before those rules
                or around the services need not follow them, and the counters must give the same number.

An organisation's parts depend on its own row and on its 党小组 children, so a write to a 党小组 changes its
parent's. Writers open a `Change` on the organisations a write may affect before writing and call `done()`
after it: the difference of their parts is added (two small queries). `organization_create`,
`organization_update` (a change of kind) and `organization_dissolve` watch the organisation and its parent;
`organization_move` watches the old and the new parent only: the moved subtree's own rows move with its
paths (orgs.tallies), and a move changes nobody's kind or state. `tally_new_tree` counts a tree inserted in
bulk (the demo seed, core.bulk).

`rebuild_org_tallies()` recomputes every counter with two SQL queries (the migration's backfill, `manage.py
rebuild_org_tallies`, the repair path); `org_tally_differences()` recounts organisation by organisation in
Python (tests, `--check`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import connections, router
from django.db.models import Exists, OuterRef

from . import tallies
from .models import BRANCH_KINDS, Organization, OrgKind, OrgTally

BRANCHES, DISSOLVED, GROUPED = "branches", "dissolved", "grouped"
PARTS = (BRANCHES, DISSOLVED, GROUPED)

Parts = tuple[str, frozenset[str]]  # (an organisation's path, the parts it adds 1 to)


def own_parts(kind: str, is_dissolved: bool) -> tuple[str, ...]:
    """The parts an organisation adds to by its own kind and state (`grouped` depends on its children)."""
    if kind not in BRANCH_KINDS:
        return ()
    return (DISSOLVED,) if is_dissolved else (BRANCHES,)


def _live_groups():
    return Organization.unscoped.filter(kind=OrgKind.PARTY_GROUP, is_dissolved=False)


def parts_of(pks: Iterable[int]) -> dict[int, Parts]:
    """{pk: (path, parts)} of these organisations as they are now. The rows are locked (FOR UPDATE on
    PostgreSQL) until the transaction ends: two writers dissolving the last two 党小组 of one branch would
    otherwise each still see the other's and neither would take the branch out of `grouped`."""
    has_group = Exists(_live_groups().filter(parent_id=OuterRef("pk")))
    rows = (Organization.unscoped.select_for_update().filter(pk__in=list(pks)).order_by("pk")
            .annotate(grouped=has_group).values_list("pk", "path", "kind", "is_dissolved", "grouped"))
    return {pk: (path, frozenset(own_parts(kind, dissolved) + ((GROUPED,) if grouped else ())))
            for pk, path, kind, dissolved, grouped in rows}


class Change:
    """The parts of the organisations a write may affect, read before it; `done()` after the write adds
    the differences to the counters, in the writer's transaction. `None` (no parent) is ignored."""

    def __init__(self, *pks: int | None):
        self.pks = {pk for pk in pks if pk is not None}
        self.before = parts_of(self.pks)

    def done(self, *created: int) -> int:
        """`created`: organisations the write added, which had no parts before."""
        after = parts_of(self.pks | set(created))

        def deltas(parts_by_org: dict[int, Parts]) -> list[tallies.Delta]:
            return [(path, (part,), (1,)) for path, parts in parts_by_org.values() for part in parts]

        return tallies.tally_replace(OrgTally, deltas(self.before), deltas(after))


def _deltas(rows: Iterable[tuple[int, str, str, bool, int | None]]) -> list[tallies.Delta]:
    """The deltas of a set of organisations (pk, path, kind, is_dissolved, parent_id), each counted as new;
    the parent of every live 党小组 must be among them."""
    rows = list(rows)
    path_of = {pk: path for pk, path, *_ in rows}
    out = [(path, (part,), (1,)) for _, path, kind, dissolved, _ in rows for part in own_parts(kind, dissolved)]
    parents = {parent for _, _, kind, dissolved, parent in rows if kind == OrgKind.PARTY_GROUP and not dissolved}
    missing = parents - set(path_of)
    if missing:
        raise ValueError(f"党小组的上级组织不在这批组织中：{sorted(missing)}")
    return out + [(path_of[pk], (GROUPED,), (1,)) for pk in sorted(parents)]


def tally_new_tree(orgs: Iterable[Organization]) -> int:
    """Count organisations inserted in bulk as one new tree (every 党小组's parent among them), in the
    caller's transaction: the demo seed writes a whole district at once."""
    return tallies.tally_add(OrgTally, _deltas((o.pk, o.path, o.kind, o.is_dissolved, o.parent_id) for o in orgs))


# --- Recomputation and the consistency check ---------------------------------------------------------


def _sql_counts(connection) -> Counter:
    """{(org path, part): n} of each organisation itself, with two queries over the organisation table."""
    qn = connection.ops.quote_name
    table = qn(Organization._meta.db_table)
    out: Counter = Counter()
    with connection.cursor() as cursor:
        kinds = ", ".join(["%s"] * len(BRANCH_KINDS))
        cursor.execute(f"SELECT path, is_dissolved FROM {table} WHERE kind IN ({kinds})",  # noqa: S608  # nosec B608
                       list(BRANCH_KINDS))
        for path, dissolved in cursor.fetchall():
            out[(path, DISSOLVED if dissolved else BRANCHES)] += 1
        cursor.execute(f"SELECT DISTINCT p.path FROM {table} g JOIN {table} p ON p.id = g.parent_id "  # noqa: S608  # nosec B608
                       "WHERE g.kind = %s AND g.is_dissolved = %s", [OrgKind.PARTY_GROUP, False])
        for (path,) in cursor.fetchall():
            out[(path, GROUPED)] += 1
    return out


def rebuild_org_tallies(*, using: str | None = None) -> int:
    """Truncate and recompute every counter from the organisations (raw SQL, no scope: system work, the
    migration's backfill too). Returns the number of counter rows."""
    connection = connections[using or router.db_for_write(OrgTally)]
    direct = ((path, (part,), (n,)) for (path, part), n in _sql_counts(connection).items())
    return tallies.replace_all(OrgTally, tallies.roll_up(OrgTally, direct), using=connection.alias)


def expected_org_tallies() -> dict:
    """The counters recounted organisation by organisation in Python (not the rebuild's SQL). Unscoped:
    a system check over every organisation."""
    rows = Organization.unscoped.values_list("pk", "path", "kind", "is_dissolved", "parent_id")
    return tallies.roll_up(OrgTally, _deltas(rows))


def org_tally_differences() -> dict[tuple[str, str], tuple[int, int]]:
    """{(org_path, part): (stored, expected)} wherever they differ; {} when consistent."""
    return {k: (have[0], want[0]) for k, (have, want) in tallies.differences(OrgTally, expected_org_tallies()).items()}
