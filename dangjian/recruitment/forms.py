"""Forms of the 发展党员 pages: types, lengths and choices here; every rule of the 细则 in services.py, whose
refusals come back onto these fields (core.forms.apply_domain_error), so the field names are the services'
field names (`on`, `body`, `voters_present`, the detail keys of workflow.DETAIL_LABELS …)."""

from __future__ import annotations

import datetime as dt

from django import forms

from dangjian.core import codes
from dangjian.orgs.models import Organization

from . import workflow
from .models import Body, ConsentMethod, DocumentKind, LocalPractice, Outcome, PersonRole
from .services import PLAN_FIELDS, PRACTICE_FIELDS

REQUIRED = {"required": "请填写"}
CHOOSE = {"required": "请选择", "invalid_choice": "请从列表中选择"}
NUMBER = {"invalid": "请填写整数", "min_value": "不能为负数", "max_value": "数值过大"}
DATE = {"required": "请填写", "invalid": "请填写正确的日期，如2026-06-01"}
DATE_DETAILS = ("public_notice_from", "public_notice_to")
NUMBER_DETAILS = ("training_days", "training_hours", "extension_months")
CHECK_DETAILS = ("leaving_soon",)
LONG_DETAILS = ("assessment", "conclusion", "reason", "special_reason")
MEETING_BODIES = (Body.BRANCH_COMMITTEE, Body.BRANCH_GENERAL, Body.COMMITTEE)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def date_field(label: str, *, required: bool = True, **kw) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput(), error_messages=DATE, **kw)


def number_field(label: str, *, required: bool = False, max_value: int = 100000, **kw) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=required, min_value=0, max_value=max_value,
                              error_messages={**NUMBER, **REQUIRED}, widget=forms.NumberInput(attrs={"min": 0}), **kw)


def org_field(label: str, organizations, *, required: bool = True) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(label=label, queryset=organizations, required=required, error_messages=CHOOSE)
    field.label_from_instance = lambda o: "　" * (o.depth - 1) + o.name
    return field


# --- the case ----------------------------------------------------------------------------------------------

class CaseForm(forms.Form):
    """递交入党申请书: the person and where they applied. The ID number gives gender and birth date."""

    name = forms.CharField(label="姓名", max_length=50, error_messages=REQUIRED)
    id_number = forms.CharField(label="身份证号", max_length=18, error_messages=REQUIRED,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}),
                                help_text="18位居民身份证号码；性别、出生日期由此计算，保存后只显示部分号码")
    phone = forms.CharField(label="手机号码", max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    ethnicity = forms.ChoiceField(label="民族", choices=codes.ETHNICITY_CHOICES, initial=codes.HAN, error_messages=CHOOSE)
    education = forms.ChoiceField(label="学历", choices=[("", "请选择"), *codes.EDUCATION_CHOICES], error_messages=CHOOSE)
    occupation = forms.ChoiceField(label="职业类别", choices=[("", "请选择"), *codes.Occupation.choices],
                                   error_messages=CHOOSE)
    work_unit = forms.CharField(label="工作或学习单位", max_length=100, required=False)
    is_mobile_person = forms.BooleanField(label="流动人员", required=False,
                                          help_text="流动人员确定为发展对象时，须在流出地和流入地同时公示（细则第十三条）")
    organization = forms.ModelChoiceField(label="培养党组织", queryset=Organization.objects.none(), error_messages=CHOOSE)
    applied_on = date_field("递交申请日期")
    consent_method = forms.ChoiceField(
        label="个人信息处理同意", choices=[("", "请选择"), *ConsentMethod.choices],
        error_messages={**CHOOSE, "required": "未取得申请人同意不能建立档案，请选择同意方式（在告知书上书面签字，或本人在线确认）"},
        help_text="申请人阅读《入党申请人个人信息处理告知书》后，在告知书上签字，或本人在手机上确认；未取得同意不能建立档案")
    consent_on = date_field("同意日期", help_text="申请人签字或确认的日期")
    username = forms.CharField(label="本人登录账号", max_length=150, required=False,
                               help_text="可选：本人已有平台账号的，填写其用户名，本人即可在手机上查看入党进度")
    note = forms.CharField(label="备注", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"] = org_field("培养党组织", organizations)
            self.order_fields(["name", "id_number", "phone", "ethnicity", "education", "occupation", "work_unit",
                               "is_mobile_person", "organization", "applied_on", "consent_method", "consent_on",
                               "username", "note"])


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label="材料类型", choices=[("", "请选择"), *DocumentKind.choices], error_messages=CHOOSE)
    file = forms.FileField(label="文件", error_messages={"required": "请选择文件", "empty": "文件是空的"},
                           help_text="PDF、JPG、PNG或DOCX，不超过10MB",
                           widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx"}))


class EndForm(forms.Form):
    on = date_field("终止日期")
    reason = forms.CharField(label="终止原因", max_length=200, error_messages=REQUIRED,
                             help_text="如：本人撤回入党申请、政治审查不合格")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "end")
        super().__init__(*args, **kwargs)


class MoveForm(forms.Form):
    to = forms.ModelChoiceField(label="转入党组织", queryset=Organization.objects.none(), error_messages=CHOOSE)
    on = date_field("转移日期")

    def __init__(self, *args, organizations=None, **kwargs):
        kwargs.setdefault("prefix", "move")
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["to"] = org_field("转入党组织", organizations)
            self.order_fields(["to", "on"])


# --- one step ------------------------------------------------------------------------------------------------

class StepForm(forms.Form):
    """The fields of one step, derived from its row in workflow.STEPS."""

    def __init__(self, *args, step: workflow.Step, meetings=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        f = self.fields
        f["on"] = date_field("日期", help_text="该步骤实际办理或会议召开的日期")
        f["body"] = forms.ChoiceField(label="决定或办理主体", choices=[(b, Body(b).label) for b in step.bodies],
                                      initial=step.bodies[0], error_messages=CHOOSE)
        if len(step.outcomes) > 1:
            f["outcome"] = forms.ChoiceField(label="结果", choices=[(o, Outcome(o).label) for o in step.outcomes],
                                             initial=step.outcomes[0], error_messages=CHOOSE)
        if any(b in MEETING_BODIES for b in step.bodies):
            f["meeting"] = forms.ModelChoiceField(
                label="会议", queryset=meetings, required=False, empty_label="（不选择：在下面填写文字记录）",
                error_messages=CHOOSE, help_text="办理党组织已召开的会议，最近的在前；会议日期须与本步骤日期一致")
            f["meeting"].label_from_instance = lambda m: f"{m.held_on:%Y-%m-%d} {m.title}"
            f["meeting_ref"] = forms.CharField(label="会议（文字记录）", max_length=100, required=False,
                                               help_text="会议未在平台记录时填写，如“2026年第3次支部委员会会议”")
        if step.vote:
            f["voters_expected"] = number_field("应到会有表决权党员", required=True,
                                                help_text="正式党员人数（预备党员、受留党察看处分的党员无表决权）")
            f["voters_present"] = number_field("实到会有表决权党员", required=True)
            f["written_opinions"] = number_field("书面意见", help_text="因故不能到会、会前正式向党支部提出书面意见的表决权党员")
            f["yes"] = number_field("赞成", required=True)
            f["no"] = number_field("反对", required=True)
            f["abstain"] = number_field("弃权", required=True)
        if step.people:
            label = PersonRole(step.people).label
            f["people"] = forms.ModelMultipleChoiceField(
                label=label, queryset=people, required=False, widget=forms.CheckboxSelectMultiple,
                error_messages={"invalid_choice": "请从列表中选择", "invalid_pk_value": "请从列表中选择"},
                help_text="本党组织的正式党员；培养联系人1至2名，入党介绍人2名")
            f["people"].label_from_instance = lambda m: f"{m.name}（{m.organization.name}）"
        for key in step.details:
            label = workflow.DETAIL_LABELS[key]
            if key in DATE_DETAILS:
                f[key] = date_field(label, required=False)
            elif key in NUMBER_DETAILS:
                f[key] = number_field(label, max_value=1000)
            elif key in CHECK_DETAILS:
                f[key] = forms.BooleanField(label=label, required=False)
            else:
                widget = forms.Textarea(attrs={"rows": 2}) if key in LONG_DETAILS else forms.TextInput()
                f[key] = forms.CharField(label=label, max_length=500, required=False, widget=widget)
        f["note"] = forms.CharField(label="备注", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def step_input(self):
        """The cleaned data as services.StepInput (dates of details as ISO text, like the API sends them)."""
        from .services import StepInput

        d = self.cleaned_data
        details = {}
        for key in self.step.details:
            value = d.get(key)
            if isinstance(value, dt.date):
                value = value.isoformat()
            details[key] = value
        return StepInput(
            number=self.step.number, on=d["on"], body=d["body"], outcome=d.get("outcome") or self.step.outcomes[0],
            meeting=d.get("meeting"), meeting_ref=d.get("meeting_ref") or "",
            **{k: d.get(k) for k in ("voters_expected", "voters_present", "written_opinions", "yes", "no", "abstain")},
            details=details, people=list(d.get("people") or []), note=d.get("note") or "")


# --- plans, statistics, local practice ----------------------------------------------------------------------

class YearForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100, error_messages=NUMBER)


class PlanForm(forms.Form):
    organization = forms.ModelChoiceField(label="党委", queryset=Organization.objects.none(), error_messages=CHOOSE)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100,
                              error_messages={**NUMBER, **REQUIRED, "min_value": "请填写正确的年份",
                                              "max_value": "请填写正确的年份"})
    note = forms.CharField(label="说明", max_length=200, required=False)

    def __init__(self, *args, committees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if committees is not None:
            self.fields["organization"] = org_field("党委", committees)
        for key, label in PLAN_FIELDS.items():
            self.fields[key] = number_field(label, required=key == "total")
        self.order_fields(["organization", "year", *PLAN_FIELDS, "note"])


class StatisticsForm(forms.Form):
    org = forms.ModelChoiceField(label="党组织", queryset=Organization.objects.none(), required=False,
                                 empty_label="全部可见党组织", error_messages=CHOOSE)
    start = date_field("起始日期")
    end = date_field("截止日期")

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["org"] = org_field("党组织", organizations, required=False)
            self.fields["org"].empty_label = "全部可见党组织"
            self.order_fields(["org", "start", "end"])

    def clean(self):
        d = super().clean()
        if d.get("start") and d.get("end") and d["end"] < d["start"]:
            self.add_error("end", "不能早于起始日期")
        return d


class PracticeForm(forms.Form):
    """§1.7 local practices: every field blank = not adopted here (what is set above still applies)."""

    def __init__(self, *args, inherited: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        inherited = inherited or {}
        for key in PRACTICE_FIELDS:
            label = LocalPractice._meta.get_field(key).verbose_name
            above = inherited.get(key)
            hint = f"上级已设定：{above[0]}（{above[1]}）；本级留空即沿用" if above else "留空表示不采用"
            self.fields[key] = forms.IntegerField(label=label, required=False, min_value=1, max_value=120,
                                                  help_text=hint,
                                                  error_messages={"invalid": "请填写整数，留空表示不采用",
                                                                  "min_value": "应在1至120之间，留空表示不采用",
                                                                  "max_value": "应在1至120之间，留空表示不采用"})
