"""Which parcels this browser session has unlocked, and the wrong-postcode limit per number.

The session keeps parcel ids, not tracking numbers: two merchants' parcels can share a number,
and proving the postcode of one must never open the other. The list is in the order the
parcels were unlocked, so under a shared number the one unlocked last is the one shown.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import current_app, redirect, session, url_for
from limits import parse
from werkzeug.wrappers import Response

from portal.extensions import db, limiter
from portal.models import SignedLink

MAX_REMEMBERED = 20


def unlocked() -> list[int]:
    """The ids of the parcels this session unlocked, last unlocked last."""
    return [i for i in session.get("verified", []) if isinstance(i, int)]


def is_verified(parcel_id: int) -> bool:
    return parcel_id in unlocked()


def ask_to_verify(tracking_number: str, here: str | None) -> Response:
    """Send an unverified visitor to the postcode check, and back to `here` afterwards (to
    the parcel page when None)."""
    return redirect(url_for("tracking.verify", tn=tracking_number, next=here), code=303)


def mark_verified(parcel_id: int) -> None:
    """Unlock a parcel for this session; it becomes the one its number opens here."""
    verified = [i for i in unlocked() if i != parcel_id]
    verified.append(parcel_id)
    session["verified"] = verified[-MAX_REMEMBERED:]


_PROVEN = "proven_link"
# How long after opening a message's link /me still takes it as proof of its address, and
# how old the message may be (a link opens its parcel for longer: SIGNED_LINK_DAYS).
PROVEN_MINUTES = 15
PROVEN_LINK_DAYS = 7


def note_proven_address(link: SignedLink, now: datetime) -> None:
    """A message's link proves the phone number or e-mail address it went to: noted for
    /me, which then signs in without a code for a few minutes (issue 19)."""
    if link.address:
        session[_PROVEN] = [link.id, int(now.timestamp())]


def proven_address(now: datetime) -> str | None:
    """The address the link opened here proved: only while the link still exists, has not
    expired, still carries its address (deleting a profile clears it) and was opened in the
    last PROVEN_MINUTES."""
    value = session.get(_PROVEN)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        return None
    link_id, opened = value
    if int(now.timestamp()) - opened > PROVEN_MINUTES * 60:
        return None
    link = db.session.get(SignedLink, link_id)
    if link is None or link.expires_at <= now or not link.address:
        return None
    if link.created_at < now - timedelta(days=PROVEN_LINK_DAYS):
        return None
    return link.address


def _postcode_limit():
    return parse(current_app.config["RATELIMIT_POSTCODE_FAILURES"])


def postcode_tries_left(tracking_number: str) -> int:
    """Wrong postcodes still allowed for this number in the current window (per number, not
    IP, so spreading guesses over many addresses doesn't help; and one budget whether they are
    typed on the parcel's, its return's or its case's postcode check)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return _postcode_limit().amount
    stats = limiter.limiter.get_window_stats(_postcode_limit(), "postcode", tracking_number)
    return stats.remaining


def postcode_lockout(response: Response, tracking_number: str) -> Response:
    """The 429 of a number whose wrong postcodes ran out, with the headers of that limit (so
    `Retry-After` says when a postcode may be tried again), not those of the page's lookup
    limit, which Flask-Limiter would otherwise add."""
    if current_app.config.get("RATELIMIT_ENABLED", True):
        limit = _postcode_limit()
        reset, remaining = limiter.limiter.get_window_stats(limit, "postcode", tracking_number)
        limiter.context.view_rate_limit = None
        response.headers["X-RateLimit-Limit"] = str(limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(int(reset))
        response.headers["Retry-After"] = str(max(1, int(reset - time.time())))
    return response


def record_wrong_postcode(tracking_number: str) -> int:
    """Count a wrong postcode; returns the tries left."""
    if current_app.config.get("RATELIMIT_ENABLED", True):
        limiter.limiter.hit(_postcode_limit(), "postcode", tracking_number)
    return postcode_tries_left(tracking_number)
