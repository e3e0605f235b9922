"""Which parcels this browser session has unlocked, and the wrong-postcode limit per parcel."""

from __future__ import annotations

from flask import current_app, redirect, session, url_for
from limits import parse
from werkzeug.wrappers import Response

from portal.extensions import limiter

MAX_REMEMBERED = 20


def is_verified(tracking_number: str) -> bool:
    return tracking_number in session.get("verified", [])


def ask_to_verify(tracking_number: str, here: str) -> Response:
    """Send an unverified visitor to the postcode check, and back to `here` afterwards."""
    return redirect(url_for("tracking.verify", tn=tracking_number, next=here), code=303)


def mark_verified(tracking_number: str) -> None:
    verified = [n for n in session.get("verified", []) if n != tracking_number]
    verified.append(tracking_number)
    session["verified"] = verified[-MAX_REMEMBERED:]


def _postcode_limit():
    return parse(current_app.config["RATELIMIT_POSTCODE_FAILURES"])


def postcode_tries_left(tracking_number: str) -> int:
    """Wrong postcodes still allowed for this parcel in the current window (per parcel, not IP,
    so spreading guesses over many addresses doesn't help)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return _postcode_limit().amount
    stats = limiter.limiter.get_window_stats(_postcode_limit(), "postcode", tracking_number)
    return stats.remaining


def record_wrong_postcode(tracking_number: str) -> int:
    """Count a wrong postcode; returns the tries left."""
    if current_app.config.get("RATELIMIT_ENABLED", True):
        limiter.limiter.hit(_postcode_limit(), "postcode", tracking_number)
    return postcode_tries_left(tracking_number)
