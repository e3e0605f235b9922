"""Who is signed in at /me, kept in the (signed) session cookie: the recipient's id, the
profile's session key (random per profile, new when the profile is deleted or signs out
everywhere), the last request's time, and whether a code proved it (a message's link signs in
too, but only a code may add an address, take the data away or delete the profile). Idle for
IDLE_DAYS, or with another key, the session is signed out."""

from __future__ import annotations

from datetime import timedelta

from flask import session

from portal.extensions import db
from portal.models import Recipient
from portal.models.types import utcnow

IDLE_DAYS = 30
# A visit counts as activity (retention's idle profiles) at most this often.
_SEEN_EVERY = timedelta(hours=12)
_ME, _EPOCH, _SEEN, _PENDING, _CODE = "me", "me_epoch", "me_seen", "me_pending", "me_code"
_LINK = "me_link_address"


def signed_in() -> Recipient | None:
    recipient_id = session.get(_ME)
    if not isinstance(recipient_id, int):
        return None
    now = utcnow()
    seen = session.get(_SEEN)
    recipient = db.session.get(Recipient, recipient_id)
    if (
        recipient is None
        or session.get(_EPOCH) != recipient.session_epoch
        or not isinstance(seen, int)
        or int(now.timestamp()) - seen > IDLE_DAYS * 86400
    ):
        sign_out()
        return None
    session[_SEEN] = int(now.timestamp())
    if now - recipient.last_seen_at > _SEEN_EVERY or recipient.inactivity_notice_at is not None:
        # A visit keeps the profile, as signing in does (services/retention).
        recipient.last_seen_at = now
        recipient.inactivity_notice_at = None
    return recipient


def came_by_code() -> bool:
    """Whether a code (not only a message's link) signed this session in."""
    return session.get(_CODE) is True


def signed_in_with_code() -> Recipient | None:
    """The recipient, if a code (not only a message's link) signed this session in."""
    recipient = signed_in()
    return recipient if recipient is not None and came_by_code() else None


def session_link_address() -> str | None:
    """The address whose message link signed this session in (None: a code did)."""
    value = session.get(_LINK)
    return value if isinstance(value, str) else None


def sign_in(
    recipient: Recipient, *, remember: bool, by_code: bool = True, link_address: str | None = None
) -> None:
    """A fresh session for the recipient: nothing from before survives but the language (no
    session fixation: what anyone planted in it is gone). Remembered: the cookie lasts
    PERMANENT_SESSION_LIFETIME (30 days) from the last request; else until the browser closes."""
    _keep_only_language()
    session[_ME] = recipient.id
    session[_EPOCH] = recipient.session_epoch
    session[_SEEN] = int(utcnow().timestamp())
    session[_CODE] = by_code
    if link_address is not None:
        session[_LINK] = link_address
    session.permanent = remember


def sign_out() -> None:
    _keep_only_language()
    session.permanent = False


def _keep_only_language() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def pending() -> tuple[str, str, int | None] | None:
    """The address a code was just sent to, waiting for the code, and the recipient it is
    to be added to (None: a sign-in)."""
    value = session.get(_PENDING)
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, str) for v in value[:2])
        and isinstance(value[2], int)
    ):
        return value[0], value[1], value[2] or None
    return None


def set_pending(kind: str, value: str, adding_to: int | None = None) -> None:
    session[_PENDING] = [kind, value, adding_to or 0]


def clear_pending() -> None:
    session.pop(_PENDING, None)
