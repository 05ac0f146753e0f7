"""`manage.py rebuild_dues_tallies [--check]`: recompute the 党费 counters (dues.DuesTally) from the
assessments, payments and accounts, rolled up to every ancestor (orgs.tally_command)."""

from __future__ import annotations

from dangjian.dues.tallies import dues_tally_differences, rebuild_dues_tallies
from dangjian.orgs.tally_command import RebuildTallyCommand


class Command(RebuildTallyCommand):
    help = "重新计算党费汇总（DuesTally）：清空后按组织分组汇总核定、交纳和已交至；--check 只核对不修改。"
    label, source = "党费汇总", "党费记录"
    rebuild, differences = staticmethod(rebuild_dues_tallies), staticmethod(dues_tally_differences)
