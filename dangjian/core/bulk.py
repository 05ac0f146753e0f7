"""The one fast write path for many rows (`BulkWriter`): the roster import, the demo seed and the benchmark
generator.

`bulk_create` compiles every value through the generic field machinery (~8 µs a value on the reference
machine) and, on SQLite, Django caps an INSERT at 999 parameters (34 members a statement, so ~300 statements
per 10,000 rows, each compiled anew). Here the values are converted the cheap way, once per column kind:
dates and datetimes through the backend's adapters, plain text/number/boolean/foreign-key values as they
are, anything else through `get_db_prep_save`; auto_now/auto_now_add fields get one timestamp per writer.
The objects themselves were built by the usual code (`member_build` encrypts, hashes and masks), starting from
`ModelTemplate`'s unsaved instances where thousands are built (the roster import, the benchmark's records).
"""

from __future__ import annotations

import datetime as dt
import operator
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import connections, models, router
from django.db.models import DEFERRED, NOT_PROVIDED, Max
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

BATCH_SIZE = 2000  # rows per bulk_create batch (a model with a database default)
STAGE_CHUNK = 2000  # rows per chunk of bulk_insert (measured best of 500–5,000)
DIRECT_ROWS = 500  # SQLite: a chunk of fewer rows, with nothing queued, goes in at once (no temporary table)
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def bulk_insert(model, objs: Iterable, *, assign_ids: bool = False) -> list:
    """INSERT unsaved instances of `model` (in chunks, through a `BulkWriter`) and return them. Scope filters do
    not apply to inserts: the caller checked them.

    assign_ids=False (concurrent-safe): the database numbers the rows. PostgreSQL: the ids are drawn from the
    table's sequence and set on the instances. SQLite: the instances do NOT get their pk (a caller that needs
    them reserves ids first: `reserve_ids`, as the roster import does).
    assign_ids=True: ids are max(id) + 1 onwards, set on the instances. Only for a caller filling tables inside
    its own transaction that nobody else writes to (the demo seed, the benchmark generator), and it must call
    `reset_sequences()` once when done (PostgreSQL's sequences lag behind).
    """
    objs = objs if isinstance(objs, list) else list(objs)
    if not objs:
        return objs
    connection = connections[router.db_for_write(model)]
    if any(f.db_default is not NOT_PROVIDED for f in model._meta.concrete_fields):
        # a database default must come from the database
        if assign_ids:
            raise TypeError(f"{model.__name__}: assign_ids with a database default")
        model._base_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        return objs
    if assign_ids:
        first = (model._base_manager.using(connection.alias).aggregate(m=Max("pk"))["m"] or 0) + 1
        ids = range(first, first + len(objs))
    elif connection.vendor == "postgresql" and objs[0].pk is None:  # all at once: no chunk waits for its ids
        ids = reserve_ids(model, len(objs))
    else:
        ids = None
    if ids is not None:
        for pk, obj in zip(ids, objs, strict=True):
            obj.pk = pk
    with bulk_writer(model) as writer:
        for i in range(0, len(objs), STAGE_CHUNK):
            writer.insert(model, objs[i : i + STAGE_CHUNK])
            writer.flush()
    return objs


def reserve_ids(model, n: int) -> list[int]:
    """`n` new ids for `model`, safe beside concurrent inserts, for a caller that needs them before it inserts
    (the roster import's membership periods point at members not yet written). PostgreSQL: from the table's
    sequence. SQLite: AUTOINCREMENT never reuses an id below sqlite_sequence's value, so raising that value
    by `n` reserves the ids; the UPDATE also takes SQLite's write lock, which the caller's transaction then
    holds: nobody else inserts until it ends."""
    if n <= 0:
        return []
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        return _sequence_values(connection, model, n)
    table, pk = model._meta.db_table, connection.ops.quote_name(model._meta.pk.column)
    top = f"(SELECT COALESCE(MAX({pk}), 0) FROM {connection.ops.quote_name(table)})"  # noqa: S608 - names  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE sqlite_sequence SET seq = MAX(seq, {top}) + %s WHERE name = %s RETURNING seq",  # noqa: S608  # nosec B608
                       [n, table])
        found = cursor.fetchone()
        if found is None:  # the table never had a row: AUTOINCREMENT has no entry for it yet
            cursor.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT %s, {top} + %s RETURNING seq",  # noqa: S608  # nosec B608
                           [table, n])
            found = cursor.fetchone()
    last = found[0]
    return list(range(last - n + 1, last + 1))


@contextmanager
def bulk_writer(model):
    """A `BulkWriter` on the database `model` is written to, in the caller's transaction. Leaving the block
    writes what is left and waits for it; an exception in the block waits for the statement still running,
    then propagates (the caller's transaction rolls back what was written)."""
    writer = BulkWriter(connections[router.db_for_write(model)])
    try:
        yield writer
        writer.flush()
        writer.wait()
        writer.drop_stages()
    finally:
        writer.join()  # never leave with a statement still running on the connection (after an error: moot)
        writer.cursor.close()


def on_conflict_add(connection, model, conflict: list[str], added: list[str]) -> str:
    """The upsert clause that adds a row's `added` columns to the existing row with the same `conflict` columns
    (the counters' upsert: orgs.tallies.upsert and `BulkWriter.upsert`). Names from the model only."""
    qn, table = connection.ops.quote_name, connection.ops.quote_name(model._meta.db_table)
    sums = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in added)
    return f"ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET {sums}"  # nosec B608 - names from the model


class BulkWriter:
    """Chunks of rows for one or several tables written by a second thread while this one prepares the next
    chunk: `insert` and `upsert` prepare a chunk's rows, `flush` hands them over. The roster import checks
    and builds the next members while the database writes the last chunk's members, membership periods and
    counters; nothing of it then waits until the end (docs/performance.md §19).

    Why this shape: the database works without the GIL (sqlite3 and psycopg release it), but any per-row step
    on the second thread would need the GIL back for every row, and a thread waiting for it while this one
    runs Python waits for the switch interval each time (measured: an insert took twice as long). So every
    per-row step stays on this thread, and the second one runs whole statements:
    - SQLite: this thread converts a chunk's rows while the second one still writes the last chunk, and at
      `flush` stages them in a temporary table per table (no index: cheap; only then is the connection idle),
      the second thread moves them with one `INSERT … SELECT` per table (an upsert's with `ON CONFLICT … DO
      UPDATE`). A table's rows fewer than DIRECT_ROWS with nothing queued before them go in at once instead;
    - PostgreSQL: this thread formats a chunk as COPY text (psycopg's own C formatter), the second thread sends
      it with one `COPY` per table (an upsert's into a temporary table, then `INSERT … SELECT … ON CONFLICT`).
    Both use this thread's connection (one transaction; sqlite3 opened without its same-thread check, as
    Django opens it), one statement at a time: a flush first waits for the previous one.

    Values are converted the cheap way (`_rows`); instances with a pk (assigned or reserved: `reserve_ids`)
    keep it, and on PostgreSQL instances without one get theirs from the table's sequence.
    """

    def __init__(self, connection):
        self.connection = connection
        self.postgresql = connection.vendor == "postgresql"
        self.cursor = connection.cursor()
        self.jobs: list[tuple[str, list | None, bytearray | None]] = []  # (sql, params, COPY data) for the next flush
        self.pending: list[tuple] = []  # SQLite: the chunk's converted rows per table, staged by the next flush
        self.stages: dict[str, list] = {}  # temporary table → [its columns, rows staged in it (SQLite)]
        self.stamps: dict = {}  # auto_now field → its value for every row written (`_stamped`)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        if self.postgresql:  # psycopg's C formatter of a COPY row, as its Copy.write_row uses it
            from psycopg._copy_base import format_row_text
            from psycopg.adapt import Transformer

            self.transformer, self.format_row = Transformer(connection.connection), format_row_text

    def insert(self, model, objs: list) -> None:
        """Queue unsaved instances of `model` for the next flush."""
        if not objs:
            return
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        pk = model._meta.pk
        if self.postgresql and objs[0].pk is None:
            self.wait()  # the sequence is read on the connection
            for value, obj in zip(reserve_ids(model, len(objs)), objs, strict=True):
                obj.pk = value
        if objs[0].pk is not None:
            if any(obj.pk is None for obj in objs):
                raise ValueError(f"{model.__name__}: some objects have a pk and some do not")
            fields.insert(0, pk)
        rows = _rows(self.connection, fields, _stamped(fields, objs, self.stamps))
        self._prepare(model, [f.column for f in fields], rows, len(objs))
        if fields[0] is pk:
            for obj in objs:
                obj._state.adding = False
                obj._state.db = self.connection.alias

    def upsert(self, model, columns: list[str], rows: list[tuple], *, conflict: list[str], added: list[str]) -> None:
        """Queue rows of `model` (values in `columns` order) that add their `added` columns to an existing row's
        where one with the same `conflict` columns exists (orgs.tallies: the counters)."""
        if not rows:
            return
        self._prepare(model, columns, rows, len(rows), on_conflict=on_conflict_add(self.connection, model, conflict, added))

    def flush(self) -> None:
        """Hand the chunk to the second thread, once it is done with the previous one. SQLite: the chunk's rows are
        staged now, in that one moment the connection is idle (everything else was prepared while it wrote)."""
        if not (self.jobs or self.pending):
            return
        self.wait()
        for pending in self.pending:
            self._stage(*pending)
        self.pending.clear()
        if not self.jobs:  # all of it went in directly
            return
        jobs, self.jobs = self.jobs, []
        self.thread = threading.Thread(target=self._run, args=(jobs,), name="bulk-writer", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Wait for the statements handed over; raise their error (as Django's, e.g. IntegrityError) here."""
        self.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def drop_stages(self) -> None:
        """Drop the temporary tables (they would otherwise live as long as the connection). After an error the
        rollback drops them, and the next writer's DROP … IF EXISTS any that stayed."""
        qn = self.connection.ops.quote_name
        schema = "pg_temp." if self.postgresql else "temp."
        for stage in self.stages:
            self.cursor.execute(f"DROP TABLE {schema}{qn(stage)}")
        self.stages.clear()

    def _prepare(self, model, columns: list[str], rows: Iterable[tuple], count: int, *, on_conflict: str = "") -> None:
        """The chunk's rows of one table, ready for `flush`: nothing here uses the connection, so it all happens
        while the second thread is still writing the previous chunk."""
        if not self.postgresql:  # converted now; staged by flush
            self.pending.append((model, columns, list(rows), count, on_conflict))
            return
        qn = self.connection.ops.quote_name
        table, names, stage = qn(model._meta.db_table), ", ".join(qn(c) for c in columns), f"bulk_{model._meta.db_table}"
        data = bytearray()
        for row in rows:
            self.format_row(row, self.transformer, data)
        if not on_conflict:
            self.jobs.append((f"COPY {table} ({names}) FROM STDIN", None, data))
            return
        temp = f"pg_temp.{qn(stage)}"  # named with its schema: never a table of the same name elsewhere
        if self._new_stage(stage, names):
            self.jobs.append((f"DROP TABLE IF EXISTS {temp}", None, None))
            self.jobs.append((f"CREATE TEMP TABLE {qn(stage)} AS SELECT {names} FROM {table} WITH NO DATA", None, None))  # noqa: S608 - names  # nosec B608
        self.jobs.append((f"COPY {temp} ({names}) FROM STDIN", None, data))
        # In key order, as every writer of the table takes its rows: two imports never wait on each other crosswise.
        self.jobs.append((f"INSERT INTO {table} ({names}) SELECT {names} FROM {temp} ORDER BY {names} {on_conflict}", None, None))  # noqa: S608  # nosec B608
        self.jobs.append((f"TRUNCATE {temp}", None, None))

    def _stage(self, model, columns: list[str], rows: list, count: int, on_conflict: str) -> None:
        """SQLite, on this thread while the second one is idle: a few rows straight in, else into the table's
        temporary table, queuing the statement that moves them."""
        qn = self.connection.ops.quote_name
        table, names, stage = qn(model._meta.db_table), ", ".join(qn(c) for c in columns), f"bulk_{model._meta.db_table}"
        values = ", ".join(["%s"] * len(columns))
        if count < DIRECT_ROWS and not self.jobs:
            self.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({values}) {on_conflict}", rows)  # noqa: S608  # nosec B608
            return
        if self._new_stage(stage, names):
            self.cursor.execute(f"DROP TABLE IF EXISTS temp.{qn(stage)}")
            self.cursor.execute(f"CREATE TEMP TABLE {qn(stage)} AS SELECT {names} FROM main.{table} WHERE 0")  # noqa: S608  # nosec B608
        after = self.stages[stage][1]
        self.cursor.executemany(f"INSERT INTO temp.{qn(stage)} ({names}) VALUES ({values})", rows)  # noqa: S608  # nosec B608
        self.stages[stage][1] = after + count
        # "WHERE" before the upsert clause: SQLite's parser needs it there (an ON after FROM would read as a join's)
        self.jobs.append((f"INSERT INTO main.{table} ({names}) SELECT {names} FROM temp.{qn(stage)} "  # noqa: S608  # nosec B608
                          f"WHERE rowid > %s ORDER BY rowid {on_conflict}", [after], None))

    def _new_stage(self, stage: str, names: str) -> bool:
        """Whether the table's temporary table is still to be made; one writer stages a table's rows in one shape."""
        if stage in self.stages:
            if self.stages[stage][0] != names:
                raise ValueError(f"{stage}: rows of another shape already staged ({self.stages[stage][0]})")
            return False
        self.stages[stage] = [names, 0]
        return True

    def _run(self, jobs: list[tuple[str, list | None, bytearray | None]]) -> None:
        """The second thread: each statement whole (see the class docstring). Its error is handed to `wait`."""
        try:
            for sql, params, data in jobs:
                if data is None:
                    self.cursor.execute(sql, params)
                else:  # psycopg's own cursor: Django's wrapper has no copy(); its errors translated as Django's are
                    with self.connection.wrap_database_errors, self.cursor.cursor.copy(sql) as copy:
                        copy.write(data)
        except BaseException as e:  # handed to the caller's thread
            self.error = e


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

    def loaded(self, db: str, values: dict):
        """An instance as `Model.from_db` builds it from the fields in `values`, the others deferred (read from the
        database when used): its __dict__ holds just those (1 µs rather than 6: the roster import builds one per
        organisation a file names, 10,000 for a city-wide file)."""
        if not self.plain:  # from_db takes the values in the order of the fields, DEFERRED for those not loaded
            return self.model.from_db(db, list(values), [values.get(name, DEFERRED) for name in self.attnames])
        obj = object.__new__(self.model)
        obj.__dict__.update(values)
        obj._state = state = ModelState()
        state.adding, state.db = False, db
        return obj


# A new instance's attribute set by exactly these only stores the value: a plain field's DeferredAttribute
# defines no __set__; a foreign key's id (ForeignKeyDeferredAttribute) also drops a cached related object, which
# a new instance does not have. A subclass may do more: such a model takes Model.__init__.
_STORING_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _stamped(fields: list, objs: Iterable, stamps: dict) -> Iterator:
    """auto_now/auto_now_add: pre_save on the first object a writer writes, the same value on every other one
    (`stamps`, the writer's: one timestamp for all its chunks)."""
    auto = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    if not auto:
        yield from objs
        return
    for obj in objs:
        for f in auto:
            if f in stamps:
                setattr(obj, f.attname, stamps[f])
            else:
                stamps[f] = f.pre_save(obj, True)
        yield obj


def _sequence_values(connection, model, n: int) -> list[int]:
    """`n` new ids from the table's own sequence (its identity column): safe beside concurrent inserts."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [qn(model._meta.db_table), model._meta.pk.column, n])
        return [pk for (pk,) in cursor.fetchall()]


def _rows(connection, fields: list, objs: Iterable) -> Iterator[tuple | list]:
    """Each object's values in `fields` order, converted per column kind (see the module docstring), as the
    objects come. Only the columns that need it are touched (a member row: 6 of 30)."""
    ops = connection.ops
    stamps: dict = {}  # auto_now columns hold one timestamp per batch: adapt it once
    # Django's PostgreSQL adapters hand dates and datetimes over as they are (psycopg adapts them)
    dates_as_they_are = connection.vendor == "postgresql"

    def stamp(v):
        if v not in stamps:
            stamps[v] = ops.adapt_datetimefield_value(v)
        return stamps[v]

    adapt: list[tuple[int, Callable]] = []
    for i, f in enumerate(fields):
        if isinstance(f, models.DateTimeField):
            if not dates_as_they_are:
                adapt.append((i, stamp if f.auto_now or f.auto_now_add else ops.adapt_datetimefield_value))
        elif isinstance(f, models.DateField):
            if not dates_as_they_are:
                adapt.append((i, ops.adapt_datefield_value))
        elif not isinstance(f, _PLAIN):
            adapt.append((i, lambda v, f=f: f.get_db_prep_save(v, connection)))
    getter = operator.attrgetter(*(f.attname for f in fields))
    values = map(getter, objs) if len(fields) > 1 else ((getter(obj),) for obj in objs)
    if not adapt:
        return values

    def converted(row: tuple) -> list:
        row = list(row)
        for i, fn in adapt:
            if row[i] is not None:
                row[i] = fn(row[i])
        return row

    return map(converted, values)


def reset_sequences(models_: list, *, using: str = "default") -> None:
    """After `bulk_insert(assign_ids=True)`: PostgreSQL's sequences must move past the ids (SQLite needs
    nothing). Once, when the caller has inserted everything."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
