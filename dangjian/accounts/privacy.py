"""The facts the privacy notice (《个人信息保护政策》, 个人信息保护法 第十七条) states that come from settings: who
processes (the district's 组织部), how to reach them, the retention periods, and the version people agree to.
One place, so the public page, the consent page and docs/privacy.md cannot say different things."""

from __future__ import annotations

from django.conf import settings


def _days_in_words(days: int) -> str:
    """1095 → "3 年"; a period that is not whole years is said in days."""
    return f"{days // 365} 年" if days and days % 365 == 0 else f"{days} 天"


def notice_facts() -> dict:
    district = settings.DANGJIAN_DISTRICT_NAME
    return {
        "version": settings.DANGJIAN_PRIVACY_NOTICE_VERSION,
        "district": district,
        "controller": f"中共{district}委组织部",
        "contact": settings.DANGJIAN_PRIVACY_CONTACT,
        "applicant_retention": _days_in_words(settings.DANGJIAN_APPLICANT_RETENTION_DAYS),
        "audit_online_months": settings.DANGJIAN_AUDIT_ONLINE_MONTHS,
        "totp_for_staff": settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF,
    }
