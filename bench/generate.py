"""Build a city-scale dataset into its own database (never the development database).

    .venv/bin/python -m bench.generate --members 1000000            # bench/out/city-1000000.sqlite3
    .venv/bin/python -m bench.generate --members 1000000 --database-url postgres://…/bench

    .venv/bin/python -m bench.generate --members 1000000 --add-records   # only the records, on the existing DB

It runs the project's migrations on that database, then `manage.py seed_demo` (members/demo.py: the same
deterministic district the demo uses, organisations and members through core.bulk), then `bench.records`
(five years of meetings, attendance, dues and transfers up to --today, bench/records.py), each as a
subprocess with `DATABASE_URL` pointing at the bench database, so nothing here can write to the configured
one. Organisations scale with the roster (≈ 3,800 at 100k, ≈ 38,000 at 1M). Recruitment cases are added by
bench/recruitment.py (20,000 open cases) when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def default_sqlite_path(members: int) -> Path:
    return OUT / f"city-{members}.sqlite3"


def database_url(args) -> str:
    if args.database_url:
        return args.database_url
    path = Path(args.sqlite_path) if args.sqlite_path else default_sqlite_path(args.members)
    return f"sqlite:///{path.resolve()}"


def _is_dev_database(url: str) -> bool:
    """The configured database (DATABASE_URL or var/dangjian.sqlite3) must never be the target."""
    dev = {str((ROOT / "var" / "dangjian.sqlite3").resolve())}
    if os.environ.get("DATABASE_URL"):
        dev.add(os.environ["DATABASE_URL"])
    target = url.removeprefix("sqlite:///")
    return url in dev or target in dev


def bench_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    # Demo-login file and media of the bench database go under bench/out, not var/.
    env["DANGJIAN_VAR_DIR"] = str(OUT / "var")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def _manage(env: dict, *argv: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *argv], cwd=ROOT, env=env, check=True)  # noqa: S603  # nosec B603


def _records(env: dict, args) -> None:
    url = env["DATABASE_URL"]
    where = ["--sqlite-path", url.removeprefix("sqlite:///")] if url.startswith("sqlite:///") else ["--database-url", url]
    argv = [sys.executable, "-m", "bench.records", "--no-migrate", "--seed", str(args.seed), *where]
    if args.today:
        argv += ["--today", args.today]
    subprocess.run(argv, cwd=ROOT, env=env, check=True)  # noqa: S603  # nosec B603


def _records_only(url: str, args) -> int:
    """`--add-records`: migrate the existing bench database, then add the records (once: a second run refuses)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise SystemExit(f"{url} 不存在：先运行 bench.generate 生成党员")
    env = bench_env(url)
    started = time.perf_counter()
    _manage(env, "migrate", "--noinput", "-v0")
    try:
        _records(env, args)
    except subprocess.CalledProcessError as e:  # bench.records said why (e.g. the records are there already)
        return e.returncode
    if not url.startswith("sqlite"):
        _manage(env, "dbshell", "--", "-c", "VACUUM ANALYZE")
    print(f"业务记录已生成：{url}，用时 {time.perf_counter() - started:.0f} 秒")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="生成城市规模的基准数据（独立数据库）")
    p.add_argument("--members", type=int, default=1_000_000, help="党员人数（默认 1,000,000）")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--today", default=None, help="参照日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--database-url", default="", help="PostgreSQL 等数据库 URL（须为空库）")
    p.add_argument("--sqlite-path", default="", help="SQLite 文件（默认 bench/out/city-N.sqlite3）")
    p.add_argument("--force", action="store_true", help="SQLite 文件已存在时删除重建")
    p.add_argument("--add-records", action="store_true",
                   help="只在已有的基准库上生成 5 年业务记录（会议、党费、组织关系转接），不重建党员")
    p.add_argument("--no-records", action="store_true", help="只生成组织和党员，不生成业务记录")
    args = p.parse_args(argv)

    url = database_url(args)
    if _is_dev_database(url):
        p.error("拒绝写入开发数据库：请指定单独的基准数据库")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.add_records:
        return _records_only(url, args)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists():
            if not args.force:
                p.error(f"{path} 已存在（加 --force 重建）")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    env = bench_env(url)
    started = time.perf_counter()
    _manage(env, "migrate", "--noinput", "-v0")
    seed = ["seed_demo", "--members", str(args.members), "--seed", str(args.seed), "--batch-size", "5000"]
    if args.today:
        seed += ["--today", args.today]
    _manage(env, *seed)
    timings = {"seed_seconds": round(time.perf_counter() - started, 1)}
    if not args.no_records:
        t = time.perf_counter()
        _records(env, args)
        timings["records_seconds"] = round(time.perf_counter() - t, 1)
    if not url.startswith("sqlite"):
        _manage(env, "dbshell", "--", "-c", "VACUUM ANALYZE")  # the state autovacuum reaches soon after a load
    seconds = time.perf_counter() - started
    meta = {"database_url": url, "members": args.members, "seed": args.seed, "seconds": round(seconds, 1), **timings}
    (OUT / f"generate-{args.members}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    print(f"基准数据已生成：{url}，{args.members} 名党员，用时 {seconds:.0f} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())
