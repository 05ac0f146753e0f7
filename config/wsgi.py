import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The URLconf, and with it every view, form and API schema, is otherwise imported by the first request: load it
# now, so that it is frozen below with the rest (about 80,000 objects, pydantic's schemas among them).
get_resolver().url_patterns  # noqa: B018 - read for its side effect: the import

# What is loaded by now (Django, the apps, their models, forms, views and APIs) lives as long as the worker.
# Frozen, the garbage collector no longer walks it on every full collection: those walks were the 40–70 ms
# pauses behind the p95 of the larger pages (the street's compliance table: p95 57 → 32 ms; docs/performance.md
# §9 and §10).
gc.freeze()
