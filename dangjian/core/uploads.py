"""Files people upload (meeting attachments, photos of bases, recruitment documents): one way to check them,
name them and serve them (issue 9 item 5; docs/security.md).

- The type is read from the content: each allowed kind's signature, and a .docx must be a Word package, not
  any ZIP archive. The extension only says which signature to expect.
- The stored name is generated (a random token and the checked extension). The uploader's file name is a label
  kept in the database and given back in Content-Disposition; it never becomes a path.
- Files live in MEDIA_ROOT, which no URL serves: every download goes through a view that checks the scope.
- Served with nosniff, a CSP that sandboxes the response and forbids everything, no storing in shared caches,
  and as an attachment unless it is an image shown inside a page.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import PurePath

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".docx": (b"PK\x03\x04",),
}
IMAGES = (".jpg", ".jpeg", ".png")
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf",
                 ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def display_name(name: str | None, *, max_length: int = 150) -> str:
    """The file's own name as the user's computer had it, as a label: no folder part (either slash: old browsers
    send C:\\…\\name), no control or format characters (they would break the download header or hide the real
    extension), at most `max_length` characters with the extension kept."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join("".join(ch for ch in name if ch.isprintable()).split())
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name[:max_length]
    ext = ext.lower()
    stem = stem.strip(" .") or "材料"
    return f"{stem[:max_length - len(ext) - 1]}.{ext}"


def suffix_of(name: str) -> str:
    return PurePath(name).suffix.lower()


def content_matches(suffix: str, content: bytes) -> bool:
    """True when the bytes are what the extension claims. Only a .docx's directory is read, nothing unpacked."""
    if not any(content.startswith(signature) for signature in SIGNATURES.get(suffix, ())):
        return False
    if suffix != ".docx":
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names


def stored_name(suffix: str) -> str:
    """A name nobody chose: 128 random bits and the checked extension."""
    return f"{secrets.token_hex(16)}{suffix}"


def _harden(response: HttpResponse, *, name: str, inline: bool, public: bool) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(not inline, name)
    response["X-Content-Type-Options"] = "nosniff"
    # Even if a browser were tricked into rendering the bytes as a page, it could run nothing and load nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    # Personal data must not stay in any cache; a published site's photo may, for an hour.
    response["Cache-Control"] = "public, max-age=3600" if public else "private, no-store"
    return response


def file_response(file, *, name: str, inline: bool = False, public: bool = False) -> HttpResponse:
    """Serve a stored upload (an open file or bytes) under the uploader's name. `inline` only for images;
    `public` only for what anyone may see anyway (a published site's photo)."""
    suffix = suffix_of(name)
    inline = inline and suffix in IMAGES
    content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
    if isinstance(file, bytes):
        response = HttpResponse(file, content_type=content_type)
    else:
        response = FileResponse(file, content_type=content_type)
    return _harden(response, name=name, inline=inline, public=public)
