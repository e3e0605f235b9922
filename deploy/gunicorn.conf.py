"""gunicorn settings for Lastmile: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Run it from the source directory (the one holding wsgi.py, portal/ and migrations/). Each value
can be changed without editing this file through the environment variable named beside it
(set them in /etc/lastmile/lastmile.env; see README.md, "Deploying").
"""

import glob
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
# label keys live there); signed-link tokens in /l/<token> are masked by portal/logs.py. It
# ends with the request id (the response's X-Request-ID: nginx's, or one the app made), the
# same id as on the app's own lines for that request and on the worker's for its messages.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'

# LASTMILE_LOG_FORMAT=json: one JSON object per line on stderr, gunicorn's lines too. This
# process (the arbiter) never imports the app, so that a HUP loads changed code: it writes its
# few lines (workers booting and exiting) with python-json-logger directly; each worker swaps
# in portal/logs.py's handler, which adds the request id and masks tokens (portal.logs.install).
if os.environ.get("LASTMILE_LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": ["levelname", "name", "message"],
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",  # UTC, ISO 8601, as the workers write it
            }
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }


# Prometheus (README.md, "Monitoring"): with PROMETHEUS_MULTIPROC_DIR set, every worker keeps
# its counters in files there (prometheus_client's multiprocess mode) and /metrics adds them
# all up, so every worker counts and counters only ever grow while this gunicorn runs.
COMPACTION_LOCK = "compaction.lock"  # portal/observability/metrics.py reads under it too


def on_starting(server):
    # Files left by an earlier run would be counted again; lastmile-web.service's
    # RuntimeDirectory= is empty anyway, this covers a plain `gunicorn` or a container.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        # prometheus_client's own files only: never delete what a mistyped path points at.
        for kind in ("counter", "gauge", "histogram", "summary"):
            for stale in glob.glob(os.path.join(path, f"{kind}_*.db")):
                os.remove(stale)


def worker_exit(server, worker):
    """A worker is about to exit (max_requests, a reload, a deploy): the messages its last
    requests committed get a few seconds to reach the queue, instead of waiting for the sweeper.
    """
    # The app's module, imported in the worker that has it loaded (never in the master).
    from portal.notifications.handoff import finish_handoffs  # noqa: PLC0415

    finish_handoffs(timeout=5)


def child_exit(server, worker):
    """A worker ended (max_requests, a HUP, a crash): fold its counters into one archive file
    per kind. Left alone, every replaced worker's files stay and each scrape reads them all:
    with 240 label sets per worker, 100 replaced workers made a scrape take 1.6 s, 2,000 of
    them 43 s (BENCHMARKS.md, "Metrics")."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    # Loaded only when metrics are on: gunicorn's master reads this file without them otherwise.
    import fcntl  # noqa: PLC0415

    from prometheus_client import multiprocess  # noqa: PLC0415
    from prometheus_client.mmap_dict import MmapedDict  # noqa: PLC0415

    multiprocess.mark_process_dead(worker.pid, path)
    # Exclusive: a scrape reading the dead file and the archive between the two steps below
    # would count these values twice (and Prometheus would take the drop after for a reset).
    with open(os.path.join(path, COMPACTION_LOCK), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ("counter", "histogram"):
            dead = os.path.join(path, f"{kind}_{worker.pid}.db")
            if not os.path.exists(dead):
                continue
            archive = MmapedDict(os.path.join(path, f"{kind}_archive.db"))
            try:
                # Histogram files hold each bucket's own count (summed into `le` at scrape
                # time), so every kind of value adds up key by key.
                for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(dead):
                    archived, _ = archive.read_value(key)
                    archive.write_value(key, archived + value, timestamp)
            finally:
                archive.close()
            os.remove(dead)
