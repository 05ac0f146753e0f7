"""`core.bulk`, the one fast write path (roster import, demo seed, benchmark generator): the rows `BulkWriter`
writes must be exactly the rows `save()` writes, text that needs escaping in COPY included; its upserts must add
up as the counters' own upsert does; the ids handed out (`reserve_ids`, PostgreSQL's sequence) must never
collide with the next ordinary insert; and an error, wherever it happens, leaves nothing written and no
second thread running."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from dangjian.core import bulk
from dangjian.core.bulk import BulkWriter, bulk_insert, bulk_writer, reserve_ids, reset_sequences
from dangjian.members import tallies
from dangjian.members.forms import MemberForm
from dangjian.members.models import Member
from dangjian.members.services import member_build
from dangjian.orgs.models import Organization
from dangjian.testing import MemberDataFactory

# what COPY's text format must escape, and what it must not mistake for NULL
AWKWARD = ["制表\t符", "换\n行", "回\r车", "反斜\\杠", "\\N", "", "引'号\"", "😀 表情"]
COLUMNS = [f.attname for f in Member._meta.concrete_fields if f.attname not in ("id", "created_at", "updated_at")]


def built(district, n: int) -> list[Member]:
    members = []
    for i in range(n):
        data = MemberDataFactory()
        data["organization"] = district.branch_a1.pk
        form = MemberForm(data=data, organizations=Organization.unscoped.all())
        assert form.is_valid(), form.errors
        m = member_build(form.cleaned_data)
        m.work_unit = AWKWARD[i % len(AWKWARD)]
        m.address = AWKWARD[(i + 3) % len(AWKWARD)]
        members.append(m)
    return members


@pytest.fixture(params=["direct", "staged"])
def path(request, monkeypatch):
    """Each test below on both of SQLite's paths: a few rows go in directly; from DIRECT_ROWS rows on they are
    staged in chunks and moved by the writer's second thread, here in chunks of 3. (PostgreSQL has one path.)"""
    if request.param == "staged":
        if connection.vendor != "sqlite":
            pytest.skip("SQLite's staged path")
        monkeypatch.setattr(bulk, "STAGE_CHUNK", 3)
        monkeypatch.setattr(bulk, "DIRECT_ROWS", 3)
    return request.param


def stage_tables() -> list[str]:
    """The writer's temporary tables still there (on this connection)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table'")
        else:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = pg_my_temp_schema()::regnamespace::text")
        return [name for (name,) in cursor.fetchall()]


def stored(pks) -> list[tuple]:
    return list(Member.unscoped.filter(pk__in=pks).order_by("id_number_digest").values_list(*COLUMNS))


def as_saved(members: list[Member]) -> list[tuple]:
    return sorted((tuple(getattr(m, c) for c in COLUMNS) for m in members), key=lambda r: r[COLUMNS.index("id_number_digest")])


def test_rows_are_written_as_save_writes_them_and_get_their_ids_where_the_database_gives_them(district, path):
    members = built(district, 16)
    expected = as_saved(members)
    before = set(Member.unscoped.values_list("pk", flat=True))
    bulk_insert(Member, members)
    new = Member.unscoped.exclude(pk__in=before)
    pks = sorted(new.values_list("pk", flat=True))
    assert stored(pks) == expected
    stamps = set(new.values_list("created_at", flat=True))
    assert len(stamps) == 1 and None not in stamps  # auto_now_add: one timestamp for the batch
    if connection.vendor == "postgresql":  # ids drawn from the sequence and set on the instances
        assert sorted(m.pk for m in members) == pks
        assert all(not m._state.adding for m in members)
    else:  # SQLite numbers the rows as it inserts them and tells nobody: a caller that needs ids reserves them
        assert all(m.pk is None for m in members)
    # the next ordinary insert takes a fresh id
    other = built(district, 1)[0]
    other.save()
    assert other.pk > max(pks)


def test_assigned_ids_continue_from_the_largest_and_the_sequence_follows(district, path):
    top = Member.unscoped.order_by("-pk").values_list("pk", flat=True).first()
    members = built(district, 8)
    expected = as_saved(members)
    bulk_insert(Member, members, assign_ids=True)
    assert [m.pk for m in members] == list(range(top + 1, top + 9))
    assert stored([m.pk for m in members]) == expected
    reset_sequences([Member])
    other = built(district, 1)[0]
    other.save()
    assert other.pk == top + 9


@pytest.mark.parametrize("assign_ids", [False, True])
def test_nothing_is_written_for_no_rows(district, assign_ids, django_assert_num_queries):
    with django_assert_num_queries(0):
        bulk_insert(Member, [], assign_ids=assign_ids)


def test_a_unique_clash_arrives_as_djangos_integrity_error(district, path):
    """The roster import turns it into a message; a driver's own exception would be a server error. Staged,
    the clash is in the third chunk, raised on the writer's thread: it arrives all the same, and nothing stays."""
    from django.db import IntegrityError, transaction

    members = built(district, 8)
    members[7].id_number_digest = members[0].id_number_digest
    before = Member.unscoped.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Member, members)
    assert Member.unscoped.count() == before
    assert not writer_threads()


def writer_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "bulk-writer"]


# --- Reserved ids, several tables a chunk, upserts -----------------------------------------------------------


def test_reserved_ids_are_new_never_handed_out_twice_and_kept_by_the_rows(district, path):
    from dangjian.members.models import MembershipPeriod

    top = Member.unscoped.order_by("-pk").values_list("pk", flat=True).first()
    first, second = reserve_ids(Member, 5), reserve_ids(Member, 3)
    assert len(set(first + second)) == 8 and min(first + second) > top
    assert reserve_ids(Member, 0) == []
    members = built(district, 5)
    for pk, m in zip(first, members, strict=True):
        m.pk = pk
    bulk_insert(Member, members)
    assert stored(first) == as_saved(members)
    assert all(not m._state.adding for m in members)
    other = built(district, 1)[0]
    other.save()  # an ordinary insert after the reservation takes neither set
    assert other.pk not in first + second
    # A table that never held a row (SQLite keeps no AUTOINCREMENT entry for it yet) reserves from 1 on.
    MembershipPeriod.unscoped.all().delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [MembershipPeriod._meta.db_table])
        assert reserve_ids(MembershipPeriod, 2) == [1, 2]
        assert reserve_ids(MembershipPeriod, 1) == [3]


def test_a_writer_writes_several_tables_a_chunk_and_its_upserts_add_as_the_counters_own_do(district, path):
    """What the roster import does: per chunk, members with reserved ids, their periods, the chunk's counter
    changes (which meet the same counter rows chunk after chunk). Counters end as the direct upsert leaves them."""
    from dangjian.members.models import MembershipPeriod
    from dangjian.members.tallies import tally_totals, tally_write

    members = built(district, 12)
    expected = as_saved(members)
    with bulk_writer(Member) as writer:
        ids = reserve_ids(Member, len(members))
        for i in range(0, 12, 4):
            chunk = members[i : i + 4]
            for pk, m in zip(ids[i:], chunk, strict=False):
                m.pk = pk
            writer.insert(Member, chunk)
            writer.insert(MembershipPeriod, [
                MembershipPeriod(member_id=m.pk, organization_id=m.organization_id, org_path=m.org_path,
                                 start=m.joined_on, reason="名册导入") for m in chunk])
            tally_write(tally_totals((m.org_path, tallies.member_dimensions(m, "community"), 1) for m in chunk),
                        writer=writer)
            writer.flush()
    assert stored(ids) == expected
    assert sorted(MembershipPeriod.unscoped.filter(member_id__in=ids).values_list("member_id", flat=True)) == ids
    assert tallies.tally_differences() == {}  # the counters hold exactly the members
    assert not writer_threads() and stage_tables() == []


def test_an_error_in_the_block_waits_for_the_writer_and_writes_nothing(district, path):
    from django.db import transaction

    members = built(district, 8)
    before = Member.unscoped.count()
    with pytest.raises(ValueError, match="调用方出错"), transaction.atomic():
        with bulk_writer(Member) as writer:
            writer.insert(Member, members[:4])
            writer.flush()
            writer.insert(Member, members[4:])
            raise ValueError("调用方出错")
    assert Member.unscoped.count() == before
    assert not writer_threads()
    bulk_insert(Member, built(district, 4))  # the next writer starts clean (its staging table included)
    assert Member.unscoped.count() == before + 4


def test_objects_with_and_without_a_pk_cannot_share_a_chunk_nor_a_staging_table(district, monkeypatch):
    members = built(district, 2)
    members[0].pk = reserve_ids(Member, 1)[0]
    with pytest.raises(ValueError, match="some objects have a pk"), bulk_writer(Member) as writer:
        writer.insert(Member, members)
    if connection.vendor == "sqlite":  # (PostgreSQL gives every chunk its ids: one shape)
        monkeypatch.setattr(bulk, "DIRECT_ROWS", 1)
        with pytest.raises(ValueError, match="another shape"), bulk_writer(Member) as writer:
            writer.insert(Member, members[:1])
            writer.insert(Member, members[1:])


def test_staged_chunks_are_moved_on_a_second_thread_while_the_next_is_built(district, monkeypatch):
    """SQLite: every chunk staged by this thread, moved by the writer's, one statement each; the temporary
    table is dropped at the end. (The point of it: SQLite's index work runs while Python builds,
    docs/performance.md §15 and §19.)"""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's staged path")
    monkeypatch.setattr(bulk, "STAGE_CHUNK", 3)
    monkeypatch.setattr(bulk, "DIRECT_ROWS", 3)
    members = built(district, 8)
    expected = as_saved(members)
    seen: list[tuple[str, str, bool]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split(" (")[0], threading.current_thread().name, many))
        return execute(sql, params, many, context)

    before = set(Member.unscoped.values_list("pk", flat=True))
    with connection.execute_wrapper(record):
        bulk_insert(Member, iter(members))
    stage, table, here = '"bulk_members_member"', '"members_member"', threading.current_thread().name
    staged_and_moved = [(f"INSERT INTO temp.{stage}", here, True), (f"INSERT INTO main.{table}", "bulk-writer", False)]
    direct = [(f"INSERT INTO {table}", here, True)]  # the last two rows: fewer than a chunk, nothing queued
    assert [s for s in seen if s[0].startswith("INSERT")] == staged_and_moved * 2 + direct
    assert stored(sorted(Member.unscoped.exclude(pk__in=before).values_list("pk", flat=True))) == expected
    assert stage_tables() == []


def test_a_postgresql_chunk_is_sent_by_copy_on_the_writers_thread(district, monkeypatch):
    """PostgreSQL: this thread formats the rows (COPY text, escapes included: `AWKWARD`), the writer's thread
    sends them."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's COPY")
    threads: list[str] = []
    run = BulkWriter._run
    monkeypatch.setattr(BulkWriter, "_run", lambda self, jobs: threads.append(threading.current_thread().name) or run(self, jobs))
    members = built(district, 8)
    expected = as_saved(members)
    bulk_insert(Member, members)
    assert threads == ["bulk-writer"] and stored([m.pk for m in members]) == expected
