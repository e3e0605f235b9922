"""Short signed links for SMS and e-mail: a random token stored with purpose, target, expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Parcel, SignedLink
from portal.models.types import utcnow
from portal.services.errors import NotFound


class LinkExpired(NotFound):
    code = "link_expired"


class LinkUnknown(NotFound):
    code = "link_unknown"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    parcel: Parcel,
    *,
    purpose: str = "track",
    target: str | None = None,
    days: int = 30,
    now: datetime | None = None,
    address: str | None = None,
) -> str:
    """A new token; the plaintext is only ever in the message we send (to `address`)."""
    # 72 random bits in 12 URL-safe characters keeps an SMS link short; lookups are
    # rate-limited per IP, so guessing one is hopeless.
    token = secrets.token_urlsafe(9)
    db.session.add(
        SignedLink(
            token_hash=_hash(token),
            purpose=purpose,
            parcel=parcel,
            target=target or f"/t/{parcel.tracking_number}",
            expires_at=(now or utcnow()) + timedelta(days=days),
            address=address,
        )
    )
    db.session.flush()
    return token


# Links that open a parcel for the recipient at /l/<token>.
OPENING_PURPOSES = frozenset({"track", "return", "case"})


def open_link(token: str, *, purposes=OPENING_PURPOSES, now: datetime | None = None) -> SignedLink:
    """The link for a token of one of `purposes`, or LinkUnknown / LinkExpired."""
    if not token or len(token) > 64:
        raise LinkUnknown("This link is not valid.")
    link = db.session.execute(
        select(SignedLink).where(SignedLink.token_hash == _hash(token))
    ).scalar_one_or_none()
    if link is None or link.purpose not in purposes:
        raise LinkUnknown("This link is not valid.")
    if link.expires_at <= (now or utcnow()):
        raise LinkExpired("This link has expired.")
    return link
