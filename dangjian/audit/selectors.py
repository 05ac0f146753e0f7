"""Reading and verifying the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from .models import AuditEntry
from .services import GENESIS


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first entry whose link does not hold
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    prev = GENESIS
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev:
            return ChainReport(checked, entry.pk, "与上一条记录的链接断开（有记录被删除或插入）")
        if entry.compute_hash() != entry.hash:
            return ChainReport(checked, entry.pk, "记录内容与其哈希不符（记录被改动）")
        prev = entry.hash
        checked += 1
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
