"""States and allowed transitions of a reservation, in one table (ARCHITECTURE §6).

    requested → approved → checked_in / no_show          (a base without approval books straight to approved)
    requested → rejected;  requested / approved → cancelled
    waiting → offered → (accepted: requested or approved) / expired / cancelled (declined);  waiting → cancelled

Each transition is one service in services.py that locks the slot and the row, checks the from-state here,
and writes the audit entry and the timeline event. An illegal transition is a Conflict with a Chinese message.
"""

from __future__ import annotations

from dangjian.core.errors import Conflict

from .models import ReservationStatus as S

TRANSITIONS: dict[str, tuple[frozenset[str], str | None, str]] = {
    # action: (from states, to state (None: decided by the service), Chinese name of the action)
    "approve": (frozenset({S.REQUESTED}), S.APPROVED, "审核通过"),
    "reject": (frozenset({S.REQUESTED}), S.REJECTED, "退回预约"),
    "cancel": (frozenset({S.REQUESTED, S.APPROVED, S.WAITING, S.OFFERED}), S.CANCELLED, "取消预约"),
    "check_in": (frozenset({S.APPROVED}), S.CHECKED_IN, "签到"),
    "no_show": (frozenset({S.APPROVED}), S.NO_SHOW, "登记未到场"),
    "offer": (frozenset({S.WAITING}), S.OFFERED, "候补递补"),
    "accept": (frozenset({S.OFFERED}), None, "接受候补名额"),
    "expire": (frozenset({S.WAITING, S.OFFERED}), S.EXPIRED, "候补失效"),
    "to_meeting": (frozenset({S.CHECKED_IN}), None, "生成会议记录"),
}


def check(status: str, action: str) -> str | None:
    """The state after `action` from `status`, or a Conflict naming both."""
    sources, target, label = TRANSITIONS[action]
    if status not in sources:
        raise Conflict(f"预约当前状态为“{S(status).label}”，不能{label}。")
    return target or None


def allowed(status: str) -> set[str]:
    return {a for a, (sources, _, _) in TRANSITIONS.items() if status in sources}
