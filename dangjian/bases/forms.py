"""Form validation of the base pages: types and required fields, each named in Chinese. The rules
(capacity, opening hours, cut-off, coordinates) live in the services and come back onto these forms."""

from __future__ import annotations

from django import forms

from dangjian.orgs.models import Organization

from .models import WEEKDAY_LABELS, BaseCategory, SiteKind


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self):
        super().__init__(format="%H:%M")


def _org_choice(label):
    return forms.ModelChoiceField(label=label, queryset=Organization.objects.none(),
                                  error_messages={"required": "请选择", "invalid_choice": "请从列表中选择"})


def _label_tree(field, organizations):
    field.queryset = organizations
    field.label_from_instance = lambda o: "　" * (o.depth - 1) + o.name


class SiteForm(forms.Form):
    organization = _org_choice("管理组织")
    name = forms.CharField(label="名称", max_length=100)
    kind = forms.ChoiceField(label="类型", choices=SiteKind.choices)
    category = forms.ChoiceField(label="基地类别", choices=[("", "（非开放式组织生活基地不填）"), *BaseCategory.choices],
                                 required=False)
    address = forms.CharField(label="地址", max_length=200)
    street = forms.CharField(label="所属街道", max_length=50, required=False)
    longitude = forms.DecimalField(label="经度", max_digits=9, decimal_places=6, required=False,
                                   help_text="东经，如 116.397500", error_messages={"invalid": "请输入数字"})
    latitude = forms.DecimalField(label="纬度", max_digits=8, decimal_places=6, required=False,
                                  help_text="北纬，如 39.908700", error_messages={"invalid": "请输入数字"})
    opens_at = forms.TimeField(label="开放时间（起）", widget=TimeInput(), error_messages={"invalid": "请输入时间，如 09:00"})
    closes_at = forms.TimeField(label="开放时间（止）", widget=TimeInput(), error_messages={"invalid": "请输入时间，如 17:00"})
    open_weekdays = forms.MultipleChoiceField(label="开放日", widget=forms.CheckboxSelectMultiple,
                                              choices=[(str(i), "周" + c) for i, c in enumerate(WEEKDAY_LABELS)])
    hours_note = forms.CharField(label="开放时间说明", max_length=200, required=False, help_text="如：法定节假日闭馆")
    capacity = forms.IntegerField(label="可容纳人数", min_value=1, max_value=100000)
    contact_name = forms.CharField(label="联系人", max_length=50, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=30, required=False)
    contact_public = forms.BooleanField(label="在公开页面显示联系电话", required=False,
                                        help_text="请只公开办公电话，勿公开个人手机")
    services = forms.CharField(label="服务项目", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}), help_text="每行一项")
    description = forms.CharField(label="简介", required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    photo = forms.FileField(label="照片", required=False, help_text="JPG 或 PNG，不超过 5 MB")
    requires_approval = forms.BooleanField(label="预约需审核", required=False, initial=True)
    is_published = forms.BooleanField(label="对外公开（目录与地图）", required=False, initial=True)

    def __init__(self, *args, organizations=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["organization"]
        elif organizations is not None:
            _label_tree(self.fields["organization"], organizations)

    def clean_open_weekdays(self):
        return "".join(sorted(self.cleaned_data["open_weekdays"]))


class SlotsForm(forms.Form):
    first = forms.DateField(label="开始日期", widget=DateInput(), error_messages={"invalid": "请输入日期，如 2026-12-01"})
    last = forms.DateField(label="结束日期", widget=DateInput(), error_messages={"invalid": "请输入日期，如 2026-12-31"})
    times = forms.CharField(label="时段", max_length=200, initial="09:00-11:00, 14:00-16:00",
                            help_text="一个或多个时段，用逗号分开，须在开放时间内")
    capacity = forms.IntegerField(label="每个时段名额（人）", min_value=1, required=False,
                                  help_text="不填则为基地可容纳人数")


class BookingForm(forms.Form):
    branch = _org_choice("预约党组织")
    people = forms.IntegerField(label="预约人数", min_value=1, max_value=100000,
                                error_messages={"min_value": "应为大于 0 的整数", "invalid": "请输入整数"})
    purpose = forms.CharField(label="活动内容", max_length=100, initial="主题党日")
    contact_name = forms.CharField(label="联系人", max_length=50)
    contact_phone = forms.CharField(label="联系电话", max_length=30)
    waitlist = forms.BooleanField(label="名额不足时登记候补", required=False,
                                  help_text="有名额空出时按登记顺序通知，须在期限内确认")

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            _label_tree(self.fields["branch"], organizations)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=200, required=False)


class CheckInForm(forms.Form):
    attended = forms.IntegerField(label="实到人数", min_value=0, error_messages={"invalid": "请输入整数"})


class CloseSlotForm(forms.Form):
    reason = forms.CharField(label="关闭原因", max_length=200)
