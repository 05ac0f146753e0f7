"""The one shape of every `manage.py rebuild_*_tallies [--check]` command (orgs.tallies).

For databases filled before a tally existed (its migration does it once too) and as the repair path:
truncate and recompute in one transaction. `--check` only compares the stored counters with a row-by-row
count in Python and exits non-zero on any difference. System work over every organisation: no user scope.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError


class RebuildTallyCommand(BaseCommand):
    label: str  # 党员统计汇总, 党费汇总
    source: str  # what the counters are counted from: 名册, 党费记录
    rebuild: Callable[[], int]
    differences: Callable[[], dict]

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help=f"只核对{self.label}与{self.source}是否一致，不修改")

    def handle(self, *args, check: bool = False, **options):
        started = time.perf_counter()
        if check:
            diffs = self.differences()
            if diffs:
                for key, (stored, expected) in list(diffs.items())[:20]:
                    self.stderr.write(f"{' '.join(map(str, key))}: 汇总 {stored}，实际 {expected}")
                raise CommandError(f"{self.label}有 {len(diffs)} 处与{self.source}不一致：请不带 --check 重新运行本命令")
            self.stdout.write(f"{self.label}与{self.source}一致（{time.perf_counter() - started:.1f} 秒）")
            return
        rows = self.rebuild()
        self.stdout.write(f"已重建{self.label}：{rows} 行，用时 {time.perf_counter() - started:.1f} 秒")
