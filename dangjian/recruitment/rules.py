"""The rules of 发展党员 as data (DOMAIN-RULES §1.2–§1.4, §1.6, §1.7), versioned, and the one engine that
applies them.

A rule set is the text in force from a date: a step is checked against the set in force on the day it
happened (`ruleset_on(step date)`), so a case that began under the 2014 text and ends under the 2026 one is
judged fairly at every step. The 2026 set is the default; the dates the sets took effect and everything
local or unverified (【L】/【U】) are settings (`settings.DANGJIAN_RECRUITMENT`, merged over `DEFAULTS`).
Local practices of §1.7 are per organisation (models.LocalPractice), off by default.

Two kinds of rule, on purpose:
- conditions on the PERSON (age, a year as activist, 公示, sponsors, review, training, who approves, the
  vote) refuse the record: the step did not validly happen;
- time limits on the ORGANISATION (talk within a month, meeting within a month of 预审, oath within a month,
  conversion approved within three months) never refuse a fact that happened late: the record is kept and
  marked 超期 (`late()`), and the deadlines list shows it red before it happens.
Every refusal names the rule and its article (RuleViolation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from dangjian.core.dates import add_months, add_years
from dangjian.core.errors import RuleViolation

REG_2026 = "《中国共产党发展党员工作细则》"
REG_2014 = "《中国共产党发展党员工作细则》（2014年）"
CHARTER = "《中国共产党章程》"


@dataclass(frozen=True)
class Rule:
    code: str
    text: str  # what the rule says, in the words a worker knows
    article: str  # the regulation and article; "" when the version has no such rule
    value: int | None = None  # its number (months, days, people …), None when the version has no limit


def _r(code, text, article, value=None):
    return Rule(code, text, article, value)


# The 2026 text (DOMAIN-RULES §1.2, 【V3】). Article numbers are 2026's: the 2014 ones differ.
RULES_2026 = {r.code: r for r in [
    _r("min_age", "年满十八岁方可申请入党", f"{CHARTER}第一条、{REG_2026}第五条", 18),
    _r("talk_months", "收到入党申请书后一个月内派人谈话", f"{REG_2026}第七条", 1),
    _r("mentors", "指定一至二名正式党员作培养联系人", f"{REG_2026}第九条", 2),
    _r("assessment_months", "党支部每半年对入党积极分子进行一次考察", f"{REG_2026}第十一条", 6),
    _r("activist_years", "经过一年以上培养教育和考察方可列为发展对象", f"{REG_2026}第十三条", 1),
    _r("superior_consent", "确定发展对象须报上级党委同意", f"{REG_2026}第十三条", 1),
    _r("public_notice_working_days", "确定发展对象前公示不少于五个工作日", f"{REG_2026}第十三条", 5),
    _r("sponsors", "由两名正式党员作入党介绍人", f"{REG_2026}第十四条", 2),
    _r("sponsor_fit", "受留党察看处分、尚未恢复党员权利的党员不能作入党介绍人；受警告、严重警告、撤销党内职务处分"
                      "影响期内的党员不宜作入党介绍人", f"{REG_2026}第十四条"),
    _r("political_review", "政治审查必须形成结论性材料，未经政治审查或政治审查不合格的不能发展入党",
       f"{REG_2026}第十六条"),
    _r("training_days", "集中培训时间一般不少于三天（或不少于二十四个学时）", f"{REG_2026}第十七条", 3),
    _r("training_hours", "集中培训时间一般不少于二十四个学时", f"{REG_2026}第十七条", 24),
    _r("leaving_soon", "预审时发现发展对象三个月内将离开工作、学习单位的，一般不办理接收预备党员手续",
       f"{REG_2026}第十八条", 3),
    _r("meeting_months", "预审通过后一个月内提交党支部党员大会讨论", f"{REG_2026}第十九条", 1),
    _r("quorum", "有表决权的到会人数必须超过应到会有表决权党员的半数", f"{REG_2026}第十九条"),
    _r("majority", "赞成人数超过应到会有表决权党员的半数才能通过", f"{REG_2026}第二十条"),
    _r("approval_authority", "预备党员必须由党委审批；不具备审批权限的基层党委、党总支不能审批", f"{REG_2026}第二十二条"),
    _r("temporary_org", "临时党组织不能接收预备党员（另有规定的除外）", f"{REG_2026}第二十二条"),
    _r("approval_months", "党委应在三个月内审批；特殊情况可适当延长，但不得超过六个月", f"{REG_2026}第二十五条", 3),
    _r("approval_max_months", "审批时间不得超过六个月", f"{REG_2026}第二十五条", 6),
    _r("oath_months", "党委审批后一个月内组织入党宣誓", f"{REG_2026}第二十九条", 1),
    _r("probation_years", "预备期为一年，从党支部党员大会通过之日算起", f"{REG_2026}第三十一条、{CHARTER}第七条", 1),
    _r("extension", "延长预备期只能一次，时间不能少于半年，最长不超过一年", f"{REG_2026}第三十一条", 12),
    _r("conversion_months", "党委应在三个月内审批预备党员转正", f"{REG_2026}第三十三条", 3),
]}

# The 2014 text, where it differs (DOMAIN-RULES §0): 备案 instead of consent, no 公示, no one-month limit
# before the branch meeting, none sourced for the oath (【U】). Articles are cited only where the sources
# give the 2014 number; the others name the regulation without one (docs/recruitment.md says why).
RULES_2014 = {**{code: Rule(r.code, r.text, REG_2014, r.value) for code, r in RULES_2026.items()}, **{r.code: r for r in [
    _r("activist_years", "经过一年以上培养教育和考察方可列为发展对象", f"{REG_2014}第十三条", 1),
    _r("superior_consent", "支部委员会讨论同意并报上级党委备案", f"{REG_2014}第十三条", None),
    _r("public_notice_working_days", "（2014年细则无公示要求）", "", None),
    _r("meeting_months", "（2014年细则未规定预审后召开党员大会的期限）", f"{REG_2014}第二十条", None),
    _r("oath_months", "（2014年细则未规定入党宣誓的期限）", "", None),
    _r("extension", "延长预备期只能一次，时间不能少于半年，最长不超过一年", f"{REG_2014}第三十二条", 12),
    _r("min_age", "年满十八岁方可申请入党", f"{CHARTER}第一条", 18),
]}}

RULESETS = {"2014": RULES_2014, "2026": RULES_2026}

DEFAULTS: dict = {
    # The day each text took effect. 2026: issued by 中共中央办公厅 on 2026-05-11 (DOMAIN-RULES §0), taken as
    # in force from issue 【U】; 2014: issued 2014-06-10. A district that dates it otherwise changes it here.
    "effective": {"2014": dt.date(2014, 6, 10), "2026": dt.date(2026, 5, 11)},
    # The ≥1-year activist period counts from the branch's confirmation (step 3) or the superior's filing
    # (step 4): DOMAIN-RULES §1.6, both seen 【L】.
    "activist_period_from": 3,
    # 预备期止 【U】 §1.6: "same_day" (入党 2020-06-01 → 预备期止 2021-06-01, 转正 that day) or "day_before"
    # (→ 预备期止 2021-05-31, 转正 the day after, 2021-06-01). 转正时间 is the same in both readings.
    "probation_end": "same_day",
    # Days before the 预备期 ends that the branch may already vote on conversion (§31 says "预备期满"): 0.
    "conversion_vote_days_before": 0,
    # The deadline list: amber when due within this many days.
    "amber_days": 14,
    # Statistics (DOMAIN-RULES §5.2): "35岁及以下" and the occupations counted as 生产、工作一线 【U】.
    "young_age": 35,
    "front_line_occupations": ["worker", "farmer", "professional", "manager"],
    # Reminders: the worker is told this many days before a due date, and again when it is overdue.
    "remind_days_before": 7,
}


def config() -> dict:
    merged = {**DEFAULTS, **getattr(settings, "DANGJIAN_RECRUITMENT", {})}
    merged["effective"] = {**DEFAULTS["effective"], **merged.get("effective", {})}
    return merged


def version_on(day: dt.date) -> str:
    """The rule set in force on `day`: the latest one that took effect on or before it (the oldest before all)."""
    effective = sorted(config()["effective"].items(), key=lambda kv: kv[1])
    version = effective[0][0]
    for name, since in effective:
        if since <= day:
            version = name
    return version


def rule(code: str, on: dt.date) -> Rule:
    return RULESETS[version_on(on)][code]


def refuse(code: str, on: dt.date, message: str, field: str | None = None, label: str = "") -> RuleViolation:
    r = rule(code, on)
    article = r.article or "发展党员工作细则"
    fields = {field: [f"{label}：{message}" if label else message]} if field else None
    return RuleViolation(message, rule=f"recruitment.{code}", article=article, fields=fields)


def late(code: str, due: dt.date, on: dt.date) -> str:
    """The 超期 mark of a record made after its time limit ("" when in time)."""
    if on <= due:
        return ""
    r = rule(code, on)
    return f"超期{(on - due).days}天：{r.text}（{r.article}）"


# --- dates ----------------------------------------------------------------------------------------------

def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def probation_dates(admitted_on: dt.date, extension_months: int = 0) -> tuple[dt.date, dt.date]:
    """(预备期止, 转正时间): the 预备期 is a year from the branch meeting, plus any extension (§31, §1.6)."""
    years = rule("probation_years", admitted_on).value
    converts = add_months(add_years(admitted_on, years), extension_months)
    ends = converts - dt.timedelta(days=1) if config()["probation_end"] == "day_before" else converts
    return ends, converts


def activist_period_start(activist_on: dt.date | None, filed_on: dt.date | None) -> dt.date | None:
    return filed_on if config()["activist_period_from"] == 4 and filed_on else activist_on


def missing_assessment(start: dt.date, until: dt.date, assessed: list[dt.date]) -> tuple[dt.date, dt.date] | None:
    """The first complete half-year since `start` (before `until`) with no assessment (§11), or None."""
    every = rule("assessment_months", until).value
    k = 0
    while True:
        lo, hi = add_months(start, every * k), add_months(start, every * (k + 1))
        if hi > until:
            return None
        if not any(lo <= d < hi for d in assessed):
            return lo, hi - dt.timedelta(days=1)
        k += 1


# --- votes (§1.3) -----------------------------------------------------------------------------------------

def check_vote(*, on: dt.date, expected: int, present: int, written: int, yes: int, no: int, abstain: int) -> None:
    """Quorum: voting members present MORE than half of those who should attend (§19). Passing: yes votes MORE
    than half of those who should attend, not of those present (§20); written opinions of absent voting members
    given before the meeting count as votes. Refused, never saved, when any of it fails."""
    if expected <= 0:
        raise refuse("quorum", on, "应到会有表决权党员人数应大于0", "voters_expected", "应到会有表决权党员")
    if present + written > expected:
        raise refuse("quorum", on, f"实到{present}人加书面意见{written}份，多于应到{expected}人", "voters_present",
                     "实到会有表决权党员")
    if 2 * present <= expected:
        raise refuse("quorum", on, f"实到会有表决权党员{present}人，未超过应到{expected}人的半数，会议不能表决",
                     "voters_present", "实到会有表决权党员")
    if yes + no + abstain > present + written:
        raise refuse("majority", on, f"赞成、反对、弃权合计{yes + no + abstain}票，多于实到人数与书面意见之和"
                                     f"{present + written}", "yes", "赞成")
    if 2 * yes <= expected:
        raise refuse("majority", on, f"赞成{yes}票，未超过应到会有表决权党员{expected}人的半数，决议未通过", "yes", "赞成")
