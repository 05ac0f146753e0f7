"""Writing the audit log. Services call `log_action` inside their own transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dangjian.core.context import current_origin

from . import registry
from .models import AuditEntry, ChainHead

GENESIS = "0" * 64


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
