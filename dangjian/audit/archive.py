"""The audit archive files: format, writing and checking. Pure file work; services.py decides when.

One file per segment, in the default storage under `audit-archive/` (MEDIA_ROOT, which docs/deploy.md §9
puts on the servers' shared store): gzip'd JSON lines, oldest entry first, each line

    {"id": 17, "payload": {...AuditEntry.payload()...}, "prev_hash": "…", "hash": "…"}

so an entry verifies from its line alone (models.chain_hash) with nothing but Python: the files outlive the
application. gzip's header time is fixed at 0, so the same entries always give the same bytes.
The whole file's hash (SHA-256, or SM3 in 国密 mode) is kept in the segment's row.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from django.core.files import File
from django.core.files.storage import default_storage

from dangjian.core import crypto

from .models import AuditEntry, chain_hash_matches

DIRECTORY = "audit-archive"
_CHUNK = 1 << 16
_ALGORITHMS = {"sha256": hashes.SHA256, "sm3": hashes.SM3}


class ArchiveFileError(Exception):
    """An archive file that cannot be read or does not hold what its segment says."""


@dataclass(frozen=True)
class WrittenFile:
    name: str  # as the storage stored it
    algorithm: str
    digest: str
    size: int


@dataclass(frozen=True)
class FileCheck:
    """What walking one file found: `checked` intact entries before the first break, if any."""

    checked: int
    last_hash: str
    last_id: int | None
    broken_at: int | None = None  # id of the first entry that does not hold
    reason: str = ""
    first_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.reason


def file_name(sequence: int, first_id: int, last_id: int) -> str:
    return f"{DIRECTORY}/{sequence:06d}-{first_id}-{last_id}.jsonl.gz"


def current_algorithm() -> str:
    return "sm3" if crypto.gm_mode() else "sha256"


def line_of(entry: AuditEntry) -> bytes:
    record = {"id": entry.pk, "payload": entry.payload(), "prev_hash": entry.prev_hash, "hash": entry.hash}
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"


def write(name: str, entries: Iterable[AuditEntry]) -> WrittenFile:
    """Compress the entries to a temporary file, then hand it to the storage (which may pick another name
    if this one is taken: a file left by an interrupted run is never overwritten)."""
    algorithm = current_algorithm()
    with tempfile.TemporaryFile() as tmp:
        with gzip.GzipFile(fileobj=tmp, mode="wb", mtime=0) as gz:
            for entry in entries:
                gz.write(line_of(entry))
        size = tmp.tell()
        tmp.seek(0)
        digest = _digest(tmp, algorithm)
        tmp.seek(0)
        stored = default_storage.save(name, File(tmp, name=name))
    return WrittenFile(stored, algorithm, digest, size)


def file_digest(name: str, algorithm: str) -> str:
    with default_storage.open(name, "rb") as f:
        return _digest(f, algorithm)


def _digest(f, algorithm: str) -> str:
    digest = hashes.Hash(_ALGORITHMS[algorithm]())
    while chunk := f.read(_CHUNK):
        digest.update(chunk)
    return digest.finalize().hex()


def read_lines(name: str) -> Iterator[dict]:
    """The records of a file, in order. Raises ArchiveFileError if the file is missing or not gzip'd JSON."""
    if not default_storage.exists(name):
        raise ArchiveFileError(f"归档文件 {name} 不存在")
    try:
        with default_storage.open(name, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            for number, line in enumerate(gz, start=1):
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise ArchiveFileError(f"归档文件 {name} 第 {number} 行不是有效的 JSON") from exc
                if not isinstance(record, dict) or not {"id", "payload", "prev_hash", "hash"} <= record.keys() \
                        or not isinstance(record["id"], int) or not isinstance(record["payload"], dict):
                    raise ArchiveFileError(f"归档文件 {name} 第 {number} 行缺少字段或格式不对")
                yield record
    except (OSError, EOFError, gzip.BadGzipFile) as exc:  # truncated or not gzip at all
        raise ArchiveFileError(f"归档文件 {name} 无法解压（文件损坏或被截断）") from exc


def check_entries(name: str, prev_hash: str) -> FileCheck:
    """Walk the file's entries as the verifier walks the table: each links to the one before (the first to
    `prev_hash`) and matches its own hash."""
    checked, first_id, last_id = 0, None, None

    def broken(at, reason):
        return FileCheck(checked, prev_hash, last_id, at, reason, first_id)

    try:
        for record in read_lines(name):
            entry_id = record["id"]
            if record["prev_hash"] != prev_hash:
                return broken(entry_id, "与上一条记录的链接断开（有记录被删除或插入）")
            if not chain_hash_matches(record["prev_hash"], record["payload"], record["hash"]):
                return broken(entry_id, "记录内容与其哈希不符（归档文件被改动）")
            if last_id is not None and entry_id <= last_id:
                return broken(entry_id, "记录编号顺序错乱（归档文件被改动）")
            prev_hash, last_id = record["hash"], entry_id
            first_id = entry_id if first_id is None else first_id
            checked += 1
    except ArchiveFileError as exc:
        return broken(None, str(exc))
    return FileCheck(checked, prev_hash, last_id, first_id=first_id)
