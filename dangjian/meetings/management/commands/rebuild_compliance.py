"""`manage.py rebuild_compliance [--check]`: recompute the compliance marks and counters (meetings.ComplianceMark,
meetings.ComplianceTally) from the recorded kind rows.

For databases whose meetings were written around the services (bench data; the migration does it once), after
a change of a frequency setting (`DANGJIAN_MEETINGS["frequencies"]`: it changes which periods are missed), and
as the repair path. `--check` only compares and exits non-zero on any difference. System work over every
organisation: no user scope is involved.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from dangjian.meetings.compliance import compliance_differences, rebuild_compliance


class Command(BaseCommand):
    help = "重新计算组织生活落实情况标记与汇总：按会议记录逐个支部、逐年、逐项重算；--check 只核对不修改。"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只核对落实情况汇总与会议记录是否一致，不修改")

    def handle(self, *args, check: bool = False, **options):
        started = time.perf_counter()
        if check:
            diffs = compliance_differences()
            if diffs:
                for key, (stored, expected) in list(diffs.items())[:20]:
                    self.stderr.write(f"{key}: 已存 {stored}，应为 {expected}")
                raise CommandError(f"组织生活落实情况有 {len(diffs)} 处与会议记录不一致：请运行 rebuild_compliance")
            self.stdout.write(f"组织生活落实情况与会议记录一致（{time.perf_counter() - started:.1f} 秒）")
            return
        marks, counters = rebuild_compliance()
        self.stdout.write(f"已重建组织生活落实情况：标记 {marks} 行，汇总 {counters} 行，"
                          f"用时 {time.perf_counter() - started:.1f} 秒")
