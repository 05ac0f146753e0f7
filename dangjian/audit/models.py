"""The append-only, hash-chained audit log (ARCHITECTURE §7).

No update or delete path exists: the model refuses them, the queryset refuses them, and database
triggers (triggers.py) refuse them for anyone going round Django. Each entry's hash covers its own
content and the previous entry's hash, so an edit made with raw SQL is found by `audit_verify`.

The one way out of the table is archiving (services.archive_older_than): entries older than the online
period are written to a file with their hashes, and only then deleted; the database lets a row go only
when an `AuditArchive` segment covers it, so the chain continues, verifiably, through the archive files.
"""

import hashlib
import json

from django.conf import settings
from django.db import models

from dangjian.core import crypto

GENESIS = "0" * 64  # the prev_hash of the very first entry


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.append_only_label}只能追加，不能修改")

    def delete(self):
        raise AppendOnlyError(f"{self.model.append_only_label}只能追加，不能删除")


class AppendOnlyModel(models.Model):
    """Rows that are written once and never changed or removed (the audit log, its archive segments, consent
    records): the model and the queryset refuse, naming `append_only_label`. The database triggers of the
    audit tables refuse the same for anyone going round Django."""

    append_only_label = "记录"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError(f"{self.append_only_label}只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self.append_only_label}只能追加，不能删除")


class AuditEntry(AppendOnlyModel):
    created_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_constraint=False,
    )
    actor_label = models.CharField("操作人", max_length=150)
    action = models.CharField("操作", max_length=80, db_index=True)
    target_type = models.CharField("对象类型", max_length=60, blank=True)
    target_id = models.CharField("对象编号", max_length=40, blank=True)
    target_label = models.CharField("对象", max_length=200, blank=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    source = models.CharField("来源", max_length=10)
    ip = models.CharField("IP地址", max_length=45, blank=True)
    success = models.BooleanField("成功", default=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    append_only_label = "审计日志"

    class Meta:
        verbose_name = "审计记录"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.target_label}"

    def payload(self) -> dict:
        """The hashed content. Its keys and formats are frozen: changing them breaks every old link."""
        return {
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "changes": self.changes,
            "source": self.source,
            "ip": self.ip,
            "success": self.success,
        }

    def compute_hash(self, *, algorithm: str | None = None) -> str:
        """SHA-256, or SM3 in 国密 mode (DANGJIAN_GM_MODE) for entries written from then on."""
        return chain_hash(self.prev_hash, self.payload(), algorithm=algorithm)

    def hash_matches(self) -> bool:
        return chain_hash_matches(self.prev_hash, self.payload(), self.hash)


def chain_hash(prev_hash: str, payload: dict, *, algorithm: str | None = None) -> str:
    """The hash of one entry: its predecessor's hash and its payload. A function of plain data, so an
    archived entry (a line of an archive file) verifies exactly like a row."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    data = (prev_hash + body).encode("utf-8")
    if algorithm is None:
        return crypto.integrity_hash(data)
    return hashlib.new(algorithm, data).hexdigest() if algorithm == "sha256" else crypto.sm3(data)


def chain_hash_matches(prev_hash: str, payload: dict, expected: str) -> bool:
    """Each entry verifies under the algorithm it was written with, so a chain survives switching to
    国密 mode: an entry is intact if its hash is the SHA-256 or the SM3 of its content and predecessor."""
    return expected in (chain_hash(prev_hash, payload, algorithm="sha256"), chain_hash(prev_hash, payload, algorithm="sm3"))


class ChainHead(models.Model):
    """One row holding the newest hash. Locking it serialises appends, so the chain never forks."""

    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.count} entries, head {self.last_hash[:12]}"


class AuditArchive(AppendOnlyModel):
    """One archived segment of the chain: the entries `first_entry_id`..`last_entry_id`, moved to a gzip'd
    JSON-lines file in the default storage (`file_name`), whose hash is kept here. Append-only like the log
    (its own triggers refuse UPDATE and DELETE): a segment row is what lets the database delete the rows it
    covers, so it must never move. `first_prev_hash` and `last_hash` tie it into the chain on both sides."""

    sequence = models.PositiveIntegerField("段号", unique=True)
    first_entry_id = models.BigIntegerField("起始记录编号", unique=True)
    last_entry_id = models.BigIntegerField("截止记录编号", unique=True)
    first_created_at = models.DateTimeField("起始时间")
    last_created_at = models.DateTimeField("截止时间")
    count = models.PositiveIntegerField("记录数")
    first_prev_hash = models.CharField("首条记录的前一哈希", max_length=64)
    last_hash = models.CharField("末条记录的哈希", max_length=64)
    file_name = models.CharField("归档文件", max_length=255, unique=True)
    file_algorithm = models.CharField("文件哈希算法", max_length=10)  # "sha256" | "sm3" (国密 mode)
    file_hash = models.CharField("文件哈希", max_length=64)
    file_size = models.BigIntegerField("文件大小（字节）")
    created_at = models.DateTimeField("归档时间")
    actor_label = models.CharField("归档人", max_length=150)

    append_only_label = "审计日志归档段"

    class Meta:
        verbose_name = "审计日志归档段"
        ordering = ["sequence"]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_entry_id__gte=models.F("first_entry_id")),
                                   name="audit_archive_range_ordered"),
        ]

    def __str__(self):
        return f"审计日志归档第 {self.sequence} 段（记录 {self.first_entry_id}–{self.last_entry_id}）"
