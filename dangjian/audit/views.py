"""The audit administrator's screen: search and export the log. There is no edit or delete, anywhere."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from dangjian.core.permissions import require

from . import registry
from .forms import AuditSearchForm
from .selectors import audit_entry_list
from .services import log_action


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
