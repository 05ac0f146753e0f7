"""Benchmark of the notification service (issue 6): one day's 政治生日 in the bench city, queued and drained.

    .venv/bin/python -m bench.push                                   # bench/out/city-1000000.sqlite3
    .venv/bin/python -m bench.push --sqlite-path bench/out/city-100000.sqlite3 --day 2026-07-01
    .venv/bin/python -m bench.push --database-url postgres://127.0.0.1:55460/bench --workers 1,2,4

Prints, for the day's greetings: how many members, the time to select them and queue their messages (the
job `political_birthdays_push`: inbox rows with their dedupe keys), the time to turn them into pushes (the
digest step), and the rate at which 1, 2, … worker threads drain the pushes through the SMS channel into the
loopback SMS gateway of the tests (HTTP, every request's signature checked), run in a process of its own so
it does not share this one's interpreter lock. The database work is real; the gateway answers at once, so the
rate is the platform's ceiling, not the operator's.

Afterwards it deletes what it created, so it can run again (the audit entries stay: the log is append-only).
Quiet hours are switched off for the run so that any time of day measures the same thing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import threading
import time

from bench.run import ROOT, open_bench_database


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="政治生日推送基准（issue 6）")
    p.add_argument("--database-url", default="")
    p.add_argument("--sqlite-path", default="")
    p.add_argument("--day", default="", help="按这一天选出政治生日（默认今天）")
    p.add_argument("--workers", default="1,2", help="依次用这些线程数清空推送队列")
    p.add_argument("--no-migrate", action="store_true")
    args = p.parse_args(argv)
    url = open_bench_database(p, args.database_url, args.sqlite_path, migrate=not args.no_migrate)

    from django.conf import settings
    from django.utils import timezone

    from dangjian.core.scoping import system_scope
    from dangjian.members.models import Member
    from dangjian.notifications import jobs, push

    day = dt.date.fromisoformat(args.day) if args.day else timezone.localdate()
    gateway = Gateway()
    settings.DANGJIAN_SMS = gateway.settings
    settings.DANGJIAN_WECHAT = {**settings.DANGJIAN_WECHAT, "app_id": ""}
    settings.EMAIL_HOST = ""
    settings.DANGJIAN_QUIET_HOURS = "00:00-00:00"
    out = sys.stdout
    out.write(f"# 政治生日推送基准 — {dt.datetime.now():%Y-%m-%d %H:%M}, {url.split('@')[-1]}, day {day}\n\n")
    try:
        with system_scope("bench: political birthdays"):
            members = Member.objects.count()
            t = time.perf_counter()
            queued = jobs.political_birthdays_push(on=day)
            queue_s = time.perf_counter() - t
            out.write(f"党员 members: {members:,}\n")
            out.write(f"选出并入队 select + queue: {queued:,} 条 greetings in {queue_s * 1000:.0f} ms "
                      f"({queued / queue_s:,.0f}/s)\n")
            t = time.perf_counter()
            prepared = push.pushes_prepare(digest=True)
            prepare_s = time.perf_counter() - t
            out.write(f"生成推送 prepare pushes (digest): {prepared:,} deliveries in {prepare_s * 1000:.0f} ms\n")
            for workers in [int(w) for w in args.workers.split(",") if w]:
                _reset(push)
                before = gateway.received()
                sent, seconds = _drain(push, workers)
                out.write(f"清空队列 drain, {workers} worker thread(s): {sent:,} sent in {seconds:.1f} s = "
                          f"{sent / seconds:,.0f} pushes/s (gateway received {gateway.received() - before:,})\n")
    finally:
        with system_scope("bench: clean up"):
            _clean_up(day)
        gateway.stop()
    return 0


class Gateway:
    """The tests' fake SMS gateway in a child process; it answers "count" on stdin with what it accepted."""

    SCRIPT = (
        "import json, sys\n"
        "from dangjian.notifications.tests.fakes import FakeSms\n"
        "fake = FakeSms().start()\n"
        "print(json.dumps(fake.settings_block()), flush=True)\n"
        "for line in sys.stdin:\n"
        "    print(len(fake.received), flush=True)\n"
        "fake.stop()\n"
    )

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdin=subprocess.PIPE,  # noqa: S603  # nosec B603
                                        stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.settings = json.loads(self.process.stdout.readline())

    def received(self) -> int:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def _drain(push, workers: int) -> tuple[int, float]:
    from django.db import connection

    from dangjian.core.scoping import system_scope

    counts = []

    def worker():
        done = 0
        try:
            with system_scope("bench: drain"):
                while sent := push.deliveries_dispatch(limit=200):
                    done += sent
        finally:
            counts.append(done)
            connection.close()

    t = time.perf_counter()
    if workers == 1:  # in this thread, so a profiler sees it
        worker()
        return counts[0], time.perf_counter() - t
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), time.perf_counter() - t


def _reset(push) -> None:
    """Every push of the run back to unsent, for the next worker count."""
    from django.utils import timezone

    from dangjian.notifications.models import Delivery, DeliveryAttempt

    mine = Delivery.unscoped.filter(dedupe_key__startswith="digest:")
    DeliveryAttempt.objects.filter(delivery__in=mine).delete()
    mine.update(status="pending", attempts=0, next_attempt_at=timezone.now(), sent_at=None, claimed_at=None)


def _clean_up(day: dt.date) -> None:
    from dangjian.notifications.models import Delivery, DeliveryAttempt, Notification

    greetings = Notification.unscoped.filter(kind="notifications.political_birthday",
                                             dedupe_key__startswith=f"political_birthday:{day.year}:")
    deliveries = Delivery.unscoped.filter(notifications__in=greetings).distinct()
    DeliveryAttempt.objects.filter(delivery__in=deliveries).delete()
    ids = list(deliveries.values_list("pk", flat=True))
    Delivery.notifications.through.objects.filter(delivery_id__in=ids).delete()
    Delivery.unscoped.filter(pk__in=ids).delete()
    greetings.delete()


if __name__ == "__main__":
    sys.exit(main())
