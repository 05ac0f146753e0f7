"""组织关系接转 rules as data (DOMAIN-RULES §4). Local or unverified numbers (【L】/【U】) are settings:
`settings.DANGJIAN_TRANSFERS` is merged key by key over `DEFAULTS`, so a district changes one number without
copying the table."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from dangjian.orgs.models import OrgKind

ART_LETTER = "组通字〔2006〕45号：介绍信有效期一般为30天，最长不超过3个月"
ART_TEMPORARY = "党员证明信：外出6个月以内的临时组织关系"

DEFAULTS: dict = {
    # 介绍信 validity in days (DOMAIN-RULES §4.3 【V3】: generally 30 days, at most 3 months).
    "letter_valid_days": 30,
    "letter_max_valid_days": 92,
    # 党员证明信 (temporary relationship, away under 6 months): how long a certificate may be valid.
    "temporary_max_valid_days": 183,
    # 【U】 no central processing deadline exists (§4.4): remind the receiver's workers after this many days
    # pending, then the receiver's superior after the second number.
    "pending_remind_days": 7,
    "pending_escalate_days": 15,
    # Remind the member and the sender when the letter expires within this many days.
    "expiring_remind_days": 5,
    # Which organisation kinds send and receive (the 基层党委 of §4.1); the nearest such ancestor handles.
    "committee_kinds": [OrgKind.PRIMARY_COMMITTEE, OrgKind.WORKING_COMMITTEE],
    # The capability a worker needs ON the handling 党委 to approve, accept, place and close (see docs).
    "committee_capability": "member.manage",
    # The letter's number: "<issuing 党委>组转〔2026〕第007号".
    "letter_number_format": "{committee}组转〔{year}〕第{n:03d}号",
    # 流动党员 out of contact this long are 失联 (DOMAIN-RULES §4.5; 党员教育管理工作条例): flagged on the roster.
    "lost_contact_months": 6,
    # Pending-by-age buckets of the statistics (upper bounds in days; the last bucket is open).
    "age_buckets": [7, 30, 90],
}


def config() -> dict:
    return {**DEFAULTS, **getattr(settings, "DANGJIAN_TRANSFERS", {})}


def month_label(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月" if day else "（无记录）"
