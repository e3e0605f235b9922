"""`flask --app wsgi worker`: the RQ worker for the outbox, with the sweeper beside it, and
optionally its counters for Prometheus on a port of its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq.worker import SimpleWorker
from sqlalchemy import or_, select

from portal import logs
from portal.extensions import db
from portal.models import Notification, NotificationState
from portal.models.types import utcnow
from portal.notifications.dispatch import send_notification
from portal.notifications.handoff import drain, queue, redis_connection, sweep
from portal.observability.metrics import CONTENT_TYPE, bearer_matches, exposition

log = logging.getLogger(__name__)


class Worker(SimpleWorker):
    """RQ's SimpleWorker (jobs run in this process, inside its app context: no fork per
    message), each job's log lines tagged with the id of the request that queued it."""

    def execute_job(self, job, queue):  # type: ignore[no-untyped-def]
        token = logs.request_id.set(job.meta.get("request_id"))
        started = time.perf_counter()
        try:
            return super().execute_job(job, queue)
        finally:
            rows = job.args[0] if job.args else ()
            log.info(
                "job %s: %d outbox row(s) in %.0f ms",
                job.id,
                len(rows),
                (time.perf_counter() - started) * 1000,
            )
            logs.request_id.reset(token)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # a scrape every 15 s is not news


def metrics_app(token: str) -> Callable:
    """A WSGI app answering GET /metrics with this process's counters, behind the token."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"a metrics token is needed\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")])
        return [exposition(with_state=False)]

    return app


def serve_metrics(token: str, host: str, port: int) -> WSGIServer:
    """Serve metrics_app on a daemon thread; the worker's state gauges are the web tier's."""
    server = make_server(host, port, metrics_app(token), _Server, _QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def _sweeper(app: Flask, stop: threading.Event) -> None:
    with app.app_context():
        while not stop.wait(app.config["NOTIFY_SWEEP_SECONDS"]):
            try:
                sweep()
            except Exception:
                log.exception("sweep failed; trying again")
            finally:
                db.session.remove()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--metrics-port",
    type=int,
    help="Serve /metrics (with METRICS_TOKEN) on this port [WORKER_METRICS_PORT].",
)
@with_appcontext
def worker_command(burst: bool, metrics_port: int | None) -> None:
    """Send queued notifications (RQ on REDIS_URL; without Redis, straight from the outbox)."""
    app = current_app._get_current_object()
    port = metrics_port or app.config.get("WORKER_METRICS_PORT")
    token = app.config.get("METRICS_TOKEN")
    if port and not token:
        # Monitoring left unconfigured must not stop messages from going out.
        log.warning("worker metrics not served: METRICS_TOKEN is not set")
    elif port:
        try:
            serve_metrics(token, app.config["WORKER_METRICS_HOST"], int(port))
        except OSError as exc:
            # Taken by another worker on this machine, say: messages go out all the same.
            log.warning(
                "worker metrics not served: port %d unavailable (%s)",
                int(port),
                exc.strerror or type(exc).__name__,
            )
    if not app.config.get("REDIS_URL"):
        click.echo("No REDIS_URL: sending straight from the outbox table.")
        _without_redis(app, burst)
        return
    sweep()  # whatever waited while no worker ran
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_sweeper, args=(app, stop), daemon=True).start()
    try:
        Worker([queue()], connection=redis_connection()).work(
            burst=burst, with_scheduler=False, logging_level="WARNING"
        )
    finally:
        stop.set()
        drain()  # what the jobs queued (an SMS's fallback e-mail) is handed over before exit


def _without_redis(app: Flask, burst: bool) -> None:
    while True:
        now = utcnow()
        ids = (
            db.session.execute(
                select(Notification.id).where(
                    Notification.state == NotificationState.QUEUED,
                    or_(Notification.not_before.is_(None), Notification.not_before <= now),
                )
            )
            .scalars()
            .all()
        )
        db.session.rollback()
        for notification_id in ids:
            send_notification(notification_id)
        db.session.remove()
        if burst:
            return
        time.sleep(app.config["NOTIFY_SWEEP_SECONDS"])
