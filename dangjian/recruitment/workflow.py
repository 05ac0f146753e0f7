"""The 25 steps of 发展党员 in one table (DOMAIN-RULES §1.1): stage, who acts, which steps must come
first, what the step's form asks. services.step_record asks `allowed()` before anything else; the time,
vote and people rules are in rules.py.

Order: a step may be recorded when every step in `after` has a passing record. Three kinds of repeat:
- `repeat="many"`: a step held again and again in place (assessments, continued education, a new mentor);
- `repeat="cycle"`: the conversion steps 22–24, recorded again after the 党委 approved an extension;
- otherwise once, unless its last record did not pass (a failed 预审 may be held again).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dangjian.core.errors import Conflict

from .models import Body, Outcome, Stage


@dataclass(frozen=True)
class Step:
    number: int
    stage: str
    label: str
    bodies: tuple[str, ...]
    after: tuple[int, ...] = ()
    repeat: str = ""  # "", "many" or "cycle"
    vote: bool = False  # quorum and majority of §1.3
    people: str = ""  # "mentor" or "sponsor"
    outcomes: tuple[str, ...] = (Outcome.PASSED,)
    details: tuple[str, ...] = ()  # keys of RecruitmentStep.details the form asks (DETAIL_LABELS)
    committee: str = ""  # "" (the branch acts), "superior" (上级党委) or "approving" (党委 with 审批权限, §22)
    stage_after: str = ""  # the stage a passing record moves the case to
    closed_by: int = 0  # a repeated step ends when this step passes (assessments end with 确定发展对象)


B, BC, BG, C = Body.BRANCH, Body.BRANCH_COMMITTEE, Body.BRANCH_GENERAL, Body.COMMITTEE
S = Stage

STEPS: dict[int, Step] = {s.number: s for s in [
    Step(1, S.APPLICANT, "递交入党申请书", (Body.APPLICANT,)),
    Step(2, S.APPLICANT, "党组织派人谈话", (B,), after=(1,), details=("talker",)),
    Step(3, S.ACTIVIST, "推荐和确定入党积极分子", (BC, BG), after=(2,), details=("nomination",),
         stage_after=S.ACTIVIST),
    Step(4, S.ACTIVIST, "上级党委备案", (C,), after=(3,), committee="superior"),
    Step(5, S.ACTIVIST, "指定培养联系人", (B,), after=(3,), repeat="many", people="mentor", closed_by=7),
    Step(6, S.ACTIVIST, "培养教育考察", (B,), after=(5,), repeat="many", details=("assessment",), closed_by=7),
    Step(7, S.DEVELOPMENT_TARGET, "确定发展对象", (BC, BG), after=(4, 6), stage_after=S.DEVELOPMENT_TARGET),
    Step(8, S.DEVELOPMENT_TARGET, "报上级党委同意并公示", (C,), after=(7,), committee="superior",
         details=("public_notice_from", "public_notice_to", "public_notice_result")),
    Step(9, S.DEVELOPMENT_TARGET, "确定入党介绍人", (B,), after=(8,), people="sponsor"),
    Step(10, S.DEVELOPMENT_TARGET, "进行政治审查", (B, C), after=(8,), outcomes=(Outcome.PASSED, Outcome.FAILED),
         details=("conclusion",)),
    Step(11, S.DEVELOPMENT_TARGET, "开展集中培训", (C, Body.DISTRICT), after=(8,), details=("training_days", "training_hours")),
    Step(12, S.DEVELOPMENT_TARGET, "支部委员会审查", (BC, BG), after=(9, 10, 11)),
    Step(13, S.DEVELOPMENT_TARGET, "上级党委预审", (C,), after=(12,), committee="approving",
         outcomes=(Outcome.PASSED, Outcome.FAILED), details=("leaving_soon",)),
    Step(14, S.DEVELOPMENT_TARGET, "填写入党志愿书", (Body.APPLICANT,), after=(13,)),
    Step(15, S.DEVELOPMENT_TARGET, "支部党员大会讨论", (BG,), after=(14,), vote=True),
    Step(16, S.DEVELOPMENT_TARGET, "上级党委派人谈话", (C,), after=(15,), committee="approving", details=("talker",)),
    Step(17, S.DEVELOPMENT_TARGET, "上级党委审批", (C,), after=(16,), committee="approving",
         outcomes=(Outcome.PASSED, Outcome.FAILED), details=("special_reason",), stage_after=S.PROBATIONARY),
    Step(18, S.PROBATIONARY, "再上一级党委组织部门备案", (C,), after=(17,), committee="approving"),
    Step(19, S.PROBATIONARY, "编入党支部和党小组", (B,), after=(17,), details=("party_group",)),
    Step(20, S.PROBATIONARY, "入党宣誓", (B, C), after=(17,)),
    Step(21, S.PROBATIONARY, "继续教育考察", (B,), after=(17,), repeat="many", details=("assessment",),
         closed_by=24),
    Step(22, S.PROBATIONARY, "提出转正申请", (Body.APPLICANT,), after=(17,), repeat="cycle"),
    Step(23, S.PROBATIONARY, "支部党员大会讨论转正", (BG,), after=(22,), repeat="cycle", vote=True,
         outcomes=(Outcome.PASSED, Outcome.EXTEND, Outcome.CANCEL), details=("extension_months", "reason")),
    Step(24, S.PROBATIONARY, "上级党委审批转正", (C,), after=(23,), repeat="cycle", committee="approving",
         outcomes=(Outcome.PASSED, Outcome.EXTEND, Outcome.CANCEL), details=("extension_months", "reason"),
         stage_after=S.FULL_MEMBER),
    Step(25, S.FULL_MEMBER, "材料归档", (B, C), after=(24,)),
]}

# The 5 stages of the national chart (their step ranges); a case's `stage` is the person's standing.
PHASES = [("一、申请入党", 1, 2), ("二、入党积极分子的确定和培养教育", 3, 6), ("三、发展对象的确定和考察", 7, 11),
          ("四、预备党员的接收", 12, 18), ("五、预备党员的教育考察和转正", 19, 25)]


def phase_of(number: int) -> str:
    """The phase of the national chart a step belongs to."""
    return next(label for label, first, last in PHASES if first <= number <= last)

DETAIL_LABELS = {
    "talker": "谈话人", "nomination": "推荐方式（党员推荐或群团组织推优）", "assessment": "考察意见",
    "public_notice_from": "公示开始日期", "public_notice_to": "公示结束日期", "public_notice_result": "公示结果",
    "conclusion": "政治审查结论", "training_days": "培训天数", "training_hours": "培训学时",
    "leaving_soon": "3个月内将离开工作、学习单位", "special_reason": "超过3个月审批的特殊原因",
    "party_group": "编入党小组", "extension_months": "延长预备期（月）", "reason": "理由",
}


@dataclass
class History:
    """What a case's records say, for the order checks: the records of each step, oldest first."""

    by_number: dict[int, list] = field(default_factory=dict)

    @classmethod
    def of(cls, steps) -> History:
        h = cls()
        for s in sorted(steps, key=lambda s: (s.on, s.id or 0)):
            h.by_number.setdefault(s.number, []).append(s)
        return h

    def last(self, number: int):
        records = self.by_number.get(number)
        return records[-1] if records else None

    def passed(self, number: int):
        """The latest passing record of a step, or None."""
        return next((s for s in reversed(self.by_number.get(number, [])) if s.outcome == Outcome.PASSED), None)

    def newer(self, a: int, b: int) -> bool:
        """Step a's latest record was entered after step b's (or b has none)."""
        ra, rb = self.last(a), self.last(b)
        return ra is not None and (rb is None or ra.id > rb.id)


def _done(history: History, before: int, number: int) -> bool:
    """Whether `before` lets `number` be recorded: a passing record; for the conversion round, any decision of
    the branch meeting (convert, extend or cancel all go to the 党委)."""
    if number == 24:
        last = history.last(before)
        return last is not None and last.outcome != Outcome.FAILED
    return history.passed(before) is not None


def _refused(message: str) -> Conflict:
    return Conflict(message, fields={"number": [f"步骤：{message}"]})


def check_order(case_status: str, number: int, history: History) -> Step:
    """The step, if it may be recorded now; otherwise a Chinese refusal naming what must come first."""
    step = STEPS.get(number)
    if step is None:
        raise _refused("没有这个步骤。")
    if case_status != "open":
        raise _refused("该发展党员档案已办结或终止，不能再记录步骤。")
    if number == 1:
        raise _refused("“递交入党申请书”在建立档案时记录。")
    missing = [n for n in step.after if not _done(history, n, number)]
    if missing:
        names = "、".join(f"第{n}步“{STEPS[n].label}”" for n in missing)
        raise _refused(f"请先完成{names}，再记录第{number}步“{step.label}”。")
    if step.closed_by and history.passed(step.closed_by) is not None:
        raise _refused(f"第{step.closed_by}步“{STEPS[step.closed_by].label}”已完成，不再记录第{number}步“{step.label}”。")
    last = history.last(number)
    if last is None or step.repeat == "many":
        return step
    if step.repeat == "cycle" and _next_round(number, history):
        return step
    if last.outcome == Outcome.FAILED and step.repeat != "cycle":
        return step  # e.g. a failed 预审 held again
    raise _refused(f"第{number}步“{step.label}”已记录，不能重复记录。")


def _next_round(number: int, history: History) -> bool:
    """22–24 again only after the 党委 approved an extension (第三十一条), and in order within the new round."""
    if number == 22:
        approved = history.last(24)
        return approved is not None and approved.outcome == Outcome.EXTEND and history.newer(24, 22)
    return history.newer(number - 1, number)


def allowed(case_status: str, history: History) -> list[Step]:
    """The steps that may be recorded now, for the case page's buttons (rules may still refuse a date)."""
    out = []
    for number in STEPS:
        try:
            out.append(check_order(case_status, number, history))
        except Conflict:
            continue
    return out
