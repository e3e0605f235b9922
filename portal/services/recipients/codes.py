"""One-time sign-in codes: 6 digits, sent through the outbox to a phone number or e-mail
address, valid for CODE_MINUTES and CODE_TRIES tries, kept only as a keyed hash.

Asking for a code answers the same whether or not anyone with that address has parcels here:
any address may sign in (it sees its own parcels, or none), so nothing tells who is known.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import get_locale
from sqlalchemy import event, func, select, update

from portal.contact import normalise_email, normalise_phone
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import (
    Channel,
    Notification,
    NotificationState,
    Recipient,
    RecipientAddress,
    SignInCode,
)
from portal.services.errors import DomainError
from portal.services.messages import enqueue

CODE_TRIGGER = "sign_in_code"
CODE_MINUTES = 10
CODE_TRIES = 5
_DIGITS = re.compile(r"\b\d{6}\b")
CODE_REMOVED = "······"


class CodeRefused(DomainError):
    code = "code_refused"


# A number typed without +country is read in the country of the page's language (a Norwegian
# page: Norway); English pages read it in PHONE_REGION.
LANGUAGE_REGIONS = {"sv": "SE", "nb": "NO", "da": "DK", "fi": "FI"}


def phone_region() -> str:
    return LANGUAGE_REGIONS.get(str(get_locale() or ""), current_app.config["PHONE_REGION"])


def address_of(raw: str) -> tuple[str, str]:
    """("phone", E.164) or ("email", lower-case address) for what a recipient typed."""
    text = (raw or "").strip()
    if not text:
        raise DomainError(_l("Enter your phone number or e-mail address."), field="address")
    try:
        if "@" in text:
            return "email", normalise_email(text).lower()
        return "phone", normalise_phone(text, phone_region())
    except ValueError:
        raise DomainError(
            _l("That is not a phone number or an e-mail address we can send a code to."),
            field="address",
        ) from None


def _hash(kind: str, value: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}|{value}|{code}".encode(), hashlib.sha256).hexdigest()


def _for_purpose(recipient_id: int | None):
    """A sign-in code (no recipient) or a code adding the address to that recipient: the two
    never stand in for each other, so a code asked for to add someone's number to another
    profile can never sign anyone in, nor cancel their own sign-in code."""
    if recipient_id is None:
        return SignInCode.recipient_id.is_(None)
    return SignInCode.recipient_id == recipient_id


def failures_today(kind: str, value: str, now: datetime) -> int:
    """Wrong codes typed for the address over the last day, whichever code and purpose."""
    return (
        db.session.execute(
            select(func.coalesce(func.sum(SignInCode.attempts), 0)).where(
                SignInCode.kind == kind,
                SignInCode.value == value,
                SignInCode.created_at > now - timedelta(days=1),
            )
        ).scalar_one()
        or 0
    )


def locked_out(kind: str, value: str, now: datetime) -> bool:
    """Too many wrong codes for this address today (ME_CODE_FAILURES_PER_DAY): no more codes
    are sent or checked until a day has passed, however many IPs the guesses come from."""
    return failures_today(kind, value, now) >= current_app.config["ME_CODE_FAILURES_PER_DAY"]


def send_code(
    kind: str, value: str, *, now: datetime, recipient: Recipient | None = None
) -> SignInCode | None:
    """A new code for the address (an older one of the same purpose stops working), queued
    to it; None when the address is locked out for the day. With `recipient`, the code adds
    the address to that recipient instead of signing in."""
    if locked_out(kind, value, now):
        return None
    db.session.execute(
        update(SignInCode)
        .where(
            SignInCode.kind == kind,
            SignInCode.value == value,
            SignInCode.used_at.is_(None),
            _for_purpose(recipient.id if recipient else None),
        )
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row = SignInCode(
        kind=kind,
        value=value,
        code_hash=_hash(kind, value, code),
        recipient_id=recipient.id if recipient else None,
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    db.session.add(row)
    db.session.flush()
    language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    host = current_app.config["PUBLIC_BASE_URL"].split("//", 1)[-1].split("/", 1)[0]
    channel = Channel.SMS if kind == "phone" else Channel.EMAIL
    text = render_template(
        "me/code_message.txt",
        code=code,
        minutes=CODE_MINUTES,
        host=host,
        sms=kind == "phone",
        adding=recipient is not None,
    )
    enqueue(
        Notification(
            channel=channel,
            trigger=CODE_TRIGGER,
            language=language,
            time_zone=None,  # asked for just now: no quiet hours hold it back
            recipient=value,
            subject=str(_l("Your Lastmile code: %(code)s", code=code)) if kind == "email" else None,
            body=text.strip(),
            state=NotificationState.QUEUED,
            dedupe_key=f"sign-in-code:{secrets.token_hex(8)}",
        )
    )
    return row


def check_code(
    kind: str, value: str, typed: str, *, now: datetime, adding_to: int | None = None
) -> Recipient:
    """The recipient the code signs in (made on first sign-in), or, with `adding_to`, the
    recipient it adds the address to (only a code asked for that). CodeRefused otherwise; the
    caller keeps the counted try (keep_writes)."""
    if locked_out(kind, value, now):
        raise CodeRefused(
            _l("Too many wrong codes for this address today. Try again tomorrow."), field="code"
        )
    row = db.session.execute(
        select(SignInCode)
        .where(
            SignInCode.kind == kind,
            SignInCode.value == value,
            SignInCode.used_at.is_(None),
            _for_purpose(adding_to),
        )
        .order_by(SignInCode.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None or row.expires_at <= now:
        raise CodeRefused(_l("This code has expired. Ask for a new one."), field="code")
    if row.attempts >= CODE_TRIES:
        raise CodeRefused(_l("Too many wrong codes. Ask for a new one."), field="code")
    row.attempts += 1
    digits = re.sub(r"\D", "", typed or "")
    if not hmac.compare_digest(row.code_hash, _hash(kind, value, digits)):
        left = CODE_TRIES - row.attempts
        if left <= 0:
            raise CodeRefused(_l("Too many wrong codes. Ask for a new one."), field="code")
        raise CodeRefused(
            _l("That code is not right. You have %(n)s more tries.", n=left), field="code"
        )
    row.used_at = now
    row.attempts -= 1  # the right one: `attempts` counts wrong codes only (failures_today)
    return _recipient_for(kind, value, row.recipient_id, now)


def remove_address_of(recipient: Recipient, address_id: int) -> None:
    """Take an address off the profile; never its last one (that is deleting the profile)."""
    address = next((a for a in recipient.addresses if a.id == address_id), None)
    if address is None:
        raise DomainError(_l("That address is not on your profile."), field="address")
    if len(recipient.addresses) == 1:
        raise DomainError(
            _l("This is your only address: delete the profile instead."), field="address"
        )
    recipient.addresses.remove(address)
    db.session.flush()


def profile_for(kind: str, value: str, *, now: datetime) -> Recipient:
    """The profile of an address its owner just proved (a code, or a signed link from one of
    our messages to it), made on first use."""
    return _recipient_for(kind, value, None, now)


def _recipient_for(kind: str, value: str, adding_to: int | None, now: datetime) -> Recipient:
    address = db.session.execute(
        select(RecipientAddress).where(
            RecipientAddress.kind == kind, RecipientAddress.value == value
        )
    ).scalar_one_or_none()
    if adding_to is None:
        if address is not None:
            recipient = address.recipient
        else:
            recipient = Recipient(created_at=now)
            recipient.addresses.append(RecipientAddress(kind=kind, value=value, verified_at=now))
            db.session.add(recipient)
        recipient.last_seen_at = now
        recipient.inactivity_notice_at = None
        db.session.flush()
        return recipient
    recipient = db.session.get(Recipient, adding_to)
    if recipient is None:
        raise CodeRefused(_l("This code has expired. Ask for a new one."), field="code")
    if address is None:
        recipient.addresses.append(RecipientAddress(kind=kind, value=value, verified_at=now))
    elif address.recipient_id != recipient.id:
        # The address had a profile of its own: one person, so one profile from now on.
        other = address.recipient
        for moved in list(other.addresses):
            moved.recipient = recipient
        # Its banked green mile comes along (a parcel sent to both addresses and banked on
        # both profiles would count twice: rare, and it errs towards what was saved).
        recipient.green_banked_grams += other.green_banked_grams
        recipient.green_banked_parcels += other.green_banked_parcels
        recipient.green_banked_chosen += other.green_banked_chosen
        months = dict(recipient.green_banked_months or {})
        for key, (grams, parcels) in (other.green_banked_months or {}).items():
            before = months.get(key, [0, 0])
            months[key] = [before[0] + grams, before[1] + parcels]
        recipient.green_banked_months = months or None
        db.session.flush()
        db.session.delete(other)
    db.session.flush()
    return recipient


@event.listens_for(Notification.state, "set")
def _forget_code(row: Notification, state: NotificationState, _old, _initiator) -> None:
    """A code's message keeps no code once it has gone (or never will): the outbox is read by
    more than the one person it was for. Without a provider (`make run`) the development outbox
    is the only copy, so the code stays there to be used."""
    configured = current_app.config.get("SMTP_HOST") or current_app.config.get("TWILIO_ACCOUNT_SID")
    if row.trigger == CODE_TRIGGER and state != NotificationState.QUEUED and configured:
        row.body = _DIGITS.sub(CODE_REMOVED, row.body or "")
        if row.subject:
            row.subject = _DIGITS.sub(CODE_REMOVED, row.subject)
