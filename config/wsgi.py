import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What is loaded by now (Django, the apps, their models and forms) lives as long as the worker. Frozen, the
# garbage collector no longer walks it on every full collection: those walks were the 40 ms pauses behind the
# p95 of the larger pages (the street's compliance table: p95 57 → 32 ms; docs/performance.md §9).
gc.freeze()
