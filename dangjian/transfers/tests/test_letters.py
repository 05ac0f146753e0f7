"""The 介绍信 .docx opens and carries the number, the validity and the dues month in its three parts."""

import datetime as dt
import io

import docx
from django.urls import reverse

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.testing import PASSWORD
from dangjian.transfers import services

from .conftest import TODAY


def test_the_letter_opens_with_number_validity_and_three_parts(client, district, monkeypatch):
    monkeypatch.setattr("dangjian.dues.selectors.paid_up_to", lambda member: dt.date(2026, 10, 1))
    t = services.transfer_create(actor=SYSTEM, member=district.member_a1, kind="out",
                                 to_external="某省某市某局机关党委", on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY)
    t = services.transfer_approve(actor=SYSTEM, transfer=t, valid_days=45, on=TODAY)
    assert client.login(username="committee_a", password=PASSWORD)
    response = client.get(reverse("transfers:letter", args=[t.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert text.count("甲街道党工委组转〔2026〕第001号") == 3  # stub, letter, receipt
    assert "（存根）" in text and "（回执）" in text and "中国共产党党员组织关系介绍信" in text
    assert "有效期45天" in text and "2026年12月17日" in text
    assert "党费已交到2026年10月" in text
    assert "某省某市某局机关党委" in text and "张三" in text
    assert district.member_a1.id_number_masked in text
    assert AuditEntry.objects.filter(action="transfers.letter.printed", actor=district.users["committee_admin"]).exists()


def test_the_temporary_certificate_is_a_member_certificate(client, district):
    t = services.transfer_create(actor=SYSTEM, member=district.member_a1, kind="temporary",
                                 to_external="某市某社区党委", on=TODAY)
    services.transfer_submit(actor=SYSTEM, transfer=t, on=TODAY)
    services.transfer_approve(actor=SYSTEM, transfer=t, valid_days=150, on=TODAY)
    assert client.login(username="committee_a", password=PASSWORD)
    response = client.get(reverse("transfers:letter", args=[t.pk]))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "中国共产党党员证明信" in text and "有效期150天" in text
