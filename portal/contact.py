"""Normalising recipients' phone numbers, e-mail addresses and postcodes. No Flask here."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalise_phone(raw: str, country: str | None = None) -> str:
    """E.164 form of a phone number, read in the recipient's country when it has no +prefix."""
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """The normalised address; never asks DNS (nothing here reaches the network)."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def normalise_postcode(raw: str) -> str:
    """Upper case without spaces or dashes, so `114 55`, `11455` and `114-55` compare equal;
    full-width digits typed on a phone (`１１３ ４８`) count as the digits they look like."""
    return re.sub(r"[\s\-]+", "", unicodedata.normalize("NFKC", raw or "")).upper()


# What a postcode is stored as may be this long (the columns' width), counted after NFKC:
# that can make one character several ("㎉" is "kcal"), so a value that fitted as sent may not.
POSTCODE_MAX = 16


def postcode_in(address: str | None) -> str | None:
    """The postcode written in a one-line address ("Lagervägen 3, 136 50 Haninge"): the last
    group of 4 or 5 digits (Nordic postcodes, the Swedish ones with their space), or None."""
    found = re.findall(r"(?<!\d)(\d{3} \d{2}|\d{4,5})(?!\d)", address or "")
    return found[-1] if found else None


def valid_postcode(raw: str) -> str:
    """The postcode as given (NFKC, trimmed), if it has 2 to 10 letters and digits once
    normalised and is at most POSTCODE_MAX characters long as it will be stored."""
    if not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(raw)):
        raise ValueError("not a postcode: use 2 to 10 letters and digits")
    stored = unicodedata.normalize("NFKC", raw).strip()
    if len(stored) > POSTCODE_MAX:
        raise ValueError(f"not a postcode: at most {POSTCODE_MAX} characters")
    return stored
