"""Sending queued messages: the RQ job, claiming, retries, and the fallback to e-mail (handing
rows over to the queue, and the sweeper, are in handoff.py).

Delivery is at-least-once towards the queue and at-most-once per row towards the provider:
a job first claims its rows with a conditional UPDATE (state still queued, due, unclaimed), so a
row that was sent is never sent again however often it was enqueued. The one gap left is a worker
killed between the provider's answer and our commit; its lease expires and the row is retried.
A job slower than its lease renews it row by row and never sends a row another worker took.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import Channel, Notification, NotificationState, Parcel, SmsOptOut
from portal.models.types import utcnow
from portal.notifications.channels import PermanentError, TemporaryError, channel_for
from portal.observability.metrics import NOTIFICATIONS_SENT
from portal.services.messages import QUIET_HOURS_EXEMPT, notify, quiet_until, write_when_sending

log = logging.getLogger(__name__)
Q = NotificationState

_worker_app: Flask | None = None


def send_job(notification_ids: list[int]) -> dict[str, int]:
    """The RQ job: send a batch of rows. `flask worker` runs jobs inside its app context;
    anywhere else the job makes one."""
    if has_app_context():
        return send_and_close(notification_ids)
    global _worker_app
    if _worker_app is None:
        # The app factory sits above every module of the app: imported only when a job runs
        # outside `flask worker` (`rq worker`, say), which has no app of its own.
        from portal import create_app  # noqa: PLC0415

        _worker_app = create_app()
    with _worker_app.app_context():
        return send_and_close(notification_ids)


def send_and_close(notification_ids: list[int]) -> dict[str, int]:
    """send_notifications() in a job's or thread's own app context, its session closed after."""
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
        # The recipients' own quiet hours (standing preferences kept on their parcels), read
        # for the batch at once, like the opt-outs.
        parcel_ids = {n.parcel_id for n in claimed if n.channel is Channel.SMS and n.parcel_id}
        quiet_hours = (
            {
                row.id: (row.quiet_start, row.quiet_end)
                for row in db.session.execute(
                    select(Parcel.id, Parcel.quiet_start, Parcel.quiet_end).where(
                        Parcel.id.in_(parcel_ids), Parcel.quiet_start.is_not(None)
                    )
                )
            }
            if parcel_ids
            else {}
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
                outcome = _deliver(n, current, opted_out, quiet_hours)
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


def _deliver(
    n: Notification,
    now: datetime,
    opted_out: set[str],
    quiet_hours: dict[int, tuple[int | None, int | None]],
) -> str:
    if n.channel is Channel.SMS:
        if n.recipient in opted_out:
            _finish(n, Q.SUPPRESSED, now, error="recipient replied STOP")
            return "suppressed"
        wait = (
            quiet_until(now, ZoneInfo(n.time_zone), quiet_hours.get(n.parcel_id))
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
    parcel = n.parcel
    if n.channel is not Channel.SMS or parcel is None or not parcel.recipient_email:
        return
    # Same key as the SMS but for e-mail ("12:delayed@2026-11-25:sms" → "…:email"): a recipient
    # who gets e-mail anyway already has this message and gets no second copy.
    suffix = n.dedupe_key.rsplit(":", 1)[0].split(":", 1)[1].removeprefix(n.trigger)
    notify(parcel, n.trigger, channels=(Channel.EMAIL,), now=now, dedupe_suffix=suffix)
    db.session.commit()
