"""Settings of the benchmark server (gunicorn under wrk): the project's settings plus a trivial view.

Selected only by `bench/run.py` (DJANGO_SETTINGS_MODULE=bench.settings) for the gunicorn it starts; the
database comes from DATABASE_URL like everywhere else, so it points at the bench database.
"""

import os

# Measured as deployed: `make run` writes DJANGO_DEBUG=1 into the developer's .env, and debug mode (query
# logging, template debug information) would be measured with every page.
os.environ["DJANGO_DEBUG"] = "0"

from config.settings import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"

# The benchmark measures pages, not the login steps: its users skip the second factor and password expiry.
DANGJIAN_REQUIRE_TOTP_FOR_STAFF = False
DANGJIAN_PASSWORD_MAX_AGE_DAYS = 0
