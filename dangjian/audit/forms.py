from django import forms

from . import registry


class AuditSearchForm(forms.Form):
    since = forms.DateTimeField(label="起始时间", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(label="截止时间", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    actor = forms.CharField(label="操作人", required=False, max_length=100)
    action = forms.ChoiceField(label="操作", required=False)
    target = forms.CharField(label="对象", required=False, max_length=100)
    success = forms.ChoiceField(label="结果", required=False, choices=[("", "全部"), ("1", "成功"), ("0", "失败")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "全部")] + list(registry.all_actions().items())

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            self.add_error("until", "应晚于起始时间")
        return data

    def filters(self) -> dict:
        d = self.cleaned_data
        return {
            "since": d.get("since"), "until": d.get("until"), "actor": d.get("actor", ""),
            "action": d.get("action", ""), "target": d.get("target", ""),
            "success": {"1": True, "0": False}.get(d.get("success", "")),
        }
