"""`manage.py rebuild_compliance [--check]`: recompute the compliance marks and counters (meetings.ComplianceMark,
meetings.ComplianceTally) from the recorded kind rows (orgs.tally_command).

For databases whose meetings were written around the services (bench data; the migration does it once), after
a change of a frequency setting (`DANGJIAN_MEETINGS["frequencies"]`: it changes which periods are missed), and
as the repair path.
"""

from __future__ import annotations

from dangjian.meetings.compliance import compliance_differences, rebuild_compliance
from dangjian.orgs.tally_command import RebuildTallyCommand


def _rebuild() -> int:
    marks, counters = rebuild_compliance()
    return marks + counters


class Command(RebuildTallyCommand):
    help = "重新计算组织生活落实情况标记与汇总：按会议记录逐个支部、逐年、逐项重算；--check 只核对不修改。"
    label, source = "组织生活落实情况（标记与汇总）", "会议记录"
    rebuild, differences = staticmethod(_rebuild), staticmethod(compliance_differences)
