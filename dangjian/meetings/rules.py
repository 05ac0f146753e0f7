"""The rules of organisational life as data (DOMAIN-RULES §2, §1.3; 党章 第九条).

Every number that is local practice or unverified (【L】/【U】) is a setting: `settings.DANGJIAN_MEETINGS`
is merged over `DEFAULTS`, so a district changes a frequency or the confirmation window without code.
Refusals name the rule and its article; the frequency rules feed the compliance table, never a block.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

BRANCH_REGULATION = "《中国共产党支部工作条例（试行）》"
ADMISSION_REGULATION = "《中国共产党发展党员工作细则》"

DEFAULTS: dict = {
    # How often each kind must be held: "month" | "quarter" | "year" | None (no rule). DOMAIN-RULES §2.
    "frequencies": {
        "general_meeting": "quarter",  # 支部工作条例 第十一条
        "committee_meeting": "month",  # 第十二条
        "group_meeting": "month",  # 第十三条 (only branches that have 党小组)
        "theme_day": "month",  # 第十六条
        "life_meeting": "year",  # 第十七条
        "member_appraisal": "year",  # 民主评议党员, generally once a year
        "party_lecture": "quarter",  # 【L】 widespread local practice; the central text sets no number
    },
    # Days after the meeting in which attendees may confirm the minutes; then the record is frozen. 【L】
    "confirm_days": 7,
    # 主题党日 default fixed day: the n-th (1–4, or -1 for the last) weekday (0 = Monday) of each month. 【L】
    "theme_day_week": 1,
    "theme_day_weekday": 1,  # the first Tuesday: the district's practice
    "theme_day_time": "09:00",
    "theme_day_notice_days": 3,  # notices go out this many days before a 主题党日
    # 支部工作条例 第十一条/第十二条 "半数以上": whether exactly half counts as a quorum 【U】 (DOMAIN-RULES §9.15).
    "half_counts_as_quorum": True,
    # 党章 第九条: no organisational life for this many months in a row.
    "inactive_months": 6,
    # Attachments: the biggest file and the allowed types.
    "attachment_max_bytes": 10 * 1024 * 1024,
}

FREQUENCY_ARTICLES = {
    "general_meeting": f"{BRANCH_REGULATION}第十一条",
    "committee_meeting": f"{BRANCH_REGULATION}第十二条",
    "group_meeting": f"{BRANCH_REGULATION}第十三条",
    "theme_day": f"{BRANCH_REGULATION}第十六条",
    "life_meeting": f"{BRANCH_REGULATION}第十七条",
    "member_appraisal": "民主评议党员制度（一般每年一次）",
    "party_lecture": "地方通行做法（可在设置中调整）",
}
PERIOD_LABELS = {"month": "每月", "quarter": "每季度", "year": "每年"}
APPRAISAL_ARTICLE = "民主评议党员（优秀一般不超过参评党员的三分之一）"


def params() -> dict:
    merged = dict(DEFAULTS)
    merged.update(getattr(settings, "DANGJIAN_MEETINGS", {}) or {})
    merged["frequencies"] = {**DEFAULTS["frequencies"], **(merged.get("frequencies") or {})}
    return merged


# --- quorum and majority ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class VoteCheck:
    quorum_ok: bool
    passed: bool
    message: str = ""  # "" when the vote is valid
    rule: str = ""
    article: str = ""


def check_vote(*, voters_expected: int, voters_present: int, yes: int, no: int, abstain: int,
               admission: bool) -> VoteCheck:
    """The quorum and majority of one resolution.

    Quorum: voting members present must be "半数以上" of the voting members who should attend (支部工作条例
    第十一条; whether exactly half suffices is a setting, 【U】), or, for admission and conversion, MORE than
    half (发展党员工作细则 第十九条). Passing: yes votes MORE than half of those who should attend (not of those
    present: 第十一条, 细则 第二十条). Votes cast cannot exceed the voting members present.
    """
    if admission:
        quorum_ok = 2 * voters_present > voters_expected
        quorum_rule, article = "超过应到会有表决权党员的半数", f"{ADMISSION_REGULATION}第十九条"
    else:
        half_ok = params()["half_counts_as_quorum"]
        quorum_ok = 2 * voters_present >= voters_expected if half_ok else 2 * voters_present > voters_expected
        quorum_rule, article = "达到应到会有表决权党员的半数以上", f"{BRANCH_REGULATION}第十一条"
    if voters_expected <= 0 or not quorum_ok:
        return VoteCheck(False, False, f"实到有表决权党员 {voters_present} 人，应到 {voters_expected} 人，"
                                       f"未{quorum_rule}，不能表决", "meetings.quorum", article)
    if yes + no + abstain > voters_present:
        return VoteCheck(True, False, f"赞成、反对、弃权合计 {yes + no + abstain} 票，多于实到有表决权党员 "
                                      f"{voters_present} 人", "meetings.ballot_count", "无记名投票计票规则")
    passed = 2 * yes > voters_expected  # 支部工作条例 第十一条；发展党员工作细则 第二十条
    return VoteCheck(True, passed)


# --- period buckets ------------------------------------------------------------------------------------

def month_key(day: dt.date) -> int:
    return day.year * 100 + day.month


def bucket_of(month: int, period: str) -> tuple[int, int]:
    """(year, index) of the month/quarter/year holding month key YYYYMM."""
    year, m = divmod(month, 100)
    if period == "month":
        return year, m
    if period == "quarter":
        return year, (m - 1) // 3 + 1
    return year, 1


def bucket_bounds(bucket: tuple[int, int], period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a bucket."""
    year, i = bucket
    if period == "month":
        first, months = dt.date(year, i, 1), 1
    elif period == "quarter":
        first, months = dt.date(year, 3 * (i - 1) + 1, 1), 3
    else:
        first, months = dt.date(year, 1, 1), 12
    m = first.month - 1 + months
    nxt = dt.date(first.year + m // 12, m % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def buckets_between(start: dt.date, end: dt.date, period: str) -> list[tuple[int, int]]:
    out = []
    m = month_key(start)
    while m <= month_key(end):
        b = bucket_of(m, period)
        if b not in out:
            out.append(b)
        y, mm = divmod(m, 100)
        m = (y + 1) * 100 + 1 if mm == 12 else m + 1
    return out


def nth_weekday(year: int, month: int, week: int, weekday: int) -> dt.date:
    """The `week`-th (1–4, or -1 for the last) `weekday` (0 = Monday) of a month."""
    if week == -1:
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        last = nxt - dt.timedelta(days=1)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))
