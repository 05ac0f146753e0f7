"""Database triggers that keep the audit log append-only for anyone going round Django.

- UPDATE of an entry: refused. TRUNCATE (PostgreSQL): refused.
- DELETE of an entry: refused unless an `AuditArchive` segment covers its id, i.e. unless it has been
  written to a verified archive file first (services.archive_older_than). That is the only way out.
- The segment table itself: UPDATE, DELETE and TRUNCATE refused, so a segment cannot be widened afterwards
  to cover rows that were never archived.

Installed by migration 0003 (0002 holds the first version, frozen). A later change here needs a new
migration that drops and re-creates them, and 0003 must then get a frozen copy of this version, as 0002 did.
The test suite removes them only around transactional tests, whose teardown must empty every table, and
puts them back before the next test.
"""

_REFUSED = "'audit log is append-only'"
_COVERED = "SELECT 1 FROM audit_auditarchive a WHERE OLD.id BETWEEN a.first_entry_id AND a.last_entry_id"

SQLITE_INSTALL = [
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_auditentry "
    f"BEGIN SELECT RAISE(ABORT, {_REFUSED}); END;",
    # SQLite has no procedural code: the WHEN clause lets an archived row through and stops every other.
    f"CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_auditentry WHEN NOT EXISTS ({_COVERED}) "
    f"BEGIN SELECT RAISE(ABORT, {_REFUSED}); END;",
    "CREATE TRIGGER IF NOT EXISTS audit_archive_no_update BEFORE UPDATE ON audit_auditarchive "
    f"BEGIN SELECT RAISE(ABORT, {_REFUSED}); END;",
    "CREATE TRIGGER IF NOT EXISTS audit_archive_no_delete BEFORE DELETE ON audit_auditarchive "
    f"BEGIN SELECT RAISE(ABORT, {_REFUSED}); END;",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_no_update;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
    "DROP TRIGGER IF EXISTS audit_archive_no_update;",
    "DROP TRIGGER IF EXISTS audit_archive_no_delete;",
]

POSTGRES_INSTALL = [
    # One function for both tables: only a DELETE of an archived entry returns normally.
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    # Nested, not AND: SQL does not promise to evaluate left to right, and OLD is NULL under TRUNCATE.
    "IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_auditentry' THEN "
    f"IF EXISTS ({_COVERED}) THEN RETURN OLD; END IF; "
    "END IF; "
    f"RAISE EXCEPTION {_REFUSED}; "
    "END; $$;",
    "CREATE OR REPLACE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditentry "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only();",
    "CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditentry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
    "CREATE OR REPLACE TRIGGER audit_archive_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditarchive "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only();",
    "CREATE OR REPLACE TRIGGER audit_archive_no_truncate BEFORE TRUNCATE ON audit_auditarchive "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_no_update_delete ON audit_auditentry;",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditentry;",
    "DROP TRIGGER IF EXISTS audit_archive_no_update_delete ON audit_auditarchive;",
    "DROP TRIGGER IF EXISTS audit_archive_no_truncate ON audit_auditarchive;",
    "DROP FUNCTION IF EXISTS audit_append_only();",
]

_INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}
_REMOVE = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _INSTALL.get(connection.vendor, []):
            cursor.execute(sql)


def remove(connection) -> None:
    with connection.cursor() as cursor:
        for sql in _REMOVE.get(connection.vendor, []):
            cursor.execute(sql)
