"""Reading and verifying the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from .models import AuditEntry, ChainHead
from .services import GENESIS


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first entry whose link does not hold (the tail cut: the last one left)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Walk the chain from the genesis hash. The chain head (read first, so appends made meanwhile do not
    matter) says how long the chain was and how it ended: deleting the newest entries leaves a chain that
    links perfectly, and only the head still knows."""
    head = ChainHead.objects.filter(pk=1).values_list("count", "last_hash").first() or (0, GENESIS)
    head_count, head_hash = head
    prev = GENESIS
    checked = 0
    last_id = None
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev:
            return ChainReport(checked, entry.pk, "与上一条记录的链接断开（有记录被删除或插入）")
        if not entry.hash_matches():
            return ChainReport(checked, entry.pk, "记录内容与其哈希不符（记录被改动）")
        prev = entry.hash
        last_id = entry.pk
        checked += 1
        if checked == head_count and entry.hash != head_hash:
            return ChainReport(checked, entry.pk, "与链头记录的最新哈希不符（有记录被删除或改动）")
    if checked < head_count:
        return ChainReport(checked, last_id, f"链头记录共 {head_count} 条，实际只有 {checked} 条（其后最新的记录被删除）")
    return ChainReport(checked, None)


def audit_entry_list(*, since=None, until=None, actor: str = "", action: str = "", target: str = "",
                     success: bool | None = None):
    """Search by time, actor, action and target. Only the audit administrator reaches this (views check)."""
    qs = AuditEntry.objects.all()
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if target:
        qs = qs.filter(target_label__icontains=target) | qs.filter(target_id=target)
    if success is not None:
        qs = qs.filter(success=success)
    return qs.order_by("-id")
