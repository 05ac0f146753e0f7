"""`manage.py rebuild_member_tallies [--check]`: recompute the member counters (members.MemberTally) with one
GROUP BY per dimension over the members, rolled up to every ancestor (orgs.tally_command)."""

from __future__ import annotations

from dangjian.members.tallies import rebuild_tallies, tally_differences
from dangjian.orgs.tally_command import RebuildTallyCommand


class Command(RebuildTallyCommand):
    help = "重新计算党员统计汇总（MemberTally）：清空后按组织分组计数并汇总到各级上级组织；--check 只核对不修改。"
    label, source = "党员统计汇总", "党员名册"
    rebuild, differences = staticmethod(rebuild_tallies), staticmethod(tally_differences)
