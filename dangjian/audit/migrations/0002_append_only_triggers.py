"""Database triggers that refuse UPDATE and DELETE on the audit log.

The first version, frozen here: 0003 replaces it (dangjian/audit/triggers.py holds the current one). A
migration must install what existed at its point in history, whatever the module says today.
"""

from django.db import migrations

_SQL = {
    "sqlite": (
        [
            "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
            "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
        ],
        ["DROP TRIGGER IF EXISTS audit_no_update;", "DROP TRIGGER IF EXISTS audit_no_delete;"],
    ),
    "postgresql": (
        [
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$;",
            "CREATE OR REPLACE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditentry "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only();",
            "CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditentry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
        ],
        [
            "DROP TRIGGER IF EXISTS audit_no_update_delete ON audit_auditentry;",
            "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditentry;",
            "DROP FUNCTION IF EXISTS audit_append_only();",
        ],
    ),
}


def _run(connection, which: int) -> None:
    with connection.cursor() as cursor:
        for sql in _SQL.get(connection.vendor, ([], []))[which]:
            cursor.execute(sql)


def install(apps, schema_editor):
    _run(schema_editor.connection, 0)


def remove(apps, schema_editor):
    _run(schema_editor.connection, 1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
