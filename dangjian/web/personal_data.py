"""下载我的个人信息 (个人信息保护法 第四十五条, the right to access and copy): everything the platform keeps about
the signed-in person, as one .xlsx with a sheet per category.

It reads every app's rows of one person, so it sits here, above them all (like the member centre). Each sheet
comes from the app's own "my" selector (my_meetings, my_transfers, member_dues, inbox, own_cases,
member_history) wherever one exists; the few reads added here are, like those, filtered to this one person.
The number of queries does not grow with the number of rows (tests/test_personal_data.py asserts it).

What goes in, and why:
- The person's own full ID number and phone: they are the person's own data, which 第四十五条 entitles them to
  copy, and the member may already reveal them on their own page (members.services.member_reveal). The
  export is asked for on purpose (a POST), audited, sent as an attachment with no-store, and the page says
  to keep the file safe.
- Only what the person's own pages show of each record: other members' names in a meeting, the votes and
  the review notes of a recruitment step, who else was notified are not the person's data and stay out.
- 党纪处分 stays out, as from every export (docs/glossary.md: member page only): the member reads it on
  their own record page.
- A worker or administrator without a member record gets the account sheet (and a recruitment case or
  base reservations of their own if they have any): their work on other people's records is not their
  personal data, and it is in the audit log for the audit administrator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import xlsxwriter
from django.utils import timezone

from dangjian.accounts.roles import Role
from dangjian.audit.selectors import my_logins
from dangjian.audit.services import log_action
from dangjian.bases.models import Reservation, ReservationStatus
from dangjian.core import codes, crypto
from dangjian.dues import rules as dues_rules
from dangjian.dues.models import DuesAssessment, DuesPayment
from dangjian.dues.selectors import member_dues
from dangjian.meetings.selectors import my_meetings
from dangjian.members.models import MemberStatus, Standing
from dangjian.members.selectors import member_history, own_member
from dangjian.notifications import kinds as notice_kinds
from dangjian.notifications.selectors import inbox
from dangjian.recruitment import workflow as recruitment_workflow
from dangjian.recruitment.selectors import own_cases
from dangjian.transfers.selectors import my_transfers
from dangjian.transfers.workflow import LABELS as TRANSFER_ACTIONS

LOGIN_ROWS = 100  # the most recent logins listed; older ones stay in the audit log (ARCHITECTURE §7)
EMPTY = "（无记录）"


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)


# --- Reads -----------------------------------------------------------------------------------------------------

def _text(value) -> str:
    """Every cell as text, as the person reads it: dates as 2026-11-29, times in Beijing time, 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _account_sheet(user) -> Sheet:
    sheet = Sheet("账号", ["项目", "内容"])
    roles = sorted({f"{Role(g.role).label}（{g.organization.name}）" for g in user.active_grants})
    sheet.rows += [
        ["用户名", user.get_username()],
        ["姓名", user.display_name],
        ["角色", "、".join(roles) or "无（党员本人）"],
        ["账号创建时间", _text(user.date_joined)],
        ["最近登录时间", _text(user.last_login)],
        ["密码修改时间", _text(user.password_changed_at)],
        ["双因素认证", "已启用" if user.totp_enabled else "未启用"],
        ["大字模式", _text(user.large_font)],
        ["已同意的个人信息保护政策版本", user.privacy_notice_version or "（未同意或已撤回）"],
    ]
    for c in user.consents.order_by("accepted_at", "id"):
        sheet.rows.append(["同意记录", f"{_text(c.accepted_at)} 同意 {c.notice_version} 版，来源地址 {c.ip or '—'}"])
    # The login history the platform keeps is the audit log's (time, address, second factor or not).
    for at, ip, totp in my_logins(user=user, limit=LOGIN_ROWS):
        factor = "密码和验证码" if totp else "密码"
        sheet.rows.append(["登录记录", f"{_text(at)} 来源地址 {ip or '—'}（{factor}）"])
    return sheet


def _member_sheet(member) -> Sheet:
    gender = dict(codes.Gender.choices)
    ethnicity = dict(codes.ETHNICITY_CHOICES)
    education = dict(codes.EDUCATION_CHOICES)
    occupation = dict(codes.Occupation.choices)
    sheet = Sheet("党员档案", ["项目", "内容"])
    sheet.rows += [
        ["姓名", member.name],
        ["性别", gender.get(member.gender, member.gender)],
        ["民族", ethnicity.get(member.ethnicity, member.ethnicity)],
        ["出生日期", _text(member.birth_date)],
        ["身份证号", crypto.decrypt(member.id_number_encrypted)],
        ["手机号码", crypto.decrypt(member.phone_encrypted) if member.phone_encrypted else ""],
        ["学历", education.get(member.education, member.education)],
        ["职业类别", occupation.get(member.occupation, member.occupation)],
        ["工作单位", member.work_unit],
        ["职务", member.post],
        ["家庭住址", member.address],
        ["所在党组织", member.organization.name],
        ["党员类别", MemberStatus(member.status).label if member.status in MemberStatus.values else member.status],
        ["入党日期", _text(member.joined_on)],
        ["转正日期", _text(member.confirmed_on)],
        ["党籍状态", Standing(member.standing).label if member.standing in Standing.values else member.standing],
        ["流动党员", _text(member.is_mobile)],
        ["失联党员", _text(member.is_lost_contact)],
        ["减少日期", _text(member.left_on)],
        ["减少原因", member.get_left_reason_display() if member.left_reason else ""],
    ]
    return sheet


def _history_sheet(member) -> Sheet:
    sheet = Sheet("组织关系变动", ["党组织", "起始日期", "截止日期", "变动原因"])
    for p in member_history(member=member):
        sheet.rows.append([p.organization.name, _text(p.start), _text(p.end) if p.end else "至今", p.reason])
    return sheet


def _meetings_sheet(user) -> Sheet:
    sheet = Sheet("组织生活", ["会议名称", "类别", "党组织", "会议时间", "地点", "状态", "是否出席", "缺席原因",
                             "表决权", "确认记录时间"])
    for a in my_meetings(actor=user):
        m = a.meeting
        present = "" if a.present is None else ("出席" if a.present else "缺席")
        sheet.rows.append([m.title, m.kind_labels, m.organization.name, _text(m.starts_at), m.place,
                           m.get_status_display(), present, a.absence_reason, "有" if a.has_vote else "无",
                           _text(a.confirmed_at)])
    return sheet


def _dues_sheet(member, today: dt.date) -> Sheet:
    """The year's summary as the member's dues page shows it, then every assessment and every payment. By
    member id, unscoped for payments, for member_dues' reason: a payment belongs to the branch that collected
    it, so after a transfer the member's scope would miss the old ones."""
    summary = member_dues(member=member, year=today.year, on=today)
    sheet = Sheet("党费", ["记录", "年度或月份", "类别", "金额（元）", "日期", "方式或说明"])
    sheet.rows.append(["已交至", dues_rules.month_label(summary.paid_up_to), "", "", "", summary.arrears_text])
    for a in DuesAssessment.objects.filter(member=member).order_by("year"):
        sheet.rows.append([f"年度核定（月交纳额，起交 {a.first_month} 月）", f"{a.year}年", a.get_category_display(),
                           dues_rules.yuan(a.monthly_fen), "", a.note])
    payments = DuesPayment.unscoped.filter(member_id=member.pk).select_related("organization").order_by("month", "id")
    for p in payments:
        how = p.get_method_display() + (f"（代交人 {p.proxy_name}）" if p.proxy_name else "")
        sheet.rows.append(["交纳", dues_rules.month_label(p.month), p.get_kind_display(), dues_rules.yuan(p.amount_fen),
                           _text(p.paid_on), f"{how}，{p.organization.name}收缴" + (f"；{p.note}" if p.note else "")])
    return sheet


def _transfers_sheet(member) -> Sheet:
    sheet = Sheet("组织关系转接", ["转接类型", "状态", "转出党组织", "转入党组织", "介绍信编号", "有效期至", "转接原因",
                                 "转接进程"])
    for t in my_transfers(member_id=member.pk):
        steps = sorted(t.events.all(), key=lambda e: (e.at, e.pk))
        timeline = "；".join(f"{_text(e.on)} {TRANSFER_ACTIONS.get(e.action, e.action)}" for e in steps)
        sheet.rows.append([t.get_kind_display(), t.get_status_display(),
                           t.from_org.name if t.from_org else t.from_external,
                           t.to_org.name if t.to_org else t.to_external,
                           t.letter_number, _text(t.valid_until), t.reason, timeline])
    return sheet


def _kind_label(code: str) -> str:
    try:
        return notice_kinds.get(code).label
    except ValueError:
        return code


def _messages_sheet(user) -> Sheet:
    sheet = Sheet("消息", ["时间", "类别", "标题", "内容", "阅读时间"])
    for n in inbox(user).only("kind", "title", "body", "created_at", "read_at").iterator(chunk_size=2000):
        sheet.rows.append([_text(n.created_at), _kind_label(n.kind), n.title, n.body, _text(n.read_at)])
    return sheet


def _recruitment_sheet(cases) -> Sheet:
    """What the person's own progress page shows: the case's facts and the dated steps with their outcome."""
    sheet = Sheet("发展党员档案", ["培养党组织", "阶段", "状态", "递交申请日期", "步骤", "日期", "结果"])
    for case in cases:
        head = [case.organization.name, case.get_stage_display(), case.get_status_display(), _text(case.applied_on)]
        steps = sorted(case.steps.all(), key=lambda s: (s.on, s.number, s.pk))
        if not steps:
            sheet.rows.append([*head, "", "", ""])
        for s in steps:
            step = recruitment_workflow.STEPS.get(s.number)
            label = f"第{s.number}步 {step.label}" if step else f"第{s.number}步"
            sheet.rows.append([*head, label, _text(s.on), s.get_outcome_display()])
    return sheet


def _reservations_sheet(reservations) -> Sheet:
    sheet = Sheet("阵地预约", ["阵地", "日期", "时段", "预约党组织", "人数", "活动内容", "联系人", "联系电话", "状态",
                             "提交时间"])
    for r in reservations:
        status = ReservationStatus(r.status).label if r.status in ReservationStatus.values else r.status
        sheet.rows.append([r.site.name, _text(r.slot.date), f"{r.slot.starts_at:%H:%M}–{r.slot.ends_at:%H:%M}",
                           r.branch.name, r.people, r.purpose, r.contact_name, r.contact_phone, status,
                           _text(r.requested_at)])
    return sheet


def _own_reservations(user) -> list:
    """The bookings this person made (their name and phone as contact). Unscoped, filtered to this one person:
    a member's scope holds no base's side, and the rows are theirs whatever organisation they were for."""
    return list(Reservation.unscoped.filter(created_by_id=user.pk)
                .select_related("slot", "site", "branch").order_by("requested_at", "id"))


def personal_data_sheets(*, actor, today: dt.date | None = None) -> list[Sheet]:
    """The person's data, sheet by sheet. A sheet with no row says so, rather than vanishing, for the member's
    own categories; a recruitment case and base bookings appear only for those who have any."""
    today = today or timezone.localdate()
    sheets = [_account_sheet(actor)]
    member = own_member(actor=actor) if getattr(actor, "member_or_none", None) is not None else None
    if member is not None:
        sheets += [_member_sheet(member), _history_sheet(member), _meetings_sheet(actor), _dues_sheet(member, today),
                   _transfers_sheet(member), _messages_sheet(actor)]
    cases = own_cases(user=actor)
    if cases:
        sheets.append(_recruitment_sheet(cases))
    reservations = _own_reservations(actor)
    if reservations:
        sheets.append(_reservations_sheet(reservations))
    return sheets


# --- The file --------------------------------------------------------------------------------------------------

def _write(sheets: list[Sheet], target) -> None:
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for s in sheets:
        ws = workbook.add_worksheet(s.name)
        ws.set_column(0, len(s.headers) - 1, 18)
        ws.write_row(0, 0, s.headers, head)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(s.rows or [[EMPTY]], start=1):
            for c, value in enumerate(row):
                ws.write_string(r, c, _text(value))  # as text: a phone or ID number must not become a number
    workbook.close()


def personal_data_export(*, actor, target, today: dt.date | None = None) -> dict[str, int]:
    """Write the signed-in person's own data as .xlsx into `target` and audit it; returns rows per sheet. The
    audit entry names the sheets and counts (never a value), and says the full ID number and phone were in it."""
    sheets = personal_data_sheets(actor=actor, today=today)
    _write(sheets, target)
    counts = {s.name: len(s.rows) for s in sheets}
    log_action(actor=actor, action="accounts.personal_data.exported", target=actor,
               changes={"sheets": counts, "full_id_number_and_phone": "党员档案" in counts})
    return counts
