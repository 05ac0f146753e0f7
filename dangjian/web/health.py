"""`GET /healthz` for load balancers and monitoring (docs/deploy.md).

No login, no personal data, no scope: it reads one number from the audit chain head (a plain, unscoped
table), which proves the database answers and is migrated. The body is machine-readable JSON with
fixed ASCII values; the reason of a failure goes to the server log, never to the caller.
"""

import logging

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from dangjian.audit.models import ChainHead

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    try:
        count = ChainHead.objects.filter(pk=1).values_list("count", flat=True).first() or 0
    except Exception:  # any failure of the database means "not healthy", never a 500 page
        logger.exception("healthz: database check failed")
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "audit_chain_head": count})
