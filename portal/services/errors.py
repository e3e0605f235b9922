"""Domain errors raised by services; pages turn them into form errors, the API into 4xx JSON."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `kind` is what the API maps to a status: invalid, not_found, conflict."""

    code = "invalid"
    kind = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    kind = "not_found"


class Conflict(DomainError):
    code = "conflict"
    kind = "conflict"


class InvalidTrackingNumber(DomainError):
    """Not an S10 number; `bad_check_digit` when only the last digit is off (a typo)."""

    def __init__(self, message: str, *, bad_check_digit: bool = False):
        super().__init__(
            message,
            field="tracking_number",
            code="bad_check_digit" if bad_check_digit else "invalid_tracking_number",
        )
        self.bad_check_digit = bad_check_digit


class ParcelNotFound(NotFound):
    code = "parcel_not_found"
