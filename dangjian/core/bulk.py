"""The one fast INSERT path for many rows: the roster import, the demo seed and the benchmark generator.

`bulk_create` compiles every value through the generic field machinery (~8 µs a value on the reference
machine) and, on SQLite, Django caps an INSERT at 999 parameters (34 members a statement, so ~300 statements
per 10,000 rows, each compiled anew). Here the values are converted the cheap way, once per column kind:
dates and datetimes through the backend's adapters, plain text/number/boolean/foreign-key values as they
are, anything else through `get_db_prep_save`; auto_now/auto_now_add fields get one timestamp per batch.
The objects themselves were built by the usual code (`member_build` encrypts, hashes and masks), starting from
`ModelTemplate`'s unsaved instances where thousands are built (the roster import, the benchmark's records).
"""

from __future__ import annotations

import datetime as dt
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from itertools import islice

from django.core.management.color import no_style
from django.db import connections, models, router
from django.db.models import NOT_PROVIDED, Max
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

BATCH_SIZE = 2000  # rows per bulk_create batch (a model with a database default)
CHUNK = 10_000  # rows per executemany
STAGE_CHUNK = 2000  # SQLite: rows per staged chunk (measured best of 500–5,000); fewer rows go in directly (`_staged`)
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def bulk_insert(model, objs: Iterable, *, count: int | None = None, assign_ids: bool = False) -> list:
    """INSERT unsaved instances of `model` and return them. `bulk_inserting` without work in between."""
    with bulk_inserting(model, objs, count=count, assign_ids=assign_ids) as sent:
        pass
    return sent


@contextmanager
def bulk_inserting(model, objs: Iterable, *, count: int | None = None, assign_ids: bool = False):
    """INSERT unsaved instances of `model`; the block runs once every row has been sent, and leaving it waits
    for the database. Scope filters do not apply to inserts: the caller checked them.

        with bulk_inserting(Member, built(), count=n) as members:   # built() may be a generator
            totals = tally_totals(members)   # PostgreSQL: Python works while the server still inserts

    `objs` may be any iterable; a generator is consumed as the rows are sent, so on PostgreSQL the server
    inserts the first rows while Python builds the next ones, and the block's work overlaps the server's
    last ones (the roster import: two cores instead of one, docs/performance.md §12). `count` is the number
    it yields (needed up front for the ids on PostgreSQL; a list gives its own). On SQLite the same overlap
    comes from a second thread (`_staged`). An exception in the block or the generator aborts the insert.
    The block must not use the database: PostgreSQL's COPY is still open then, and SQLite may still be moving.

    assign_ids=False (concurrent-safe): the database numbers the rows. PostgreSQL: the ids are drawn from
    the table's sequence in one statement, the rows go in by `COPY`, and the instances get their ids when
    the block is left. SQLite: one prepared statement without the pk column through `executemany`; the
    instances do NOT get their pk (the caller looks the new rows up, as the roster import does).
    assign_ids=True: ids are max(id) + 1 onwards, set on the instances with their `_state`. Only for a caller
    filling tables inside its own transaction that nobody else writes to (the demo seed, the benchmark
    generator), and it must call `reset_sequences()` once when done (PostgreSQL's sequences lag behind).

    `COPY` rather than Django's `bulk_create` on PostgreSQL: bulk_create prepares every value through the
    generic field machinery and psycopg adapts each column array again (a 10,000-member roster: about 0.9 s of
    Python before the server does anything, docs/performance.md §10); COPY streams the cheaply converted
    rows, and the server inserts while the rest are still being built and sent.
    """
    if count is None:
        objs = objs if isinstance(objs, Sized) else list(objs)
        count = len(objs)
    sent: list = []
    if not count:
        yield sent
        return
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if any(f.db_default is not NOT_PROVIDED for f in fields):  # a database default must come from the database
        if assign_ids:
            raise TypeError(f"{model.__name__}: assign_ids with a database default")
        sent = list(objs)
        model._base_manager.bulk_create(sent, batch_size=BATCH_SIZE)
        yield sent
        return
    rows = _rows(connection, fields, _stamped(fields, _collected(objs, sent)))
    columns = [f.column for f in fields]
    ids = None
    if assign_ids:
        first = (model._base_manager.using(connection.alias).aggregate(m=Max("pk"))["m"] or 0) + 1
        ids = range(first, first + count)
    elif connection.vendor == "postgresql":
        ids = _sequence_values(connection, model, count)
    if ids is not None:
        columns.insert(0, model._meta.pk.column)
        rows = ((pk, *row) for pk, row in zip(ids, rows, strict=True))
    if connection.vendor == "postgresql":
        with _copy(connection, model, columns, rows):
            _check_count(model, sent, count)
            yield sent
    elif count >= STAGE_CHUNK:
        with _staged(connection, model, columns, rows):
            _check_count(model, sent, count)
            yield sent
    else:
        _execute_many(connection, model, columns, rows)
        _check_count(model, sent, count)
        yield sent
    if ids is not None:
        pk = model._meta.pk.attname
        for value, obj in zip(ids, sent, strict=True):
            setattr(obj, pk, value)
            obj._state.adding = False
            obj._state.db = connection.alias


class ModelTemplate:
    """Unsaved instances of `model` for `bulk_insert`, built the fast way: every concrete field's default taken once,
    then the given values, set as the instance's __dict__ (`plain`) or else passed to `Model(*values)`. Django's
    keyword path looks up and calls each of the ~30 defaults of a Member for every instance (26 µs against 5 µs
    by position, 2 µs as a __dict__). Same instance as `model(**values)` (a test compares them); only immutable
    defaults may be shared."""

    _IMMUTABLE = (str, int, float, bool, dt.date, type(None))

    def __init__(self, model):
        self.model = model
        fields = model._meta.concrete_fields
        self.defaults = [f.get_default() for f in fields]
        if not all(isinstance(v, self._IMMUTABLE) for v in self.defaults):
            raise TypeError(f"{model.__name__} has a mutable default: instances cannot share it")
        self.attnames = {f.attname: i for i, f in enumerate(fields)}
        self.initial = {f.attname: v for f, v in zip(fields, self.defaults, strict=True)}
        # Model.__init__ sets each attribute around its pre_init/post_init signals. Where nobody listens to
        # those and no attribute's descriptor does more than store the value on a new instance, the instance
        # is its __dict__ plus a ModelState: built that way in 2 µs rather than 9 (a member, ~30 fields).
        self.plain = not (pre_init.has_listeners(model) or post_init.has_listeners(model)) and all(
            type(getattr(model, f.attname)) in _STORING_DESCRIPTORS for f in fields)

    def __call__(self, **values):
        attnames = self.attnames
        if not self.plain:
            args = list(self.defaults)
            for name, value in values.items():
                args[attnames[name]] = value
            return self.model(*args)
        if not values.keys() <= attnames.keys():
            raise KeyError(", ".join(sorted(values.keys() - attnames.keys())))
        obj = object.__new__(self.model)
        obj.__dict__.update(self.initial, **values, _state=ModelState())
        return obj


# A new instance's attribute set by exactly these only stores the value: a plain field's DeferredAttribute
# defines no __set__; a foreign key's id (ForeignKeyDeferredAttribute) also drops a cached related object, which
# a new instance does not have. A subclass may do more: such a model takes Model.__init__.
_STORING_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _check_count(model, sent: list, count: int) -> None:
    if len(sent) != count:  # the rows sent are rolled back with the caller's transaction
        raise ValueError(f"{model.__name__}: {len(sent)} objects given, {count} announced")


def _collected(objs: Iterable, into: list) -> Iterator:
    for obj in objs:
        into.append(obj)
        yield obj


def _stamped(fields: list, objs: Iterable) -> Iterator:
    """auto_now/auto_now_add: pre_save on the first object, the same value on every other one."""
    auto = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    if not auto:
        yield from objs
        return
    stamps: dict[str, object] = {}
    for obj in objs:
        for f in auto:
            if f.attname in stamps:
                setattr(obj, f.attname, stamps[f.attname])
            else:
                stamps[f.attname] = f.pre_save(obj, True)
        yield obj


def _sequence_values(connection, model, n: int) -> list[int]:
    """`n` new ids from the table's own sequence (its identity column): safe beside concurrent inserts."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [qn(model._meta.db_table), model._meta.pk.column, n])
        return [pk for (pk,) in cursor.fetchall()]


@contextmanager
def _copy(connection, model, columns: list[str], rows: Iterable[tuple]):
    """COPY the rows, then run the caller's block before waiting for the server to finish them."""
    qn = connection.ops.quote_name
    sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    # psycopg's own cursor: Django's wrapper has no copy(); its errors are translated here as Django's are
    # (a unique clash must arrive as IntegrityError: the roster import turns it into a message)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
        yield


@contextmanager
def _staged(connection, model, columns: list[str], rows: Iterable[tuple]):
    """SQLite: stage the rows a chunk at a time in a temporary table (no index: cheap) and let a second thread
    move each chunk into the table with one statement, while this thread builds the next chunk; the
    caller's block runs while the last one moves.

    Why a statement per chunk: sqlite3 releases the GIL while SQLite works, but `executemany` needs it back
    for every row, and a thread that waits for the GIL while this one builds rows waits for the switch
    interval each time (measured: the insert took twice as long). `INSERT … SELECT` holds it only to start
    and to finish. The indexes' work (10 on a member row) then overlaps the building — encryption, digests,
    masks — instead of following it (docs/performance.md §15). The mover uses a cursor of this thread's
    connection (one transaction, sqlite3 opened without its same-thread check as Django opens it), and only
    one statement runs at a time: each chunk is staged after the previous one has moved."""
    qn = connection.ops.quote_name
    table, stage = qn(model._meta.db_table), qn(f"bulk_{model._meta.db_table}")
    names = ", ".join(qn(c) for c in columns)
    stage_sql = f"INSERT INTO temp.{stage} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 - identifiers from the model  # nosec B608
    move_sql = f"INSERT INTO main.{table} ({names}) SELECT {names} FROM temp.{stage} WHERE rowid > %s ORDER BY rowid"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor, connection.cursor() as mover_cursor:
        cursor.execute(f"DROP TABLE IF EXISTS temp.{stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {names} FROM main.{table} WHERE 0")  # noqa: S608  # nosec B608
        mover = _Mover(mover_cursor, move_sql)
        try:
            staged = 0
            rows = iter(rows)
            while chunk := list(islice(rows, STAGE_CHUNK)):
                mover.wait()
                cursor.executemany(stage_sql, chunk)
                mover.start(after=staged)
                staged += len(chunk)
            yield
            mover.wait()
        finally:
            mover.join()  # never leave this block with a statement still running on the connection
        cursor.execute(f"DROP TABLE temp.{stage}")


class _Mover:
    """One move at a time on a thread of its own; its error (Django's, through the cursor) is raised by `wait`."""

    def __init__(self, cursor, sql: str):
        self.cursor, self.sql = cursor, sql
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, *, after: int) -> None:
        self.thread = threading.Thread(target=self._move, args=(after,), name="bulk-mover", daemon=True)
        self.thread.start()

    def _move(self, after: int) -> None:
        try:
            self.cursor.execute(self.sql, [after])
        except BaseException as e:  # handed to the caller's thread
            self.error = e

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def wait(self) -> None:
        self.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _execute_many(connection, model, columns: list[str], rows: Iterable[tuple]) -> None:
    ops = connection.ops
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - identifiers from the model, values as parameters  # nosec B608
        ops.quote_name(model._meta.db_table), ", ".join(ops.quote_name(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        rows = iter(rows)
        while chunk := list(islice(rows, CHUNK)):
            cursor.executemany(sql, chunk)


def _rows(connection, fields: list, objs: Iterable) -> Iterator[tuple]:
    """Each object's values in `fields` order, converted per column kind (see the module docstring), as the
    objects come."""
    ops = connection.ops
    stamps: dict = {}  # auto_now columns hold one timestamp per batch: adapt it once

    def stamp(v):
        if v not in stamps:
            stamps[v] = ops.adapt_datetimefield_value(v)
        return stamps[v]

    adapt: list[Callable | None] = []
    for f in fields:
        if isinstance(f, models.DateTimeField):
            auto = f.auto_now or f.auto_now_add
            adapt.append(stamp if auto else ops.adapt_datetimefield_value)
        elif isinstance(f, models.DateField):
            adapt.append(ops.adapt_datefield_value)
        elif isinstance(f, _PLAIN):
            adapt.append(None)
        else:
            adapt.append(lambda v, f=f: f.get_db_prep_save(v, connection))
    getter = operator.attrgetter(*(f.attname for f in fields))
    values = map(getter, objs) if len(fields) > 1 else ((getter(obj),) for obj in objs)
    if not any(adapt):
        return values
    return (tuple(v if fn is None or v is None else fn(v) for fn, v in zip(adapt, row, strict=True))
            for row in values)


def reset_sequences(models_: list, *, using: str = "default") -> None:
    """After `bulk_insert(assign_ids=True)`: PostgreSQL's sequences must move past the ids (SQLite needs
    nothing). Once, when the caller has inserted everything."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
