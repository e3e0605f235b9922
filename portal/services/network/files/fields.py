"""Reading one field of a row: each reader returns the clean value or raises Bad with what is
wrong, and Row collects every bad field of a row as a RowError."""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal.services.network.files.rows import MAX_CAPACITY, WEEKDAYS, RowError
from portal.services.network.words import N_


class Bad(ValueError):
    """What is wrong with the value (`Words`: English, translatable for a page)."""


def text(value: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Bad(N_("is required"))
    if len(value) > limit:
        raise Bad(N_("is longer than %(limit)d characters", limit=limit))
    if any(ord(c) < 32 for c in value):
        raise Bad(N_("has control characters"))
    if not encodes(value):
        # A lone surrogate ("\ud800" in JSON) reads fine here and fails the database's encoding.
        raise Bad(N_("is not valid text"))
    return value


def encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def named(names) -> str:
    """Names from a file for a message, with any lone surrogate written as an escape."""
    return ", ".join(n if encodes(n) else ascii(n) for n in sorted(names))


def country(value: str) -> str:
    value = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise Bad(N_("is a two-letter country code (SE, NO, FI …)"))
    return value


_ZONES = available_timezones()


def time_zone(value: str) -> str:
    value = (value or "").strip()
    if value not in _ZONES or not _loads(value):
        raise Bad(
            N_("%(value)s is not a time zone name (like Europe/Stockholm)", value=repr(value))
        )
    return value


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def coordinate(value: str | float | None, low: float, high: float, *, required: bool) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Bad(N_("is required"))
        return None  # type: ignore[return-value]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise Bad(N_("%(value)s is not a number", value=repr(value))) from None
    if number != number or not low <= number <= high:  # NaN or out of range
        raise Bad(
            N_(
                "%(value)s is out of range (%(low)s to %(high)s)",
                value=str(value),
                low=f"{low:g}",
                high=f"{high:g}",
            )
        )
    return number


def weekday(value: str, *, required: bool) -> int | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise Bad(N_("is required (Mo, Tu, We, Th, Fr, Sa or Su)"))
        return None
    if value.capitalize() not in WEEKDAYS:
        raise Bad(N_("%(value)s is not one of Mo, Tu, We, Th, Fr, Sa, Su", value=repr(value)))
    return WEEKDAYS.index(value.capitalize())


def clock(value: str, *, default: time | None = None) -> time:
    value = (value or "").strip()
    if not value and default is not None:
        return default
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise Bad(N_("%(value)s is not a time as HH:MM", value=repr(value)))
    return time(int(match[1]), int(match[2]))


def count(value: str | int | None, low: int, *, required: bool = True) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Bad(N_("is required"))
        return 0
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise Bad(N_("%(value)s is not a whole number", value=repr(value)))
    number = int(text)
    if not low <= number <= MAX_CAPACITY:
        raise Bad(
            N_(
                "%(value)s is out of range (%(low)s to %(high)s)",
                value=str(number),
                low=str(low),
                high=str(MAX_CAPACITY),
            )
        )
    return number


class Row:
    """One row's fields, read one by one; each bad field adds an error and reads as None."""

    def __init__(self, line: int, values: dict[str, Any], errors: list[RowError], unit: str):
        self.line, self.values, self.errors, self.unit = line, values, errors, unit
        self.ok = True

    def get(self, name: str, reader, *args, **kwargs):
        try:
            return reader(self.values.get(name), *args, **kwargs)
        except Bad as exc:
            self.fail(name, exc.args[0])
            return None

    def fail(self, name: str, message: str) -> None:
        self.ok = False
        self.errors.append(RowError(self.line, name, message, self.unit))
