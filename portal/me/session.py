"""Who is signed in at /me, kept in the (signed) session cookie: the recipient's id, the
profile's session epoch (signing out everywhere or deleting the profile bumps it) and the last
request's time. Idle for IDLE_DAYS, or with an old epoch, the session is signed out."""

from __future__ import annotations

from flask import session

from portal.extensions import db
from portal.models import Recipient
from portal.models.types import utcnow

IDLE_DAYS = 30
_ME, _EPOCH, _SEEN, _PENDING = "me", "me_epoch", "me_seen", "me_pending"


def signed_in() -> Recipient | None:
    recipient_id = session.get(_ME)
    if not isinstance(recipient_id, int):
        return None
    now = int(utcnow().timestamp())
    seen = session.get(_SEEN)
    recipient = db.session.get(Recipient, recipient_id)
    if (
        recipient is None
        or session.get(_EPOCH) != recipient.session_epoch
        or not isinstance(seen, int)
        or now - seen > IDLE_DAYS * 86400
    ):
        sign_out()
        return None
    session[_SEEN] = now
    return recipient


def sign_in(recipient: Recipient, *, remember: bool) -> None:
    """A fresh session for the recipient: nothing from before survives but the language (no
    session fixation: what anyone planted in it is gone). Remembered: the cookie lasts
    PERMANENT_SESSION_LIFETIME (30 days) from the last request; else until the browser closes."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[_ME] = recipient.id
    session[_EPOCH] = recipient.session_epoch
    session[_SEEN] = int(utcnow().timestamp())
    session.permanent = remember


def sign_out() -> None:
    language = session.get("lang")
    session.clear()
    session.permanent = False
    if language:
        session["lang"] = language


def pending() -> tuple[str, str] | None:
    """The address a code was just sent to, waiting for the code."""
    value = session.get(_PENDING)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None


def set_pending(kind: str, value: str) -> None:
    session[_PENDING] = [kind, value]


def clear_pending() -> None:
    session.pop(_PENDING, None)
