"""`core.bulk.bulk_insert`, the one fast INSERT path (roster import, demo seed, benchmark generator): the rows
it writes must be exactly the rows `save()` writes, text that needs escaping in COPY included, and the ids it
hands out (PostgreSQL: from the table's sequence) must never collide with the next ordinary insert."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from dangjian.core import bulk
from dangjian.core.bulk import bulk_insert, bulk_inserting, reset_sequences
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
    """Each test below on both of SQLite's paths: a few rows go in directly; from STAGE_CHUNK rows on they are
    staged in chunks and moved by a second thread (`_staged`), here in chunks of 3."""
    if request.param == "staged":
        if connection.vendor != "sqlite":
            pytest.skip("SQLite's staged path")
        monkeypatch.setattr(bulk, "STAGE_CHUNK", 3)
    return request.param


def stage_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table'")
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
    else:  # SQLite's executemany gives none back: the roster import reads them back itself
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
    the clash is in the third chunk, raised on the mover's thread: it arrives all the same, and nothing stays."""
    from django.db import IntegrityError, transaction

    members = built(district, 8)
    members[7].id_number_digest = members[0].id_number_digest
    before = Member.unscoped.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Member, members)
    assert Member.unscoped.count() == before
    assert not [t for t in threading.enumerate() if t.name == "bulk-mover"]


# --- Streaming: objects built as they are sent, and the caller's work before the database finishes ----------


def test_a_generator_is_consumed_as_rows_are_sent_and_the_block_runs_after_the_last(district, path):
    members = built(district, 6)
    expected = as_saved(members)
    handed: list[int] = []

    def one_by_one():
        for i, m in enumerate(members):
            handed.append(i)
            yield m

    before = set(Member.unscoped.values_list("pk", flat=True))
    with bulk_inserting(Member, one_by_one(), count=len(members)) as sent:
        assert handed == list(range(6)) and sent == members  # every row sent before the block
        if connection.vendor == "postgresql":
            assert all(m.pk is None for m in sent)  # the ids come when the server has confirmed
    pks = sorted(Member.unscoped.exclude(pk__in=before).values_list("pk", flat=True))
    assert stored(pks) == expected
    if connection.vendor == "postgresql":
        assert sorted(m.pk for m in members) == pks


def test_an_error_in_the_block_or_in_the_generator_or_a_wrong_count_writes_nothing(district, path):
    from django.db import transaction

    members = built(district, 4)
    before = Member.unscoped.count()

    def failing():
        yield from members[:2]
        raise ValueError("第3行出错")

    attempts = [
        (lambda: bulk_inserting(Member, iter(members), count=4), True),  # the block raises
        (lambda: bulk_inserting(Member, failing(), count=4), False),  # the objects' builder raises
        (lambda: bulk_inserting(Member, iter(members), count=5), False),  # fewer objects than announced
    ]
    for start, in_block in attempts:
        with pytest.raises(ValueError), transaction.atomic():
            with start():
                if in_block:
                    raise ValueError("调用方出错")
        assert Member.unscoped.count() == before
        assert not [t for t in threading.enumerate() if t.name == "bulk-mover"]


def test_staged_chunks_are_moved_on_a_second_thread_while_the_next_is_built(district, monkeypatch):
    """SQLite: every chunk staged by this thread, moved by another, one statement each; the temporary table is
    dropped at the end. (The point of it: SQLite's index work runs while Python builds, docs/performance.md §15.)"""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's staged path")
    monkeypatch.setattr(bulk, "STAGE_CHUNK", 3)
    members = built(district, 8)
    expected = as_saved(members)
    seen: list[tuple[str, str, bool]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split(" (")[0], threading.current_thread().name, many))
        return execute(sql, params, many, context)

    before = set(Member.unscoped.values_list("pk", flat=True))
    with connection.execute_wrapper(record):
        bulk_insert(Member, iter(members), count=8)
    stage, table = '"bulk_members_member"', '"members_member"'
    staging = [(f"INSERT INTO temp.{stage}", threading.current_thread().name, True)] * 3
    moving = [(f"INSERT INTO main.{table}", "bulk-mover", False)] * 3
    assert [s for s in seen if s[0].startswith("INSERT")] == [x for pair in zip(staging, moving, strict=True) for x in pair]
    assert stored(sorted(Member.unscoped.exclude(pk__in=before).values_list("pk", flat=True))) == expected
    assert stage_tables() == []
