"""core.uploads: the one way uploads are checked, named and served."""


import pytest

from dangjian.core import uploads
from dangjian.testing import zip_bytes

WORD = zip_bytes("[Content_Types].xml", "word/document.xml")


@pytest.mark.parametrize("suffix, content, ok", [
    (".pdf", b"%PDF-1.7 ...", True),
    (".jpg", b"\xff\xd8\xff\xe0...", True),
    (".png", b"\x89PNG\r\n\x1a\n...", True),
    (".docx", WORD, True),
    (".docx", zip_bytes("xl/workbook.xml"), False),  # an Excel package is not a Word document
    (".docx", b"PK\x03\x04 truncated", False),
    (".jpg", b"%PDF-1.7", False),
    (".png", b"<svg onload=alert(1)>", False),
    (".html", b"<html>", False),  # no signature: never allowed
    (".pdf", b"", False),
])
def test_content_decides_the_type(suffix, content, ok):
    assert uploads.content_matches(suffix, content) is ok


@pytest.mark.parametrize("given, label", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\张三\\入党申请书.docx", "入党申请书.docx"),
    ("a\x00b\nc.pdf", "abc.pdf"),
    ("长" * 300 + ".pdf", "长" * 146 + ".pdf"),
    ("", ""),
])
def test_display_name_is_a_label_not_a_path(given, label):
    assert uploads.display_name(given) == label


def test_stored_names_are_random_and_keep_only_the_checked_extension():
    names = {uploads.stored_name(".pdf") for _ in range(50)}
    assert len(names) == 50 and all(len(n) == 36 and n.endswith(".pdf") for n in names)


def test_a_document_is_an_attachment_with_safe_headers():
    response = uploads.file_response(b"%PDF-1.7", name="入党申请书.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;") and "filename*=utf-8''" in response[
        "Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'") and "sandbox" in response[
        "Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"


def test_only_images_are_shown_inline():
    assert uploads.file_response(b"\x89PNG", name="合影.png", inline=True)["Content-Disposition"].startswith("inline")
    assert uploads.file_response(b"%PDF", name="纪要.pdf", inline=True)["Content-Disposition"].startswith("attachment")
    # An extension outside the allowed kinds is never given a type a browser would run.
    assert uploads.file_response(b"<html>", name="x.html")["Content-Type"] == "application/octet-stream"


def test_no_url_serves_the_upload_directory(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.7")
    for url in ("/media/secret.pdf", f"{settings.MEDIA_URL}secret.pdf"):
        assert client.get(url).status_code == 404
