"""List the periodic jobs and when they run, or run one now: `manage.py jobs` / `manage.py jobs run NAME`."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dangjian.core import jobs


class Command(BaseCommand):
    help = "列出定时任务及其运行时间，或立即运行其中一个（manage.py jobs run 名称 [--at 2026-11-29T08:00]）"

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["list", "run"], default="list")
        parser.add_argument("name", nargs="?")
        parser.add_argument("--at", help="当作这个本地时间运行（ISO 格式），默认现在")

    def handle(self, *args, action, name, at, **options):
        jobs.discover()
        if action == "list":
            for job, line in sorted(settings.DANGJIAN_SCHEDULE.items()):
                doc = ((jobs.JOBS[job].__doc__ or "").strip().splitlines() or [""])[0] if job in jobs.JOBS else "（未注册）"
                self.stdout.write(f"{job:40} {line:15} {doc}")
            return
        if name not in jobs.JOBS:
            raise CommandError(f"没有名为 {name} 的定时任务；可用：{', '.join(sorted(jobs.JOBS))}")
        now = timezone.make_aware(dt.datetime.fromisoformat(at)) if at else timezone.now()
        done = jobs.run_job(name, now=now)
        self.stdout.write(f"{name}: {done}")
