"""gunicorn settings for Lastmile: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Run it from the source directory (the one holding wsgi.py, portal/ and migrations/). Each value
can be changed without editing this file through the environment variable named beside it
(set them in /etc/lastmile/lastmile.env; see README.md, "Deploying").
"""

import multiprocessing
import os

# Where nginx (or the load balancer) reaches us. Keep it on loopback or a private network:
# the app trusts X-Forwarded-For from whoever connects (LASTMILE_PROXY_FIX_X_FOR), so nothing
# else must be able to reach this port. Under systemd socket activation (lastmile-web.socket)
# gunicorn takes the socket systemd hands over and this setting is not used.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers, one request at a time each: pages are CPU-bound (rendering) on fast, indexed
# queries, and the web tier never calls Twilio, SMTP or webhooks (the RQ worker does). nginx in
# front buffers slow uploads and slow readers, so a sync worker is never held by a slow client.
# (2 x cores) + 1 is the usual starting point for a host that only serves the web tier.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# GUNICORN_THREADS > 1 switches to the gthread worker (that many requests per process, sharing
# one GIL). The benchmarks in BENCHMARKS.md and the deploy check used sync workers.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# A request still running after this many seconds is killed and its worker replaced. The
# slowest legitimate request is a complaint with 5 photos of 10 MB being re-encoded (seconds).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On stop or restart, requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # only the gthread worker keeps connections alive
# Replace each worker after about this many requests (guards against slow memory growth).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Workers import the app themselves after the fork: each opens its own database pool, and a
# HUP (systemctl reload) loads changed code.
preload_app = False

# Which peers may tell gunicorn the scheme (X-Forwarded-Proto). The client's address comes
# from X-Forwarded-For through the app's ProxyFix (LASTMILE_PROXY_FIX_X_FOR), not from here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr: journald under systemd, `docker logs` in a container.
# The access line carries the path without its query string (search terms, postcodes and
# label keys live there); signed-link tokens in /l/<token> are masked by portal/logs.py.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "lastmile-web"
# gunicorn 25+ opens a control socket under $HOME/.gunicorn by default: the service user's home
# is read-only under ProtectSystem=strict, and two instances on one host would share the path.
# Nothing here uses `gunicornc`, so it stays off (older gunicorn ignores this setting).
control_socket_disable = True
