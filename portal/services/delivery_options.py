"""What can be chosen: the options for a parcel (its page) or an address (a merchant's checkout),
each with its CO2e estimate, the greenest marked, and the green default (issue 19: the greenest
option that arrives no later than the earliest one, which the recipient's page pre-selects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.green import estimate
from portal.i18n import lazy_gettext as _l
from portal.localtime import clock, format_day, parcel_zone
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Merchant,
    Parcel,
    PickupPoint,
    Slot,
    Vehicle,
    Zone,
)
from portal.models.types import utcnow
from portal.services.calendar import zone_calendar
from portal.services.delivery import (
    ChangeWindow,
    arrival_day,
    carrier_eta,
    change_window,
    current_choice,
    cutoff,
    day_window,
    hold_limit,
    merchant_api_bookings,
    merchant_slot_limit,
    next_green_day,
    parcel_value,
    pickup_span,
    point_closed_text,
    safe_place_allowed,
    today_in,
)
from portal.services.edd import predict_parcel
from portal.services.network import hours, nearest
from portal.services.zones import postcode_centre

C = ChoiceType


@dataclass
class Option:
    type: ChoiceType
    id: int | str
    label: str
    co2e_grams: int
    available: bool = True
    greenest: bool = False
    # The day it arrives, for the green default (see _mark_green_default); None: not known, or
    # a hold (which arrives later by definition).
    arrives: date | None = None
    # Greenest of the options arriving on the earliest day, and greener than a van home
    # delivery: the recipient's page pre-selects it ("Greenest, arrives the same day").
    green_default: bool = False
    # slots and green days
    date: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    capacity: int | None = None
    remaining: int | None = None
    vehicle: Vehicle | None = None
    # checkout: places the merchant's API bookings may still take (its share of the slot)
    share_remaining: int | None = None
    # pickup points and lockers
    point: PickupPoint | None = None
    distance_m: int | None = None
    hours_text: str | None = None  # "Open now · closes 20:00", in the reader's language
    open_now: bool | None = None  # None: its hours don't parse
    next_open: datetime | None = None  # while closed: when it opens next (None: not soon)
    # hold
    latest: date | None = None
    why_not: str | None = None


@dataclass
class DeliveryOptions:
    zone: Zone
    window: ChangeWindow
    slots: list[Option] = field(default_factory=list)
    green_day: Option | None = None
    pickup_points: list[Option] = field(default_factory=list)
    safe_place: Option | None = None
    neighbour: Option | None = None
    hold: Option | None = None

    @property
    def green_default(self) -> Option | None:
        return next((o for o in self.all() if o.green_default), None)

    def all(self) -> list[Option]:
        single = [self.green_day, self.safe_place, self.neighbour, self.hold]
        return [*self.slots, *(o for o in single if o), *self.pickup_points]

    def slot_days(self, by: str = "time") -> list[tuple[date, list[Option]]]:
        days = [(d, list(opts)) for d, opts in groupby(self.slots, key=lambda o: o.date)]
        if by == "co2e":
            days = [(d, sorted(o, key=lambda x: (x.co2e_grams, x.start))) for d, o in days]
            days.sort(key=lambda d: (min(o.co2e_grams for o in d[1]), d[0]))
        return days

    def sections(self, by: str = "time") -> list[str]:
        """The page's sections, in order: soonest first, or lowest CO2e first."""
        present = {
            "slots": self.slots,
            "green_day": [self.green_day] if self.green_day else [],
            "pickup_points": self.pickup_points,
            "safe_place": [self.safe_place] if self.safe_place else [],
            "neighbour": [self.neighbour] if self.neighbour else [],
            "hold": [self.hold] if self.hold else [],
        }
        names = [name for name, opts in present.items() if opts]
        if by == "co2e":
            names.sort(key=lambda n: min(o.co2e_grams for o in present[n]))
        return names


def _green_key(o: Option) -> tuple:
    return (o.co2e_grams, o.start is None, o.start or 0)


def _mark_greenest(options: DeliveryOptions) -> None:
    """One mark: the lowest estimate, the soonest of equals (eleven marks would mean nothing)."""
    available = [o for o in options.all() if o.available]
    if available:
        best = min(available, key=_green_key)
        best.greenest = True


# Green by default (issue 19). What "arrives" means for each option:
# - a slot or the green day: its own date;
# - a pickup point or locker, a safe place, a neighbour (no fixed day): the day the parcel is
#   expected anyway (`expected`: the carrier's ETA window, else the predicted likeliest day,
#   see expected_day); when that isn't known they are left out of the comparison, since we
#   can't say they arrive the same day;
# - a hold arrives later by definition: never the earliest, never the default.
# The earliest day is the soonest any available option arrives. Of the available options that
# arrive that day, the greenest (lowest CO2e, the soonest of equals) becomes the default, but
# only when it is greener than a van home delivery (what the parcel gets when nothing is
# chosen, and the green mile's baseline): when every greener option arrives later, there is no
# default. The page pre-selects it only when the recipient has no delivery choice yet.
def _mark_green_default(options: DeliveryOptions, expected: date | None) -> None:
    for o in options.all():
        if o.type in (C.SLOT, C.GREEN_DAY):
            o.arrives = o.date
        elif o.type is C.HOLD:
            o.arrives = None
        else:
            o.arrives = expected
    dated = [o for o in options.all() if o.available and o.arrives is not None]
    if not dated:
        return
    earliest = min(o.arrives for o in dated if o.arrives is not None)
    best = min((o for o in dated if o.arrives == earliest), key=_green_key)
    if best.co2e_grams < estimate.home_drop(estimate.VAN):
        best.green_default = True


def expected_day(
    parcel: Parcel, now: datetime, current: DeliveryChoice | None = None
) -> date | None:
    """The local day the parcel is expected when its option fixes no day (a pickup point, a
    safe place, a neighbour): the carrier's ETA window (its last day), unless past; otherwise
    the predicted likeliest day (services/edd); None when neither is known.

    A current slot, green day or hold moved the parcel's ETA window to its own day: the
    carrier's window (from its events) is the one that says when the parcel comes otherwise."""
    today = today_in(parcel, now)
    if current is not None and current.type in (C.SLOT, C.GREEN_DAY, C.HOLD):
        window = carrier_eta(parcel)
        day = window[1].astimezone(parcel_zone(parcel)).date() if window else None
        day = day if day is not None and day >= today else None
    else:
        day = arrival_day(parcel, today)
    if day is not None:
        return day
    prediction = predict_parcel(parcel, parcel.time_zone, now)
    if prediction is None or prediction.most_likely < today:
        return None
    return prediction.most_likely


# A city zone may hold hundreds of points: start small (a few blocks) before widening.
_RADII_M = (500, *nearest.RADII_M)


def _zone_points(
    zone: Zone,
    centre: tuple[float, float] | None,
    now: datetime,
    wanted: int,
    first: date,
    last: date,
) -> list[tuple[PickupPoint, int | None]]:
    """The `wanted` nearest of the zone's points open from `first` to `last`, with their
    distance: a box around the centre that widens (on the latitude/longitude index, as the
    pickup-point API's search does) instead of reading every point of the zone."""
    if centre is None:
        points = db.session.execute(
            select(PickupPoint).where(PickupPoint.zone_id == zone.id).order_by(PickupPoint.id)
        ).scalars()
        return sorted(
            ((p, None) for p in points if not point_closed_text(p, first, last)),
            key=lambda pd: pd[0].name,
        )[:wanted]
    return nearest.ranked(
        *centre,
        limit=wanted,
        now=now,
        keep=lambda p: not point_closed_text(p, first, last),
        where=(PickupPoint.zone_id == zone.id,),
        radii=_RADII_M,
    )


def for_parcel(
    parcel: Parcel, now: datetime | None = None, *, past_cutoff: bool = False
) -> DeliveryOptions | None:
    """The options on the parcel's delivery page; None when we don't serve its postcode.
    `past_cutoff`: what a supervisor may still choose after the cutoff."""
    if parcel.zone is None:
        return None
    now = now or utcnow()
    current = current_choice(parcel)
    window = change_window(parcel, now, current, past_cutoff=past_cutoff)
    return build(
        parcel.zone,
        country=parcel.country,
        postcode=parcel.postcode,
        weight_grams=parcel.weight_grams,
        merchant=parcel.merchant,
        value=parcel_value(parcel),
        window=window,
        now=now,
        arrival=arrival_day(parcel, today_in(parcel, now)),
        expected=expected_day(parcel, now, current) if window.open else None,
    )


def build(
    zone: Zone,
    *,
    country: str,
    postcode: str,
    weight_grams: int | None,
    merchant: Merchant,
    value: Decimal | None,
    window: ChangeWindow | None = None,
    now: datetime | None = None,
    arrival: date | None = None,
    expected: date | None = None,
    checkout: bool = False,
) -> DeliveryOptions:
    """Every option for an address in `zone`, limited to what `window` allows. Nothing closed
    is offered: no closed slot nor a slot on a holiday or closed day, and no pickup point
    closed for good or on a day between now and the end of the parcel's stay there
    (`arrival`: the day the carrier expects to bring it, if known).

    `expected`: the day an option that fixes no day arrives (expected_day), for the green
    default; None leaves those options out of it.

    `checkout`: the options for `merchant`'s checkout, which books through the API: a slot
    whose share its API bookings already hold (Merchant.api_slot_share) is unavailable to it,
    though recipients may still book it on their page."""
    now = now or utcnow()
    window = window or ChangeWindow(frozenset(ChoiceType))
    cfg = current_app.config
    tz = ZoneInfo(zone.time_zone)
    today = now.astimezone(tz).date()
    latest = window.latest_day or today + timedelta(days=cfg["DELIVERY_DAYS_AHEAD"])
    heavy_for_bike = (weight_grams or 0) > cfg["CARGO_BIKE_MAX_WEIGHT_GRAMS"]
    heavy_for_locker = (weight_grams or 0) > cfg["LOCKER_MAX_WEIGHT_GRAMS"]
    out = DeliveryOptions(zone=zone, window=window)
    allowed = window.allowed

    if C.SLOT in allowed:
        slots = db.session.execute(
            select(Slot)
            .where(
                Slot.zone_id == zone.id,
                Slot.day > today,
                Slot.day <= latest,
                Slot.closed_at.is_(None),
            )
            .order_by(Slot.starts_at)
        ).scalars()
        # Slots made before a day became a closed day (or by hand on a holiday) aren't offered.
        calendar = zone_calendar(zone, today, (latest - today).days)
        offered = [
            s
            for s in slots
            if now < cutoff(s.day, zone)
            and calendar.is_open(s.day)
            and not (heavy_for_bike and s.vehicle is Vehicle.CARGO_BIKE)
        ]
        held = merchant_api_bookings(merchant.id, [s.id for s in offered]) if checkout else {}
        for s in offered:
            share_left = None
            if checkout:
                limit = merchant_slot_limit(s.capacity, merchant.api_slot_share)
                share_left = max(0, min(limit - held.get(s.id, 0), s.remaining))
            start = clock(s.starts_at, tz)
            end = clock(s.ends_at, tz)
            out.slots.append(
                Option(
                    C.SLOT,
                    s.id,
                    f"{format_day(s.day)}, {start}-{end}",
                    estimate.for_option(C.SLOT, vehicle=s.vehicle),
                    available=s.remaining > 0 and share_left != 0,
                    date=s.day,
                    start=s.starts_at,
                    end=s.ends_at,
                    capacity=s.capacity,
                    remaining=s.remaining,
                    vehicle=s.vehicle,
                    share_remaining=share_left,
                    why_not=None if s.remaining > 0 else str(_l("Full")),
                )
            )

    if C.GREEN_DAY in allowed and (day := next_green_day(zone, now, window.latest_day)):
        start, end = day_window(zone, day)
        out.green_day = Option(
            C.GREEN_DAY,
            day.isoformat(),
            str(_l("Green day: %(day)s", day=format_day(day))),
            estimate.green_day(),
            date=day,
            start=start,
            end=end,
        )

    if C.PICKUP_POINT in allowed or C.LOCKER in allowed:
        centre = postcode_centre(country, postcode)
        first, last = pickup_span(today, arrival, latest)
        found = []
        shown = cfg["PICKUP_POINTS_SHOWN"]
        for p, distance in _zone_points(zone, centre, now, shown, first, last):
            why_not = None
            if p.is_locker and heavy_for_locker:
                why_not = str(_l("Too heavy for a locker"))
            elif p.is_locker and p.lockers_free <= 0:
                why_not = str(_l("No free compartment"))
            found.append(
                Option(
                    C.LOCKER if p.is_locker else C.PICKUP_POINT,
                    p.id,
                    p.name,
                    estimate.pickup(distance),
                    available=why_not is None,
                    point=p,
                    distance_m=distance,
                    capacity=p.locker_capacity if p.is_locker else None,
                    remaining=p.lockers_free if p.is_locker else None,
                    why_not=why_not,
                )
            )
        out.pickup_points = found
        for o in out.pickup_points:
            assert o.point is not None
            state = hours.now(o.point, now)
            o.hours_text = hours.summary(o.point, now)
            o.open_now = state.open_now if state.known else None
            o.next_open = state.next_open

    if C.SAFE_PLACE in allowed and safe_place_allowed(merchant, value):
        out.safe_place = Option(
            C.SAFE_PLACE,
            "safe_place",
            str(_l("Leave it in a safe place")),
            estimate.for_option(C.SAFE_PLACE),
        )
    if C.NEIGHBOUR in allowed:
        out.neighbour = Option(
            C.NEIGHBOUR,
            "neighbour",
            str(_l("Leave it with a neighbour")),
            estimate.for_option(C.NEIGHBOUR),
        )
    if C.HOLD in allowed:
        out.hold = Option(
            C.HOLD,
            "hold",
            str(_l("Hold it until a date")),
            estimate.for_option(C.HOLD),
            latest=hold_limit(merchant, today),
        )
    _mark_greenest(out)
    _mark_green_default(out, expected)
    return out
