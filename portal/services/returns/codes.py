"""RMA and drop-off codes: drawn from letters and digits that read aloud without confusion,
unique, and found again however staff or customers type them."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from portal.extensions import db
from portal.models import Return

# Read aloud over a phone without confusion: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
READABLE = "ACDEFGHJKMNPQRTWXY34679"
RMA_LENGTH = 8
DROPOFF_CODE_LENGTH = 12


def readable_code(length: int) -> str:
    return "".join(secrets.choice(READABLE) for _ in range(length))


def normalise_code(raw: str) -> str:
    """What staff or customers type or scan: case, spaces and dashes don't matter."""
    return "".join(c for c in (raw or "").upper() if c.isascii() and c.isalnum())


def format_rma(raw: str) -> str:
    code = normalise_code(raw)
    return f"{code[:4]}-{code[4:]}" if len(code) == RMA_LENGTH else code


def unique_code(column, make) -> str:
    while True:
        value = make()
        if not db.session.execute(select(Return.id).where(column == value)).first():
            return value
