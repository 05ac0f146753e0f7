"""发展党员全程纪实档案 as a Word file (.docx, python-docx): the person (ID number masked), every step record
in order with who decided, where, the vote, the people named, the 超期 marks, who entered it and under which
rule version, the documents with their SHA-256, the moves, and what was still due on the day of export.

`case_dossier(case)` only reads; `dossier_export(actor=…, case=…)` is the act a page calls: it builds the
file and writes the audit entry `recruitment.dossier.exported` in one transaction (ARCHITECTURE §7)."""

from __future__ import annotations

import datetime as dt
import io

import docx
from django.db import transaction
from django.utils import timezone
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor

from dangjian.audit.services import log_action

from . import selectors, workflow
from . import services as _services  # noqa: F401  (registers the audit action codes)
from .models import Body, CaseDocument, RecruitmentCase

RED = RGBColor(0xC6, 0x28, 0x28)
STATE_TEXT = {"red": "已超期", "amber": "即将到期", "green": "正常"}
VERSION_TEXT = {"2014": "2014年《发展党员工作细则》", "2026": "2026年《发展党员工作细则》"}


def _date(d: dt.date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def _time(t: dt.datetime | None) -> str:
    if t is None:
        return "—"
    t = timezone.localtime(t)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def _size(n: int) -> str:
    return f"{n} 字节" if n < 1024 else f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _table(doc, rows, *, header: tuple[str, ...] | None = None, widths=None):
    table = doc.add_table(rows=0, cols=len(header) if header else 2)
    table.style = "Table Grid"
    if header:
        cells = table.add_row().cells
        for cell, text in zip(cells, header, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            if isinstance(value, tuple):  # (text, red?)
                text, red = value
                run = cell.paragraphs[0].add_run(text)
                if red:
                    run.font.color.rgb = RED
                    run.bold = True
            else:
                cell.text = str(value)
    return table


def _vote(s) -> str:
    if s.voters_expected is None:
        return ""
    return (f"应到会有表决权党员{s.voters_expected}人，实到{s.voters_present}人，书面意见{s.written_opinions or 0}份；"
            f"赞成{s.yes}票，反对{s.no}票，弃权{s.abstain}票")


def _meeting(s) -> str:
    if s.meeting_id:
        m = s.meeting
        return f"{m.title}（{_date(m.held_on)}，平台会议记录第{m.pk}号）"
    return s.meeting_ref


def _consent(case: RecruitmentCase) -> str:
    """How and when the applicant agreed to the 告知书, and to which version (PIPL 第十七、二十九条)."""
    if not case.consent_method:
        return "未记录（建立档案时尚未记录同意）"
    return f"{case.get_consent_method_display()}，{_date(case.consent_on)}，告知书{case.consent_version}版"


def case_dossier(case: RecruitmentCase, *, today: dt.date | None = None) -> bytes:
    """The dossier of one case (loaded through the scope by the caller)."""
    today = today or timezone.localdate()
    steps = list(selectors.case_steps(case=case))
    history = workflow.History.of(steps)
    dues = selectors.case_deadlines(case=case, history=history)
    documents = list(CaseDocument.objects.filter(case=case).select_related("step").order_by("uploaded_at", "id"))
    moves = list(case.moves.select_related("from_org", "to_org"))

    doc = docx.Document()
    doc.styles["Normal"].font.size = Pt(10.5)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("发展党员全程纪实档案")
    run.bold = True
    run.font.size = Pt(18)
    sub = doc.add_paragraph(f"{case.name} · {case.organization.name} · 导出日期 {_date(today)}")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.add_heading("一、基本情况", level=2)
    person = [
        ("姓名", case.name), ("性别", case.get_gender_display()), ("民族", case.get_ethnicity_display()),
        ("出生日期", f"{case.birth_date.year}年" if case.anonymised_at else _date(case.birth_date)), ("身份证号", case.id_number_masked),
        ("手机号码", case.phone_masked or "—"), ("学历", case.get_education_display()),
        ("职业类别", case.get_occupation_display()), ("工作或学习单位", case.work_unit or "—"),
        ("流动人员", "是" if case.is_mobile_person else "否"), ("培养党组织", case.organization.name),
        ("阶段", case.get_stage_display()), ("状态", case.get_status_display()),
        ("递交申请日期", _date(case.applied_on)), ("确定为入党积极分子日期", _date(case.activist_on)),
        ("确定为发展对象日期", _date(case.development_target_on)), ("入党日期（支部党员大会通过）", _date(case.admitted_on)),
        ("党委审批日期", _date(case.approved_on)), ("预备期满日期", _date(case.probation_ends_on)),
    ]
    if case.extension_months:
        person.append(("延长预备期", f"{case.extension_months}个月"))
    person.append(("转正日期", _date(case.converted_on)))
    if case.ended_on:
        person += [("终止日期", _date(case.ended_on)), ("终止原因", case.end_reason or "—")]
    person.append(("个人信息处理同意", _consent(case)))
    if case.anonymised_at:
        person.append(("匿名化", f"{_time(case.anonymised_at)}（保存期满，个人信息已删除，出生日期只保留年份）"))
    _table(doc, person)

    doc.add_heading("二、发展步骤记录", level=2)
    if not steps:
        doc.add_paragraph("暂无步骤记录。")
    for s in steps:
        step = workflow.STEPS[s.number]
        doc.add_heading(f"第{s.number}步  {step.label}", level=3)
        rows: list = [("日期", _date(s.on)), ("决定或办理主体", Body(s.body).label if s.body in Body.values else s.body),
                      ("办理党组织", s.acting_org.name if s.acting_org_id else "—")]
        if len(step.outcomes) > 1 or s.outcome != "passed":
            rows.append(("结果", s.get_outcome_display()))
        if s.meeting_id or s.meeting_ref:
            rows.append(("会议", _meeting(s)))
        if s.voters_expected is not None:
            rows.append(("表决情况", _vote(s)))
        people = list(s.people.all())
        if people:
            rows.append((people[0].get_role_display(), "、".join(p.name for p in people)))
        for key, value in s.details.items():
            if key == "late":
                continue
            if isinstance(value, bool):
                value = "是" if value else "否"
            rows.append((workflow.DETAIL_LABELS.get(key, key), str(value)))
        if s.details.get("late"):
            rows.append(("超期", (s.details["late"], True)))
        if s.note:
            rows.append(("备注", s.note))
        attached = list(s.documents.all())
        if attached:
            rows.append(("材料", "；".join(f"{d.get_kind_display()}：{d.name}" for d in attached)))
        rows += [("录入人", s.entered_by_label), ("录入时间", _time(s.entered_at)),
                 ("适用规则版本", VERSION_TEXT.get(s.rule_version, s.rule_version))]
        _table(doc, rows)

    doc.add_heading("三、材料清单", level=2)
    if documents:
        _table(doc, [(d.get_kind_display(), d.name, _size(d.size), d.uploaded_by_label, _time(d.uploaded_at), d.sha256)
                     for d in documents], header=("材料类型", "文件名", "大小", "上传人", "上传时间", "SHA-256"))
    else:
        doc.add_paragraph("暂无上传的材料。")

    doc.add_heading("四、档案转移记录", level=2)
    if moves:
        _table(doc, [(_date(m.on), m.from_org.name, m.to_org.name, m.actor_label) for m in moves],
               header=("日期", "转出党组织", "转入党组织", "办理人"))
    else:
        doc.add_paragraph("无。")

    doc.add_heading("五、导出时尚未办结的期限", level=2)
    if dues:
        _table(doc, [(d.label, _date(d.on), (STATE_TEXT[d.state(today)], d.state(today) == "red"), d.article)
                     for d in dues], header=("事项", "期限", "状态", "依据"))
    else:
        doc.add_paragraph("无。")

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@transaction.atomic
def dossier_export(*, actor, case: RecruitmentCase) -> bytes:
    """Build the dossier and record who exported it (the file holds personal data)."""
    body = case_dossier(case)
    log_action(actor=actor, action="recruitment.dossier.exported", target=case,
               changes={"id_number": case.id_number_masked, "bytes": len(body)})
    return body
