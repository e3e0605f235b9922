"""`flask --app wsgi worker`: the RQ worker for the outbox, with the sweeper beside it."""

from __future__ import annotations

import logging
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.extensions import db
from portal.notifications.dispatch import queue, redis_connection, send_notification, sweep

log = logging.getLogger(__name__)


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
@with_appcontext
def worker_command(burst: bool) -> None:
    """Send queued notifications (RQ on REDIS_URL; without Redis, straight from the outbox)."""
    from rq.worker import SimpleWorker

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        click.echo("No REDIS_URL: sending straight from the outbox table.")
        _without_redis(app, burst)
        return
    sweep()  # whatever waited while no worker ran
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_sweeper, args=(app, stop), daemon=True).start()
    # SimpleWorker runs jobs in this process, inside this app context: no fork per message.
    try:
        SimpleWorker([queue()], connection=redis_connection()).work(
            burst=burst, with_scheduler=False, logging_level="WARNING"
        )
    finally:
        stop.set()


def _without_redis(app: Flask, burst: bool) -> None:
    from sqlalchemy import or_, select

    from portal.models import Notification, NotificationState
    from portal.models.types import utcnow

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
