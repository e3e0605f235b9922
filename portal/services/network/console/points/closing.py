"""Closing a pickup point for some days or for good, and reopening it: parcels booked on it
that would arrive while it is closed get their booking back, once the supervisor confirms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from portal.models import Account, PickupPoint
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError
from portal.services.network import closures
from portal.services.network.console import (
    Booked,
    bookings_of,
    changed_fields,
    clean_text,
    record_withdrawn,
    require_confirmation,
    save_versioned,
)
from portal.services.network.console.points.editing import (
    point_snapshot,
    point_subject,
    point_versioned,
)

# A closure's days lie within five years (leap days counted): a longer one is for good, and a
# date like 9999-12-31 would leave no next day for the hours to count from.
_CLOSE_AHEAD = timedelta(days=5 * 365 + 2)


def close_point(
    actor: Account,
    point: PickupPoint,
    closed_from: date | None,
    closed_until: date | None,
    reason: str,
    *,
    confirmed: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Booked]:
    """Close from a day, until a day (inclusive) or for good; parcels booked on it that would
    arrive while it is closed get their booking back (confirmed first)."""
    now = now or utcnow()
    if closed_from is None:
        raise DomainError(_("Give the first closed day."), field="closed_from")
    reason = clean_text(reason, "reason", _("reason recipients read"), 200)
    today = now.astimezone(ZoneInfo(point.zone.time_zone if point.zone else "UTC")).date()
    if closed_from < today:
        raise DomainError(_("Close from today or a later day."), field="closed_from")
    if closed_from > today + _CLOSE_AHEAD:
        raise DomainError(_("Close from a day within five years."), field="closed_from")
    if closed_until is not None and closed_until < closed_from:
        raise DomainError(_("The last closed day is before the first."), field="closed_until")
    if closed_until is not None and closed_until > today + _CLOSE_AHEAD:
        raise DomainError(
            _("Give a last closed day within five years, or none to close the point for good."),
            field="closed_until",
        )
    affected = closures.affected_by_point(point, closed_from, closed_until)
    require_confirmation(affected, confirmed)
    booked = bookings_of(affected)
    before = point_snapshot(point)
    done = save_versioned(
        point_versioned(point),
        point,
        point.version,
        {},
        lambda: closures.close_point(
            point, closed_from=closed_from, closed_until=closed_until, reason=reason, now=now
        ),
    )
    old, new = changed_fields(before, point_snapshot(point))
    subject = point_subject(point)
    record(
        actor,
        "network.point.close",
        subject=subject,
        before=old,
        after={**new, "withdrawn": [b.tracking_number for b in booked]},
    )
    record_withdrawn(actor, done, booked, subject, reason)
    return booked


def reopen_point(actor: Account, point: PickupPoint) -> None:
    if point.closed_from is None:
        raise Conflict(_("This point isn't closed, nor is a closure planned."))
    before = point_snapshot(point)
    save_versioned(
        point_versioned(point), point, point.version, {}, lambda: closures.reopen_point(point)
    )
    old, new = changed_fields(before, point_snapshot(point))
    record(actor, "network.point.reopen", subject=point_subject(point), before=old, after=new)
