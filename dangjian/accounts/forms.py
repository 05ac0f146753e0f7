from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.text import format_lazy

from dangjian.orgs.models import Organization

from .models import User
from .roles import Role


def _password_rule() -> str:
    return (f"至少8个字符，包含大写字母、小写字母、数字、符号中的至少三类，"
            f"不能与最近{settings.DANGJIAN_PASSWORD_HISTORY}次用过的密码相同")


PASSWORD_RULE = lazy(_password_rule, str)()


class UserCreateForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    display_name = forms.CharField(label="姓名", max_length=50)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput,
                               help_text=format_lazy("{}；用户首次登录时须修改", PASSWORD_RULE))


class PasswordForm(forms.Form):
    password = forms.CharField(label="新密码", widget=forms.PasswordInput,
                               help_text=format_lazy("{}；用户下次登录时须修改", PASSWORD_RULE))


class PasswordChangeForm(forms.Form):
    """A user's own change. The rules themselves are checked by the service (validate_password)."""

    old_password = forms.CharField(label="原密码", strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label="新密码", strip=False, help_text=PASSWORD_RULE,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password_again = forms.CharField(label="再次输入新密码", strip=False,
                                         widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password_again") not in (None, data["new_password"]):
            self.add_error("new_password_again", "两次输入的新密码不一致")
        return data


class CodeForm(forms.Form):
    code = forms.CharField(label="验证码", max_length=12, help_text="认证器应用上显示的6位数字",
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                         "pattern": "[0-9 ]*", "autofocus": True}))


class TotpResetForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150, help_text="该用户下次登录时须重新绑定认证器")

    def clean_username(self):
        user = User.objects.filter(username=self.cleaned_data["username"].strip()).first()
        if user is None:
            raise forms.ValidationError("没有这个用户名")
        return user


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
