"""States and allowed transitions of a meeting and of a spot check, in one table each (ARCHITECTURE §6).

Each transition is one service in services.py that locks the row, checks the from-state here, and writes
the audit entry. An illegal transition is a Conflict with a Chinese message.
"""

from __future__ import annotations

from dangjian.core.errors import Conflict

from .models import MeetingStatus as S
from .models import SpotCheckStatus as C

MEETING_TRANSITIONS: dict[str, tuple[frozenset[str], str | None, str]] = {
    # action: (from states, to state (None = unchanged), Chinese name of the action)
    "edit": (frozenset({S.PLANNED, S.NOTIFIED}), None, "修改会议安排"),
    "notify": (frozenset({S.PLANNED}), S.NOTIFIED, "发出会议通知"),
    "hold": (frozenset({S.NOTIFIED}), S.HELD, "标记已召开"),
    "record": (frozenset({S.NOTIFIED, S.HELD, S.RECORDED}), S.RECORDED, "填写会议记录"),
    "attach": (frozenset({S.PLANNED, S.NOTIFIED, S.HELD, S.RECORDED}), None, "上传附件"),
    "confirm": (frozenset({S.RECORDED}), None, "确认会议记录"),
    "freeze": (frozenset({S.RECORDED}), S.FROZEN, "封存会议记录"),
    "correct": (frozenset({S.FROZEN}), S.FROZEN, "更正会议记录"),
    "cancel": (frozenset({S.PLANNED, S.NOTIFIED}), S.CANCELLED, "取消会议"),
}

FROZEN_MESSAGE = "会议记录已封存，不能直接修改；如需更正，请提交更正（生成新版本，原版本保留）。"

SPOT_CHECK_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "rectify": (frozenset({C.OPEN}), C.RECTIFIED, "填报整改情况"),
    "close": (frozenset({C.RECTIFIED}), C.CLOSED, "销号"),
    "reopen": (frozenset({C.RECTIFIED}), C.OPEN, "退回重新整改"),
}


def meeting_check(status: str, action: str) -> str:
    """The state after `action` from `status`, or a Conflict naming both."""
    sources, target, label = MEETING_TRANSITIONS[action]
    if status not in sources:
        if status == S.FROZEN and action in ("record", "attach", "edit"):
            raise Conflict(FROZEN_MESSAGE)
        raise Conflict(f"会议当前状态为“{S(status).label}”，不能{label}。")
    return target or status


def spot_check_check(status: str, action: str) -> str:
    sources, target, label = SPOT_CHECK_TRANSITIONS[action]
    if status not in sources:
        raise Conflict(f"抽查当前状态为“{C(status).label}”，不能{label}。")
    return target


def meeting_actions(status: str) -> set[str]:
    return {a for a, (sources, _, _) in MEETING_TRANSITIONS.items() if status in sources}
