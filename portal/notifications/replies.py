"""What Twilio tells us back: delivery receipts, STOP/START/HELP, and replies for agents."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import (
    Channel,
    ChoiceType,
    InboundMessage,
    Notification,
    NotificationState,
    Parcel,
    ParcelStatus,
    SmsOptOut,
)
from portal.models.types import utcnow
from portal.notifications.dispatch import fall_back_to_email
from portal.services import delivery, delivery_options
from portal.services.errors import DomainError
from portal.services.recipients import CODE_TRIGGER

Q = NotificationState
# Twilio's standard opt-out, opt-in and help keywords, plus the Nordic ones (STOPP is
# Swedish and Norwegian; LOPETA, ALOITA and APUA Finnish; HJELP Norwegian, HJÆLP Danish).
STOP_WORDS = frozenset(
    {"STOP", "STOPP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
    | {"LOPETA"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP", "JA", "ALOITA", "KYLLÄ"})
HELP_WORDS = frozenset({"HELP", "INFO", "HJÄLP", "HJALP", "HJELP", "HJÆLP", "APUA", "OHJE"})

# The answers, in the recipient's language (gettext under force_locale, so every catalogue
# carries them). Replies are SMS: each stays one or two GSM-7 segments in every language.
HELP_TEXT = _l(
    "Lastmile parcel updates. Reply STOP to stop SMS, START to get them again. "
    "Help with a parcel: open the link in our last message."
)
START_TEXT = _l("You will get SMS about your parcels again. Reply STOP to stop.")
THANKS_TEXT = _l("Thanks, we have passed your message on to customer service.")
NOTHING_TO_REBOOK = _l(
    "We have no missed delivery to rebook for this number. To change a delivery, open the "
    "link in our last message."
)
NO_FREE_SLOT = _l(
    "Sorry, there is no free time in the next days. Reply 2 for the nearest pickup point "
    "or open the link in our last message."
)
NO_PICKUP_POINT = _l(
    "Sorry, no pickup point near you has room. Reply 1 for the next free time or open the "
    "link in our last message."
)


def _say(text, language: str) -> str:
    with force_locale(language):
        return str(text)


def languages() -> tuple[str, ...]:
    return current_app.config["LANGUAGES"]


# Twilio's MessageStatus values that end a message's life, and what they mean for the outbox.
FINAL_STATUS = {"delivered": Q.DELIVERED, "undelivered": Q.FAILED, "failed": Q.FAILED}


def keyword(body: str) -> str | None:
    words = body.strip().upper().split()
    if len(words) != 1:
        return None
    word = words[0].strip(".!")
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def handle_status(sid: str, status: str, error_code: str | None) -> None:
    """Move an SMS to delivered or failed by its SID. Unknown SIDs, replays and out-of-order
    receipts (sent after delivered) change nothing."""
    new = FINAL_STATUS.get(status)
    if not sid or new is None:
        return
    # Twilio's error codes are five digits; whatever else comes is cut to what could be one.
    error_code = re.sub(r"[^0-9A-Za-z]", "", error_code or "")[:16] or None
    n = db.session.execute(
        select(Notification).where(Notification.provider_id == sid)
    ).scalar_one_or_none()
    if n is None or n.state is not Q.SENT:
        return
    now = utcnow()
    n.state = new
    if new is Q.DELIVERED:
        n.delivered_at = now
    else:
        n.failed_at = now
        n.last_error = f"carrier reported {status} (error {error_code or 'none'})"
        fall_back_to_email(n, now)


def _latest_parcel(phone: str) -> Parcel | None:
    return db.session.execute(
        select(Parcel)
        .where(Parcel.recipient_phone == phone)
        .order_by(Parcel.created_at.desc(), Parcel.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _failed_parcel(phone: str) -> Parcel | None:
    """The recipient's most recent parcel whose delivery just failed."""
    return db.session.execute(
        select(Parcel)
        .where(Parcel.recipient_phone == phone, Parcel.status == ParcelStatus.DELIVERY_FAILED)
        .order_by(Parcel.status_at.desc(), Parcel.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def rebook_by_reply(phone: str, digit: str, language: str) -> str | None:
    """ "1": the next free slot; "2": the nearest pickup point with room. On success the
    confirmation goes through the outbox at once (None here); otherwise the answer says why."""
    parcel = _failed_parcel(phone)
    if parcel is None:
        return _say(NOTHING_TO_REBOOK, language)
    with force_locale(language):
        options = delivery_options.for_parcel(parcel)
        if options is None:
            return str(NOTHING_TO_REBOOK)
        wanted = options.slots if digit == "1" else options.pickup_points
        pick = next((o for o in wanted if o.available), None)
        if pick is None:
            return str(NO_FREE_SLOT if digit == "1" else NO_PICKUP_POINT)
        request = (
            delivery.ChoiceRequest(ChoiceType.SLOT, slot_id=pick.id)
            if digit == "1"
            else delivery.ChoiceRequest(pick.type, pickup_point_id=pick.id)
        )
        try:
            with db.session.begin_nested():
                delivery.choose(parcel, request, made_by="sms", answering=True)
        except DomainError as exc:
            return exc.message
    return None


def handle_inbound(sid: str, phone: str, body: str) -> str | None:
    """Act on a reply and return the text to answer with (None: say nothing)."""
    # NUL can't be stored in PostgreSQL text, and no person types one.
    sid, phone, body = (v.replace("\x00", "") for v in (sid, phone, body))
    if not sid or not phone:
        return None
    if db.session.execute(
        select(InboundMessage.id).where(InboundMessage.provider_id == sid)
    ).first():
        return None  # Twilio retried the webhook: done already
    word = keyword(body)
    choice_reply = body.strip().rstrip(".") if body.strip().rstrip(".") in ("1", "2") else None
    parcel = _failed_parcel(phone) if choice_reply else None
    parcel = parcel or _latest_parcel(phone)
    language = parcel.language if parcel and parcel.language in languages() else "en"
    try:
        with db.session.begin_nested():
            db.session.add(
                InboundMessage(
                    provider_id=sid,
                    from_phone=phone,
                    body=body[:2000],
                    keyword=word,
                    parcel_id=parcel.id if parcel else None,
                )
            )
    except IntegrityError:
        return None
    if word == "stop":
        opt_out(phone)
        return None  # Twilio confirms opt-outs itself; a second text would fail anyway
    if word == "start":
        db.session.query(SmsOptOut).filter_by(phone=phone).delete()
        return _say(START_TEXT, language)
    if word == "help":
        return _say(HELP_TEXT, language)
    if choice_reply:
        return rebook_by_reply(phone, choice_reply, language)
    return _say(THANKS_TEXT, language) if parcel else None


def opt_out(phone: str) -> None:
    """No more SMS to this number, on any parcel: including what is queued right now."""
    if db.session.get(SmsOptOut, phone) is None:
        db.session.add(SmsOptOut(phone=phone))
    db.session.execute(
        update(Notification)
        .where(
            Notification.channel == Channel.SMS,
            Notification.recipient == phone,
            Notification.state == Q.QUEUED,
        )
        .values(
            state=Q.SUPPRESSED,
            last_error="recipient replied STOP",
            updated_at=utcnow(),
            # A sign-in code that will never go keeps no code (as its listener does for one
            # that went: services/recipients/codes.py).
            body=case((Notification.trigger == CODE_TRIGGER, ""), else_=Notification.body),
        )
        .execution_options(synchronize_session=False)
    )
