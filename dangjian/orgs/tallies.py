"""Pre-aggregated counters per subtree (汇总表), the one mechanism behind every tally model.

A tally model holds, for each organisation, one row per key with sums over its WHOLE subtree (its own rows
and every descendant's), so a statistic of any organisation — the root of a city included — reads only that
organisation's and its children's few rows: no range over a million rows, no sum over descendants.
`members.MemberTally` (member counts by dimension; all but the status leave out an organisation's own
members: members.tallies), `dues.DuesTally` (党费 due, paid, accounts by month),
`meetings.ComplianceTally` (branches by compliance), `orgs.OrgTally` (organisations by kind and state) and
`transfers.TransferTally` (transfers by flow, completion and wait; a transfer counts at both its sides) are the
five; the members' and the transfers' counters move by rules of their own (`ScopeMeta.tally_move`). A model
declares itself in its `ScopeMeta`:

    tally_keys = ("dimension", "value")   # the key columns after org_path (the unique constraint's order)
    tally_sums = ("count",)               # the integer columns added up

Writers describe what changed as deltas `(org_path, key, sums)` — `sums` may be negative — and call
`tally_add` once in their own transaction. It adds each delta to the path and to every ancestor (the path's
prefixes every `SEGMENT` characters), aggregates in Python (an ancestor shared by a −1 and a +1 cancels out
and is not written) and upserts every remaining counter with one prepared statement:
INSERT … ON CONFLICT (org_path, keys…) DO UPDATE SET s = s + excluded.s (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).

Contention: every write adds to the root's rows. On PostgreSQL the upsert locks those rows until the
transaction ends, so concurrent writes in one district serialise on them for the milliseconds of a
transaction (SQLite serialises all writes anyway). Counters are upserted in sorted key order so two
transactions never wait on each other in opposite orders.

`organization_move` moves a subtree's counters for every tally model (`tally_models()`): the subtree's own
rows move with their paths like any copied path, and the old and new ancestor chains lose and gain the moved
organisation's row set (`subtree_move_deltas`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.apps import apps
from django.db import connections, models, router, transaction
from django.utils.module_loading import import_string

from dangjian.core.bulk import on_conflict_add

from .models import SEGMENT

CHUNK = 10_000  # rows per executemany

Key = tuple  # the values of the model's tally_keys
Sums = tuple  # the values of the model's tally_sums, in order
Delta = tuple[str, Key, Sums]  # (org_path of the changed row, key, sums to add)


def ancestor_paths(path: str) -> list[str]:
    """`path` and every ancestor's path: its prefixes every SEGMENT characters (none for the empty path of a
    member who left the roster)."""
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


class TallyIndex(models.Index):
    """An index over a tally model's rows that holds counter columns (`counters`) only on SQLite.

    On SQLite the counters make the index covering (the workbench's size warnings read only its entries:
    54 ms for the district against 218 without them), and an upsert rewrites an index entry only where a column
    of that index changed. On PostgreSQL an indexed column that changes forbids a heap-only (HOT) update, and
    a partial index's condition does not narrow that: with `count` in this index not one of 11 million counter
    updates was HOT, each wrote a new entry into every index of the table, and a city-wide roster import spent
    2.4 s upserting 100,000 counters (1.0–1.4 s as HOT updates; docs/performance.md §12). There the counters
    are left out, and the index answers from the table's pages (117–156 ms against 130 for the same warnings).
    Plain columns, a name and a condition only."""

    def __init__(self, *args, counters=(), **kwargs):
        super().__init__(*args, **kwargs)
        if self.expressions or self.opclasses or self.include or self.db_tablespace:
            raise TypeError("TallyIndex: fields, counters, name and condition only")
        self.counters = tuple(counters)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["counters"] = self.counters
        return path, args, kwargs

    def create_sql(self, model, schema_editor, using="", **kwargs):
        fields = list(self.fields)
        if schema_editor.connection.vendor != "postgresql":
            fields += self.counters
        index = models.Index(fields=fields, name=self.name, condition=self.condition)
        return index.create_sql(model, schema_editor, using=using, **kwargs)


def tally_models() -> list[type]:
    return [m for m in apps.get_models() if getattr(getattr(m, "ScopeMeta", None), "tally_keys", None)]


def _spec(model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(model.ScopeMeta.tally_keys), tuple(model.ScopeMeta.tally_sums)


def roll_up(model, deltas: Iterable[Delta]) -> dict[tuple, list[int]]:
    """{(path, *key): sums} with every delta added to its path and all ancestors.

    Level by level, deepest first: the deltas are added up per (path, key), then each total once to its
    parent's. Walking every delta up its whole ancestor chain cost a roster spread over a city's branches
    2.3–2.8 s for 100,000 members, now 1.0–1.1 s (bench/, issue 8; docs/performance.md §17): there nearly
    every (path, key) below is distinct, and the chains above merge level by level."""
    total: dict[tuple, list[int]] = {}
    # path "": a member who left the roster, or a root's own above the root: counted nowhere
    _add_into(total, (((path, *key), sums) for path, key, sums in deltas if path))
    at_length: dict[int, list[tuple]] = defaultdict(list)
    for k in total:
        at_length[len(k[0])].append(k)
    for length in range(max(at_length, default=0), SEGMENT, -SEGMENT):
        _add_into(total, (((k[0][:-SEGMENT], *k[1:]), total[k]) for k in at_length[length]),
                  new_keys=at_length[length - SEGMENT])
    return total


def _add_into(total: dict[tuple, list[int]], items: Iterable[tuple[tuple, Sequence[int]]],
              new_keys: list | None = None) -> None:
    """total[key] += sums, element-wise, for each item with a non-zero sum; a key met for the first time starts as
    a copy of its sums (and is noted in `new_keys`). One dict lookup an item: this is the roster import's
    hottest loop (70,000 items for 10,000 members)."""
    get = total.get
    for key, sums in items:
        acc = get(key)
        if acc is None:
            if any(sums):
                total[key] = list(sums)
                if new_keys is not None:
                    new_keys.append(key)
        else:
            for i, v in enumerate(sums):
                acc[i] += v


def tally_add(model, deltas: Iterable[Delta], *, using: str | None = None) -> int:
    """Add the deltas to the counters of each path and all its ancestors, in the caller's transaction.
    Returns the number of counters written (deltas that cancel out write nothing)."""
    return upsert(model, roll_up(model, deltas), using=using)


def tally_replace(model, before: Iterable[Delta], after: Iterable[Delta]) -> int:
    """Replace what something contributed (`before`) by what it contributes now (`after`), in the caller's
    transaction: the writers that recompute a row's whole contribution around a change instead of stating
    the change itself (transfers.tallies, orgs.org_tally). Whatever is in both cancels out and writes nothing."""
    return tally_add(model, [*((p, k, tuple(-v for v in s)) for p, k, s in before), *after])


def upsert(model, totals: Mapping[tuple, list[int] | tuple], *, using: str | None = None, writer=None) -> int:
    keys, sums = _spec(model)
    rows = sorted((*k, *v) for k, v in totals.items() if any(v))
    if not rows:
        return 0
    if writer is not None:  # a core.bulk.BulkWriter's (the roster import's): written with the rows of its chunk
        writer.upsert(model, ["org_path", *keys, *sums], rows, conflict=["org_path", *keys], added=sums)
        return len(rows)
    connection = connections[using or router.db_for_write(model)]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = ["org_path", *keys, *sums]
    update = on_conflict_add(connection, model, ["org_path", *keys], list(sums))
    insert = f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608 (names)  # nosec B608
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per chunk, each column one array: executemany runs one statement per counter
            # (a roster import of 10,000 members across a city upserts ~100,000: 7.7 s that way). The rows
            # come out of UNNEST in array order, so the sorted order above still holds.
            fields = [model._meta.get_field(c) for c in columns]
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
            sql = f"{insert}SELECT * FROM UNNEST({arrays}) {update}"  # noqa: S608 (names, types)  # nosec B608
            # An array holds one type: sums computed from money arrive as Decimals beside plain ints.
            kinds = [int if isinstance(f, models.IntegerField) else Decimal if isinstance(f, models.DecimalField)
                     else None for f in fields]
            for i in range(0, len(rows), CHUNK):
                columns_ = zip(*rows[i : i + CHUNK], strict=True)
                cursor.execute(sql, [[kind(v) for v in column] if kind else list(column)
                                     for kind, column in zip(kinds, columns_, strict=True)])
        else:
            sql = f"{insert}VALUES ({', '.join(['%s'] * len(columns))}) {update}"
            for i in range(0, len(rows), CHUNK):
                cursor.executemany(sql, rows[i : i + CHUNK])
    return len(rows)


def replace_all(model, totals: Mapping[tuple, list[int] | tuple], *, using: str | None = None) -> int:
    """Truncate the model's counters and write `totals` (the rebuild of each tally). System work."""
    connection = connections[using or router.db_for_write(model)]
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608  # nosec B608
        return upsert(model, totals, using=connection.alias)


def stored(model, *, using: str | None = None) -> dict[tuple, tuple]:
    """{(path, *key): sums} of every non-zero counter, read with plain SQL (no scope: a system check)."""
    keys, sums = _spec(model)
    connection = connections[using or router.db_for_write(model)]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in ["org_path", *keys, *sums])
    # keys as the model's fields give them (SQLite returns a date column as text)
    convert = [model._meta.get_field(c).to_python for c in ["org_path", *keys]]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {qn(model._meta.db_table)}")  # noqa: S608  # nosec B608
        n = 1 + len(keys)
        return {tuple(f(v) for f, v in zip(convert, r[:n], strict=True)): tuple(r[n:])
                for r in cursor.fetchall() if any(r[n:])}


def differences(model, expected: Mapping[tuple, list[int] | tuple]) -> dict[tuple, tuple[tuple, tuple]]:
    """{(path, *key): (stored, expected)} wherever the stored counters differ from `expected`; {} when equal."""
    have = stored(model)
    want = {k: tuple(v) for k, v in expected.items() if any(v)}
    zero = (0,) * len(_spec(model)[1])
    return {k: (have.get(k, zero), want.get(k, zero)) for k in sorted(set(have) | set(want))
            if have.get(k, zero) != want.get(k, zero)}


def subtree_move_deltas(model, path: str, old_parent_path: str | None, new_parent_path: str,
                        new_path: str) -> list[Delta]:
    """When the subtree at `path` moves to `new_path`: the old parent's chain loses the subtree's row set (the
    row set at `path` holds the whole subtree) and the new parent's chain gains it; shared ancestors cancel
    out. Called after the organisations' own paths are rewritten and before the columns that copy them
    (the tallies' and every other `org_path`).

    A model whose rows are not each at one path (a transfer counts at both its sides: transfers.tallies), or
    whose row set leaves something of the subtree out (the members': members.tallies), names its own
    function of the same arguments as `ScopeMeta.tally_move`."""
    own = getattr(model.ScopeMeta, "tally_move", None)
    if own is not None:
        return import_string(own)(path, old_parent_path, new_parent_path, new_path)
    return row_set_move_deltas(model, path, old_parent_path, new_parent_path)


def row_set_move_deltas(model, path: str, old_parent_path: str | None, new_parent_path: str,
                        left_out: Iterable[tuple[Key, Sums]] = ()) -> list[Delta]:
    """`subtree_move_deltas` of the row set at `path` together with `left_out`: the (key, sums) of the subtree
    that row set does not hold (none when it holds the whole subtree)."""
    keys, sums = _spec(model)
    stored = ((tuple(row[: len(keys)]), tuple(row[len(keys):]))
              for row in model.unscoped.filter(org_path=path).values_list(*keys, *sums))
    out: list[Delta] = []
    for key, values in (*stored, *left_out):
        if old_parent_path is not None:
            out.append((old_parent_path, key, tuple(-v for v in values)))
        out.append((new_parent_path, key, values))
    return out
