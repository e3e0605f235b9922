"""Writing messages into the outbox, in the same transaction as the change that causes them.

`notify()` is the one function every trigger goes through (events, delivery changes, returns,
complaints). Rows are deduplicated by parcel, trigger and channel, so a replayed carrier event
can never send a second SMS. Sending happens after commit (see dispatch.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from jinja2_fragments.flask import render_block
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.bulk import insert_new
from portal.extensions import db
from portal.localtime import format_day, local_day, parcel_zone
from portal.models import (
    Channel,
    DeliveryChoice,
    Notification,
    NotificationState,
    Parcel,
    SmsOptOut,
    WebhookEndpoint,
)
from portal.models.types import utcnow
from portal.services.links import issue_link
from portal.services.network.pickup import pickup_deadline

# Triggers that message the recipient. Later issues add their own through notify().
TRIGGERS = (
    "parcel_created",
    "out_for_delivery",
    "delivery_failed",
    "ready_for_pickup",
    "delayed",
    "delivered",
    "delivery_changed",
    "choice_withdrawn",
    "complaint_opened",
    "complaint_updated",
    "return_requested",
    "return_approved",
    "return_rejected",
    "return_dropped_off",
    "return_received",
    "return_refunded",
)
# The one trigger allowed through quiet hours: the parcel is coming today.
QUIET_HOURS_EXEMPT = frozenset({"out_for_delivery"})

_PENDING = "outbox_pending"
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


def quiet_until(now: datetime, zone: ZoneInfo) -> datetime | None:
    """When quiet hours end, if `now` falls inside them in the recipient's zone, else None."""
    start, end = current_app.config["NOTIFY_QUIET_START"], current_app.config["NOTIFY_QUIET_END"]
    local = now.astimezone(zone)
    if end <= local.hour < start:
        return None
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=zone)


def is_opted_out(phone: str) -> bool:
    return db.session.get(SmsOptOut, phone) is not None


def pickup_code(parcel: Parcel) -> str:
    """A six-digit pickup code, stable per parcel, unguessable without the secret key."""
    digest = hmac.new(
        current_app.config["SECRET_KEY"].encode(), parcel.tracking_number.encode(), hashlib.sha256
    ).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


# Every name a message's template may use, by trigger: what `_context()` provides and what the
# callers of notify() pass as `extra`. Merchants' own templates are checked against it (see
# services/message_templates.py), so a key added here or there belongs in this table too.
CONTEXT_KEYS = frozenset(
    {"parcel", "merchant", "tracking_number", "link", "eta", "trigger"}
    | {"eta_from_local", "eta_to_local", "eta_day"}  # only when the parcel has an ETA window
)
EMAIL_KEYS = frozenset({"unsubscribe_link"})
_RETURN_KEYS = frozenset({"return_", "rma", "currency"})
_COMPLAINT_KEYS = frozenset(
    {
        "case_number",
        "complaint_type",
        "status_text",
        "status_explanation",
        "due_day",
        "resolution_text",
        "agent_message",
        "needs_answer",
    }
)
TRIGGER_KEYS: dict[str, frozenset[str]] = {
    "delivery_failed": frozenset({"reply_choices"}),
    "delivery_changed": frozenset({"choice_text"}),
    # A closed slot or pickup point took the recipient's choice away (services/network).
    "choice_withdrawn": frozenset({"withdrawn_text", "reason"}),
    # pickup_hours: the point's hours on the last day ("10:00-16:00"), empty when unknown.
    "ready_for_pickup": frozenset({"pickup_place", "pickup_until", "pickup_hours", "pickup_code"}),
    "complaint_opened": _COMPLAINT_KEYS,
    "complaint_updated": _COMPLAINT_KEYS,
    "return_requested": _RETURN_KEYS,
    "return_approved": _RETURN_KEYS,
    "return_rejected": _RETURN_KEYS,
    "return_dropped_off": _RETURN_KEYS | {"place", "dropped_off_at"},
    "return_received": _RETURN_KEYS,
    "return_refunded": _RETURN_KEYS | {"amount"},
}


def context_keys(trigger: str, channel: Channel) -> frozenset[str]:
    """The variables a template of `trigger` on `channel` can rely on."""
    keys = CONTEXT_KEYS | TRIGGER_KEYS.get(trigger, frozenset())
    return keys | EMAIL_KEYS if channel is Channel.EMAIL else keys


def _context(parcel: Parcel, trigger: str, link: str, extra: dict) -> dict:
    from portal.formatting import eta_window

    base = _base_url()
    context = {
        "parcel": parcel,
        "merchant": parcel.merchant.name,
        "tracking_number": parcel.tracking_number,
        "link": f"{base}/l/{link}",
        "eta": eta_window(parcel.eta_from, parcel.eta_to, parcel.time_zone),
        "trigger": trigger,
        **extra,
    }
    if parcel.eta_from and parcel.eta_to:
        # SMS spell times plainly: an en dash would make the whole message UCS-2 (70 a segment).
        zone = parcel_zone(parcel)
        context["eta_from_local"] = parcel.eta_from.astimezone(zone).strftime("%H:%M")
        context["eta_to_local"] = parcel.eta_to.astimezone(zone).strftime("%H:%M")
        context["eta_day"] = local_day(parcel.eta_from, parcel.time_zone)
    if trigger == "delivery_failed":
        # The SMS offers "reply 1 / 2" only where we have slots and pickup points to offer.
        context["reply_choices"] = parcel.zone_id is not None
    if trigger == "choice_withdrawn" and "withdrawn_choice_id" in extra:
        from portal.services.delivery import describe

        withdrawn = db.session.get(DeliveryChoice, extra["withdrawn_choice_id"])
        context["withdrawn_text"] = describe(withdrawn, parcel.time_zone) if withdrawn else ""
    if trigger == "delivery_changed":
        from portal.services.delivery import current_choice, describe

        choice = current_choice(parcel)
        context["choice_text"] = describe(choice, parcel.time_zone) if choice else ""
    if trigger == "ready_for_pickup":
        from portal.services.tracking import timeline

        # The chosen point, its last day moved off days it is closed; else where the carrier
        # says the parcel is, for the plain number of days.
        deadline = pickup_deadline(parcel, parcel.status_at or utcnow())
        if deadline.place is not None:
            context["pickup_place"] = deadline.place
        else:
            events = timeline(parcel)
            context["pickup_place"] = events[0].location if events else ""
        context["pickup_until"] = format_day(deadline.last_day)
        context["pickup_hours"] = deadline.hours or ""
        context["pickup_code"] = pickup_code(parcel)
    return context


SUBJECT_MAX = Notification.__table__.c.subject.type.length


def fit_subject(subject: str | None) -> str | None:
    """A subject that fits its column. A longer one (a merchant's template with a long real
    name and address in it) is cut at a word and ends in "…": the message still goes, and the
    change that caused it is never refused over its wording."""
    if subject is None or len(subject) <= SUBJECT_MAX:
        return subject
    cut = subject[: SUBJECT_MAX - 1]
    word = cut.rfind(" ")
    if word > SUBJECT_MAX // 2:  # a word boundary not too far back
        cut = cut[:word]
    return cut.rstrip(" ,;:-") + "…"


def render(
    trigger: str,
    channel: Channel,
    language: str,
    context: dict,
    merchant_id: int | None = None,
) -> dict:
    """Subject, text and HTML of one message from the trigger's templates in one language:
    the merchant's own wording where it has one, else the built-in template."""
    if merchant_id is not None:
        from portal.services.message_templates import render_override

        content = render_override(merchant_id, trigger, channel, language, context)
        if content is not None:
            return {**content, "subject": fit_subject(content["subject"])}
    folder = f"notifications/{trigger}"
    with force_locale(language):
        if channel is Channel.SMS:
            body = render_block(f"{folder}/sms.{language}.txt", "body", **context)
            return {"subject": None, "body": " ".join(body.split()), "body_html": None}
        text = f"{folder}/email.{language}.txt"
        return {
            "subject": fit_subject(" ".join(render_block(text, "subject", **context).split())),
            "body": render_block(text, "body", **context).strip() + "\n",
            "body_html": current_app.jinja_env.get_template(
                f"{folder}/email.{language}.html"
            ).render(**context),
        }


def _add(row: Notification) -> Notification | None:
    """Insert unless a row with the same dedupe key exists (the unique constraint decides, in a
    savepoint, so a concurrent writer's row counts too); None when it did."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    if row.state is NotificationState.QUEUED:
        db.session.info.setdefault(_PENDING, []).append(row.id)
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
                row["not_before"] = quiet_until(now, parcel_zone(parcel))
        rows.append(row)
    return rows


def _write(
    parcel: Parcel,
    trigger: str,
    channel: Channel,
    language: str,
    *,
    now: datetime,
    token: str | None = None,
    extra: dict | None = None,
    link_target: str | None = None,
) -> dict:
    """Subject, text, HTML and unsubscribe header of one message, with a fresh signed link
    unless `token` (one link for the SMS and the e-mail of the same news) is given."""
    days = current_app.config["SIGNED_LINK_DAYS"]
    if token is None:
        token = issue_link(parcel, now=now, days=days, target=link_target)
    unsubscribe = None
    if channel is Channel.EMAIL:
        # A signed one-click link that turns e-mail off for this parcel (header and footer).
        unsubscribe = f"{_base_url()}/u/" + issue_link(
            parcel, purpose="unsubscribe", now=now, days=days
        )
    with force_locale(language):  # dates and day names in the recipient's language
        context = _context(parcel, trigger, token, extra or {})
        context["unsubscribe_link"] = unsubscribe
        content = render(trigger, channel, language, context, parcel.merchant_id)
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
    token = None
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
            token=token,
            extra=extra,
            link_target=link_target,
        )
        token = content.pop("link_token")
        row = Notification(parcel=parcel, **planned, **content)
        if _add(row):
            made.append(row)
    return made


def write_when_sending(n: Notification, now: datetime) -> None:
    """Give a row queued without its text (a carrier batch's status message) its subject, body
    and link, from the parcel as it is now: the sender calls this just before sending."""
    content = _write(n.parcel, n.trigger, n.channel, n.language, now=now)
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


STATUS_TRIGGERS = frozenset(
    {"out_for_delivery", "delivery_failed", "ready_for_pickup", "delayed", "delivered"}
)
# A second attempt on another day deserves its own message; a replayed event (same time) doesn't.
REPEATABLE = frozenset({"out_for_delivery", "delivery_failed", "delayed"})


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
    db.session.info.setdefault(_PENDING, []).extend(queued)
    return queued


# --- handing committed rows to the dispatcher ---------------------------------------------


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Releasing a savepoint fires this too (the outer transaction still active): only the
    # outermost commit makes the rows visible to a sender.
    outer = session.get_transaction()
    if outer is not None and outer.is_active:
        return
    ids = session.info.pop(_PENDING, None)
    if ids:
        from portal.notifications.dispatch import dispatch

        dispatch(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A savepoint rollback (a deduplicated row) must not drop the others; a full one does.
    outer = session.get_transaction()
    if outer is None or not outer.is_active:
        session.info.pop(_PENDING, None)


def enqueue(row: Notification) -> Notification | None:
    """Add a ready-made message (an agent's resend) to the outbox; sent after commit."""
    # Its key was made by the caller (a resend's is its original's plus a suffix, as long as
    # the agent repeats it): fitted to its column here, the one way such keys come in.
    row.dedupe_key = bounded_key(row.dedupe_key)
    return _add(row)
