"""Writing messages into the outbox, in the same transaction as the change that causes them.

`notify()` is the one function every trigger goes through (events, delivery changes, returns,
complaints). Rows are deduplicated by parcel, trigger and channel, so a replayed carrier event
can never send a second SMS. Once the transaction commits, its queued rows go to the hand-off the
sender registered at start-up (`set_handoff`, see portal/notifications/handoff.py); this package
never imports the sender.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.bulk import insert_new
from portal.extensions import db
from portal.localtime import parcel_zone
from portal.models import (
    Channel,
    Notification,
    NotificationState,
    Parcel,
    SmsOptOut,
    WebhookEndpoint,
)
from portal.models.types import utcnow
from portal.services.links import issue_link
from portal.services.messages.context import base_url, context
from portal.services.messages.render import render
from portal.services.messages.triggers import (
    QUIET_HOURS_EXEMPT,
    REPEATABLE,
    STATUS_TRIGGERS,
    quiet_until,
)
from portal.transactions import after_commit, transaction_local

log = logging.getLogger(__name__)

# The dedupe_key column's width; keys are made to fit it (bounded_key), once each: where this
# module builds a recipient's key (_planned) and where a caller's key comes in (enqueue).
DEDUPE_KEY_MAX = Notification.__table__.c.dedupe_key.type.length


def bounded_key(key: str | None) -> str | None:
    """A dedupe key that fits its column. A longer one (an agent's resend of a resend of …,
    each a level deeper) keeps its start, readable in the console, and ends in a hash of the
    whole key, so two different long keys stay different and the same one stays the same."""
    if key is None or len(key) <= DEDUPE_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: DEDUPE_KEY_MAX - len(digest) - 1]}#{digest}"


def is_opted_out(phone: str) -> bool:
    return db.session.get(SmsOptOut, phone) is not None


def _add(row: Notification) -> Notification | None:
    """Insert unless a row with the same dedupe key exists (the unique constraint decides, in a
    savepoint, so a concurrent writer's row counts too); None when it did."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    if row.state is NotificationState.QUEUED:
        _pending().append(row.id)
    return row


def _planned(
    parcel: Parcel,
    trigger: str,
    *,
    channels: tuple[Channel, ...] | None,
    now: datetime,
    dedupe_suffix: str,
    answering: bool,
    opted_out: set[str] | None = None,
) -> list[dict]:
    """The outbox rows (without their text) of `trigger` for each channel the recipient
    receives: address, dedupe key, language, and when it may go (STOP, quiet hours).
    `opted_out`: the batch's STOP list, read once, else asked per phone."""
    language = parcel.language if parcel.language in current_app.config["LANGUAGES"] else "en"
    wanted = channels or tuple(
        c
        for c, address, on in (
            (Channel.SMS, parcel.recipient_phone, parcel.notify_sms),
            (Channel.EMAIL, parcel.recipient_email, parcel.notify_email),
        )
        if address and on
    )
    rows = []
    for channel in wanted:
        address = parcel.recipient_phone if channel is Channel.SMS else parcel.recipient_email
        if not address:
            continue
        row = {
            "parcel_id": parcel.id,
            "channel": channel,
            "trigger": trigger,
            "language": language,
            # None: an answer to the recipient's own text, sent at once at any hour.
            "time_zone": None if answering else parcel_zone(parcel).key,
            "recipient": address,
            # Fitted here, before notify() looks it up: a fall-back e-mail's suffix comes from
            # its SMS's key, which an agent's resends may have grown to the column's width.
            "dedupe_key": bounded_key(f"{parcel.id}:{trigger}{dedupe_suffix}:{channel}"),
            "state": NotificationState.QUEUED,
            "last_error": None,
            "not_before": None,
        }
        if channel is Channel.SMS:
            stopped = address in opted_out if opted_out is not None else is_opted_out(address)
            if stopped:
                row["state"] = NotificationState.SUPPRESSED
                row["last_error"] = "recipient replied STOP"
            elif trigger not in QUIET_HOURS_EXEMPT and not answering:
                row["not_before"] = quiet_until(
                    now, parcel_zone(parcel), (parcel.quiet_start, parcel.quiet_end)
                )
        rows.append(row)
    return rows


def _write(
    parcel: Parcel,
    trigger: str,
    channel: Channel,
    language: str,
    *,
    now: datetime,
    extra: dict | None = None,
    link_target: str | None = None,
    address: str | None = None,
) -> dict:
    """Subject, text, HTML and unsubscribe header of one message, with a signed link of its
    own: it proves the address it went to (`address`), which is also a sign-in at /me."""
    days = current_app.config["SIGNED_LINK_DAYS"]
    token = issue_link(parcel, now=now, days=days, target=link_target, address=address)
    unsubscribe = None
    if channel is Channel.EMAIL:
        # A signed one-click link that turns e-mail off for this parcel (header and footer).
        unsubscribe = f"{base_url()}/u/" + issue_link(
            parcel, purpose="unsubscribe", now=now, days=days
        )
    with force_locale(language):  # dates and day names in the recipient's language
        values = context(parcel, trigger, token, extra or {})
        values["unsubscribe_link"] = unsubscribe
        content = render(trigger, channel, language, values, parcel.merchant_id)
    return {**content, "list_unsubscribe": unsubscribe, "link_token": token}


def notify(
    parcel: Parcel,
    trigger: str,
    *,
    channels: tuple[Channel, ...] | None = None,
    now: datetime | None = None,
    extra: dict | None = None,
    dedupe_suffix: str = "",
    answering: bool = False,
    link_target: str | None = None,
) -> list[Notification]:
    """Queue `trigger`'s message to the parcel's recipient on each channel they receive.

    `answering`: the recipient just wrote to us, so the SMS goes now, quiet hours or not.
    `link_target`: the page the message's signed link opens (a return, a case), else the parcel.
    """
    now = now or utcnow()
    made = []
    for planned in _planned(
        parcel,
        trigger,
        channels=channels,
        now=now,
        dedupe_suffix=dedupe_suffix,
        answering=answering,
    ):
        if db.session.execute(
            select(Notification.id).where(Notification.dedupe_key == planned["dedupe_key"])
        ).first():
            continue
        content = _write(
            parcel,
            trigger,
            planned["channel"],
            planned["language"],
            now=now,
            extra=extra,
            link_target=link_target,
            address=planned["recipient"],
        )
        content.pop("link_token")
        row = Notification(parcel=parcel, **planned, **content)
        if _add(row):
            made.append(row)
    return made


def write_when_sending(n: Notification, now: datetime) -> None:
    """Give a row queued without its text (a carrier batch's status message) its subject, body
    and link, from the parcel as it is now: the sender calls this just before sending."""
    content = _write(n.parcel, n.trigger, n.channel, n.language, now=now, address=n.recipient)
    content.pop("link_token")
    for name, value in content.items():
        setattr(n, name, value)
    n.rendered = True


def _webhook_rows(
    parcel: Parcel, old_status: str, now: datetime, endpoints_of: dict[int, list[WebhookEndpoint]]
) -> list[dict]:
    """The status change as one outbox row per webhook endpoint of the merchant. `endpoints_of`:
    a batch's memo by merchant, so a thousand events ask for the endpoints once, not per parcel."""
    if parcel.merchant_id not in endpoints_of:
        endpoints_of[parcel.merchant_id] = list(
            db.session.execute(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.merchant_id == parcel.merchant_id,
                    WebhookEndpoint.deleted_at.is_(None),
                )
            ).scalars()
        )
    rows = []
    for endpoint in endpoints_of[parcel.merchant_id]:
        at = (parcel.status_at or now).isoformat()
        payload = {
            "type": "parcel.status_changed",
            "tracking_number": parcel.tracking_number,
            "order_ref": parcel.order_ref,
            "status": str(parcel.status),
            "previous_status": str(old_status),
            "status_at": at,
            "eta": (
                {"from": parcel.eta_from.isoformat(), "to": parcel.eta_to.isoformat()}
                if parcel.eta_from and parcel.eta_to
                else None
            ),
        }
        rows.append(
            {
                "parcel_id": parcel.id,
                "channel": Channel.WEBHOOK,
                "trigger": "status_changed",
                "language": "en",
                "time_zone": None,
                "recipient": endpoint.url,
                "webhook_endpoint_id": endpoint.id,
                "body": json.dumps(payload, separators=(",", ":"), sort_keys=True),
                # Two ids, a status and a timestamp: far inside the column, whatever the input.
                "dedupe_key": f"wh:{endpoint.id}:{parcel.id}:{parcel.status}:{at}",
                "state": NotificationState.QUEUED,
                "last_error": None,
                "not_before": None,
            }
        )
    return rows


def status_changed(changed: list[tuple[Parcel, str, datetime]], now: datetime) -> list[int]:
    """Queue what a batch of status changes (parcel, status before, when) tells the recipients
    and the merchants' webhooks: all rows in one INSERT, the recipients' messages without their
    text (written by the sender, see write_when_sending). The ids of the rows queued."""
    rows: list[dict] = []
    endpoints_of: dict[int, list[WebhookEndpoint]] = {}
    messaged = [
        (parcel, occurred_at)
        for parcel, _, occurred_at in changed
        if str(parcel.status) in STATUS_TRIGGERS
        # An old event (a backlog replayed by a carrier) corrects the page but messages nobody.
        and now - occurred_at <= timedelta(hours=current_app.config["NOTIFY_MAX_EVENT_AGE_HOURS"])
    ]
    phones = {p.recipient_phone for p, _ in messaged if p.recipient_phone and p.notify_sms}
    opted_out = set(
        db.session.execute(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))).scalars()
        if phones
        else ()
    )
    for parcel, old_status, _ in changed:
        rows += _webhook_rows(parcel, old_status, now, endpoints_of)
    for parcel, occurred_at in messaged:
        trigger = str(parcel.status)
        suffix = ""
        if trigger in REPEATABLE:
            suffix = f"@{occurred_at.astimezone(parcel_zone(parcel)).date().isoformat()}"
        for row in _planned(
            parcel,
            trigger,
            channels=None,
            now=now,
            dedupe_suffix=suffix,
            answering=False,
            opted_out=opted_out,
        ):
            rows.append({**row, "webhook_endpoint_id": None, "body": "", "rendered": False})
    if not rows:
        return []
    for row in rows:
        row.setdefault("rendered", True)
        row.update(attempts=0, created_at=now, updated_at=now)
    table = Notification.__table__
    new = insert_new(table, rows, unique=["dedupe_key"], returning=[table.c.id, table.c.state])
    queued = [r.id for r in new if r.state == NotificationState.QUEUED]
    _pending().extend(queued)
    return queued


# --- handing committed rows to the sender ------------------------------------------------

_PENDING = "messages.pending"
_handoff: Callable[[list[int]], None] | None = None


def set_handoff(fn: Callable[[list[int]], None]) -> None:
    """Who takes the ids of rows queued by a transaction, once it has committed (the sender
    registers itself at start-up). It must not block: it runs inside the committing request."""
    global _handoff
    _handoff = fn


def _pending() -> list[int]:
    """The ids of this transaction's queued rows, handed over when it commits; a rollback
    forgets them (a savepoint's, such as a deduplicated row's, does not)."""
    return transaction_local(_PENDING, _handed_over_after_commit)


def _handed_over_after_commit() -> list[int]:
    ids: list[int] = []
    after_commit(lambda: _hand_over(ids))
    return ids


def _hand_over(ids: list[int]) -> None:
    if not ids:
        return
    if _handoff is None:  # a script without create_app(): the sweeper sends them
        log.warning("no hand-off registered, %d message(s) left for the sweeper", len(ids))
        return
    _handoff(ids)


def enqueue(row: Notification) -> Notification | None:
    """Add a ready-made message (an agent's resend) to the outbox; sent after commit."""
    # Its key was made by the caller (a resend's is its original's plus a suffix, as long as
    # the agent repeats it): fitted to its column here, the one way such keys come in.
    row.dedupe_key = bounded_key(row.dedupe_key)
    return _add(row)
