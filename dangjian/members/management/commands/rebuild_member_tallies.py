"""`manage.py rebuild_member_tallies [--check]`: recompute the member counters (members.MemberTally).

For databases filled before the counters existed (the migration does it once too) and as the repair path:
truncate and recompute with one GROUP BY per dimension over the members, rolled up to every ancestor in
Python, in one transaction. `--check` only compares the stored counters with a member-by-member count and
exits non-zero on any difference. System work over every organisation: no user scope is involved.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from dangjian.members.tallies import rebuild_tallies, tally_differences


class Command(BaseCommand):
    help = "重新计算党员统计汇总（MemberTally）：清空后按组织分组计数并汇总到各级上级组织；--check 只核对不修改。"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只核对汇总与党员名册是否一致，不修改")

    def handle(self, *args, check: bool = False, **options):
        started = time.perf_counter()
        if check:
            diffs = tally_differences()
            if diffs:
                for (path, dim, value), (stored, expected) in list(diffs.items())[:20]:
                    self.stderr.write(f"{path} {dim}={value}: 汇总 {stored}，实际 {expected}")
                raise CommandError(f"党员统计汇总有 {len(diffs)} 处与名册不一致：请运行 rebuild_member_tallies")
            self.stdout.write(f"党员统计汇总与名册一致（{time.perf_counter() - started:.1f} 秒）")
            return
        rows = rebuild_tallies()
        self.stdout.write(f"已重建党员统计汇总：{rows} 行，用时 {time.perf_counter() - started:.1f} 秒")
