"""Forms of the notification pages. They only shape the input: the services say what is acceptable (an empty
or too long reply, an unknown template variable), so a page and the API refuse with the same words."""

from __future__ import annotations

import datetime as dt

from django import forms

from . import channels


class ReplyForm(forms.Form):
    # No max_length here: reply_create counts the characters and names the limit in its message.
    body = forms.CharField(label="留言", required=False, strip=False,
                           widget=forms.Textarea(attrs={"rows": 4, "placeholder": "写下您想对党组织说的话"}))


class TemplateForm(forms.Form):
    title = forms.CharField(label="标题", required=False, strip=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))
    body = forms.CharField(label="内容", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 6}))


class GreetingForm(forms.Form):
    message = forms.CharField(label="寄语", required=False, help_text="留空则使用上级党组织的寄语（最多 200 个字）",
                              widget=forms.Textarea(attrs={"rows": 3}))


class StatisticsForm(forms.Form):
    start = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="含当天")

    EARLIEST, LATEST = dt.date(1921, 7, 1), dt.date(2100, 12, 31)

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            day = data.get(name)
            if day and not self.EARLIEST <= day <= self.LATEST:
                self.add_error(name, f"日期应在 {self.EARLIEST:%Y-%m-%d} 至 {self.LATEST:%Y-%m-%d} 之间。")
                data.pop(name, None)
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "截止日期不能早于起始日期。")
        return data


class PreferenceForm(forms.Form):
    """推送设置 of the signed-in person; a channel the platform has not configured is shown as 未开通."""

    email = forms.BooleanField(label="电子邮件", required=False)
    sms = forms.BooleanField(label="短信", required=False)
    wechat = forms.BooleanField(label="微信公众号", required=False)
    large_font = forms.BooleanField(label="大字模式（适老化）", required=False,
                                    help_text="放大所有页面的文字和按钮")

    CHANNEL_FIELDS = ("email", "sms", "wechat")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.CHANNEL_FIELDS:
            if not channels.get(name).configured():
                # Shown, switched as stored, not changeable: nothing can be sent there anyway.
                self.fields[name].disabled = True
                self.fields[name].help_text = "未开通：本平台尚未配置该渠道"

    def channel_rows(self):
        """(bound field, configured?) for the template."""
        return [(self[name], channels.get(name).configured()) for name in self.CHANNEL_FIELDS]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label="状态", required=False)
    channel = forms.ChoiceField(label="渠道", required=False)

    def __init__(self, *args, **kwargs):
        from .models import DeliveryStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "全部状态"), *DeliveryStatus.choices]
        self.fields["channel"].choices = [("", "全部渠道")] + [(n, channels.get(n).label) for n in channels.ALL]
