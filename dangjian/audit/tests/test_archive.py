"""Archiving the audit log (等保2.0 三级 安全审计; 网络安全法 第二十三条, DOMAIN-RULES §7.1): entries past the
online period move to verified files, never lost, and the chain verifies across the boundary."""

import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from dangjian.audit import services
from dangjian.audit.checks import online_months_check
from dangjian.audit.models import GENESIS, AppendOnlyError, AuditArchive, AuditEntry, ChainHead
from dangjian.audit.selectors import archive_orphans, audit_archive_plan, audit_chain_verify
from dangjian.audit.services import archive_older_than, log_action
from dangjian.core import jobs
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, RuleViolation
from dangjian.testing import client_as

pytestmark = pytest.mark.django_db

ACTION = "audit.log.searched"
TZ = timezone.get_default_timezone()
OLD = dt.datetime(2025, 1, 10, 9, 0, tzinfo=TZ)
LATER = dt.datetime(2025, 6, 20, 9, 0, tzinfo=TZ)
NOW = dt.datetime(2026, 11, 29, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Archive files go to the default storage (MEDIA_ROOT): keep the tests' files out of the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DANGJIAN_AUDIT_ONLINE_MONTHS = 12


def _log_at(monkeypatch, when: dt.datetime, n: int, **kw) -> list[AuditEntry]:
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: when.astimezone(dt.UTC))  # as Django's: UTC
        return [log_action(actor=SYSTEM, action=ACTION, changes={"n": i, "名": "张三", **kw}) for i in range(n)]


def _raw(sql: str, params=()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _path(segment: AuditArchive) -> Path:
    return Path(default_storage.path(segment.file_name))


def _lines(segment: AuditArchive) -> list[dict]:
    with gzip.open(_path(segment), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _rewrite(segment: AuditArchive, lines: list[dict]) -> None:
    """What someone with write access to the store could do: change the content and re-compress it."""
    with gzip.open(_path(segment), "wt", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


def _lift_trigger(name: str) -> None:
    """What a DBA with table rights could do; DDL is transactional on both databases, so the test's
    rollback restores it."""
    if connection.vendor == "sqlite":
        _raw(f"DROP TRIGGER {name}")
    else:
        _raw("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_no_update_delete")


def _verify_command() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def _online_ids() -> list[int]:
    return list(AuditEntry.objects.order_by("id").values_list("id", flat=True))


# --- archiving ------------------------------------------------------------------------------------------


def test_old_entries_are_archived_and_new_ones_stay(monkeypatch):
    old = _log_at(monkeypatch, OLD, 5)
    new = _log_at(monkeypatch, NOW - dt.timedelta(days=30), 3)

    segment = archive_older_than(actor=SYSTEM, now=NOW)

    assert (segment.sequence, segment.first_entry_id, segment.last_entry_id, segment.count) == (
        1, old[0].pk, old[-1].pk, 5)
    assert (segment.first_prev_hash, segment.last_hash) == (GENESIS, old[-1].hash)
    assert (segment.first_created_at, segment.last_created_at) == (OLD, OLD)
    assert segment.file_name == f"audit-archive/000001-{old[0].pk}-{old[-1].pk}.jsonl.gz"
    assert (segment.file_algorithm, segment.actor_label) == ("sha256", "系统")
    assert segment.file_size == _path(segment).stat().st_size > 0
    logged = AuditEntry.objects.get(action="audit.archived")
    assert _online_ids() == [e.pk for e in new] + [logged.pk]
    assert (logged.target_type, logged.target_id) == ("audit.auditarchive", str(segment.pk))
    expected = {"sequence": 1, "first_entry_id": old[0].pk, "last_entry_id": old[-1].pk, "count": 5,
                "file_name": segment.file_name, "file_hash": segment.file_hash, "file_size": segment.file_size,
                "last_hash": old[-1].hash, "cutoff": "2025-11-29T00:00:00+08:00"}
    assert {k: logged.changes[k] for k in expected} == expected
    head = ChainHead.objects.get(pk=1)
    assert head.count == 9  # the head counts every entry ever written, archived or not


def test_the_file_holds_every_entry_with_its_payload_and_hashes(monkeypatch):
    old = _log_at(monkeypatch, OLD, 3, z=[1, 2.5, None], 空="")
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    lines = _lines(segment)
    assert [(r["id"], r["prev_hash"], r["hash"]) for r in lines] == [(e.pk, e.prev_hash, e.hash) for e in old]
    assert [r["payload"] for r in lines] == [e.payload() for e in old]


def test_nothing_qualifies_nothing_is_archived(monkeypatch):
    _log_at(monkeypatch, NOW - dt.timedelta(days=200), 2)  # 6.5 months: still inside the 12-month period
    assert archive_older_than(actor=SYSTEM, now=NOW) is None
    assert archive_older_than(actor=SYSTEM, now=NOW) is None
    assert not AuditArchive.objects.exists()
    assert AuditEntry.objects.count() == 2  # and nothing was logged
    assert not Path(default_storage.location, "audit-archive").exists()


def test_an_empty_log_archives_nothing():
    assert archive_older_than(actor=SYSTEM, now=NOW) is None
    assert audit_chain_verify().ok


def test_the_cutoff_is_local_midnight_months_back(monkeypatch):
    midnight = dt.datetime(2025, 11, 29, 0, 0, tzinfo=TZ)
    before = _log_at(monkeypatch, midnight - dt.timedelta(microseconds=1), 1)[0]
    _log_at(monkeypatch, midnight, 1)
    plan = audit_archive_plan(now=NOW, max_entries=100)
    assert (plan.cutoff, plan.first_id, plan.last_id, plan.count) == (midnight, before.pk, before.pk, 1)


def test_an_old_entry_behind_a_newer_one_waits(monkeypatch):
    """A segment is a run of the chain: an entry whose clock went back stays online until the one before it
    is due."""
    a = _log_at(monkeypatch, OLD, 2)
    _log_at(monkeypatch, NOW, 1)
    _log_at(monkeypatch, OLD, 1)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    assert (segment.first_entry_id, segment.last_entry_id, segment.count) == (a[0].pk, a[1].pk, 2)
    assert audit_chain_verify().ok


def test_two_runs_make_two_linked_segments_and_the_chain_verifies(monkeypatch):
    first = _log_at(monkeypatch, OLD, 3)
    second = _log_at(monkeypatch, LATER, 2)
    _log_at(monkeypatch, NOW, 2)

    one = archive_older_than(actor=SYSTEM, now=dt.datetime(2025, 12, 15, tzinfo=TZ), months=6)  # cut-off 2025-06-15
    two = archive_older_than(actor=SYSTEM, now=NOW)

    assert (one.first_entry_id, one.last_entry_id) == (first[0].pk, first[-1].pk)
    assert (two.sequence, two.first_entry_id, two.last_entry_id) == (2, second[0].pk, second[-1].pk)
    assert two.first_prev_hash == one.last_hash
    report = audit_chain_verify()
    assert report.ok and report.checked == ChainHead.objects.get(pk=1).count == 9
    assert "共校验 9 条记录（其中 2 个归档段" in _verify_command()


def test_a_backlog_drains_one_bounded_segment_per_run(monkeypatch):
    old = _log_at(monkeypatch, OLD, 5)
    segments = [archive_older_than(actor=SYSTEM, now=NOW, max_entries=2) for _ in range(4)]
    assert [(s.first_entry_id, s.last_entry_id) for s in segments[:3]] == [
        (old[0].pk, old[1].pk), (old[2].pk, old[3].pk), (old[4].pk, old[4].pk)]
    assert segments[3] is None  # the 'archived' entries themselves are new
    assert audit_chain_verify().ok


def test_everything_archived_still_verifies_against_the_head(monkeypatch):
    _log_at(monkeypatch, OLD, 3)
    with monkeypatch.context() as m:  # the run's own entry is old too, and goes in the next run
        m.setattr(timezone, "now", lambda: (OLD + dt.timedelta(hours=1)).astimezone(dt.UTC))
        archive_older_than(actor=SYSTEM, now=NOW)
        archive_older_than(actor=SYSTEM, now=NOW)
    assert AuditEntry.objects.count() == 1  # only the second run's own entry
    report = audit_chain_verify()
    assert report.ok and report.checked == 5


def test_the_sm3_mode_hashes_the_file_with_sm3(monkeypatch, settings):
    settings.DANGJIAN_GM_MODE = True
    _log_at(monkeypatch, OLD, 2)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    assert segment.file_algorithm == "sm3"
    from dangjian.core import crypto

    assert segment.file_hash == crypto.sm3(_path(segment).read_bytes())
    assert audit_chain_verify().ok


# --- tampering is found ---------------------------------------------------------------------------------


def test_a_changed_field_in_an_archive_file_is_found_and_named(monkeypatch):
    old = _log_at(monkeypatch, OLD, 4)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    lines = _lines(segment)
    lines[2]["payload"]["target_label"] = "篡改"
    _rewrite(segment, lines)

    report = audit_chain_verify()
    assert not report.ok
    assert (report.broken_at, report.checked) == (old[2].pk, 2)
    assert "归档第 1 段" in report.reason and segment.file_name in report.reason and "改动" in report.reason
    with pytest.raises(CommandError, match=f"第 {old[2].pk} 号记录处断链：归档第 1 段"):
        _verify_command()


def test_a_changed_line_with_a_recomputed_hash_breaks_the_next_link(monkeypatch):
    from dangjian.audit.models import chain_hash

    old = _log_at(monkeypatch, OLD, 4)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    lines = _lines(segment)
    lines[1]["payload"]["success"] = False
    lines[1]["hash"] = chain_hash(lines[1]["prev_hash"], lines[1]["payload"], algorithm="sha256")
    _rewrite(segment, lines)
    report = audit_chain_verify()
    assert report.broken_at == old[2].pk and "链接断开" in report.reason


def test_a_removed_line_is_found(monkeypatch):
    old = _log_at(monkeypatch, OLD, 4)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    _rewrite(segment, [line for line in _lines(segment) if line["id"] != old[3].pk])  # the tail: links hold
    report = audit_chain_verify()
    assert not report.ok and report.checked == 3
    assert "与登记不符" in report.reason and "共 4 条" in report.reason


def test_a_file_changed_outside_the_entries_is_found_by_its_hash(monkeypatch):
    _log_at(monkeypatch, OLD, 2)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    data = bytearray(_path(segment).read_bytes())
    data[4:8] = b"\x01\x00\x00\x00"  # gzip header time: the entries decompress the same
    _path(segment).write_bytes(bytes(data))
    report = audit_chain_verify()
    assert not report.ok and report.broken_at is None
    assert "文件的哈希与登记的不符" in report.reason
    with pytest.raises(CommandError, match="不完整：归档第 1 段"):
        _verify_command()


@pytest.mark.parametrize("damage", ["missing", "truncated", "not_gzip"])
def test_a_missing_or_unreadable_file_is_found(monkeypatch, damage):
    _log_at(monkeypatch, OLD, 3)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    path = _path(segment)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:20] if damage == "truncated" else b"not gzip at all")
    report = audit_chain_verify()
    assert not report.ok
    assert ("不存在" if damage == "missing" else "无法解压") in report.reason


def test_a_break_at_the_archive_boundary_is_found(monkeypatch):
    _log_at(monkeypatch, OLD, 3)
    new = _log_at(monkeypatch, NOW, 3)
    archive_older_than(actor=SYSTEM, now=NOW)
    _lift_trigger("audit_no_delete")
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [new[0].pk])
    report = audit_chain_verify()
    assert report.broken_at == new[1].pk and "最后一个归档段" in report.reason


def test_a_broken_chain_is_not_archived(monkeypatch):
    """Archiving must never delete the evidence of a break: the file fails its check, nothing is deleted."""
    old = _log_at(monkeypatch, OLD, 3)
    _lift_trigger("audit_no_update")
    _raw("UPDATE audit_auditentry SET target_label = %s WHERE id = %s", ["篡改", old[1].pk])
    with pytest.raises(Conflict, match=f"第 {old[1].pk} 号记录校验未通过.*没有删除任何记录"):
        archive_older_than(actor=SYSTEM, now=NOW)
    assert _online_ids() == [e.pk for e in old]
    assert not AuditArchive.objects.exists()
    assert archive_orphans() == []  # its file was removed


# --- the database refuses everything else ----------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "DELETE FROM audit_auditentry WHERE id = %s",
    "UPDATE audit_auditentry SET target_label = 'x' WHERE id = %s",
], ids=["delete", "update"])
def test_an_online_entry_still_cannot_be_deleted_or_changed(monkeypatch, sql):
    _log_at(monkeypatch, OLD, 2)
    new = _log_at(monkeypatch, NOW, 1)[0]
    archive_older_than(actor=SYSTEM, now=NOW)
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw(sql, [new.pk])
    assert AuditEntry.objects.get(pk=new.pk).target_label == ""
    assert audit_chain_verify().ok


def test_only_rows_a_segment_covers_may_be_deleted(monkeypatch):
    """The trigger's test is coverage: a row inside a segment's range goes (it is in the file), one outside
    does not, even if it is older than every archived one would be."""
    _log_at(monkeypatch, OLD, 2)
    new = _log_at(monkeypatch, NOW, 1)[0]
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    assert _raw("DELETE FROM audit_auditentry WHERE id <= %s", [segment.last_entry_id]) == 0  # already gone
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw("DELETE FROM audit_auditentry WHERE id >= %s", [new.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw("DELETE FROM audit_auditentry")
    assert new.pk in _online_ids()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused_on_both_tables(monkeypatch):
    _log_at(monkeypatch, OLD, 1)
    archive_older_than(actor=SYSTEM, now=NOW)
    for table in ("audit_auditentry", "audit_auditarchive"):
        with pytest.raises(DatabaseError), transaction.atomic():
            _raw(f"TRUNCATE {table}")
    assert AuditArchive.objects.count() == 1


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditarchive SET last_entry_id = last_entry_id + 1000 WHERE id = %s",
    "DELETE FROM audit_auditarchive WHERE id = %s",
], ids=["update", "delete"])
def test_a_segment_row_cannot_be_changed_or_deleted(monkeypatch, sql):
    _log_at(monkeypatch, OLD, 2)
    segment = archive_older_than(actor=SYSTEM, now=NOW)
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw(sql, [segment.pk])
    stored = AuditArchive.objects.get(pk=segment.pk)
    assert stored.last_entry_id == segment.last_entry_id
    with pytest.raises(AppendOnlyError):
        stored.save()
    with pytest.raises(AppendOnlyError):
        stored.delete()
    with pytest.raises(AppendOnlyError):
        AuditArchive.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditArchive.objects.update(count=0)


# --- crash safety ---------------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dies: no `except Exception` cleanup runs, only the database rolls back."""


def test_a_crash_between_writing_the_file_and_deleting_leaves_the_log_whole(monkeypatch):
    old = _log_at(monkeypatch, OLD, 3)

    def crash(first_id, last_id):
        raise Crash

    with monkeypatch.context() as m:
        m.setattr(services, "_delete_archived", crash)
        with pytest.raises(Crash):
            archive_older_than(actor=SYSTEM, now=NOW)

    assert _online_ids() == [e.pk for e in old]
    assert not AuditArchive.objects.exists() and not AuditEntry.objects.filter(action="audit.archived").exists()
    [orphan] = archive_orphans()
    assert audit_chain_verify().ok
    assert f"提示：归档文件 {orphan} 未登记" in _verify_command()

    segment = archive_older_than(actor=SYSTEM, now=NOW)  # the rerun completes, under a fresh name

    assert (segment.sequence, segment.first_entry_id, segment.count) == (1, old[0].pk, 3)
    assert segment.file_name != orphan
    assert AuditArchive.objects.count() == 1 and AuditEntry.objects.filter(action="audit.archived").count() == 1
    assert archive_orphans() == [orphan]
    assert audit_chain_verify().ok
    assert archive_older_than(actor=SYSTEM, now=NOW) is None  # and a third run takes nothing twice


def test_a_run_that_finds_a_newer_segment_deletes_nothing(monkeypatch):
    """Two runs at once: the one that commits second sees the other's segment and backs out."""
    old = _log_at(monkeypatch, OLD, 2)
    real_commit = services._commit_segment

    def overtaken(**kw):
        with monkeypatch.context() as m:
            m.setattr(services, "_commit_segment", real_commit)
            archive_older_than(actor=SYSTEM, now=NOW)  # the other run wins
        return real_commit(**kw)

    monkeypatch.setattr(services, "_commit_segment", overtaken)
    with pytest.raises(Conflict, match="另一次审计日志归档已先完成"):
        archive_older_than(actor=SYSTEM, now=NOW)
    assert AuditArchive.objects.count() == 1
    assert AuditArchive.objects.get().last_entry_id == old[-1].pk
    assert archive_orphans() == []
    assert audit_chain_verify().ok


# --- retention ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("months, ok", [(5, False), (0, False), (6, True), (12, True)])
def test_the_retention_check(settings, months, ok):
    settings.DANGJIAN_AUDIT_ONLINE_MONTHS = months
    errors = online_months_check()
    assert (errors == []) is ok
    if not ok:
        [error] = errors
        assert error.id == "audit.E001"
        assert "网络安全法》第二十三条" in error.msg and f"为 {months}" in error.msg


def test_the_service_refuses_a_short_period_too(monkeypatch, settings):
    _log_at(monkeypatch, OLD, 2)
    settings.DANGJIAN_AUDIT_ONLINE_MONTHS = 5
    with pytest.raises(RuleViolation, match="不能少于 6 个月.*网络安全法》第二十三条"):
        archive_older_than(actor=SYSTEM, now=NOW)
    with pytest.raises(RuleViolation):
        archive_older_than(actor=SYSTEM, now=NOW, months=5)
    assert AuditEntry.objects.count() == 2 and not AuditArchive.objects.exists()


# --- the job and the command ----------------------------------------------------------------------------


def test_the_job_is_registered_and_archives_as_the_system(monkeypatch):
    assert "audit.archive" in jobs.discover()
    _log_at(monkeypatch, OLD, 2)
    assert jobs.run_job("audit.archive", now=NOW) == 2
    logged = AuditEntry.objects.get(action="audit.archived")
    assert (logged.actor_id, logged.actor_label, logged.source) == (None, "系统", "task")
    assert jobs.run_job("audit.archive", now=NOW) == 0


def test_the_dry_run_tells_and_changes_nothing(monkeypatch, capsys):
    old = _log_at(monkeypatch, dt.datetime(2020, 1, 10, 9, 0, tzinfo=TZ), 3)
    call_command("audit_archive", "--dry-run")
    out = capsys.readouterr().out
    assert f"将归档 3 条审计记录：第 {old[0].pk}–{old[-1].pk} 号" in out and "2020-01-10 09:00:00" in out
    assert AuditEntry.objects.count() == 3 and not AuditArchive.objects.exists()
    assert archive_orphans() == []


def test_the_command_archives_and_says_so(monkeypatch, capsys):
    _log_at(monkeypatch, dt.datetime(2020, 1, 10, 9, 0, tzinfo=TZ), 3)
    call_command("audit_archive")
    assert "已归档第 1 段：3 条记录" in capsys.readouterr().out
    assert AuditEntry.objects.get(action="audit.archived").source == "command"
    call_command("audit_archive")
    assert "无需归档" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--max-entries"):
        call_command("audit_archive", "--max-entries", "0")


# --- the audit administrator's screen -------------------------------------------------------------------


FUTURE = dt.datetime(2040, 1, 1, tzinfo=TZ)


@pytest.fixture
def archived(district):
    """Two segments of the district's own entries (archived as if years had passed); the second is returned."""
    archive_older_than(actor=SYSTEM, now=FUTURE, max_entries=3)
    return archive_older_than(actor=SYSTEM, now=FUTURE)


@pytest.mark.parametrize("role", ["anonymous", "system_admin", "security_admin", "district_admin",
                                  "branch_worker", "member"])
@pytest.mark.parametrize("page", ["list", "download"])
def test_only_the_audit_administrator_reaches_the_archives(client, district, archived, role, page):
    url = reverse("audit:archives") if page == "list" else reverse("audit:archive_download", args=[archived.pk])
    before = AuditEntry.objects.filter(action="audit.archive.downloaded").count()
    response = client_as(client, district, role).get(url)
    assert response.status_code == (302 if role == "anonymous" else 403)
    assert AuditEntry.objects.filter(action="audit.archive.downloaded").count() == before


def test_the_list_shows_each_segment_and_its_state(client, district, archived, django_assert_max_num_queries):
    client = client_as(client, district, "audit_admin")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("audit:archives"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("文件在，大小相符") == 2
    assert f"<td>{archived.first_entry_id}–{archived.last_entry_id}</td><td>{archived.count}</td>" in page
    assert archived.file_hash[:8] in page and "?verify=1" in page

    _rewrite(archived, [{**line, "hash": "0" * 64} for line in _lines(archived)])
    page = client.get(reverse("audit:archives"), {"verify": "1"}).content.decode()
    assert page.count("完好") == 1
    assert f"第 {archived.first_entry_id} 号记录：记录内容与其哈希不符" in page


def test_the_download_is_the_file_and_is_audited(client, district, archived):
    client = client_as(client, district, "audit_admin")
    response = client.get(reverse("audit:archive_download", args=[archived.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == _path(archived).read_bytes()
    entry = AuditEntry.objects.filter(action="audit.archive.downloaded").get()
    assert (entry.actor_id, entry.target_id) == (district.users["audit_admin"].pk, str(archived.pk))
    assert entry.changes["file_hash"] == archived.file_hash
    assert audit_chain_verify().ok


def test_a_missing_segment_or_file_answers_404_and_logs_nothing(client, district, archived):
    client = client_as(client, district, "audit_admin")
    assert client.get(reverse("audit:archive_download", args=[archived.pk + 100])).status_code == 404
    _path(archived).unlink()
    response = client.get(reverse("audit:archive_download", args=[archived.pk]))
    assert response.status_code == 404 and "归档文件" in response.content.decode()
    assert not AuditEntry.objects.filter(action="audit.archive.downloaded").exists()


def test_search_inside_one_archive_is_scoped_to_it_and_audited(client, district, archived):
    client = client_as(client, district, "audit_admin")
    url = reverse("audit:archive_search", args=[archived.pk])
    lines = _lines(archived)
    wanted = next(line for line in lines if line["payload"]["action"] == "audit.archived")  # the first run's entry
    page = client.get(url, {"action": "audit.archived"}).content.decode()
    assert f"<td>{wanted['id']}</td>" in page and "归档审计日志" in page
    assert page.count("<tr><td>") == sum(1 for line in lines if line["payload"]["action"] == "audit.archived")
    logged = AuditEntry.objects.filter(action="audit.archive.searched").get()
    assert (logged.target_id, logged.changes["action"], logged.changes["hits"]) == (str(archived.pk), "audit.archived", 1)

    page = client.get(url, {"success": "0"}).content.decode()
    assert "没有符合条件的记录" in page
    page = client.get(url, {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}).content.decode()
    assert "截止时间：应晚于起始时间" in page


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "branch_worker"])
def test_search_inside_an_archive_is_refused_to_others(client, district, archived, role):
    response = client_as(client, district, role).get(reverse("audit:archive_search", args=[archived.pk]),
                                                     {"action": "audit"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="audit.archive.searched").exists()


def test_searching_a_missing_file_says_so_and_is_logged_as_failed(client, district, archived):
    _path(archived).unlink()
    page = client_as(client, district, "audit_admin").get(
        reverse("audit:archive_search", args=[archived.pk]), {"actor": "系统"}).content.decode()
    assert f"归档文件 {archived.file_name} 不存在" in page
    assert AuditEntry.objects.get(action="audit.archive.searched").success is False


def test_an_archive_run_committing_during_a_verify_is_not_reported_as_a_break(monkeypatch):
    """The walk reads the segments, then the rows: a run committing in between takes rows the walk expected
    online. The verifier sees the segment count change and walks again."""
    from dangjian.audit import selectors

    _log_at(monkeypatch, OLD, 3)
    real_walk, walks = selectors._chain_walk, []

    def walk(chunk_size):
        walks.append(chunk_size)
        if len(walks) == 1:
            stale = real_walk(chunk_size)
            archive_older_than(actor=SYSTEM, now=NOW)  # commits "during" the first walk
            return selectors.ChainReport(stale.checked, 1, "与上一条记录的链接断开（有记录被删除或插入）")
        return real_walk(chunk_size)

    monkeypatch.setattr(selectors, "_chain_walk", walk)
    report = audit_chain_verify()
    assert report.ok and len(walks) == 2 and report.checked == 4
