"""The audit administrator's screen: search and export the log, list and download its archive segments.
There is no edit or delete, anywhere."""

import csv
import os

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from dangjian.core.permissions import load_one, require

from . import registry
from .archive import ArchiveFileError
from .forms import AuditSearchForm
from .selectors import (
    audit_archive_list,
    audit_archive_search,
    audit_archive_states,
    audit_archive_verify,
    audit_entry_list,
)
from .services import archive_download, log_action

ARCHIVE_SEARCH_LIMIT = 500  # hits shown from one archive file; narrow the filters or download the file for more


@login_required
def log(request):
    require(request.user, "audit.view")
    form = AuditSearchForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else {}
    entries = audit_entry_list(**filters) if not form.errors else audit_entry_list().none()
    if form.is_bound and form.is_valid():
        log_action(actor=request.user, action="audit.log.searched", changes=_printable(filters))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    for e in page:
        e.action_label = registry.label(e.action)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"form": form, "page_obj": page, "querystring": query.urlencode()})


class _Echo:
    def write(self, value):
        return value


@login_required
def export(request):
    """CSV of the filtered log (UTF-8 with BOM so Excel and WPS open it in Chinese)."""
    require(request.user, "audit.export")
    form = AuditSearchForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else {}
    entries = audit_entry_list(**filters)
    log_action(actor=request.user, action="audit.log.exported", changes=_printable(filters) | {"count": entries.count()})
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(["编号", "时间", "操作人", "操作", "对象类型", "对象", "结果", "来源", "IP地址", "变更内容", "哈希"])
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow([
                e.pk, timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), e.actor_label,
                registry.label(e.action), e.target_type, e.target_label, "成功" if e.success else "失败", e.source,
                e.ip, e.changes, e.hash,
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    return response


def _printable(filters: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v not in (None, "")}


@login_required
def archives(request):
    """The archive segments, newest first, with a cheap state per file; `?verify=1` checks every file in
    full (entries, links, file hash), which reads them all, so it runs only when asked."""
    require(request.user, "audit.view")
    page = Paginator(audit_archive_list(), 50).get_page(request.GET.get("page"))
    states = audit_archive_states(page)
    verified = audit_archive_verify() if request.GET.get("verify") == "1" else None
    for segment in page:
        segment.state = states[segment.pk]
        if verified is not None:
            segment.verified = verified.get(segment.pk, "")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/archives.html", {"page_obj": page, "verified": verified is not None,
                                                    "querystring": query.urlencode()})


@login_required
def archive_file(request, pk: int):
    """A segment's file as stored (gzip'd JSON lines), for the audit administrator to keep or check elsewhere."""
    require(request.user, "audit.export")
    segment = load_one(audit_archive_list(), pk)
    f = archive_download(actor=request.user, segment=segment)
    return FileResponse(f, as_attachment=True, filename=os.path.basename(segment.file_name),
                        content_type="application/gzip")


@login_required
def archive_search(request, pk: int):
    """Search inside one archived segment, with the online log's filters; audited like an online search."""
    require(request.user, "audit.view")
    segment = load_one(audit_archive_list(), pk)
    form = AuditSearchForm(request.GET or None)
    entries, problem = [], ""
    if form.is_bound and form.is_valid():
        filters = form.filters()
        try:
            entries = audit_archive_search(segment, **filters, limit=ARCHIVE_SEARCH_LIMIT)
        except ArchiveFileError as exc:
            problem = str(exc)
        log_action(actor=request.user, action="audit.archive.searched", target=segment,
                   changes=_printable(filters) | {"hits": len(entries)}, success=not problem)
    return render(request, "audit/archive_search.html", {
        "segment": segment, "form": form, "entries": entries, "problem": problem,
        "limited": len(entries) >= ARCHIVE_SEARCH_LIMIT, "limit": ARCHIVE_SEARCH_LIMIT,
    })
