from django import forms

from .models import Employment, Organization, OrgKind, Position, Sector, UnitCategory


class OrganizationForm(forms.Form):
    name = forms.CharField(label="组织名称", max_length=100)
    kind = forms.ChoiceField(label="组织类型", choices=OrgKind.choices)
    unit_category = forms.ChoiceField(label="单位类别", choices=[("", "—")] + UnitCategory.choices, required=False)
    sector = forms.ChoiceField(label="领域", choices=[("", "—")] + Sector.choices, required=False)
    subdistrict = forms.CharField(label="所属街道", max_length=50, required=False)
    has_approval_authority = forms.BooleanField(label="有审批预备党员权限", required=False,
                                                help_text="发展党员工作细则第二十二条：街道党工委下属的基层党委、党总支等一般没有审批权限")

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("不能为空")
        return name


class MoveForm(forms.Form):
    parent = forms.ModelChoiceField(label="新的上级组织", queryset=Organization.objects.none())

    def __init__(self, *args, parents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name


class DissolveForm(forms.Form):
    on = forms.DateField(label="撤销日期")


class CommitteeMemberForm(forms.Form):
    person_name = forms.CharField(label="姓名", max_length=50)
    position = forms.ChoiceField(label="职务", choices=Position.choices)
    employment = forms.ChoiceField(label="专兼职", choices=Employment.choices, initial=Employment.PART_TIME)
    term_start = forms.DateField(label="任期开始")
    term_end = forms.DateField(label="任期届满")

    def clean(self):
        data = super().clean()
        if data.get("term_start") and data.get("term_end") and data["term_end"] <= data["term_start"]:
            self.add_error("term_end", "应晚于任期开始日期")
        return data


class SeatEndForm(forms.Form):
    left_on = forms.DateField(label="离任日期")


