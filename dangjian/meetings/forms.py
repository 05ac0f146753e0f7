"""Form validation of the meeting pages. Domain rules (quorum, frozen records, one third 优秀) live in the
services; these forms check types and required fields and name each field in Chinese."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from dangjian.orgs.models import Organization

from .models import Grade, MeetingKind, ThemeDayRule

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self):
        super().__init__(format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"


def _dt_field(label):
    return forms.DateTimeField(label=label, input_formats=DATETIME_FORMATS, widget=DateTimeInput(),
                               error_messages={"invalid": "请输入有效的日期和时间，如 2026-11-29 09:00"})


class MeetingForm(forms.Form):
    organization = forms.ModelChoiceField(label="党组织", queryset=Organization.objects.none())
    title = forms.CharField(label="会议名称", max_length=100)
    kinds = forms.MultipleChoiceField(label="会议类型", choices=MeetingKind.choices, widget=forms.CheckboxSelectMultiple,
                                      help_text="一次会议可同时计为多种类型（如主题党日结合党课）")
    starts_at = _dt_field("会议时间")
    place = forms.CharField(label="地点", max_length=100)
    chair = forms.CharField(label="主持人", max_length=50, required=False)
    recorder = forms.CharField(label="记录人", max_length=50, required=False)
    agenda = forms.CharField(label="议程", widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)

    def __init__(self, *args, organizations=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
            self.fields["organization"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name
        if editing:
            del self.fields["organization"]


class RecordForm(forms.Form):
    """The record: one present checkbox and reason per should-attend member, built from the attendance list."""

    held_at = _dt_field("实际召开时间")
    chair = forms.CharField(label="主持人", max_length=50)
    recorder = forms.CharField(label="记录人", max_length=50)
    observers = forms.CharField(label="列席人员", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                help_text="每行一人，可填写非党员", max_length=2000)
    minutes = forms.CharField(label="会议记录", widget=forms.Textarea(attrs={"rows": 10}), max_length=50000,
                              help_text="议题、发言要点、表决方式和结果")

    RESOLUTION_SLOTS = 3

    def __init__(self, *args, attendances=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.attendances = list(attendances)
        for a in self.attendances:
            label = a.member_name + ("" if a.has_vote else "（无表决权）")
            self.fields[f"present_{a.member_id}"] = forms.BooleanField(label=label, required=False, initial=True)
            self.fields[f"reason_{a.member_id}"] = forms.CharField(label=f"{a.member_name} 缺席原因", required=False,
                                                                   max_length=100)
        for i in range(1, self.RESOLUTION_SLOTS + 1):
            self.fields[f"r{i}_text"] = forms.CharField(label=f"决议{i}", required=False, max_length=500)
            self.fields[f"r{i}_admission"] = forms.BooleanField(label=f"决议{i}为接收预备党员或转正", required=False)
            for key, label in (("yes", "赞成"), ("no", "反对"), ("abstain", "弃权")):
                self.fields[f"r{i}_{key}"] = forms.IntegerField(label=f"决议{i}{label}票", required=False, min_value=0,
                                                                max_value=100000)

    def attendance_rows(self):
        return [(a, self[f"present_{a.member_id}"], self[f"reason_{a.member_id}"]) for a in self.attendances]

    def resolution_rows(self):
        return [[self[f"r{i}_{k}"] for k in ("text", "admission", "yes", "no", "abstain")]
                for i in range(1, self.RESOLUTION_SLOTS + 1)]

    def clean(self):
        data = super().clean()
        for i in range(1, self.RESOLUTION_SLOTS + 1):
            if (data.get(f"r{i}_text") or "").strip():
                for key, label in (("yes", "赞成"), ("no", "反对"), ("abstain", "弃权")):
                    if data.get(f"r{i}_{key}") is None and f"r{i}_{key}" not in self.errors:
                        self.add_error(f"r{i}_{key}", f"请填写{label}票数（没有请填 0）")
        return data

    def service_args(self) -> dict:
        d = self.cleaned_data
        return {
            "held_at": d["held_at"], "chair": d["chair"], "recorder": d["recorder"], "observers": d["observers"],
            "minutes": d["minutes"],
            "attendance": {a.member_id: (d[f"present_{a.member_id}"], d[f"reason_{a.member_id}"])
                           for a in self.attendances},
            "resolutions": [{"text": d[f"r{i}_text"], "admission": d[f"r{i}_admission"], "yes": d[f"r{i}_yes"],
                             "no": d[f"r{i}_no"], "abstain": d[f"r{i}_abstain"]}
                            for i in range(1, self.RESOLUTION_SLOTS + 1) if (d.get(f"r{i}_text") or "").strip()],
        }


class CorrectionForm(forms.Form):
    reason = forms.CharField(label="更正原因", max_length=200)
    chair = forms.CharField(label="主持人", max_length=50)
    recorder = forms.CharField(label="记录人", max_length=50)
    agenda = forms.CharField(label="议程", widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    observers = forms.CharField(label="列席人员", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                max_length=2000)
    minutes = forms.CharField(label="会议记录", widget=forms.Textarea(attrs={"rows": 10}), max_length=50000)


class AttachmentForm(forms.Form):
    file = forms.FileField(label="附件", help_text="jpg、png 图片，PDF 或 docx 文档")


class PeriodForm(forms.Form):
    org = forms.ModelChoiceField(label="党组织", queryset=Organization.objects.none(), required=False)
    start = forms.DateField(label="起始日期", required=False, widget=DateInput())
    end = forms.DateField(label="截止日期", required=False, widget=DateInput())

    def __init__(self, *args, organizations=None, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["org"].queryset = organizations
            self.fields["org"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name
        self.today = today or timezone.localdate()

    def clean(self):
        data = super().clean()
        data["start"] = data.get("start") or dt.date(self.today.year, 1, 1)
        data["end"] = data.get("end") or self.today
        if data["end"] < data["start"]:
            self.add_error("end", "不能早于起始日期")
        return data


class ReviewForm(forms.Form):
    organization = forms.ModelChoiceField(label="调阅党组织", queryset=Organization.objects.none())
    start = forms.DateField(label="起始日期", widget=DateInput())
    end = forms.DateField(label="截止日期", widget=DateInput())

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
            self.fields["organization"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name


class SpotCheckForm(forms.Form):
    organization = forms.ModelChoiceField(label="被抽查党组织", queryset=Organization.objects.none())
    checked_on = forms.DateField(label="抽查日期", widget=DateInput())
    findings = forms.CharField(label="发现问题", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
            self.fields["organization"].label_from_instance = lambda o: "　" * (o.depth - 1) + o.name


class FollowUpForm(forms.Form):
    follow_up = forms.CharField(label="整改情况", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


class ThemeDayForm(forms.ModelForm):
    time = forms.TimeField(label="时间", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    class Meta:
        model = ThemeDayRule
        fields = ["week", "weekday", "time", "place"]


class PlanYearForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)


class CancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=200)


class AppraisalForm(forms.Form):
    """One row per member: self and peer assessment, the four vote counts, the grade."""

    def __init__(self, *args, members=(), existing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = list(members)
        existing = existing or {}
        for m in self.members:
            old = existing.get(m.pk)
            p = f"m{m.pk}_"
            self.fields[p + "grade"] = forms.ChoiceField(label=f"{m.name} 评定等次",
                                                         choices=[("", "—")] + Grade.choices, required=False,
                                                         initial=old.grade if old else "")
            self.fields[p + "self_assessment"] = forms.CharField(label=f"{m.name} 个人自评", required=False,
                                                                 max_length=5000, initial=old.self_assessment if old else "")
            self.fields[p + "peer_assessment"] = forms.CharField(label=f"{m.name} 党员互评", required=False,
                                                                 max_length=5000, initial=old.peer_assessment if old else "")
            for key, label in (("votes_excellent", "优秀"), ("votes_qualified", "合格"), ("votes_basic", "基本合格"),
                               ("votes_unqualified", "不合格")):
                self.fields[p + key] = forms.IntegerField(label=f"{m.name} 测评票（{label}）", required=False,
                                                          min_value=0, max_value=100000,
                                                          initial=getattr(old, key) if old else 0)

    def member_rows(self):
        return [(m, [self[f"m{m.pk}_{k}"] for k in ("grade", "self_assessment", "peer_assessment", "votes_excellent",
                                                     "votes_qualified", "votes_basic", "votes_unqualified")])
                for m in self.members]

    def rows(self) -> list[dict]:
        d = self.cleaned_data
        out = []
        for m in self.members:
            p = f"m{m.pk}_"
            if d.get(p + "grade"):
                out.append({"member": m, "grade": d[p + "grade"], "self_assessment": d[p + "self_assessment"],
                            "peer_assessment": d[p + "peer_assessment"],
                            **{k: d.get(p + k) or 0 for k in ("votes_excellent", "votes_qualified", "votes_basic",
                                                              "votes_unqualified")}})
        return out


