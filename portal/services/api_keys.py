"""API keys: created once and shown once, then only their hash is kept."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select

from portal.extensions import db
from portal.models import ApiKey, Carrier, Merchant
from portal.models.types import utcnow


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def get_or_create_merchant(name: str) -> Merchant:
    merchant = db.session.execute(
        select(Merchant).where(Merchant.name == name)
    ).scalar_one_or_none()
    if merchant is None:
        merchant = Merchant(name=name)
        db.session.add(merchant)
        db.session.flush()
    return merchant


def get_or_create_carrier(name: str) -> Carrier:
    carrier = db.session.execute(select(Carrier).where(Carrier.name == name)).scalar_one_or_none()
    if carrier is None:
        carrier = Carrier(name=name)
        db.session.add(carrier)
        db.session.flush()
    return carrier


def create_api_key(
    *, merchant: Merchant | None = None, carrier: Carrier | None = None
) -> tuple[ApiKey, str]:
    """A new key for exactly one merchant or carrier; returns the row and the plaintext."""
    if (merchant is None) == (carrier is None):
        raise ValueError("a key belongs to exactly one merchant or carrier")
    kind = "mk" if merchant else "ck"
    plaintext = f"lm_{kind}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        key_hash=hash_key(plaintext), prefix=plaintext[:12], merchant=merchant, carrier=carrier
    )
    db.session.add(key)
    db.session.flush()
    return key, plaintext


# Built once: every API call runs it (issue 17).
_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("key_hash"))


def authenticate(plaintext: str) -> ApiKey | None:
    """The live key for a Bearer token, or None."""
    if not plaintext or len(plaintext) > 200:
        return None
    key = db.session.execute(_BY_HASH, {"key_hash": hash_key(plaintext)}).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_api_key(key: ApiKey) -> bool:
    """Stop the key working from now on; False if it was revoked already (nothing changes)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True
