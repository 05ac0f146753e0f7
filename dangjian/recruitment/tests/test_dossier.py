"""The 发展党员全程纪实档案 (.docx): it opens with python-docx and holds every recorded step with its date, the
people, the vote, the 超期 marks, the documents with their SHA-256, the moves and what is still due; the
ID number only masked."""

from __future__ import annotations

import datetime as dt
import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dangjian.core import crypto
from dangjian.recruitment import services
from dangjian.recruitment.dossier import case_dossier
from dangjian.recruitment.models import RecruitmentStep
from dangjian.recruitment.tests.factories import START, full_members, open_case, valid_input, walk
from dangjian.recruitment.workflow import STEPS

pytestmark = pytest.mark.django_db


def _text(body: bytes) -> str:
    doc = docx.Document(io.BytesIO(body))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def _cn(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def test_the_dossier_holds_every_step_with_its_date(district, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin = district.users["district_admin"]
    mentors, sponsors = full_members(district.branch_b1), full_members(district.branch_b1)
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=15, mentors=mentors, sponsors=sponsors)
    services.document_add(actor=admin, case=case, kind="application",
                          upload=SimpleUploadedFile("入党申请书.pdf", b"%PDF-1.4 dossier"))
    text = _text(case_dossier(case, today=dt.date(2026, 11, 29)))

    assert "发展党员全程纪实档案" in text and "申请人001" in text
    assert case.id_number_masked in text
    assert crypto.decrypt(case.id_number_encrypted) not in text  # never the full number
    records = list(RecruitmentStep.objects.filter(case_id=case.pk).order_by("on", "id"))
    assert len(records) == 16  # steps 1..15 and a second assessment
    for s in records:
        assert f"第{s.number}步  {STEPS[s.number].label}" in text
        assert _cn(s.on) in text
    assert "正式党员0、正式党员1" in text  # the mentors and the sponsors by name
    assert "应到会有表决权党员10人，实到8人，书面意见1份；赞成8票，反对1票，弃权0票" in text
    assert "2014年《发展党员工作细则》" in text
    assert "入党申请书.pdf" in text and case.documents.get().sha256 in text
    # the 党委's approval is due within 3 months of the branch meeting: still open on the day of export
    assert "上级党委审批" in text and "已超期" in text


def test_the_dossier_marks_a_late_step_and_lists_the_moves(district):
    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_a1, n=2)
    late_on = START + dt.timedelta(days=45)
    services.step_record(actor=admin, case=case, data=valid_input(case, 2, late_on))
    case.refresh_from_db()
    services.case_move(actor=admin, case=case, to=district.branch_a2, on=dt.date(2026, 11, 1))
    case.refresh_from_db()
    text = _text(case_dossier(case))
    assert "超期14天" in text and _cn(late_on) in text
    assert "甲社区党支部" in text and "乙社区党支部" in text and _cn(dt.date(2026, 11, 1)) in text
