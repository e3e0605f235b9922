"""What a parcel may still change, and the rules its options follow (holds, safe places,
pickup points)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app

from portal.i18n import lazy_gettext as _l
from portal.localtime import clock, format_day, parcel_zone
from portal.models import ChoiceType, DeliveryChoice, Merchant, Parcel, ParcelStatus, PickupPoint
from portal.services.delivery.choices import current_choice, delivery_day
from portal.services.delivery.days import cutoff

S = ParcelStatus
C = ChoiceType
# A parcel waits this many days at a pickup point (the last day moves to the point's next open
# day, see services/network/pickup.py).
PICKUP_HOLD_DAYS = 7
REBOOK_TYPES = frozenset({C.SLOT, C.GREEN_DAY, C.PICKUP_POINT, C.LOCKER})


@dataclass
class ChangeWindow:
    """What may still be changed for a parcel, and if nothing, why not."""

    allowed: frozenset[ChoiceType]
    reason: str | None = None  # why nothing (or only some options) can be chosen
    still_possible: str | None = None  # what the recipient can still do
    closes_at: datetime | None = None  # the cutoff, while changes are open
    latest_day: date | None = None  # the last day a new delivery may be booked for

    @property
    def open(self) -> bool:
        return bool(self.allowed)


def today_in(parcel: Parcel, now: datetime) -> date:
    return now.astimezone(parcel_zone(parcel)).date()


def change_window(
    parcel: Parcel,
    now: datetime,
    current: DeliveryChoice | None = None,
    *,
    past_cutoff: bool = False,
) -> ChangeWindow:
    """The rules: changes are open until the parcel is out for delivery or the cutoff of the
    booked day passes; after a failed attempt the recipient can rebook within REBOOK_DAYS or
    redirect to a pickup point.

    `past_cutoff`: a supervisor may still change a parcel whose booked day's cutoff has passed
    (the carrier is told by the change); out for delivery and ended journeys stay closed."""
    if parcel.status is S.OUT_FOR_DELIVERY:
        return ChangeWindow(
            frozenset(),
            _l("Your parcel is already out for delivery today, so it can't be changed now."),
            _l(
                "If nobody can take it, you can choose a new time or a pickup point after the "
                "driver's attempt."
            ),
        )
    if parcel.status is S.READY_FOR_PICKUP:
        return ChangeWindow(
            frozenset(),
            _l("Your parcel is already waiting at the pickup point."),
            _l("Collect it there with your pickup code."),
        )
    if parcel.status.is_terminal:
        return ChangeWindow(frozenset(), _l("This parcel's journey has ended."))
    if parcel.zone is None:
        return ChangeWindow(
            frozenset(),
            _l("We don't deliver to this postcode ourselves, so there is nothing to choose."),
        )
    current = current if current is not None else current_choice(parcel)
    day = delivery_day(current)
    if parcel.status is S.DELIVERY_FAILED:
        failed_on = (parcel.status_at or now).astimezone(parcel_zone(parcel)).date()
        latest = failed_on + timedelta(days=current_app.config["REBOOK_DAYS"])
        rebooked = (
            current is not None
            and parcel.status_at is not None
            and current.made_at >= parcel.status_at
            and day is not None
        )
        if rebooked and now >= cutoff(day, parcel.zone) and not past_cutoff:
            return _closed(cutoff(day, parcel.zone))
        return ChangeWindow(
            REBOOK_TYPES,
            _l("We couldn't deliver your parcel."),
            _l(
                "Choose a new delivery day up to %(day)s, or have it sent to a pickup point.",
                day=format_day(latest),
            ),
            closes_at=cutoff(day, parcel.zone) if rebooked else None,
            latest_day=latest,
        )
    if day is None and parcel.eta_from is not None:
        # No choice fixes a day: the carrier's planned day closes changes just the same.
        day = parcel.eta_from.astimezone(parcel_zone(parcel)).date()
    if day is not None:
        closes = cutoff(day, parcel.zone)
        if now >= closes:
            if past_cutoff:
                return ChangeWindow(frozenset(ChoiceType))
            return _closed(closes)
        return ChangeWindow(frozenset(ChoiceType), closes_at=closes)
    return ChangeWindow(frozenset(ChoiceType))


def _closed(closes: datetime) -> ChangeWindow:
    """Changes closed at `closes` (the zone's cutoff, local time)."""
    return ChangeWindow(
        frozenset(),
        _l(
            "Changes closed at %(time)s on %(day)s: your parcel is being prepared for delivery.",
            time=clock(closes, closes.tzinfo),
            day=format_day(closes.date()),
        ),
        _l(
            "If nobody can take it, you can choose a new time or a pickup point after the "
            "driver's attempt."
        ),
    )


def hold_limit(merchant: Merchant, today: date) -> date:
    storage = merchant.storage_days
    days = min(
        current_app.config["HOLD_MAX_DAYS"],
        current_app.config["HOLD_MAX_DAYS"] if storage is None else storage,
    )
    return today + timedelta(days=days)


def safe_place_allowed(merchant: Merchant, value: Decimal | None) -> bool:
    """The merchant allows safe-place drops for parcels worth at most its limit."""
    limit = merchant.safe_place_max_value
    if limit is None:
        return False
    return value is None or value <= limit


def arrival_day(parcel: Parcel, today: date) -> date | None:
    """The local day the carrier expects to bring the parcel, unless unknown or already past."""
    eta = parcel.eta_to or parcel.eta_from
    if eta is None:
        return None
    day = eta.astimezone(parcel_zone(parcel)).date()
    return day if day >= today else None


def pickup_span(today: date, arrival: date | None, latest: date) -> tuple[date, date]:
    """The days a parcel sent to a pickup point needs the point open: from today until it has
    arrived and waited its PICKUP_HOLD_DAYS there; with no expected day yet, every day we plan
    ahead for (it may come any of them)."""
    if arrival is None:
        return today, latest
    return today, arrival + timedelta(days=PICKUP_HOLD_DAYS)


def point_closed_text(point: PickupPoint, first: date, last: date) -> str | None:
    """Why `point` can't take a parcel that needs it from `first` to `last`: closed for good
    (now or from a later day) or closed by its operator on one of those days; None when open."""
    if point.closed_for_good:
        assert point.closed_from is not None
        if point.closed_from <= first:
            return str(_l("%(name)s has closed: choose another pickup point.", name=point.name))
        return str(
            _l(
                "%(name)s closes for good on %(day)s: choose another pickup point.",
                name=point.name,
                day=format_day(point.closed_from),
            )
        )
    if point.closed_between(first, last):
        assert point.closed_from is not None and point.closed_until is not None
        return str(
            _l(
                "%(name)s is closed from %(start)s to %(end)s: choose another pickup point.",
                name=point.name,
                start=format_day(point.closed_from),
                end=format_day(point.closed_until),
            )
        )
    return None


def parcel_value(parcel: Parcel) -> Decimal:
    return sum((i.unit_price * i.quantity for i in parcel.items), Decimal(0))
