"""The hardship-reduction workflow (困难党员少交、免交党费): its states and allowed transitions in one table.

requested ──approve──▶ approved
         └──reject───▶ rejected

The branch requests; the next higher 党委 decides (中组发〔2008〕3号). Each transition is one service in
services.py that locks the row, checks the from-state here, saves and audits.
"""

from dangjian.core.errors import Conflict

from .models import ReductionStatus

TRANSITIONS: dict[str, dict[str, str]] = {
    "approve": {"from": ReductionStatus.REQUESTED, "to": ReductionStatus.APPROVED},
    "reject": {"from": ReductionStatus.REQUESTED, "to": ReductionStatus.REJECTED},
}


def check(action: str, status: str) -> str:
    """The state `action` leads to from `status`; an illegal transition is refused in Chinese."""
    t = TRANSITIONS[action]
    if status != t["from"]:
        raise Conflict(f"该申请当前状态为“{ReductionStatus(status).label}”，不能再{'批准' if action == 'approve' else '驳回'}。")
    return t["to"]
