"""The one validator of member data. Pages, the API and the roster import all pass through `MemberForm`,
so a field gets the same Chinese message wherever it was typed."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from dangjian.core import codes
from dangjian.core.validators import normalize_phone, parse_id_number
from dangjian.orgs.models import Organization

from .models import DisciplineKind, MemberStatus, Standing

MIN_AGE = 18  # 党章 第一条；发展党员工作细则 第五条


class MemberForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号", max_length=20)
    gender = forms.ChoiceField(label="性别", choices=[("", "按身份证号")] + codes.Gender.choices, required=False)
    birth_date = forms.DateField(label="出生日期", required=False, help_text="留空时按身份证号填写")
    ethnicity = forms.ChoiceField(label="民族", choices=codes.ETHNICITY_CHOICES, initial=codes.HAN)
    phone = forms.CharField(label="手机号码", max_length=20, required=False)
    education = forms.ChoiceField(label="学历", choices=codes.EDUCATION_CHOICES)
    occupation = forms.ChoiceField(label="职业类别", choices=codes.Occupation.choices)
    work_unit = forms.CharField(label="工作单位", max_length=100, required=False)
    post = forms.CharField(label="职务", max_length=50, required=False)
    address = forms.CharField(label="家庭住址", max_length=200, required=False)
    organization = forms.ModelChoiceField(label="所在党组织", queryset=Organization.objects.none())
    status = forms.ChoiceField(label="党员类别", choices=MemberStatus.choices)
    joined_on = forms.DateField(label="入党日期")
    confirmed_on = forms.DateField(label="转正日期", required=False)
    standing = forms.ChoiceField(label="党籍状态", choices=Standing.choices, initial=Standing.NORMAL)
    is_mobile = forms.BooleanField(label="流动党员", required=False)
    is_lost_contact = forms.BooleanField(label="失联党员", required=False)

    def __init__(self, *args, organizations=None, today: dt.date | None = None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
        self.today = today or timezone.localdate()
        self.editing = editing
        if editing:  # blank keeps the stored (encrypted) value; nothing is decrypted into the form
            for name in ("id_number", "phone"):
                self.fields[name].required = False
                self.fields[name].help_text = "留空表示不修改"

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("不能为空")
        return name

    def clean_id_number(self):
        if self.editing and not self.cleaned_data["id_number"].strip():
            return ""
        info = parse_id_number(self.cleaned_data["id_number"], today=self.today)
        self.id_info = info
        return info.number

    def clean_phone(self):
        raw = self.cleaned_data.get("phone", "")
        return normalize_phone(raw) if raw.strip() else ""

    def clean(self):
        data = super().clean()
        info = getattr(self, "id_info", None)
        if info is not None:
            if data.get("birth_date") and data["birth_date"] != info.birth_date:
                self.add_error("birth_date", f"与身份证号中的出生日期（{info.birth_date.isoformat()}）不一致")
            data["birth_date"] = data.get("birth_date") or info.birth_date
            if data.get("gender") and data["gender"] != info.gender:
                self.add_error("gender", f"与身份证号所示性别（{codes.Gender(info.gender).label}）不一致")
            data["gender"] = data.get("gender") or info.gender
        elif "id_number" not in self.errors:  # editing without a new ID number: the stored one stands
            if not data.get("birth_date"):
                self.add_error("birth_date", "请填写出生日期")
            if not data.get("gender"):
                self.add_error("gender", "请选择性别")
        joined, confirmed, birth = data.get("joined_on"), data.get("confirmed_on"), data.get("birth_date")
        if joined:
            if joined > self.today:
                self.add_error("joined_on", "不能晚于今天")
            if birth and _age(birth, joined) < MIN_AGE:
                self.add_error("joined_on", f"入党时未满{MIN_AGE}周岁（党章第一条）")
        if confirmed:
            if joined and confirmed < joined:
                self.add_error("confirmed_on", "不能早于入党日期")
            if confirmed > self.today:
                self.add_error("confirmed_on", "不能晚于今天")
        status = data.get("status")
        if status == MemberStatus.FULL and not confirmed:
            self.add_error("confirmed_on", "正式党员须填写转正日期")
        if status == MemberStatus.PROBATIONARY and confirmed:
            self.add_error("confirmed_on", "预备党员不应有转正日期")
        org = data.get("organization")
        if org is not None and org.is_dissolved:
            self.add_error("organization", "该组织已撤销")
        if self.editing:
            for name in ("id_number", "phone"):
                if not data.get(name):
                    data.pop(name, None)
        return data


class DateInput(forms.DateInput):
    input_type = "date"


def _date(label: str, **kw) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput(), error_messages={"invalid": "请输入日期，如 2026-11-29"}, **kw)


class DisciplineForm(forms.Form):
    """记录党纪处分. The dates are checked together by `services.discipline_record` (messages name the field)."""

    kind = forms.ChoiceField(label="处分种类", choices=DisciplineKind.choices)
    decided_on = _date("处分日期")
    decided_by = forms.CharField(label="作出处分的党组织", max_length=100)
    in_effect_until = _date("影响期至", required=False, help_text="留党察看填察看期满日期")
    document_number = forms.CharField(label="文号", max_length=50, required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)


class DisciplineUpdateForm(forms.Form):
    """End a discipline (影响期至) or restore the member's rights (留党察看), checked by `discipline_update`."""

    in_effect_until = _date("影响期至", required=False, help_text="留党察看填察看期满日期")
    rights_restored_on = _date("恢复党员权利日期", required=False, help_text="只适用于留党察看")
    document_number = forms.CharField(label="文号", max_length=50, required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    """Per-field messages that name the field: "身份证号：校验位不正确"."""
    out: dict[str, list[str]] = {}
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        out[field] = [f"{label}：{e}" if label else e for e in errors]
    return out
