"""The append-only, hash-chained audit log and the `audit_verify` command (ARCHITECTURE §7)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from dangjian.audit.models import AppendOnlyError, AuditEntry, ChainHead
from dangjian.audit.selectors import audit_chain_verify
from dangjian.audit.services import GENESIS, diff, log_action, log_failure
from dangjian.core.actors import SYSTEM
from dangjian.core.context import origin
from dangjian.testing import make_user

pytestmark = pytest.mark.django_db

ACTION = "audit.log.searched"


def _log(n: int, **kw) -> list[AuditEntry]:
    return [log_action(actor=SYSTEM, action=ACTION, changes={"n": i, **kw}) for i in range(n)]


def _raw(sql: str, params=()) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def _drop_append_only_triggers() -> None:
    """What a DBA with table rights could do. DDL is transactional on both databases: the test's rollback
    restores the triggers."""
    if connection.vendor == "sqlite":
        _raw("DROP TRIGGER audit_no_update")
        _raw("DROP TRIGGER audit_no_delete")
    elif connection.vendor == "postgresql":
        _raw("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_no_update_delete")
    else:  # pragma: no cover
        pytest.skip(f"no append-only triggers on {connection.vendor}")


def _verify_command() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


# --- the chain ------------------------------------------------------------------------------------------


def test_entries_link_to_their_predecessor():
    entries = _log(4)
    assert entries[0].prev_hash == GENESIS
    for prev, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == prev.hash
    stored = list(AuditEntry.objects.order_by("id"))
    assert [e.hash for e in stored] == [e.hash for e in entries]
    assert all(e.compute_hash() == e.hash for e in stored)  # the hash survives the database round trip
    head = ChainHead.objects.get(pk=1)
    assert (head.last_hash, head.count) == (entries[-1].hash, 4)


def test_hash_covers_the_previous_hash():
    a, b = _log(2)
    forged = AuditEntry(**{f.attname: getattr(b, f.attname) for f in AuditEntry._meta.concrete_fields})
    forged.prev_hash = GENESIS
    assert forged.compute_hash() != b.hash


def test_clean_chain_reports_ok_with_the_count():
    _log(5)
    report = audit_chain_verify()
    assert report.ok and report.checked == 5 and report.broken_at is None
    assert "共校验 5 条" in _verify_command()


def test_empty_log_is_ok():
    assert audit_chain_verify().ok
    assert "共校验 0 条" in _verify_command()


def test_verify_reads_in_chunks():
    _log(7)
    report = audit_chain_verify(chunk_size=2)
    assert report.ok and report.checked == 7


def test_changes_survive_the_json_round_trip():
    """Key order, unicode, nesting and numbers come back from JSON/JSONB differently; the hash must still hold."""
    log_action(actor=SYSTEM, action=ACTION, changes={
        "z": [1, 2.5, None, True], "a": {"名": "张三", "b": {"y": 1, "x": [None]}}, "数": -3, "空": "",
    })
    assert audit_chain_verify().ok


def test_entry_records_actor_origin_and_target():
    user = make_user("auditee", display_name="被记录人")
    with origin("web", "10.1.2.3"):
        entry = log_action(actor=user, action=ACTION, target=user, changes={"q": "x"})
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.actor_label) == (user.pk, "auditee（被记录人）")
    assert (entry.source, entry.ip, entry.success) == ("web", "10.1.2.3", True)
    assert (entry.target_type, entry.target_id, entry.target_label) == ("accounts.user", str(user.pk), "被记录人")
    system_entry = log_action(actor=SYSTEM, action=ACTION)
    assert (system_entry.actor_id, system_entry.actor_label, system_entry.source) == (None, "系统", "command")


def test_unregistered_action_codes_are_refused():
    with pytest.raises(ValueError, match="未登记"):
        log_action(actor=SYSTEM, action="audit.log.nonsense")
    assert AuditEntry.objects.count() == 0
    assert not ChainHead.objects.exists() or ChainHead.objects.get(pk=1).count == 0


def test_diff_keeps_only_changed_keys():
    assert diff({"a": 1, "b": "x", "c": None}, {"a": 1, "b": "y", "c": 0}) == {"b": ["x", "y"], "c": [None, 0]}
    assert diff({"a": 1}, {"a": 1}) == {}


# --- append only ----------------------------------------------------------------------------------------


def test_orm_update_and_delete_are_refused():
    entry = _log(1)[0]
    entry.target_label = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(target_label="changed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.target_label == "" and AuditEntry.objects.count() == 1
    assert audit_chain_verify().ok


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditentry SET target_label = 'x' WHERE id = %s",
    "DELETE FROM audit_auditentry WHERE id = %s",
], ids=["update", "delete"])
def test_raw_sql_update_and_delete_are_refused_by_the_database(sql):
    entry = _log(2)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw(sql, [entry.pk])
    assert AuditEntry.objects.count() == 2
    assert AuditEntry.objects.get(pk=entry.pk).target_label == ""
    assert audit_chain_verify().ok


# --- tampering is found ---------------------------------------------------------------------------------


def test_a_raw_edit_is_found_and_named():
    entries = _log(5)
    victim = entries[2]
    _drop_append_only_triggers()
    _raw("UPDATE audit_auditentry SET target_label = %s WHERE id = %s", ["篡改", victim.pk])
    report = audit_chain_verify()
    assert not report.ok
    assert (report.broken_at, report.checked) == (victim.pk, 2)
    assert "改动" in report.reason
    with pytest.raises(CommandError) as exc:
        _verify_command()
    assert f"第 {victim.pk} 号记录" in str(exc.value)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    """Recomputing the edited entry's own hash does not help: the next entry still points at the old one."""
    entries = _log(4)
    victim = entries[1]
    _drop_append_only_triggers()
    edited = AuditEntry.objects.get(pk=victim.pk)
    edited.success = False
    new_hash = edited.compute_hash()
    _raw("UPDATE audit_auditentry SET success = %s, hash = %s WHERE id = %s", [False, new_hash, victim.pk])
    report = audit_chain_verify()
    assert report.broken_at == entries[2].pk
    assert "链接断开" in report.reason


@pytest.mark.parametrize("which", [0, 2], ids=["first", "middle"])
def test_a_deleted_row_is_found(which):
    entries = _log(5)
    _drop_append_only_triggers()
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [entries[which].pk])
    report = audit_chain_verify()
    assert report.broken_at == entries[which + 1].pk
    assert report.checked == which
    with pytest.raises(CommandError, match=f"第 {entries[which + 1].pk} 号记录"):
        _verify_command()


def test_deleting_the_newest_rows_is_found():
    """Cutting the tail leaves a chain that links perfectly; only the chain head still knows its length."""
    entries = _log(5)
    _drop_append_only_triggers()
    _raw("DELETE FROM audit_auditentry WHERE id >= %s", [entries[3].pk])
    report = audit_chain_verify()
    assert not report.ok
    assert (report.checked, report.broken_at) == (3, entries[2].pk)  # the chain breaks after the last one left
    assert "删除" in report.reason
    with pytest.raises(CommandError, match=f"第 {entries[2].pk} 号记录.*删除"):
        _verify_command()


def test_deleting_every_row_is_found():
    entries = _log(3)
    _drop_append_only_triggers()
    _raw("DELETE FROM audit_auditentry WHERE id >= %s", [entries[0].pk])
    report = audit_chain_verify()
    assert not report.ok and report.checked == 0
    with pytest.raises(CommandError):
        _verify_command()


# --- transactions ---------------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_an_entry_in_a_rolled_back_transaction_leaves_no_trace():
    first = _log(1)[0]
    with pytest.raises(Boom), transaction.atomic():
        log_action(actor=SYSTEM, action=ACTION, changes={"lost": True})
        assert AuditEntry.objects.count() == 2
        raise Boom
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [first.pk]
    head = ChainHead.objects.get(pk=1)
    assert (head.last_hash, head.count) == (first.hash, 1)
    after = log_action(actor=SYSTEM, action=ACTION)
    assert after.prev_hash == first.hash
    report = audit_chain_verify()
    assert report.ok and report.checked == 2


def test_the_first_entry_ever_rolled_back_leaves_a_usable_chain():
    with pytest.raises(Boom), transaction.atomic():
        log_action(actor=SYSTEM, action=ACTION)
        raise Boom
    assert AuditEntry.objects.count() == 0
    entry = log_action(actor=SYSTEM, action=ACTION)
    assert entry.prev_hash == GENESIS
    assert audit_chain_verify().ok


def test_log_failure_records_an_unsuccessful_entry():
    log_failure(actor=None, action="accounts.login.failed", changes={"username": "x"}, actor_label="x（未登录）")
    entry = AuditEntry.objects.get()
    assert (entry.success, entry.actor_label, entry.actor_id) == (False, "x（未登录）", None)
    assert audit_chain_verify().ok


def test_log_failure_shares_the_fate_of_the_callers_transaction():
    """A failure must be logged after the failed transaction has rolled back, not inside it."""
    with pytest.raises(Boom), transaction.atomic():
        log_failure(actor=None, action="accounts.login.failed", changes={"username": "inside"})
        raise Boom
    assert AuditEntry.objects.count() == 0
    log_failure(actor=None, action="accounts.login.failed", changes={"username": "after"})
    assert list(AuditEntry.objects.values_list("changes", flat=True)) == [{"username": "after"}]
    assert audit_chain_verify().ok
