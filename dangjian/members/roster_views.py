"""Pages of the roster import and export. The work is in `roster.py`; these parse the request, call it, render.

The error report of a failed import is kept server-side (MEDIA_ROOT/import-errors/<random token>.xlsx) and
its token in the importer's session, so the page can show the first errors *and* offer the full report,
and only the session that ran the import (the same logged-in user) can download it.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from dangjian.core.errors import NotFound, PermissionDenied, ValidationFailed

from . import roster
from .views import filters_from_request

SESSION_KEY = "roster_error_report"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RosterUploadForm(forms.Form):
    file = forms.FileField(label="名册文件", error_messages={
        "required": "请选择要上传的名册文件。", "empty": "上传的文件是空的，请选择填好的名册文件。"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"Excel 表格（.xlsx、.xls）或 WPS/OpenOffice 表格（.ods），不超过 {roster.size_label(settings.DANGJIAN_IMPORT_MAX_BYTES)}，"
            f"一次最多 {settings.DANGJIAN_IMPORT_MAX_ROWS} 行。"
        )
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.xlsm,.xls,.ods"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.DANGJIAN_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"文件超过 {roster.size_label(settings.DANGJIAN_IMPORT_MAX_BYTES)} 的上限，请分成几个文件导入。"
            )
        return upload


def _require_import(user) -> None:
    if not user.capability_paths("member.import"):
        raise PermissionDenied("您没有导入党员名册的权限。")


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request):
    """Upload a filled template: every row is checked first, then all are saved or none."""
    _require_import(request.user)
    context = {"can_reveal": bool(request.user.capability_paths("member.reveal")),
               "can_export": bool(request.user.capability_paths("member.export"))}
    if request.method == "POST":
        form = RosterUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                outcome = roster.roster_import(actor=request.user, upload=form.cleaned_data["file"])
            except ValidationFailed as e:  # the file as a whole (RosterFileError), or a duplicate saved meanwhile
                form.add_error("file", e.message if not e.fields else next(iter(e.fields.values()))[0])
            else:
                _forget_report(request)
                if not outcome.errors:
                    messages.success(request, f"导入成功：共 {outcome.saved} 名党员已登记。")
                    return redirect("members:roster_import")
                token = roster.store_error_report(outcome.errors)
                request.session[SESSION_KEY] = {"token": token, "user": request.user.pk}
                context.update(
                    outcome=outcome,
                    shown_errors=outcome.errors[: roster.SHOWN_ERRORS],
                    error_rows=len({e.row for e in outcome.errors}),
                )
    else:
        form = RosterUploadForm()
    context["form"] = form
    return render(request, "members/roster_import.html", context)


def _forget_report(request) -> None:
    entry = request.session.pop(SESSION_KEY, None)
    if isinstance(entry, dict):
        roster.discard_error_report(entry.get("token", ""))


@login_required
@require_GET
def roster_errors(request):
    """The full error report of the last failed import, for the user who ran it."""
    entry = request.session.get(SESSION_KEY)
    path = None
    if isinstance(entry, dict) and entry.get("user") == request.user.pk:
        path = roster.error_report_path(entry.get("token", ""))
    if path is None:
        raise NotFound("错误报告已过期或不存在，请重新上传名册。")
    return FileResponse(open(path, "rb"), as_attachment=True, filename="党员名册导入错误报告.xlsx",  # noqa: SIM115
                        content_type=XLSX)


@login_required
@require_GET
def roster_template(request):
    _require_import(request.user)
    response = HttpResponse(roster.build_template(actor=request.user), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, "党员名册导入模板.xlsx")
    return response


@login_required
@require_GET
def roster_export(request):
    """The filtered roster as .xlsx (same parameters as the member list). `reveal=1` asks for full ID numbers
    and phones: refused (403) unless the user holds member.reveal on every exported organisation."""
    if not request.user.capability_paths("member.export"):
        raise PermissionDenied("您没有导出党员名册的权限。")
    filters = filters_from_request(request)  # exactly the member list's filters
    reveal = request.GET.get("reveal") == "1"
    # Written to a temporary file first (XlsxWriter keeps only a few rows in memory), then streamed.
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it; the file vanishes on close
    try:
        roster.roster_export(actor=request.user, filters=filters, reveal=reveal, target=target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    name = f"党员名册{'（含完整信息）' if reveal else ''}-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(target, as_attachment=True, filename=name, content_type=XLSX)
