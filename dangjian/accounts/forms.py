from django import forms

from dangjian.orgs.models import Organization

from .models import User
from .roles import Role


class UserCreateForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    display_name = forms.CharField(label="姓名", max_length=50)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput, help_text="至少8位，不能是常见密码或纯数字")


class PasswordForm(forms.Form):
    password = forms.CharField(label="新密码", widget=forms.PasswordInput)


class GrantForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    organization = forms.ModelChoiceField(label="党组织", queryset=Organization.objects.none(),
                                          help_text="角色覆盖该组织及其全部下级组织")

    def clean_username(self):
        user = User.objects.filter(username=self.cleaned_data["username"].strip()).first()
        if user is None:
            raise forms.ValidationError("没有这个用户名")
        return user

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(is_dissolved=False).order_by("path")
        self.fields["organization"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name


class TokenForm(forms.Form):
    name = forms.CharField(label="用途", max_length=50, help_text="例如：统计报表系统")
