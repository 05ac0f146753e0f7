"""党费 rules as data (DOMAIN-RULES §3), and the one engine that computes a monthly amount.

Every number a regulation or a local practice sets lives in `DEFAULTS`; a deployment overrides any of them
with `settings.DANGJIAN_DUES` (merged key by key over the defaults, so a district changes one rate without
copying the table). Money is integer 分 everywhere; rates are basis points (1% = 100), so no float is ever
involved.

§3.1: the rate of the band the base falls in applies to the **whole** base (not a marginal tax): a base of
3000.01 元 pays 1% of 3000.01 元, not 0.5% of 3000 元 plus 1% of 1 分.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import models

from dangjian.core import dates
from dangjian.core.errors import RuleViolation, ValidationFailed

ART_RATES = "中组发〔2008〕3号 第一、二、三条"
ART_FIXED_YEARLY = "中组发〔2008〕3号；《旗帜》2021年第10期"
ART_BACKPAY = "《旗帜》2021年第10期：特殊情况经党支部同意可补交，补交时间一般不超过6个月"
ART_PREPAY = "2013年中组部答问：预交须经党支部同意"
ART_QUARTERLY = "《旗帜》2021年第10期：特殊情况经党支部同意可按季度交纳"


class Category(models.TextChoices):
    """党费交纳类别 (DOMAIN-RULES §3.1)."""

    EMPLOYED = "employed", "在职（工资收入）"
    ANNUAL_SALARY = "annual_salary", "年薪制"
    SELF_EMPLOYED = "self_employed", "个体经营者等（无固定工资）"
    RETIRED = "retired", "离退休"
    FARMER = "farmer", "农民"
    STUDENT = "student", "学生"
    UNEMPLOYED = "unemployed", "下岗失业"
    RELIEF = "relief", "依靠抚恤或救济生活"
    SUBSISTENCE = "subsistence", "领取最低生活保障金"


# A band: (upper bound of the base in 分, inclusive; None = no bound, rate in basis points).
SALARIED_BANDS = [(300_000, 50), (500_000, 100), (1_000_000, 150), (None, 200)]
RETIRED_BANDS = [(500_000, 50), (None, 100)]

DEFAULTS: dict = {
    # category → {"kind": "rate", "bands": [...], "article": ...} | {"kind": "fixed", "fen": n, "article": ...}
    "categories": {
        Category.EMPLOYED: {"kind": "rate", "bands": SALARIED_BANDS, "article": ART_RATES,
                            "base_label": "税后工资中相对固定、经常性的部分"},
        Category.ANNUAL_SALARY: {"kind": "rate", "bands": SALARIED_BANDS, "article": ART_RATES,
                                 "base_label": "当月实际领取的薪酬"},
        Category.SELF_EMPLOYED: {"kind": "rate", "bands": SALARIED_BANDS, "article": ART_RATES,
                                 "base_label": "上一季度月平均纯收入"},
        Category.RETIRED: {"kind": "rate", "bands": RETIRED_BANDS, "article": ART_RATES,
                           "base_label": "基本离退休费或基本养老金"},
        # 0.2–1 元 a month, the exact amount set by the provincial committee: 【L】, hence a setting.
        Category.FARMER: {"kind": "fixed", "fen": 20, "article": ART_RATES},
        Category.STUDENT: {"kind": "fixed", "fen": 20, "article": ART_RATES},
        Category.UNEMPLOYED: {"kind": "fixed", "fen": 20, "article": ART_RATES},
        Category.RELIEF: {"kind": "fixed", "fen": 20, "article": ART_RATES},
        Category.SUBSISTENCE: {"kind": "fixed", "fen": 20, "article": ART_RATES},
    },
    # Rounding to 分 is not set centrally (DOMAIN-RULES §3.3 【U】): "half_up" (四舍五入), "down" or "up".
    "rounding": "half_up",
    # A monthly base above this is refused as a typing error (e.g. a yearly figure in the monthly field).
    "base_max_fen": 10_000_000,  # 10万元 a month
    # Unpaid months that raise a warning; the last one is the step before 自行脱党 (党章 第九条: 6 months).
    "arrears_warning_months": [3, 5],
    "self_departure_months": 6,  # 党章 第九条 【V】
    "backpay_max_months": 6,  # 补交 ≤ 6 months 【V】 [S39]
    # Months after the current one that may be paid in advance (2 = the whole quarter at once, with consent).
    # Prepayment beyond a quarter is 【U】: allowed only if the unit's 党委 permits, so a setting.
    "prepay_max_months": 2,
    "centre_voluntary_fen": 100_000,  # a single voluntary payment ≥ 1000 元 goes wholly to the Centre 【V】
}


def config() -> dict:
    """The defaults with `settings.DANGJIAN_DUES` merged over them (categories merged one by one)."""
    override = getattr(settings, "DANGJIAN_DUES", {}) or {}
    out = {**DEFAULTS, **{k: v for k, v in override.items() if k != "categories"}}
    cats = {str(k): dict(v) for k, v in DEFAULTS["categories"].items()}
    for k, v in (override.get("categories") or {}).items():
        cats[str(k)] = {**cats.get(str(k), {}), **v}
    out["categories"] = cats
    return out


def rule_of(category: str) -> dict:
    rule = config()["categories"].get(str(category))
    if rule is None:
        raise ValidationFailed("交纳类别无效", fields={"category": ["交纳类别：不是可选的类别"]})
    return rule


def uses_base(category: str) -> bool:
    return rule_of(category)["kind"] == "rate"


def _divide(numerator: int, denominator: int, how: str) -> int:
    q, r = divmod(numerator, denominator)
    if how == "down" or r == 0:
        return q
    if how == "up":
        return q + 1
    return q + 1 if 2 * r >= denominator else q  # half up (numerator is never negative here)


@dataclass(frozen=True)
class Amount:
    monthly_fen: int
    rate_bp: int | None  # None for a fixed amount
    article: str

    @property
    def rate_label(self) -> str:
        return "定额" if self.rate_bp is None else f"{self.rate_bp / 100:g}%"


def check_base(dues_base_fen: int | None, category: str) -> int:
    """The base as the engine accepts it; a negative or absurd base is refused naming the field."""
    if not uses_base(category):
        return 0
    if dues_base_fen is None:
        raise ValidationFailed("请填写交纳基数", fields={"dues_base_fen": ["交纳基数：按比例交纳的类别必须填写月交纳基数"]})
    if dues_base_fen < 0:
        raise ValidationFailed("交纳基数不能为负数", fields={"dues_base_fen": ["交纳基数：不能为负数"]})
    ceiling = config()["base_max_fen"]
    if dues_base_fen > ceiling:
        raise ValidationFailed(
            "交纳基数超出合理范围",
            fields={"dues_base_fen": [f"交纳基数：每月超过 {yuan(ceiling)} 元，请核对是否误填了年收入或多写了位数"]},
        )
    return dues_base_fen


def monthly_amount(category: str, dues_base_fen: int | None) -> Amount:
    """The engine: the monthly dues for a category and a monthly base, in 分 (§3.1)."""
    rule = rule_of(category)
    if rule["kind"] == "fixed":
        return Amount(int(rule["fen"]), None, rule["article"])
    base = check_base(dues_base_fen, category)
    for upper, bp in rule["bands"]:
        if upper is None or base <= upper:
            return Amount(_divide(base * bp, 10_000, config()["rounding"]), bp, rule["article"])
    raise AssertionError("a band table must end with an unbounded band")  # pragma: no cover


# --- Months --------------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The month `n` months after `month`, as its first day: dues count whole months, so any day of a month
    stands for that month (`paid_up_to` and every month key are first days)."""
    return dates.add_months(month_start(month), n)


def months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from month `a` to month `b` (b − a)."""
    return (b.year - a.year) * 12 + b.month - a.month


def month_label(month: dt.date | None) -> str:
    return f"{month.year}年{month.month}月" if month else "—"


def yuan(fen: int | None) -> str:
    """分 → "1234.50" (元, two decimals), exactly."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: str, *, field: str, label: str) -> int:
    """"1234.5" → 123450 分; anything else (three decimals, letters, commas) is refused naming the field."""
    raw = unicodedata.normalize("NFKC", text or "").strip().replace("，", "").replace(",", "").removesuffix("元").strip()
    m = re.fullmatch(r"(-?)([0-9]{1,12})(?:\.([0-9]{1,2}))?", raw)
    if not m:
        raise ValidationFailed(f"{label}格式不正确",
                               fields={field: [f"{label}：应为金额（元），最多两位小数，如 3500 或 3500.50"]})
    fen = int(m[2]) * 100 + int((m[3] or "0").ljust(2, "0"))
    return -fen if m[1] else fen


def arrears_level(months: int) -> str:
    """"" | "warning" (≥ first warning) | "danger" (≥ last warning) | "lapsed" (≥ 自行脱党 months)."""
    cfg = config()
    warn = sorted(cfg["arrears_warning_months"])
    if months >= cfg["self_departure_months"]:
        return "lapsed"
    if warn and months >= warn[-1]:
        return "danger"
    if warn and months >= warn[0]:
        return "warning"
    return ""


ARREARS_TEXT = {
    "warning": "已连续{n}个月未交纳党费，请及时交纳",
    "danger": "已连续{n}个月未交纳党费；按党章第九条，连续6个月不交纳党费将被认为自行脱党，请立即交纳",
    "lapsed": "已连续{n}个月未交纳党费。党章第九条：没有正当理由，连续6个月不交纳党费的，"
              "就被认为是自行脱党，请党支部按规定处理",
}


def arrears_text(months: int) -> str:
    level = arrears_level(months)
    return ARREARS_TEXT[level].format(n=months) if level else ""


def refuse(message: str, *, rule: str, article: str, field: str | None = None, label: str = ""):
    """A RuleViolation naming the rule and its article; on `field`, as "<label>：<message>（<article>）"."""
    fields = {field: [f"{label or FIELD_LABELS.get(field, field)}：{message}（{article}）"]} if field else None
    return RuleViolation(message, rule=rule, article=article, fields=fields)


FIELD_LABELS = {"first_month": "所属月份", "months": "月数", "consent": "支部同意", "correction": "更正"}
