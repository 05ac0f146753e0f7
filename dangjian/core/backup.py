"""Backups and restores of the configured database (`manage.py backup` / `restore`, docs/deploy.md).

SQLite: the online backup API copies a consistent snapshot while the site keeps running (WAL readers never
block writers), the copy is switched to a single self-contained file and checked with
`PRAGMA integrity_check`. A restore copies the backup back through the same API, page by page under
SQLite's own locks, so the live file keeps its WAL mode and no stale `-wal` file is replayed over it.

PostgreSQL: `pg_dump --format=custom`, checked by listing it with `pg_restore --list`; a restore is
`pg_restore --clean --if-exists --no-owner` in one transaction (all or nothing). The password goes to
the tools through PGPASSWORD, never on a command line. The audit log's triggers refuse DELETE and
TRUNCATE, not DROP, so `--clean` can replace the audit table; the triggers come back with the dump.

Backups hold personal data: files are created mode 600 and written under a `.partial` name first, so a
crash never leaves a truncated file that looks like a backup.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import connections
from django.utils import timezone

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin/"
# Connection OPTIONS that libpq also reads from the environment (dj-database-url puts ?sslmode=… here).
PG_OPTION_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}


class BackupError(Exception):
    """A backup or restore that could not be done; the message is Chinese and names the cause."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    check: str  # what verified the file


def backup_name(suffix: str, now: dt.datetime | None = None) -> str:
    now = timezone.localtime(now) if now is None or timezone.is_aware(now) else now
    return f"dangjian-{now:%Y%m%d-%H%M%S}{suffix}"


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.1f} KB"


# --- SQLite -----------------------------------------------------------------------------------------


def sqlite_backup(source: Path | sqlite3.Connection, target_dir: Path, *, now=None) -> BackupResult:
    """Copy the database (a file, or an open connection such as Django's) to DIR/dangjian-….sqlite3."""
    target = _new_target(target_dir, backup_name(".sqlite3", now))
    partial = _partial(target)
    try:
        src = source if isinstance(source, sqlite3.Connection) else _open_existing(Path(source), readonly=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                dst.close()
        finally:
            if src is not source:
                src.close()
        check = sqlite_integrity_check(partial)
        if check != "ok":
            raise BackupError(f"备份副本完整性检查未通过：{check}")
        _publish(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite 备份失败：{exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, f"PRAGMA integrity_check: {check}")


def sqlite_integrity_check(path: Path) -> str:
    conn = _open_existing(Path(path), readonly=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in rows)


def sqlite_restore(backup: Path, live: Path) -> str:
    """Copy a checked backup over the live database file; returns the integrity check of the result.
    Every connection of this process must be closed first, and the app servers stopped."""
    backup, live = Path(backup), Path(live)
    _check_magic(backup, SQLITE_MAGIC, "SQLite")
    try:
        check = sqlite_integrity_check(backup)
        if check != "ok":
            raise BackupError(f"备份文件完整性检查未通过，未恢复：{check}")
        live.parent.mkdir(parents=True, exist_ok=True)
        src = _open_existing(backup, readonly=True)
        try:
            dst = sqlite3.connect(live, timeout=20)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")  # the project's mode, whatever the backup says
            finally:
                dst.close()
        finally:
            src.close()
        return sqlite_integrity_check(live)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite 恢复失败：{exc}") from exc


def _open_existing(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"数据库文件不存在：{path}")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}", uri=True)


# --- PostgreSQL -------------------------------------------------------------------------------------


def find_pg_tool(name: str) -> str:
    """`name` on PATH (Debian's wrapper picks the newest), else the newest /usr/lib/postgresql/*/bin/name."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(PG_BIN_GLOB + name)
    if not candidates:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian/Ubuntu：postgresql-client），"
                          f"版本不低于数据库服务器。")
    return max(candidates, key=_version_key)


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name  # /usr/lib/postgresql/<version>/bin/<tool>
    return tuple(int(n) for n in re.findall(r"\d+", version))


def pg_connection(db: dict) -> tuple[list[str], dict[str, str]]:
    """Command-line arguments and environment for pg_dump/pg_restore from a Django DATABASES entry."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    args += ["--no-password", "--dbname", str(db["NAME"])]  # never prompt: a timer has no terminal
    env = dict(os.environ, PGAPPNAME="dangjian-backup")
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    for option, value in (db.get("OPTIONS") or {}).items():
        if option in PG_OPTION_ENV and value is not None:
            env[PG_OPTION_ENV[option]] = str(value)
    return args, env


def pg_backup(db: dict, target_dir: Path, *, now=None) -> BackupResult:
    pg_dump = find_pg_tool("pg_dump")
    args, env = pg_connection(db)
    target = _new_target(target_dir, backup_name(".dump", now))
    partial = _partial(target)
    try:
        _run([pg_dump, "--format=custom", f"--file={partial}", *args], env)
        listing = _run([find_pg_tool("pg_restore"), "--list", str(partial)], env)
        entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
        _publish(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, f"pg_restore --list: {entries} 项（{pg_dump}）")


def pg_restore(db: dict, backup: Path) -> str:
    """Replace the configured database's objects with the backup's, in one transaction."""
    backup = Path(backup)
    _check_magic(backup, PG_MAGIC, "pg_dump custom")
    tool = find_pg_tool("pg_restore")
    args, env = pg_connection(db)
    _run([tool, "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(backup)], env)
    return tool


def _run(command: list[str], env: dict[str, str]) -> str:
    # A fixed tool path and arguments from settings; no shell, nothing from a request.
    done = subprocess.run(command, env=env, capture_output=True, text=True, errors="replace", check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupError(f"{Path(command[0]).name} 失败（退出码 {done.returncode}）：{message}")
    return done.stdout


# --- The configured database --------------------------------------------------------------------------


def database_label(connection) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite 数据库 {db['NAME']}"
    where = f"{db.get('HOST') or '本机套接字'}:{db.get('PORT') or 5432}"
    return f"PostgreSQL 数据库 {db['NAME']}（{where}）"


def backup_database(connection, target_dir: Path) -> BackupResult:
    if connection.vendor == "sqlite":
        if not connection.is_in_memory_db():
            return sqlite_backup(Path(connection.settings_dict["NAME"]), Path(target_dir))
        # An in-memory database (the test suite's) is only reachable through Django's own connection, and
        # SQLite's backup loop would wait forever for that connection's own open transaction.
        if connection.in_atomic_block:
            raise BackupError("不能在数据库事务中备份内存数据库")
        connection.ensure_connection()
        return sqlite_backup(connection.connection, Path(target_dir))
    if connection.vendor == "postgresql":
        return pg_backup(connection.settings_dict, Path(target_dir))
    raise BackupError(f"不支持备份 {connection.vendor} 数据库")


def restore_database(connection, backup: Path) -> str:
    """Close every connection of this process, restore, and say how the result was checked."""
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            raise BackupError("内存数据库无法恢复")
        connections.close_all()
        check = sqlite_restore(Path(backup), Path(connection.settings_dict["NAME"]))
        if check != "ok":
            raise BackupError(f"恢复后的数据库完整性检查未通过：{check}")
        return f"PRAGMA integrity_check: {check}"
    if connection.vendor == "postgresql":
        connections.close_all()
        tool = pg_restore(connection.settings_dict, Path(backup))
        return f"{tool} --clean --if-exists --no-owner --single-transaction"
    raise BackupError(f"不支持恢复 {connection.vendor} 数据库")


# --- Files --------------------------------------------------------------------------------------------


def _new_target(target_dir: Path, name: str) -> Path:
    target_dir = Path(target_dir)
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = target_dir / name
    if target.exists():
        raise BackupError(f"备份文件已存在：{target}（同一秒内不能备份两次）")
    try:  # personal data: readable by the owner only
        os.close(os.open(_partial(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError as exc:
        raise BackupError(f"另一个备份正在写入 {_partial(target)}") from exc
    return target


def _partial(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def _publish(partial: Path, target: Path) -> None:
    if target.exists():
        raise BackupError(f"备份文件已存在：{target}")
    os.replace(partial, target)


def _check_magic(path: Path, magic: bytes, kind: str) -> None:
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    with path.open("rb") as f:
        if f.read(len(magic)) != magic:
            raise BackupError(f"{path} 不是 {kind} 格式的备份文件，与当前数据库类型不符")
