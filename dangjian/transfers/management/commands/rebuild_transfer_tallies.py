"""`manage.py rebuild_transfer_tallies [--check]`: recompute the transfer statistics' counters
(transfers.TransferTally) from the transfers and their parties, rolled up to every ancestor (orgs.tally_command)."""

from __future__ import annotations

from dangjian.orgs.tally_command import RebuildTallyCommand
from dangjian.transfers.tallies import rebuild_transfer_tallies, transfer_tally_differences


class Command(RebuildTallyCommand):
    help = "重新计算接转汇总（TransferTally）：清空后按每件转接的双方重新汇总；--check 只核对不修改。"
    label, source = "接转汇总", "组织关系转接记录"
    rebuild, differences = staticmethod(rebuild_transfer_tallies), staticmethod(transfer_tally_differences)
