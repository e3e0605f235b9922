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


# The Nordic countries' postcodes: how many digits, and how the post writes them. A leading
# country prefix ("DK-2100", "FI-00100", "SE-113 48"), as people still write on parcels, is
# dropped. Elsewhere a postcode is 2 to 10 letters and digits, kept as given.
NORDIC_POSTCODES = {
    "SE": (5, lambda d: f"{d[:3]} {d[3:]}", "113 48"),
    "NO": (4, str, "0150"),
    "DK": (4, str, "2100"),
    "FI": (5, str, "00100"),
}
_COUNTRY_NAMES = {"SE": "Swedish", "NO": "Norwegian", "DK": "Danish", "FI": "Finnish"}


class NotAPostcode(ValueError):
    """A postcode refused; `form` is (country, digits, example) where the country has one
    (NO, 4, "0150"), so a caller can say it in the reader's words; None elsewhere."""

    def __init__(self, message: str, form: tuple[str, int, str] | None = None) -> None:
        super().__init__(message)
        self.form = form


def valid_postcode(raw: str, country: str | None = None) -> str:
    """The postcode as the country's post writes it (`113 48`, `0150`, `2100`, `00100`) in
    the Nordic countries; elsewhere as given (NFKC, trimmed), if it has 2 to 10 letters and
    digits once normalised and is at most POSTCODE_MAX characters long as it will be stored."""
    country = (country or "").upper()
    rule = NORDIC_POSTCODES.get(country)
    if rule is not None:
        digits, written, example = rule
        code = normalise_postcode(raw).removeprefix(country)
        if not re.fullmatch(rf"[0-9]{{{digits}}}", code):
            raise NotAPostcode(
                f"not a {_COUNTRY_NAMES[country]} postcode: {digits} digits, like {example}",
                (country, digits, example),
            )
        return written(code)
    if not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(raw)):
        raise NotAPostcode("not a postcode: use 2 to 10 letters and digits")
    stored = unicodedata.normalize("NFKC", raw).strip()
    if len(stored) > POSTCODE_MAX:
        raise NotAPostcode(f"not a postcode: at most {POSTCODE_MAX} characters")
    return stored
