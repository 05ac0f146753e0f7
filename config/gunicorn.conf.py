"""Gunicorn settings for production (docs/deploy.md): `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Sync workers, two per two cores: measured on this machine class (the scale issue), two sync workers beat
four, and beat gthread. Every knob here can be changed through the environment without editing the file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # nginx in front; never exposed directly
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # a worker silent this long is killed and restarted
graceful_timeout = 30
# Restart each worker now and then (spread out by the jitter) so a slow leak never grows for weeks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# nginx keeps the access log; set GUNICORN_ACCESSLOG=- to log requests to stdout (journald) as well.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# Only these addresses may tell us the request came in over HTTPS (X-Forwarded-Proto: https): nginx.
# Django then sees https, which its CSRF Origin check needs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "dangjian"
# Gunicorn ≥ 25.1 opens a control socket under $HOME by default; systemd manages the process instead
# (reload = SIGHUP), and the service user has no home. Older versions ignore the name.
control_socket_disable = True
