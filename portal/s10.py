"""UPU S10 tracking numbers: two letters, eight digits, a check digit, a country code.

Pure code: nothing from the app is imported here.
"""

from __future__ import annotations

import re
import secrets

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$")  # ASCII digits only, never "١٢٣"
_STRIP = re.compile(r"[\s\-]+")


class S10Error(ValueError):
    """Not a valid S10 number; `bad_check_digit` tells a typo in the last digit apart."""

    def __init__(self, message: str, *, bad_check_digit: bool = False) -> None:
        super().__init__(message)
        self.bad_check_digit = bad_check_digit


def check_digit(serial: str) -> int:
    """The S10 check digit for an eight-digit serial number."""
    if not re.fullmatch(r"[0-9]{8}", serial):
        raise ValueError("serial must be eight digits")
    total = sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True))
    c = 11 - total % 11
    if c == 10:
        return 0
    if c == 11:
        return 5
    return c


def normalise(raw: str) -> str:
    """Upper case with spaces and dashes removed: `ra 123-456-785 gb` → `RA123456785GB`."""
    return _STRIP.sub("", raw or "").upper()


def validate(raw: str) -> str:
    """The normalised number, or S10Error saying what is wrong with it."""
    number = normalise(raw)
    if not _SHAPE.match(number):
        raise S10Error("not an S10 tracking number")
    if check_digit(number[2:10]) != int(number[10]):
        raise S10Error("the check digit does not match", bad_check_digit=True)
    return number


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except S10Error:
        return False
    return True


def generate(prefix: str = "LM", country: str = "SE") -> str:
    """A fresh random S10 number; uniqueness is the caller's (the database's) business."""
    if not re.fullmatch(r"[A-Z]{2}", prefix) or not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError("prefix and country are two capital letters")
    serial = f"{secrets.randbelow(10**8):08d}"
    return f"{prefix}{serial}{check_digit(serial)}{country}"
