"""Copy a generated SQLite bench database into an empty PostgreSQL database (issue 8).

Generating the city on PostgreSQL through the services' bulk paths takes hours for 1,000,000 members with
five years of records (docs/performance.md §7.2); the rows are the same on either database, so the
PostgreSQL city is the SQLite city copied table by table with COPY:

    .venv/bin/python -m bench.copy_to_postgres --sqlite-path bench/out/city-1000000.sqlite3 \\
        --database-url postgres://postgres@127.0.0.1:55436/bench

Both databases are first migrated to the code's schema (so they have the same tables and columns); then,
in one PostgreSQL transaction with `session_replication_role = replica` (no foreign-key or audit trigger
fires: the rows are already consistent, and the audit log's append-only triggers would refuse the TRUNCATE),
every table is emptied and filled with COPY, the id sequences are moved past the copied ids, and ANALYZE
(VACUUM ANALYZE) gives the planner its statistics and marks the pages all-visible, as autovacuum would in
production, so index-only scans need not visit the table. SQLite stores datetimes as naive UTC text, so the session's time zone is
UTC while copying. Bench data only: the command refuses the development database, like bench.generate.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

from .generate import _is_dev_database, _manage, bench_env


def _tables(pg) -> list[str]:
    rows = pg.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                      "AND table_type = 'BASE TABLE' AND table_name <> 'django_migrations' ORDER BY table_name")
    return [r[0] for r in rows]


def _columns(pg, table: str) -> list[tuple[str, str]]:
    rows = pg.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
                      "AND table_name = %s ORDER BY ordinal_position", (table,))
    return list(rows)


def copy_database(sqlite_path: Path, database_url: str, *, say=print) -> dict[str, int]:
    """Every table's rows from the SQLite file into the PostgreSQL database; returns {table: rows}."""
    import psycopg
    from psycopg import sql

    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    src.execute("PRAGMA cache_size = -512000")
    counts: dict[str, int] = {}
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as pg:
        pg.execute("SET session_replication_role = replica")
        pg.execute("SET TIME ZONE 'UTC'")
        tables = _tables(pg)
        pg.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in tables:
            if table not in present:
                # a source generated before a table was renamed in a rewritten migration: left empty, said so
                say(f"{table}: SQLite 库中没有这张表，保持为空")
                continue
            started = time.perf_counter()
            columns = _columns(pg, table)
            names = [c for c, _ in columns]
            booleans = [i for i, (_, kind) in enumerate(columns) if kind == "boolean"]
            select = f"SELECT {', '.join(chr(34) + n + chr(34) for n in names)} FROM \"{table}\""  # noqa: S608  # nosec B608
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n in names))
            n = 0
            with pg.cursor() as cursor, cursor.copy(statement) as copy:
                for row in src.execute(select):
                    if booleans:  # SQLite keeps booleans as 0/1
                        row = list(row)
                        for i in booleans:
                            if row[i] is not None:
                                row[i] = bool(row[i])
                    copy.write_row(row)
                    n += 1
            counts[table] = n
            if n:
                if "id" in names:
                    pg.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT MAX(id) FROM {}))")
                               .format(sql.Literal(table), sql.Identifier(table)))
                say(f"{table}: {n:,} 行，{time.perf_counter() - started:.1f} 秒")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM (ANALYZE)")  # statistics, and the visibility map index-only scans rely on
    src.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="把 SQLite 基准库复制到空的 PostgreSQL 数据库")
    p.add_argument("--sqlite-path", required=True, help="已生成的 SQLite 基准库")
    p.add_argument("--database-url", required=True, help="PostgreSQL 基准数据库 URL（其中数据会被清空）")
    args = p.parse_args(argv)
    source = Path(args.sqlite_path).resolve()
    if not source.exists():
        p.error(f"{source} 不存在")
    if not args.database_url.startswith(("postgres://", "postgresql://")) or _is_dev_database(args.database_url):
        p.error("目标须为单独的 PostgreSQL 基准数据库")
    started = time.perf_counter()
    for url in (f"sqlite:///{source}", args.database_url):  # the same schema on both sides
        _manage(bench_env(url), "migrate", "--noinput", "-v0")
    counts = copy_database(source, args.database_url)
    print(f"共复制 {sum(counts.values()):,} 行、{sum(1 for n in counts.values() if n)} 张表，"
          f"用时 {time.perf_counter() - started:.0f} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())
