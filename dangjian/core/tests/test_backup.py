"""Backups and restores: round trips on SQLite files and on a scratch PostgreSQL database, with the audit
log's append-only triggers in place (a restore must replace the audit table, and leave the triggers on)."""

import datetime as dt
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from dangjian.audit import triggers
from dangjian.core import backup

NIGHT = dt.datetime(2026, 3, 1, 2, 30, 5)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- SQLite -----------------------------------------------------------------------------------------


def _live_sqlite(path: Path) -> sqlite3.Connection:
    """A WAL database like the project's, with a small table and an audit table under the real triggers."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE sample (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE audit_auditentry (id INTEGER PRIMARY KEY, action TEXT)")
    conn.execute("CREATE TABLE audit_auditarchive (id INTEGER PRIMARY KEY, first_entry_id INTEGER, last_entry_id INTEGER)")
    for sql in triggers.SQLITE_INSTALL:
        conn.execute(sql)
    conn.executemany("INSERT INTO sample VALUES (?, ?)", [(1, "甲"), (2, "乙"), (3, "丙")])
    conn.executemany("INSERT INTO audit_auditentry VALUES (?, ?)", [(1, "a.created"), (2, "a.changed")])
    conn.commit()
    return conn


def _rows(path: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()  # noqa: S608 - fixed names
    finally:
        conn.close()


def test_sqlite_round_trip_while_the_site_holds_a_connection(tmp_path):
    live = tmp_path / "var" / "dangjian.sqlite3"
    live.parent.mkdir()
    site = _live_sqlite(live)  # stays open, as gunicorn's would

    result = backup.sqlite_backup(live, tmp_path / "backups", now=NIGHT)

    assert result.path == tmp_path / "backups" / "dangjian-20260301-023005.sqlite3"
    assert result.check == "PRAGMA integrity_check: ok"
    assert result.size == result.path.stat().st_size > 0
    assert _mode(result.path) == 0o600 and _mode(result.path.parent) == 0o700
    assert sorted(p.name for p in result.path.parent.iterdir()) == [result.path.name]  # no -wal, no .partial

    site.execute("DELETE FROM sample WHERE id > 1")
    site.execute("UPDATE sample SET name = '改' WHERE id = 1")
    site.execute("INSERT INTO audit_auditentry VALUES (3, 'a.after_backup')")
    site.commit()
    with pytest.raises(sqlite3.IntegrityError):  # the triggers hold on the live file
        site.execute("DELETE FROM audit_auditentry")
    site.close()

    assert backup.sqlite_restore(result.path, live) == "ok"

    assert _rows(live, "sample") == [(1, "甲"), (2, "乙"), (3, "丙")]
    assert _rows(live, "audit_auditentry") == [(1, "a.created"), (2, "a.changed")]
    conn = sqlite3.connect(live)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        with pytest.raises(sqlite3.IntegrityError):  # the restored file keeps them
            conn.execute("DELETE FROM audit_auditentry")
    finally:
        conn.close()


def test_sqlite_backup_refuses_a_second_file_in_the_same_second(tmp_path):
    live = tmp_path / "live.sqlite3"
    _live_sqlite(live).close()
    backup.sqlite_backup(live, tmp_path / "b", now=NIGHT)
    with pytest.raises(backup.BackupError, match="已存在"):
        backup.sqlite_backup(live, tmp_path / "b", now=NIGHT)
    assert len(list((tmp_path / "b").iterdir())) == 1


def test_sqlite_backup_of_a_missing_database_writes_nothing(tmp_path):
    with pytest.raises(backup.BackupError, match="不存在"):
        backup.sqlite_backup(tmp_path / "nope.sqlite3", tmp_path / "b", now=NIGHT)
    assert not (tmp_path / "nope.sqlite3").exists()
    assert list((tmp_path / "b").iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "not_sqlite"])
def test_sqlite_restore_refuses_a_bad_file_and_leaves_the_live_database_alone(tmp_path, damage):
    live = tmp_path / "live.sqlite3"
    _live_sqlite(live).close()
    good = backup.sqlite_backup(live, tmp_path / "b", now=NIGHT).path
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(good.read_bytes()[:5000] if damage == "truncated" else b"PGDMP" + b"\0" * 100)
    before = _rows(live, "sample")
    with pytest.raises(backup.BackupError):
        backup.sqlite_restore(bad, live)
    assert _rows(live, "sample") == before


# --- PostgreSQL tools and their environment -------------------------------------------------------------


def test_the_password_goes_through_the_environment_never_the_command_line():
    args, env = backup.pg_connection({
        "NAME": "dangjian", "USER": "dj", "PASSWORD": "s3cret-pw", "HOST": "db.internal", "PORT": 5433,
        "OPTIONS": {"sslmode": "verify-full", "pool": True},
    })
    assert "s3cret-pw" not in " ".join(args)
    assert args == ["--host", "db.internal", "--port", "5433", "--username", "dj", "--no-password",
                    "--dbname", "dangjian"]
    assert env["PGPASSWORD"] == "s3cret-pw"
    assert env["PGSSLMODE"] == "verify-full"


def test_pg_tools_come_from_path_or_the_newest_debian_directory(tmp_path, monkeypatch):
    for version in ["9.6", "15", "16", "13"]:
        tool = tmp_path / version / "bin" / "pg_dump"
        tool.parent.mkdir(parents=True)
        tool.touch()
    monkeypatch.setattr(backup, "PG_BIN_GLOB", f"{tmp_path}/*/bin/")
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    assert backup.find_pg_tool("pg_dump") == f"{tmp_path}/16/bin/pg_dump"
    with pytest.raises(backup.BackupError, match="postgresql-client"):
        backup.find_pg_tool("pg_restore")
    monkeypatch.setattr(backup.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert backup.find_pg_tool("pg_dump") == "/usr/bin/pg_dump"


# --- PostgreSQL round trip on a scratch database ------------------------------------------------------------


def _pg_params(db: dict, dbname: str) -> dict:
    params = {"host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER"),
              "password": db.get("PASSWORD"), "dbname": dbname}
    return {k: v for k, v in params.items() if v}


@pytest.fixture
def scratch_pg():
    """A database of our own on the suite's PostgreSQL server, dropped afterwards whatever happens."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (the suite runs it with DATABASE_URL=postgres://…)")
    import psycopg

    db = dict(connection.settings_dict, NAME=f"dangjian_scratch_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(**_pg_params(db, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
        try:
            with psycopg.connect(**_pg_params(db, db["NAME"]), autocommit=True) as conn:
                yield db, conn
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')


def test_pg_dump_and_restore_round_trip_with_the_audit_triggers(scratch_pg, tmp_path):
    import psycopg

    db, conn = scratch_pg
    conn.execute("CREATE TABLE sample (id int PRIMARY KEY, name text)")
    conn.execute("CREATE TABLE audit_auditentry (id bigint PRIMARY KEY, action text)")
    conn.execute("CREATE TABLE audit_auditarchive (id bigint PRIMARY KEY, first_entry_id bigint, last_entry_id bigint)")
    for sql in triggers.POSTGRES_INSTALL:
        conn.execute(sql)
    conn.execute("INSERT INTO sample VALUES (1, '甲'), (2, '乙'), (3, '丙')")
    conn.execute("INSERT INTO audit_auditentry VALUES (1, 'a.created'), (2, 'a.changed')")

    result = backup.pg_backup(db, tmp_path / "backups", now=NIGHT)

    assert result.path.name == "dangjian-20260301-023005.dump"
    assert result.path.read_bytes().startswith(b"PGDMP")
    assert _mode(result.path) == 0o600
    assert result.check.startswith("pg_restore --list: ")

    conn.execute("DROP TABLE sample")
    conn.execute("INSERT INTO audit_auditentry VALUES (3, 'a.after_backup')")
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("TRUNCATE audit_auditentry")

    backup.pg_restore(db, result.path)  # --clean DROPs the audit table: the triggers refuse DELETE, not DROP

    assert conn.execute("SELECT id, name FROM sample ORDER BY id").fetchall() == [(1, "甲"), (2, "乙"), (3, "丙")]
    assert conn.execute("SELECT id, action FROM audit_auditentry ORDER BY id").fetchall() == [
        (1, "a.created"), (2, "a.changed")]
    for sql in ["DELETE FROM audit_auditentry", "UPDATE audit_auditentry SET action = 'x'",
                "TRUNCATE audit_auditentry"]:
        with pytest.raises(psycopg.errors.RaiseException):  # the triggers came back with the dump
            conn.execute(sql)


def test_pg_restore_refuses_a_file_that_is_not_a_custom_dump(tmp_path):
    bad = tmp_path / "dangjian.sqlite3"
    bad.write_bytes(backup.SQLITE_MAGIC + b"\0" * 100)
    with pytest.raises(backup.BackupError, match="不是 pg_dump custom 格式"):
        backup.pg_restore({"NAME": "unused"}, bad)


# --- The commands -----------------------------------------------------------------------------------------


def test_backup_command_copies_the_configured_database(transactional_db, tmp_path, capsys):
    # transactional: a backup sees committed data only, and SQLite's waits for an open transaction to end
    call_command("backup", "--to", str(tmp_path / "nightly"))
    out = capsys.readouterr().out
    [made] = list((tmp_path / "nightly").iterdir())
    assert made.name.startswith("dangjian-") and made.suffix in {".sqlite3", ".dump"}
    assert out.startswith("已备份") and str(made) in out


def test_restore_command_refuses_without_yes_and_changes_nothing(db, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "restore_database", lambda *a, **k: pytest.fail("must not restore"))
    file = tmp_path / "dangjian-20260301-023005.sqlite3"
    file.write_bytes(b"x")
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", "--from", str(file))
    with pytest.raises(CommandError, match="备份文件不存在"):
        call_command("restore", "--from", str(tmp_path / "missing.dump"), "--yes")


def test_an_in_memory_database_is_not_backed_up_from_inside_a_transaction(db, tmp_path):
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        pytest.skip("the test suite's in-memory SQLite only")
    with pytest.raises(backup.BackupError, match="事务"):  # instead of waiting forever for our own lock
        backup.backup_database(connection, tmp_path)
