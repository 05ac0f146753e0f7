"""Writing the audit log. Services call `log_action` inside their own transaction.

Archiving (`archive_older_than`) is the one way entries leave the table, into verified archive files.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from dangjian.core.context import current_origin
from dangjian.core.errors import Conflict, NotFound, RuleViolation

from . import archive, registry
from .models import GENESIS, AuditArchive, AuditEntry, ChainHead
from .selectors import audit_archive_plan

__all__ = ["GENESIS", "archive_download", "archive_older_than", "diff", "log_action", "log_failure"]

# 网络安全法 第二十三条 (2016 text: 第二十一条（三）): network logs are kept at least six months.
MIN_ONLINE_MONTHS = 6
RETENTION_ARTICLE = "《网络安全法》第二十三条"
# One segment per run, at most this many entries: a first run over years of log, or a backlog after the
# job was off, drains over the next runs instead of holding one huge delete and file.
ARCHIVE_MAX_ENTRIES = 200_000
ARCHIVE_READ_CHUNK = 2000


def log_action(
    *,
    actor,
    action: str,
    target=None,
    changes: dict | None = None,
    success: bool = True,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction (or its own if there is none)."""
    if not registry.is_registered(action):
        raise ValueError(f"未登记的审计操作 {action}")
    origin = current_origin()
    with transaction.atomic():
        head = ChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head, _ = ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
            head = ChainHead.objects.select_for_update().get(pk=1)
        user = actor if getattr(actor, "is_authenticated", False) and not getattr(actor, "is_system", False) else None
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=user,
            actor_label=actor_label or _actor_label(actor),
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target)[:200] if target is not None else "",
            changes=changes or {},
            source=origin.source,
            ip=origin.ip or "",
            success=success,
            prev_hash=head.last_hash,
        )
        entry.hash = entry.compute_hash()
        entry.save()
        head.last_hash = entry.hash
        head.count += 1
        head.save(update_fields=["last_hash", "count"])
    return entry


def log_failure(*, actor, action: str, target=None, changes: dict | None = None, actor_label=None) -> None:
    """Record a refused or failed attempt. Like every entry it joins the caller's transaction (a savepoint
    inside an atomic block), so a rollback discards it too: call it after the failed transaction has ended,
    never from inside the block that is about to roll back."""
    log_action(actor=actor, action=action, target=target, changes=changes, success=False, actor_label=actor_label)


def _actor_label(actor) -> str:
    if actor is None or getattr(actor, "is_system", False):
        return "系统"
    if not getattr(actor, "is_authenticated", False):
        return "匿名用户"
    name = getattr(actor, "display_name", "") or ""
    return f"{actor.get_username()}（{name}）" if name else actor.get_username()


def diff(old: dict, new: dict) -> dict:
    """Old → new for the keys that changed: the `changes` of an update entry."""
    return {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}


# --- Archiving -----------------------------------------------------------------------------------------


def archive_older_than(*, actor, now=None, months: int | None = None,
                       max_entries: int = ARCHIVE_MAX_ENTRIES) -> AuditArchive | None:
    """Move the oldest entries past the online period (DANGJIAN_AUDIT_ONLINE_MONTHS) into the next archive
    segment; None when none qualifies.

    Order matters, so that no failure loses an entry: (1) write the file and (2) re-read it from the storage
    and verify every entry's hash and link, before (3) one transaction locks the chain head, records the
    segment, deletes exactly the rows it covers (the triggers allow nothing else) and logs it. A crash
    before (3) commits leaves the log whole and at most an unreferenced file (selectors.archive_orphans);
    a rerun writes a fresh file under a new name and never archives an entry twice, as the deleted rows
    are gone and a segment's numbers are unique."""
    months = settings.DANGJIAN_AUDIT_ONLINE_MONTHS if months is None else months
    if months < MIN_ONLINE_MONTHS:
        raise RuleViolation(f"审计日志在线保存期为 {months} 个月，不能少于 {MIN_ONLINE_MONTHS} 个月，未归档任何记录",
                            rule="audit.retention", article=RETENTION_ARTICLE)
    plan = audit_archive_plan(now=now or timezone.now(), months=months, max_entries=max_entries)
    if plan is None:
        return None
    previous = AuditArchive.objects.order_by("-sequence").first()
    sequence = previous.sequence + 1 if previous else 1
    prev_hash = previous.last_hash if previous else GENESIS
    entries = AuditEntry.objects.filter(id__gte=plan.first_id, id__lte=plan.last_id).order_by("id")
    written = archive.write(archive.file_name(sequence, plan.first_id, plan.last_id),
                            entries.iterator(chunk_size=ARCHIVE_READ_CHUNK))
    try:
        last_hash = _verify_written(written, plan=plan, prev_hash=prev_hash)
        return _commit_segment(actor=actor, plan=plan, sequence=sequence, prev_hash=prev_hash,
                               last_hash=last_hash, written=written)
    except Exception:
        default_storage.delete(written.name)  # our own file, which no segment names
        raise


def _verify_written(written: archive.WrittenFile, *, plan, prev_hash: str) -> str:
    """Read the stored file back, as a later verifier will: refuse (deleting nothing) unless it holds the
    planned entries, every one intact and linked to the previous segment. A chain already broken in the
    database is refused here too: archiving must never delete the evidence of a break."""
    check = archive.check_entries(written.name, prev_hash)
    problem = check.reason
    if not problem and (check.first_id, check.last_id, check.checked) != (plan.first_id, plan.last_id, plan.count):
        problem = f"文件中为第 {check.first_id}–{check.last_id} 号共 {check.checked} 条，应为第 {plan.first_id}–{plan.last_id} 号共 {plan.count} 条"
    if not problem and archive.file_digest(written.name, written.algorithm) != written.digest:
        problem = "存储中的文件与写入的不一致"
    if problem:
        where = f"第 {check.broken_at} 号记录" if check.broken_at is not None else "归档文件"
        raise Conflict(f"审计日志归档未完成：{where}校验未通过（{problem}），没有删除任何记录。请运行 audit_verify 检查。")
    return check.last_hash


@transaction.atomic
def _commit_segment(*, actor, plan, sequence: int, prev_hash: str, last_hash: str,
                    written: archive.WrittenFile) -> AuditArchive:
    ChainHead.objects.select_for_update().filter(pk=1).first()  # one archive run at a time, and no append meanwhile
    latest = AuditArchive.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    if latest != sequence - 1:
        raise Conflict("另一次审计日志归档已先完成，本次没有删除任何记录，请重新运行。")
    following = AuditEntry.objects.filter(id__gt=plan.last_id).order_by("id").values_list("prev_hash", flat=True).first()
    if following is not None and following != last_hash:
        raise Conflict(f"第 {plan.last_id} 号记录之后的记录与它的链接断开，没有删除任何记录。请运行 audit_verify 检查。")
    segment = AuditArchive.objects.create(
        sequence=sequence, first_entry_id=plan.first_id, last_entry_id=plan.last_id,
        first_created_at=plan.first_created_at, last_created_at=plan.last_created_at, count=plan.count,
        first_prev_hash=prev_hash, last_hash=last_hash, file_name=written.name, file_algorithm=written.algorithm,
        file_hash=written.digest, file_size=written.size, created_at=timezone.now(), actor_label=_actor_label(actor),
    )
    deleted = _delete_archived(plan.first_id, plan.last_id)
    if deleted != plan.count:
        raise Conflict(f"应删除 {plan.count} 条已归档记录，实际为 {deleted} 条，已全部撤销。")
    log_action(actor=actor, action="audit.archived", target=segment, changes={
        "sequence": sequence, "first_entry_id": plan.first_id, "last_entry_id": plan.last_id, "count": plan.count,
        "first_created_at": plan.first_created_at.isoformat(), "last_created_at": plan.last_created_at.isoformat(),
        "cutoff": plan.cutoff.isoformat(), "last_hash": last_hash, "file_name": written.name,
        "file_algorithm": written.algorithm, "file_hash": written.digest, "file_size": written.size,
    })
    return segment


def _delete_archived(first_id: int, last_id: int) -> int:
    """The only DELETE on the log; the database lets it through because the segment now covers the rows.
    Raw SQL on purpose: the model and its queryset refuse every delete."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id >= %s AND id <= %s", [first_id, last_id])  # noqa: S608 - fixed name  # nosec B608
        return cursor.rowcount


@transaction.atomic
def archive_download(*, actor, segment: AuditArchive):
    """Open a segment's file for the audit administrator; the download is itself audited."""
    try:
        f = default_storage.open(segment.file_name, "rb")
    except FileNotFoundError:
        raise NotFound(f"归档文件 {segment.file_name} 不存在，请从备份中找回（audit_verify 会报告缺失）。") from None
    log_action(actor=actor, action="audit.archive.downloaded", target=segment,
               changes={"file_name": segment.file_name, "file_hash": segment.file_hash})
    return f
