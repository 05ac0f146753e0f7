"""Reading and verifying the audit log, online and archived."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Min
from django.utils import timezone

from dangjian.core.dates import add_months

from . import archive, registry
from .models import GENESIS, AuditArchive, AuditEntry, ChainHead


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first entry whose link does not hold (the tail cut: the last one left)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


_HEAD_MISMATCH = "与链头记录的最新哈希不符（有记录被删除或改动）"


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Walk the chain from the genesis hash: through the archive segments in order (each file against its
    row, each segment linked to the one before), then the online entries, the first of which must link to
    the last archived one. The chain head (read first, so appends made meanwhile do not matter) says how
    long the chain was and how it ended: deleting the newest entries leaves a chain that links perfectly,
    and only the head still knows. Archived entries count: the head counts every entry ever written."""
    segments = AuditArchive.objects.count()
    report = _chain_walk(chunk_size)
    if not report.ok and AuditArchive.objects.count() != segments:
        report = _chain_walk(chunk_size)  # an archive run committed during the walk and took its rows: walk again
    return report


def _chain_walk(chunk_size: int) -> ChainReport:
    head = ChainHead.objects.filter(pk=1).values_list("count", "last_hash").first() or (0, GENESIS)
    head_count, head_hash = head
    prev = GENESIS
    checked = 0
    last_id = None
    for segment in AuditArchive.objects.order_by("sequence"):
        check = archive_segment_verify(segment, prev_hash=prev)
        if not check.ok:
            return ChainReport(checked + check.checked, check.broken_at, f"{_segment_label(segment)}{check.reason}")
        prev, last_id = segment.last_hash, segment.last_entry_id
        checked += segment.count
        if checked == head_count and prev != head_hash:
            return ChainReport(checked, last_id, _HEAD_MISMATCH)
    at_boundary = last_id is not None  # the next entry is the first online one after an archive
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev:
            if at_boundary:
                return ChainReport(checked, entry.pk, "与最后一个归档段的末条记录链接断开（归档边界处有记录缺失、残留或被改动）")
            return ChainReport(checked, entry.pk, "与上一条记录的链接断开（有记录被删除或插入）")
        at_boundary = False
        if not entry.hash_matches():
            return ChainReport(checked, entry.pk, "记录内容与其哈希不符（记录被改动）")
        prev = entry.hash
        last_id = entry.pk
        checked += 1
        if checked == head_count and entry.hash != head_hash:
            return ChainReport(checked, entry.pk, _HEAD_MISMATCH)
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


def my_logins(*, user, limit: int) -> list[tuple]:
    """A person's own successful logins, newest first: (time, address, second factor used). The log is
    where the platform keeps them (the personal-data download shows them, 个人信息保护法 第四十五条)."""
    rows = (AuditEntry.objects.filter(actor_id=user.pk, action="accounts.login.succeeded")
            .order_by("-created_at", "-id").values_list("created_at", "ip", "changes")[:limit])
    return [(at, ip, (changes or {}).get("factor") == "totp") for at, ip, changes in rows]


def _segment_label(segment: AuditArchive) -> str:
    return f"归档第 {segment.sequence} 段（文件 {segment.file_name}）："


def archive_segment_verify(segment: AuditArchive, *, prev_hash: str) -> archive.FileCheck:
    """One segment against its file: it links to `prev_hash` (the previous segment's last hash, or the
    genesis hash), every entry in the file links and matches its hash, the file holds exactly the entries
    the row says, and the file's own hash is the one recorded. The first problem found is reported, naming
    the entry where there is one."""
    if segment.first_prev_hash != prev_hash:
        return archive.FileCheck(0, prev_hash, None, segment.first_entry_id,
                                 "与上一段（或链首）的链接断开（有归档段缺失或被替换）")
    check = archive.check_entries(segment.file_name, segment.first_prev_hash)
    if not check.ok:
        return check
    if (check.first_id, check.last_id, check.checked, check.last_hash) != \
            (segment.first_entry_id, segment.last_entry_id, segment.count, segment.last_hash):
        return archive.FileCheck(check.checked, check.last_hash, check.last_id, None,
                                 f"文件中的记录与登记不符（应为第 {segment.first_entry_id}–{segment.last_entry_id} 号共 "
                                 f"{segment.count} 条，文件中为第 {check.first_id}–{check.last_id} 号共 {check.checked} 条）")
    if archive.file_digest(segment.file_name, segment.file_algorithm) != segment.file_hash:
        return archive.FileCheck(check.checked, check.last_hash, check.last_id, None,
                                 "文件的哈希与登记的不符（文件被改动或替换）")
    return check


def audit_archive_list():
    """The archive segments, newest first. Only the audit administrator reaches this (views check)."""
    return AuditArchive.objects.order_by("-sequence")


def audit_archive_states(segments) -> dict[int, str]:
    """A cheap state per segment for the list: the file is there and has the recorded size. The full check
    (every entry, the links) is `audit_archive_verify`, run on request."""
    states = {}
    for segment in segments:
        try:
            size = default_storage.size(segment.file_name) if default_storage.exists(segment.file_name) else None
        except OSError:
            size = None
        states[segment.pk] = ("文件缺失" if size is None else
                              "文件在，大小相符" if size == segment.file_size else "文件大小与登记不符")
    return states


def audit_archive_verify() -> dict[int, str]:
    """Every segment fully checked, in order, each against its predecessor: "" when intact, else the reason."""
    results, prev = {}, GENESIS
    for segment in AuditArchive.objects.order_by("sequence"):
        check = archive_segment_verify(segment, prev_hash=prev)
        results[segment.pk] = "" if check.ok else (
            f"第 {check.broken_at} 号记录：{check.reason}" if check.broken_at is not None else check.reason)
        prev = segment.last_hash
    return results


def archive_orphans() -> list[str]:
    """Files under audit-archive/ that no segment names: left by a run that was interrupted after writing
    its file and before committing (the online log was left whole). They hold copies of entries that are
    still online, or of no entries at all, and may be removed after a look."""
    try:
        _dirs, files = default_storage.listdir(archive.DIRECTORY)
    except (FileNotFoundError, NotImplementedError):
        return []
    known = set(AuditArchive.objects.values_list("file_name", flat=True))
    return sorted(name for f in files if (name := f"{archive.DIRECTORY}/{f}") not in known)


@dataclass(frozen=True)
class ArchivedEntry:
    """One entry as its archive file holds it, shaped for the same table as the online log."""

    pk: int
    created_at: dt.datetime
    actor_label: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    changes: dict
    source: str
    ip: str
    success: bool
    hash: str

    @property
    def action_label(self) -> str:
        return registry.label(self.action)


def audit_archive_search(segment: AuditArchive, *, since=None, until=None, actor: str = "", action: str = "",
                         target: str = "", success: bool | None = None, limit: int = 500) -> list[ArchivedEntry]:
    """Search inside one archive file with the online search's filters (audit_entry_list), oldest first, at
    most `limit` hits: the file is read line by line, never whole. Raises archive.ArchiveFileError when the
    file is missing or unreadable."""
    hits = []
    for record in archive.read_lines(segment.file_name):
        p = record["payload"]
        created_at = dt.datetime.fromisoformat(p["created_at"])
        if (since and created_at < since) or (until and created_at >= until) \
                or (actor and actor.casefold() not in p["actor_label"].casefold()) \
                or (action and not p["action"].startswith(action)) \
                or (target and target.casefold() not in p["target_label"].casefold() and target != p["target_id"]) \
                or (success is not None and p["success"] != success):
            continue
        hits.append(ArchivedEntry(record["id"], created_at, p["actor_label"], p["action"], p["target_type"],
                                  p["target_id"], p["target_label"], p["changes"], p["source"], p["ip"],
                                  p["success"], record["hash"]))
        if len(hits) >= limit:
            break
    return hits


# --- What the next archive run would take -----------------------------------------------------------------


@dataclass(frozen=True)
class ArchivePlan:
    cutoff: dt.datetime
    first_id: int
    last_id: int
    count: int
    first_created_at: dt.datetime
    last_created_at: dt.datetime


def archive_cutoff(now: dt.datetime, months: int) -> dt.datetime:
    """Local midnight `months` calendar months before `now`'s day: entries older than this leave the table."""
    day = add_months(timezone.localdate(now), -months)
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_archive_plan(*, now: dt.datetime, months: int | None = None, max_entries: int) -> ArchivePlan | None:
    """The next segment: the oldest online entries, up to the first one not yet past the cut-off (a segment
    is a run of the chain, so an old entry behind a newer one waits for it), at most `max_entries`.
    None when nothing qualifies."""
    cutoff = archive_cutoff(now, settings.DANGJIAN_AUDIT_ONLINE_MONTHS if months is None else months)
    first_young = AuditEntry.objects.filter(created_at__gte=cutoff).aggregate(first=Min("id"))["first"]
    old = AuditEntry.objects.order_by("id")
    if first_young is not None:
        old = old.filter(id__lt=first_young)
    first = old.values_list("id", "created_at").first()
    if first is None:
        return None
    bounded = list(old.values_list("id", "created_at")[max_entries - 1:max_entries])
    last = bounded[0] if bounded else old.values_list("id", "created_at").last()
    count = old.filter(id__lte=last[0]).count()
    return ArchivePlan(cutoff, first[0], last[0], count, first[1], last[1])
