"""The 中国共产党党员组织关系介绍信 as a printable .docx (组通字〔2006〕45号): three parts on one page
(存根 stub, 介绍信 letter, 回执 receipt), each carrying the number; the letter states the dues month and
the validity. The stub stays on record: its facts are the transfer's own fields."""

from __future__ import annotations

import io

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from dangjian.members.models import Member

from .models import Transfer, TransferKind
from .rules import month_label

CUT = "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -"


def _date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "    年  月  日"


def letter_docx(t: Transfer, member: Member) -> bytes:
    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(12)
    temporary = t.kind == TransferKind.TEMPORARY
    title = "中国共产党党员证明信" if temporary else "中国共产党党员组织关系介绍信"
    status = "正式" if member.status == "full" else "预备"
    days = (t.valid_until - t.letter_issued_on).days
    age = member.age_on(t.letter_issued_on)
    who = (f"{member.name}同志（{member.get_gender_display()}，{age}岁，{member.get_ethnicity_display()}），"
           f"系中共{status}党员，身份证号码{member.id_number_masked}")

    def heading(text):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold = True
        run.font.size = Pt(16)

    def right(text):
        p = doc.add_paragraph(text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    heading(f"{title}（存根）")
    right(f"{t.letter_number}")
    doc.add_paragraph(f"{who}，组织关系由{t.from_name}转到{t.to_name}。")
    doc.add_paragraph(f"党费已交到{month_label(t.dues_paid_up_to)}。")
    doc.add_paragraph(f"有效期{days}天（至{_date(t.valid_until)}）。")
    right(_date(t.letter_issued_on))
    doc.add_paragraph(CUT)

    heading(title)
    right(f"{t.letter_number}")
    doc.add_paragraph(f"{t.to_name}：")
    verb = "前往你处，请予接洽" if temporary else "的党员组织关系由你处接转，请接洽"
    doc.add_paragraph(f"    兹介绍{who}{verb}。")
    doc.add_paragraph(f"    该同志党费已交到{month_label(t.dues_paid_up_to)}。")
    doc.add_paragraph(f"    （有效期{days}天，至{_date(t.valid_until)}）")
    right(f"{t.sender_committee.name}（盖章）")
    right(_date(t.letter_issued_on))
    doc.add_paragraph(CUT)

    heading(f"{title}（回执）")
    right(f"{t.letter_number}")
    doc.add_paragraph(f"{t.sender_committee.name}：")
    doc.add_paragraph(f"    {member.name}同志的党员组织关系已转达我处，特此回复。")
    right("（接收党组织盖章）")
    right("    年  月  日")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
