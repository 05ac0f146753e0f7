"""Settings of the benchmark server (gunicorn under wrk): the project's settings plus a trivial view.

Selected only by `bench/run.py` (DJANGO_SETTINGS_MODULE=bench.settings) for the gunicorn it starts; the
database comes from DATABASE_URL like everywhere else, so it points at the bench database.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
