"""The transfer workflow: states and allowed transitions per kind of transfer, in one table.

    draft ─submit─▶ submitted ─approve─▶ approved ─accept─▶ accepted ─place─▶ placed ─close─▶ closed
      ▲               │  ▲                 │   │ └─expire─▶ expired ─reissue─┘(approved)
      └─(edit)        │  └──submit── returned ◀─return─┘
                      └─return─▶ returned
    withdraw: from draft, submitted, approved, returned, expired → withdrawn

A whole-unit move (整建制) is recorded closed in one step: the organisation moves with its members.
Out of the district and temporary (证明信) transfers have no receiver on the platform: approved ─close─▶
closed when the receipt (回执) is back. Into the district starts at approved (registering the incoming
letter). Each transition is one service in services.py that locks the row and calls `check()`.
"""

from __future__ import annotations

from dangjian.core.errors import Conflict

from .models import TransferKind as K
from .models import TransferStatus as S

_OPEN = {S.DRAFT, S.SUBMITTED, S.APPROVED, S.RETURNED, S.EXPIRED}

_COMMON = {
    "submit": ({S.DRAFT, S.RETURNED}, S.SUBMITTED),
    "approve": ({S.SUBMITTED}, S.APPROVED),
    "withdraw": (_OPEN, S.WITHDRAWN),
    "expire": ({S.APPROVED}, S.EXPIRED),
    "reissue": ({S.EXPIRED}, S.APPROVED),
}

TRANSITIONS: dict[str, dict[str, tuple[set, str]]] = {
    K.WITHIN: _COMMON | {
        "return": ({S.SUBMITTED, S.APPROVED}, S.RETURNED),
        "accept": ({S.APPROVED}, S.ACCEPTED),
        "place": ({S.ACCEPTED}, S.PLACED),
        "close": ({S.PLACED}, S.CLOSED),
    },
    K.OUT: _COMMON | {"return": ({S.SUBMITTED}, S.RETURNED), "close": ({S.APPROVED}, S.CLOSED)},
    K.TEMPORARY: _COMMON | {"return": ({S.SUBMITTED}, S.RETURNED), "close": ({S.APPROVED}, S.CLOSED)},
    K.WHOLE_UNIT: {},  # recorded closed in one step (services.transfer_whole_unit)
    K.IN: {
        "return": ({S.APPROVED}, S.RETURNED),
        "withdraw": ({S.APPROVED, S.RETURNED, S.EXPIRED}, S.WITHDRAWN),
        "expire": ({S.APPROVED}, S.EXPIRED),
        "accept": ({S.APPROVED}, S.ACCEPTED),
        "place": ({S.ACCEPTED}, S.PLACED),
        "close": ({S.PLACED}, S.CLOSED),
    },
}

LABELS = {"submit": "提交", "approve": "审批", "return": "退回", "withdraw": "撤回", "expire": "过期",
          "reissue": "重新开具介绍信", "accept": "接收", "place": "编入党支部", "close": "办结（回执已返回）",
          "create": "发起", "register": "登记转入介绍信",
          "whole_unit": "整建制转接"}


def check(kind: str, action: str, status: str) -> str:
    """The state `action` leads to from `status`; an illegal transition is refused in Chinese."""
    rule = TRANSITIONS[kind].get(action)
    if rule is None:
        raise Conflict(f"{K(kind).label}不能“{LABELS[action]}”。")
    sources, target = rule
    if status not in sources:
        raise Conflict(f"该转接当前状态为“{S(status).label}”，不能“{LABELS[action]}”。")
    return target


def allowed(kind: str, status: str) -> list[str]:
    return [a for a, (sources, _) in TRANSITIONS[kind].items() if status in sources and a != "expire"]
