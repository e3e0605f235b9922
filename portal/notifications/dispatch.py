"""Sending queued messages: hand-off to RQ, claiming, retries, fallback, and the sweeper.

Delivery is at-least-once towards the queue and at-most-once per row towards the provider:
a job first claims its rows with a conditional UPDATE (state still queued, due, unclaimed), so a
row that was sent is never sent again however often it was enqueued. The one gap left is a worker
killed between the provider's answer and our commit; its lease expires and the row is retried.
A job slower than its lease renews it row by row and never sends a row another worker took.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_app_context
from redis import Redis
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from portal import logs
from portal.extensions import db
from portal.models import Channel, Notification, NotificationState, SmsOptOut
from portal.models.types import utcnow
from portal.notifications.channels import PermanentError, TemporaryError, channel_for
from portal.observability.metrics import NOTIFICATIONS_SENT
from portal.redis_clients import new_redis_client, redis_client

log = logging.getLogger(__name__)
Q = NotificationState
# A row handed to the queue that is still queued after this long is handed over again.
REQUEUE_AFTER = timedelta(seconds=60)
BATCH = 50

_executor: ThreadPoolExecutor | None = None
_worker_app: Flask | None = None


# The queue's Redis: seconds to connect, and to wait for each command.
_CONNECT_TIMEOUT, _TIMEOUT = 2, 5


def redis_connection() -> Redis:
    """A client for an RQ worker, its own: the worker lengthens its socket timeout to outwait
    its blocking wait for jobs, which the hand-off's shared client must not get."""
    url = current_app.config["REDIS_URL"]
    return new_redis_client(url, connect_timeout=_CONNECT_TIMEOUT, timeout=_TIMEOUT)


def queue():
    """The outbox's RQ queue on the process's shared client (the hand-off after a commit)."""
    from rq import Queue

    url = current_app.config["REDIS_URL"]
    connection = redis_client(url, connect_timeout=_CONNECT_TIMEOUT, timeout=_TIMEOUT)
    return Queue(current_app.config["RQ_QUEUE"], connection=connection)


def dispatch(ids: list[int]) -> None:
    """Hand committed rows to the queue (RQ with Redis, a thread without). Never raises: a row
    that could not be handed over stays queued and the sweeper picks it up."""
    if not current_app.config.get("REDIS_URL"):
        _in_process(ids)
        return
    try:
        from rq import Queue

        q = queue()
        # The request that queued the rows travels with the job into the worker's log lines.
        rid = logs.request_id.get()
        # Jobs of up to BATCH rows, queued in one round trip: RQ's bookkeeping per job costs
        # more than sending one SMS. The claim still checks every row's own state, and each
        # row's "sent" is committed on its own.
        jobs = [
            Queue.prepare_data(
                "portal.notifications.dispatch.send_job",
                args=(ids[i : i + BATCH],),
                result_ttl=0,
                failure_ttl=24 * 3600,
                meta={"request_id": rid} if rid else None,
            )
            for i in range(0, len(ids), BATCH)
        ]
        q.enqueue_many(jobs)
    except Exception as exc:  # Redis down: the rows are safe in the outbox
        log.warning("queue unavailable, %d message(s) left for the sweeper: %s", len(ids), exc)


def _in_process(ids: list[int]) -> None:
    """The embedded default: send on a background thread of this process (no Redis needed)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
    app = current_app._get_current_object()
    rid = logs.request_id.get()

    def run() -> None:
        # The thread's log lines carry the request's id, and nothing else of the request's
        # context: the request (and its app context) is torn down while the thread still runs.
        logs.request_id.set(rid)
        with app.app_context():
            g.sqlite_writer = True  # see extensions._reading_only
            _send_all(ids)

    # A fresh, empty context per job: copy_context() would carry Flask's request and app
    # context variables into the thread; and what `run` sets ends with it.
    _executor.submit(contextvars.Context().run, run)


def drain() -> None:
    """Wait until in-process sends are done (commands call this before they exit)."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


def send_job(notification_ids: list[int]) -> dict[str, int]:
    """The RQ job: send a batch of rows. `flask worker` runs jobs inside its app context;
    anywhere else the job makes one."""
    if has_app_context():
        return _send_all(notification_ids)
    global _worker_app
    if _worker_app is None:
        from portal import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        return _send_all(notification_ids)


def _send_all(notification_ids: list[int]) -> dict[str, int]:
    try:
        return send_notifications(notification_ids)
    finally:
        db.session.remove()


def _claim(notification_ids: list[int], now: datetime) -> list[Notification]:
    """Take the rows for this worker in one UPDATE … RETURNING: only those still queued, due
    and in nobody else's hands. A row sent (or being sent) elsewhere is simply not returned."""
    lease = now + timedelta(seconds=current_app.config["NOTIFY_CLAIM_SECONDS"])
    claimed = (
        db.session.execute(
            update(Notification)
            .where(
                Notification.id.in_(notification_ids),
                Notification.state == Q.QUEUED,
                or_(Notification.not_before.is_(None), Notification.not_before <= now),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .values(claimed_until=lease, attempts=Notification.attempts + 1, updated_at=now)
            .returning(Notification)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    return sorted(claimed, key=lambda n: n.id)


def send_notifications(notification_ids: list[int], *, now: datetime | None = None) -> dict:
    """Send a batch of rows: claim them together, then send and record each on its own (a
    crash mid-batch leaves the rest claimed until their lease runs out, then they go again).
    Returns how many rows ended which way."""
    now = now or utcnow()
    started = utcnow()
    session = db.session()
    # The rows are ours alone once claimed: no need to reload them after every commit.
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        claimed = _claim(notification_ids, now)
        outcomes = {"skipped": len(set(notification_ids)) - len(claimed)}
        phones = {n.recipient for n in claimed if n.channel is Channel.SMS}
        opted_out = set(
            db.session.execute(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones)))
            .scalars()
            .all()
            if phones
            else ()
        )
        db.session.commit()  # no transaction left open while a provider keeps us waiting
        for n in claimed:
            # A job of slow provider calls (timeouts of 10 s each) can outlast its claim: each
            # row is sent and its retry scheduled at the time it comes up, not the job's start.
            current = now + (utcnow() - started)
            if not _still_claimed(n, current):
                outcomes["skipped"] += 1
                continue
            channel = n.channel.value  # read now: a rollback below would expire the row
            try:
                outcome = _deliver(n, current, opted_out)
            except Exception:
                # One bad row must not strand the rest; its lease expires, the sweeper retries.
                log.exception("sending notification %s failed", n.id)
                db.session.rollback()
                outcome = "error"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            NOTIFICATIONS_SENT.labels(channel=channel, result=outcome).inc()
    finally:
        session.expire_on_commit = expire
    return {k: v for k, v in outcomes.items() if v}


def _still_claimed(n: Notification, now: datetime) -> bool:
    """Whether the row is still this worker's to send. Late in a long job (providers slow or
    hanging before it), the claim is renewed first with a conditional UPDATE on the claim this
    worker made; a row whose claim ran out meanwhile may have gone to another worker through
    the sweeper, which sends it, so it is left alone here."""
    claim = timedelta(seconds=current_app.config["NOTIFY_CLAIM_SECONDS"])
    if now < n.claimed_until - claim / 2:
        return True  # most rows: the claim has long to run
    renewed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == n.id,
            Notification.state == Q.QUEUED,
            Notification.claimed_until == n.claimed_until,
        )
        .values(claimed_until=now + claim)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if renewed:
        set_committed_value(n, "claimed_until", now + claim)
    return bool(renewed)


def send_notification(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one row if it is still queued and due; what happened, for logs and tests."""
    return next(iter(send_notifications([notification_id], now=now)))


def _deliver(n: Notification, now: datetime, opted_out: set[str]) -> str:
    from portal.notifications.outbox import QUIET_HOURS_EXEMPT, quiet_until

    if n.channel is Channel.SMS:
        if n.recipient in opted_out:
            _finish(n, Q.SUPPRESSED, now, error="recipient replied STOP")
            return "suppressed"
        wait = (
            quiet_until(now, ZoneInfo(n.time_zone))
            if n.time_zone and n.trigger not in QUIET_HOURS_EXEMPT
            else None
        )
        if wait:
            # A retry (or a late queue) landed in quiet hours: wait for the morning.
            n.not_before, n.claimed_until = wait, None
            n.attempts -= 1
            db.session.commit()
            return "deferred"
    if not n.rendered:
        from portal.notifications.outbox import write_when_sending

        try:
            write_when_sending(n, now)
        except SQLAlchemyError:
            raise  # the database, not the message: rolled back, and the row goes again
        except Exception:
            # A template that cannot be written now will not be written on a retry either.
            log.exception("writing notification %s failed", n.id)
            db.session.rollback()
            _fail(n, now, "the message could not be written")
            return "failed"
    try:
        provider_id = channel_for(n.channel).send(n)
    except PermanentError as exc:
        _fail(n, now, str(exc))
        return "failed"
    except TemporaryError as exc:
        if n.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
            _fail(n, now, f"gave up after {n.attempts} tries: {exc}")
            return "failed"
        delay = current_app.config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** (n.attempts - 1)
        n.not_before, n.claimed_until = now + timedelta(seconds=delay), None
        n.last_error = str(exc)[:500]
        db.session.commit()
        return "retry"
    n.provider_id = provider_id
    n.sent_at = now
    if n.channel is Channel.WEBHOOK:
        # A webhook's 2xx is its receipt; SMS and e-mail receipts arrive later.
        n.delivered_at = now
        _finish(n, Q.DELIVERED, now)
    else:
        _finish(n, Q.SENT, now)
    return "sent"


def _finish(n: Notification, state: NotificationState, now: datetime, error: str | None = None):
    n.state, n.claimed_until, n.updated_at = state, None, now
    if error:
        n.last_error = error[:500]
    db.session.commit()


def _fail(n: Notification, now: datetime, error: str) -> None:
    n.failed_at = now
    _finish(n, Q.FAILED, now, error)
    fall_back_to_email(n, now)


def fall_back_to_email(n: Notification, now: datetime) -> None:
    """An SMS that finally failed goes out as an e-mail, when the recipient has an address and
    has not had this message by e-mail already."""
    from portal.notifications.outbox import notify

    parcel = n.parcel
    if n.channel is not Channel.SMS or parcel is None or not parcel.recipient_email:
        return
    # Same key as the SMS but for e-mail ("12:delayed@2026-11-25:sms" → "…:email"): a recipient
    # who gets e-mail anyway already has this message and gets no second copy.
    suffix = n.dedupe_key.rsplit(":", 1)[0].split(":", 1)[1].removeprefix(n.trigger)
    notify(parcel, n.trigger, channels=(Channel.EMAIL,), now=now, dedupe_suffix=suffix)
    db.session.commit()


def sweep(now: datetime | None = None, limit: int = 1000) -> int:
    """Hand over rows that are due and not in anyone's hands: deferred by quiet hours or backoff,
    left behind by a Redis outage, or held by a worker that died. Returns how many."""
    now = now or utcnow()
    ids = list(
        db.session.execute(
            select(Notification.id)
            .where(
                Notification.state == Q.QUEUED,
                or_(Notification.not_before.is_(None), Notification.not_before <= now),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
                or_(
                    # Became due (quiet hours, backoff) since anyone last touched it …
                    Notification.updated_at < Notification.not_before,
                    # … or handed over a while ago and still not sent.
                    Notification.updated_at < now - REQUEUE_AFTER,
                ),
            )
            .order_by(Notification.id)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    if ids:
        # Mark them so the next sweep waits REQUEUE_AFTER before handing them over again.
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        dispatch(ids)
    return len(ids)
