"""Forms of the 党费 pages. Amounts are typed in 元 (two decimals at most) and become integer 分 here;
every rule beyond the shape of a field is the service's business, so pages and the API refuse alike."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from dangjian.core.errors import ValidationFailed

from . import rules
from .models import Method

MONTH = re.compile(r"^\s*(\d{4})\s*(?:-|/|年)\s*(\d{1,2})\s*(?:月|-\d{1,2})?\s*$")


def parse_month(text: str) -> dt.date:
    m = MONTH.match(text or "")
    if not m or not 1 <= int(m[2]) <= 12 or not 2000 <= int(m[1]) <= 2100:
        raise ValidationError("应为年月，如 2026-11")
    return dt.date(int(m[1]), int(m[2]), 1)


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})

    def to_python(self, value):
        value = super().to_python(value)
        return parse_month(value) if value else None


class YuanField(forms.CharField):
    """An amount in 元 → integer 分 (never a float)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)
        self.validators = []  # the length limit is checked on the text in to_python; the value is an int
        self.widget.attrs.update({"inputmode": "decimal", "placeholder": "0.00"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        if len(value) > self.max_length:
            raise ValidationError(f"不能超过{self.max_length}个字符")
        try:
            fen = rules.parse_yuan(value, field="x", label="金额")
        except ValidationFailed:
            raise ValidationError("应为金额（元），最多两位小数，如 3500 或 3500.50") from None
        if fen < 0:
            raise ValidationError("不能为负数")
        return fen


def _year_choices(today: dt.date):
    return [(y, f"{y}年") for y in (today.year + 1, today.year, today.year - 1)]


class AssessmentForm(forms.Form):
    year = forms.TypedChoiceField(label="年度", coerce=int)
    category = forms.ChoiceField(label="交纳类别", choices=rules.Category.choices)
    dues_base_fen = YuanField(label="月交纳基数（元）", required=False,
                         help_text="按比例交纳的类别填写：在职为税后工资中相对固定、经常性的部分；离退休为基本离退休费。定额类别留空")
    first_month = forms.TypedChoiceField(label="起交月份", coerce=int, required=False, empty_value=None,
                                         choices=[("", "自动（1月，或当年入党月份）")] + [(i, f"{i}月") for i in range(1, 13)])
    paid_through = MonthField(label="此前已交至", required=False,
                              help_text="首次核定时可填：该党员在平台启用前已交纳到的月份")
    correction = forms.BooleanField(label="更正已核定的本年度党费（录入有误）", required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)

    def __init__(self, *args, today: dt.date | None = None, first_time: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _year_choices(today or timezone.localdate())
        if not first_time:
            self.fields["paid_through"].help_text = "已交至由交纳记录决定；仅在勾选“更正”并在备注中说明原因时可改"


class PaymentForm(forms.Form):
    first_month = MonthField(label="从哪个月起", required=False, help_text="留空表示从欠交的第一个月起")
    months = forms.IntegerField(label="月数", min_value=0, max_value=12, initial=1,
                                help_text="一次登记连续几个月（只登记自愿多交时填 0）")
    method = forms.ChoiceField(label="交纳方式", choices=Method.choices)
    proxy_name = forms.CharField(label="代交人", max_length=50, required=False)
    consent = forms.BooleanField(label="已经党支部同意（按季度交纳、预交时必选）", required=False)
    paid_on = forms.DateField(label="交纳日期", widget=forms.DateInput(attrs={"type": "date"}))
    voluntary_fen = YuanField(label="自愿多交（元）", required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)

    def clean_voluntary_fen(self):
        return self.cleaned_data.get("voluntary_fen") or 0


class ReductionForm(forms.Form):
    monthly_fen = YuanField(label="申请月交纳额（元）", help_text="免交填 0")
    reason = forms.CharField(label="困难情况", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="审批结果", choices=[("approve", "批准"), ("reject", "不批准")],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label="审批意见", max_length=500, required=False)
