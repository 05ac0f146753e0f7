"""Forms of the transfer pages: types and lengths here, every domain rule in the services."""

from __future__ import annotations

from django import forms

from dangjian.orgs.models import Organization

from .models import TransferKind


class TransferForm(forms.Form):
    kind = forms.ChoiceField(label="转接类型", choices=[(k, v) for k, v in TransferKind.choices if k != "in"])
    to_org = forms.ModelChoiceField(label="转入党组织", queryset=Organization.objects.none(), required=False,
                                    help_text="区内转接：选择接收的党支部或党委")
    to_external = forms.CharField(label="转入党组织（区外）", max_length=100, required=False,
                                  help_text="转出本区或临时外出：填写接收党组织的准确全称")
    reason = forms.CharField(label="转接原因", max_length=200, required=False)

    def __init__(self, *args, destinations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if destinations is not None:
            self.fields["to_org"].queryset = destinations


class IncomingForm(forms.Form):
    to_org = forms.ModelChoiceField(label="转入党组织", queryset=Organization.objects.none())
    person_name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号", max_length=20)
    from_external = forms.CharField(label="转出党组织（区外）", max_length=100)
    letter_number = forms.CharField(label="介绍信编号", max_length=60)
    valid_until = forms.DateField(label="有效期至")
    dues_paid_up_to = forms.DateField(label="党费交至", required=False, help_text="填该月任意一天，如 2026-10-01")

    def __init__(self, *args, destinations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if destinations is not None:
            self.fields["to_org"].queryset = destinations


class ApproveForm(forms.Form):
    valid_days = forms.IntegerField(label="有效期（天）", required=False, min_value=1, max_value=366,
                                    help_text="一般30天，最长不超过3个月")


class ReasonForm(forms.Form):
    reason = forms.CharField(label="退回原因", max_length=200)


class PlaceForm(forms.Form):
    branch = forms.ModelChoiceField(label="党支部", queryset=Organization.objects.none())

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches


class MobileForm(forms.Form):
    left_on = forms.DateField(label="外出日期")
    destination = forms.CharField(label="流入地", max_length=100)
    contact = forms.CharField(label="联系方式", max_length=100)
    card_number = forms.CharField(label="流动党员活动证编号", max_length=40, required=False)


class WholeUnitForm(forms.Form):
    unit = forms.ModelChoiceField(label="转接的党组织", queryset=Organization.objects.none())
    to_parent = forms.ModelChoiceField(label="接收的上级党组织", queryset=Organization.objects.none())
    reason = forms.CharField(label="原因", max_length=200, required=False, help_text="如：单位隶属关系调整")

    def __init__(self, *args, units=None, parents=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units
        if parents is not None:
            self.fields["to_parent"].queryset = parents
