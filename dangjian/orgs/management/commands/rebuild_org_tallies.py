"""`manage.py rebuild_org_tallies [--check]`: recompute the organisation counters (orgs.OrgTally: live and
dissolved branches, organisations with a live 党小组) from the organisation table, rolled up to every
ancestor (orgs.tally_command)."""

from __future__ import annotations

from dangjian.orgs.org_tally import org_tally_differences, rebuild_org_tallies
from dangjian.orgs.tally_command import RebuildTallyCommand


class Command(RebuildTallyCommand):
    help = "重新计算组织数汇总（OrgTally）：清空后按组织逐个计数并汇总到各级上级组织；--check 只核对不修改。"
    label, source = "组织数汇总", "党组织"
    rebuild, differences = staticmethod(rebuild_org_tallies), staticmethod(org_tally_differences)
