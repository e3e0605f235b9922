"""Delivery choices: the rules for changing how a parcel arrives, and making a change.

Capacity (slots, locker compartments) is taken with one conditional UPDATE
(`booked = booked + 1 WHERE booked < capacity`) whose row count says whether there was room,
backed by a CHECK constraint, so concurrent recipients can never take more than the capacity on
SQLite or PostgreSQL. Whatever the previous choice held is given back in the same transaction,
and each change queues its confirmation through the outbox in that transaction too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

from babel.dates import format_time
from flask import current_app
from flask_babel import get_locale
from sqlalchemy import func, select, union_all, update
from sqlalchemy.orm import joinedload

from portal.extensions import db, get_by_id
from portal.green import estimate
from portal.i18n import lazy_gettext as _l
from portal.localtime import format_day, parcel_zone, zone_of
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Merchant,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Return,
    ReturnStatus,
    Slot,
    SlotTemplate,
    TrackingEvent,
    Zone,
)
from portal.models.types import utcnow
from portal.models.zone import DEFAULT_CUTOFF
from portal.services.calendar import closed_days, public_holiday, zone_calendar
from portal.services.errors import Conflict, DomainError, NotFound

# Changes close at 18:00 local time the day before delivery unless the zone says otherwise
# (PRODUCT.md; Zone.cutoff).
CUTOFF = DEFAULT_CUTOFF
# A parcel waits this many days at a pickup point (the last day moves to the point's next open
# day, see services/network/pickup.py).
PICKUP_HOLD_DAYS = 7
# A green day or hold without slot templates that day is delivered in this window.
DAY_WINDOW = (time(8, 0), time(18, 0))
SAFE_PLACES = ("porch", "garage", "back_door", "shed", "other")
SAFE_PLACE_TEXT = {
    "porch": _l("Porch"),
    "garage": _l("Garage"),
    "back_door": _l("Back door"),
    "shed": _l("Shed"),
    "other": _l("Somewhere else"),
}
S = ParcelStatus
C = ChoiceType
# DeliveryChoice.made_by of a merchant's checkout booking (API `delivery_choice`): the only
# bookings its slot share limits and counts.
MADE_BY_MERCHANT = "merchant"
REBOOK_TYPES = frozenset({C.SLOT, C.GREEN_DAY, C.PICKUP_POINT, C.LOCKER})


class SlotFull(Conflict):
    code = "slot_full"


class LockerFull(Conflict):
    code = "locker_full"


class ChangeTooLate(Conflict):
    code = "change_too_late"


class MerchantSlotShareFull(Conflict):
    """The merchant's API bookings already hold its share of the slot (Merchant.api_slot_share)."""

    code = "merchant_slot_share_full"


class SlotClosed(Conflict):
    """The slot was closed by an operator, or its day became a closed day, after it was shown."""

    code = "slot_closed"


class PickupPointClosed(Conflict):
    code = "pickup_point_closed"


def _config(key: str) -> int:
    return current_app.config[key]


# --- slots -----------------------------------------------------------------------------------


def generate_slots(days: int = 14, *, today: date | None = None) -> int:
    """Dated slots for the next `days` days from every zone's templates; existing ones are kept
    (so running it again, or daily, creates only what is missing). No slot is made on a public
    holiday or a day the operator closed the zone. Returns how many were made."""
    made = 0
    templates = db.session.execute(
        select(SlotTemplate).options(joinedload(SlotTemplate.zone)).order_by(SlotTemplate.zone_id)
    ).scalars()
    for zone_id, group in groupby(templates, key=lambda t: t.zone_id):
        group = list(group)
        zone = group[0].zone
        tz = ZoneInfo(zone.time_zone)
        start_day = today or datetime.now(tz).date()
        calendar = zone_calendar(zone, start_day, days)
        have = set(
            db.session.execute(
                select(Slot.starts_at, Slot.vehicle).where(
                    Slot.zone_id == zone_id,
                    Slot.day >= start_day,
                    Slot.day < start_day + timedelta(days=days),
                )
            ).all()
        )
        for offset in range(days):
            day = start_day + timedelta(days=offset)
            if not calendar.is_open(day):
                continue
            for template in group:
                if day.weekday() != template.weekday:
                    continue
                starts_at = datetime.combine(day, template.start_time, tzinfo=tz)
                if (starts_at, template.vehicle) in have:
                    continue
                db.session.add(
                    Slot(
                        zone_id=zone_id,
                        template_id=template.id,
                        day=day,
                        starts_at=starts_at,
                        ends_at=datetime.combine(day, template.end_time, tzinfo=tz),
                        capacity=template.capacity,
                        vehicle=template.vehicle,
                    )
                )
                made += 1
    db.session.flush()
    return made


def cutoff(day: date, zone: Zone) -> datetime:
    """When changes to a delivery on `day` close: the zone's cutoff (18:00 unless the operator
    set another) local time the day before."""
    return datetime.combine(
        day - timedelta(days=1), zone.cutoff or CUTOFF, tzinfo=ZoneInfo(zone.time_zone)
    )


def cutoff_time(zone: Zone) -> str:
    """The zone's cutoff as the reader writes times ("18:00")."""
    return format_time(zone.cutoff or CUTOFF, "HH:mm", locale=get_locale())


def closed_day_text(zone: Zone, day: date) -> str | None:
    """Why nothing is delivered in `zone` on `day` (a public holiday, or a day the operator
    closed), as a sentence asking for another day; None on a day we deliver."""
    closed = closed_days(zone.id, day, day)
    if day in closed:
        if closed[day]:
            return str(
                _l(
                    "We don't deliver on %(day)s (%(why)s): choose another day.",
                    day=format_day(day),
                    why=closed[day],
                )
            )
        return str(_l("We don't deliver on %(day)s: choose another day.", day=format_day(day)))
    holiday = public_holiday(zone.country, day, str(get_locale() or "en"))
    if holiday:
        return str(
            _l(
                "%(day)s is a public holiday (%(holiday)s): choose another day.",
                day=format_day(day),
                holiday=holiday,
            )
        )
    return None


def day_window(zone: Zone, day: date) -> tuple[datetime, datetime]:
    """The hours a whole-day delivery (green day, end of a hold) arrives in: the span of that
    weekday's slot templates, or 08:00-18:00."""
    row = db.session.execute(
        select(func.min(SlotTemplate.start_time), func.max(SlotTemplate.end_time)).where(
            SlotTemplate.zone_id == zone.id, SlotTemplate.weekday == day.weekday()
        )
    ).one()
    start, end = (row[0], row[1]) if row[0] is not None else DAY_WINDOW
    tz = ZoneInfo(zone.time_zone)
    return datetime.combine(day, start, tzinfo=tz), datetime.combine(day, end, tzinfo=tz)


# --- each merchant's share of a slot ----------------------------------------------------------


def merchant_slot_limit(capacity: int, share: int) -> int:
    """How many of a slot's `capacity` places one merchant's API bookings may hold with a share
    of `share` percent. Rounded down, so shares that add up to 100 % never promise more places
    than the slot has; but never nothing (a share is at least 1 %), or a checkout could never
    offer a small slot at all: a one-place slot stays bookable at checkout."""
    return max(1, capacity * share // 100)


def merchant_api_bookings(merchant_id: int, slot_ids: Collection[int]) -> dict[int, int]:
    """Places the merchant's API bookings hold now in each of `slot_ids` (absent: none): its
    checkouts' delivery choices and the home pickups of returns it opened through the API.

    A booking a recipient has since changed on their page, a withdrawn one and one given back
    when the journey ended don't count; a delivered parcel's does, as in Slot.booked. A
    rejected return gave its pickup place back."""
    if not slot_ids:
        return {}
    choices = (
        select(DeliveryChoice.slot_id.label("slot_id"))
        .join(Parcel, Parcel.id == DeliveryChoice.parcel_id)
        .where(
            DeliveryChoice.slot_id.in_(slot_ids),
            DeliveryChoice.superseded_at.is_(None),
            DeliveryChoice.released_at.is_(None),
            DeliveryChoice.made_by == MADE_BY_MERCHANT,
            Parcel.merchant_id == merchant_id,
        )
    )
    pickups = select(Return.slot_id.label("slot_id")).where(
        Return.slot_id.in_(slot_ids),
        Return.merchant_id == merchant_id,
        Return.created_by == MADE_BY_MERCHANT,
        Return.status != ReturnStatus.REJECTED,
    )
    held = union_all(choices, pickups).subquery()
    rows = db.session.execute(select(held.c.slot_id, func.count()).group_by(held.c.slot_id))
    return {slot_id: count for slot_id, count in rows}


def check_merchant_share(parcel: Parcel, slot: Slot) -> None:
    """Refuse a merchant's API booking once its bookings hold its share of the slot.

    The slot row is locked before counting, so two checkouts of one merchant racing for its
    last place queue up and the second counts the first (PostgreSQL, read committed: each
    statement sees what committed before it; SQLite serialises writers). A full slot is left
    to _reserve, whose `slot_full` says more than the share would."""
    capacity, taken = db.session.execute(
        select(Slot.capacity, Slot.booked).where(Slot.id == slot.id).with_for_update()
    ).one()
    if taken >= capacity:
        return
    merchant = parcel.merchant
    limit = merchant_slot_limit(capacity, merchant.api_slot_share)
    held = merchant_api_bookings(merchant.id, [slot.id]).get(slot.id, 0)
    if held >= limit:
        raise MerchantSlotShareFull(
            str(
                _l(
                    "Your share of this time is used up: your bookings through the API may hold "
                    "%(limit)s of its %(capacity)s places. Choose another time, or leave out "
                    "the delivery choice so the recipient can choose on their parcel page.",
                    limit=limit,
                    capacity=capacity,
                )
            ),
            field="slot",
        )


# --- what a parcel may still change ----------------------------------------------------------


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


def current_choice(parcel: Parcel) -> DeliveryChoice | None:
    return db.session.execute(
        select(DeliveryChoice)
        .where(DeliveryChoice.parcel_id == parcel.id, DeliveryChoice.superseded_at.is_(None))
        .order_by(DeliveryChoice.made_at.desc(), DeliveryChoice.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def choice_history(parcel: Parcel) -> list[DeliveryChoice]:
    """Every choice made for the parcel, oldest first."""
    return list(
        db.session.execute(
            select(DeliveryChoice)
            .where(DeliveryChoice.parcel_id == parcel.id)
            .order_by(DeliveryChoice.made_at, DeliveryChoice.id)
        ).scalars()
    )


@dataclass
class ChoiceEntry:
    """A delivery choice as a timeline line (shown to verified recipients and agents)."""

    occurred_at: datetime
    text: str
    made_by: str
    code: str = "choice"
    location: str | None = None
    description: str | None = None
    # Still in force: neither replaced by a newer choice nor withdrawn by a closure.
    current: bool = False
    pickup_point: PickupPoint | None = None


def choice_entries(parcel_id: int, tz: str | None) -> list[ChoiceEntry]:
    rows = db.session.execute(
        select(DeliveryChoice)
        .options(joinedload(DeliveryChoice.slot), joinedload(DeliveryChoice.pickup_point))
        .where(DeliveryChoice.parcel_id == parcel_id)
        .order_by(DeliveryChoice.made_at, DeliveryChoice.id)
    ).scalars()
    return [
        ChoiceEntry(
            c.made_at,
            describe(c, tz),
            c.made_by,
            current=c.superseded_at is None,
            pickup_point=c.pickup_point,
        )
        for c in rows
    ]


def delivery_day(choice: DeliveryChoice | None) -> date | None:
    """The day a choice commits the carrier to, whose cutoff closes changes."""
    if choice is None:
        return None
    if choice.type is C.SLOT and choice.slot:
        return choice.slot.day
    if choice.type in (C.GREEN_DAY, C.HOLD):
        return choice.day
    return None


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
        latest = failed_on + timedelta(days=_config("REBOOK_DAYS"))
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
            time=format_time(closes, "HH:mm", tzinfo=closes.tzinfo, locale=get_locale()),
            day=format_day(closes.date()),
        ),
        _l(
            "If nobody can take it, you can choose a new time or a pickup point after the "
            "driver's attempt."
        ),
    )


def hold_limit(merchant: Merchant, today: date) -> date:
    storage = merchant.storage_days
    days = min(_config("HOLD_MAX_DAYS"), _config("HOLD_MAX_DAYS") if storage is None else storage)
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


def next_green_day(zone: Zone, now: datetime, latest: date | None = None) -> date | None:
    """The first green day whose cutoff hasn't passed, within the days we plan ahead. A green
    day on a public holiday or closed day moves to the next working day after it."""
    if zone.green_weekday is None:
        return None
    today = now.astimezone(ZoneInfo(zone.time_zone)).date()
    ahead = _config("DELIVERY_DAYS_AHEAD")
    calendar = zone_calendar(zone, today, ahead + 14)
    for offset in range(1, ahead + 1):
        day = today + timedelta(days=offset)
        if day.weekday() != zone.green_weekday:
            continue
        moved = calendar.next_open(day)
        while moved is not None and moved.weekday() >= 5:  # the round runs on a weekday
            moved = calendar.next_open(moved + timedelta(days=1))
        if moved is None or (latest is not None and moved > latest):
            return None
        if now < cutoff(moved, zone):
            return moved
    return None


# --- making a change -------------------------------------------------------------------------


@dataclass
class ChoiceRequest:
    """One change as asked for by a page, an SMS reply or the API."""

    type: ChoiceType
    slot_id: int | None = None
    pickup_point_id: int | None = None
    day: date | None = None  # green day, or the hold's last day
    place: str | None = None  # safe place
    note: str | None = None  # safe place note
    neighbour_name: str | None = None
    neighbour_house: str | None = None
    extra: dict = field(default_factory=dict)


def choose(
    parcel: Parcel,
    request: ChoiceRequest,
    *,
    now: datetime | None = None,
    made_by: str = "recipient",
    confirm: bool = True,
    answering: bool = False,
    past_cutoff: bool = False,
) -> DeliveryChoice:
    """Make `request` the parcel's delivery choice, or raise a DomainError saying why not
    (SlotFull, LockerFull, ChangeTooLate, NotFound, or invalid input with its field).

    The caller commits. Choosing what is already chosen changes nothing and sends nothing.
    """
    now = now or utcnow()
    # Lock the parcel: two clicks of one recipient can't both move it (PostgreSQL; SQLite
    # serialises writers anyway).
    db.session.execute(select(Parcel.id).where(Parcel.id == parcel.id).with_for_update())
    if parcel.zone is None:
        raise DomainError(
            str(_l("We don't deliver to this postcode ourselves, so there is nothing to choose.")),
            field="type",
            code="postcode_not_served",
        )
    current = current_choice(parcel)
    window = change_window(parcel, now, current, past_cutoff=past_cutoff)
    if not window.open:
        raise ChangeTooLate(str(window.reason), field="type")
    if request.type not in window.allowed:
        raise ChangeTooLate(
            str(_l("After a failed delivery you can choose a new day or a pickup point.")),
            field="type",
        )
    choice = _build(parcel, request, now, window)
    if current is not None and _same(current, choice):
        return current
    _lock_in_order(choice, current)
    if made_by == MADE_BY_MERCHANT and choice.slot is not None:
        check_merchant_share(parcel, choice.slot)
    _reserve(choice)
    if current is not None:
        release_booking(current)
        current.superseded_at = now
    choice.made_by = made_by
    choice.made_at = now
    db.session.add(choice)
    _update_eta(parcel, choice, now)
    db.session.flush()
    if confirm:
        from portal.notifications.outbox import notify

        notify(
            parcel,
            "delivery_changed",
            now=now,
            dedupe_suffix=f":{choice.id}",
            answering=answering,
        )
    return choice


def book_slot(
    parcel: Parcel, slot_id: int, *, now: datetime | None = None, made_by: str = "recipient"
) -> DeliveryChoice:
    return choose(parcel, ChoiceRequest(C.SLOT, slot_id=slot_id), now=now, made_by=made_by)


def _build(parcel: Parcel, r: ChoiceRequest, now: datetime, window: ChangeWindow) -> DeliveryChoice:
    """The new choice row, validated against the parcel (not yet added or reserved)."""
    zone = parcel.zone
    assert zone is not None  # change_window refuses parcels outside our zones
    today = today_in(parcel, now)
    choice = DeliveryChoice(parcel=parcel, type=r.type)
    if r.type is C.SLOT:
        slot = get_by_id(Slot, r.slot_id)
        if slot is None:
            raise NotFound(
                str(_l("Choose one of the times shown.")), field="slot", code="slot_not_found"
            )
        if slot.zone_id != zone.id:
            raise DomainError(
                str(_l("That time is for another area.")), field="slot", code="slot_elsewhere"
            )
        if now >= cutoff(slot.day, zone):
            raise ChangeTooLate(
                str(
                    _l(
                        "That time can no longer be booked: changes close at %(time)s the day "
                        "before.",
                        time=cutoff_time(zone),
                    )
                ),
                field="slot",
            )
        if slot.closed_at is not None:
            raise SlotClosed(
                str(_l("That time is no longer offered. Please choose another.")), field="slot"
            )
        if why := closed_day_text(zone, slot.day):
            raise SlotClosed(why, field="slot", code="day_closed")
        if window.latest_day and slot.day > window.latest_day:
            raise DomainError(
                str(_l("Choose a day up to %(day)s.", day=format_day(window.latest_day))),
                field="slot",
                code="too_far_ahead",
            )
        if slot.vehicle == "cargo_bike" and parcel.weight_grams > _config(
            "CARGO_BIKE_MAX_WEIGHT_GRAMS"
        ):
            raise DomainError(
                str(_l("This parcel is too heavy for the cargo bike. Choose a van time.")),
                field="slot",
                code="too_heavy",
            )
        choice.slot = slot
        choice.co2e_grams = estimate.for_option(C.SLOT, vehicle=slot.vehicle)
    elif r.type is C.GREEN_DAY:
        green = next_green_day(zone, now, window.latest_day)
        if green is None or (r.day is not None and r.day != green):
            raise DomainError(
                str(_l("That green day can no longer be chosen.")), field="day", code="no_green_day"
            )
        choice.day = green
        choice.co2e_grams = estimate.for_option(C.GREEN_DAY)
    elif r.type in (C.PICKUP_POINT, C.LOCKER):
        point = get_by_id(PickupPoint, r.pickup_point_id)
        if point is None or point.zone_id != zone.id:
            raise NotFound(
                str(_l("Choose one of the pickup points shown.")),
                field="pickup_point",
                code="pickup_point_not_found",
            )
        latest = window.latest_day or today + timedelta(days=_config("DELIVERY_DAYS_AHEAD"))
        first, last = pickup_span(today, arrival_day(parcel, today), latest)
        if why := point_closed_text(point, first, last):
            raise PickupPointClosed(why, field="pickup_point")
        choice.type = C.LOCKER if point.is_locker else C.PICKUP_POINT
        if point.is_locker and parcel.weight_grams > _config("LOCKER_MAX_WEIGHT_GRAMS"):
            raise DomainError(
                str(_l("This parcel is too heavy for a locker. Choose a pickup point.")),
                field="pickup_point",
                code="too_heavy",
            )
        choice.pickup_point = point
        choice.co2e_grams = estimate.pickup(distance_to(parcel.country, parcel.postcode, point))
    elif r.type is C.SAFE_PLACE:
        if not safe_place_allowed(parcel.merchant, parcel_value(parcel)):
            raise DomainError(
                str(_l("The shop doesn't allow leaving this parcel unattended.")),
                field="place",
                code="safe_place_not_allowed",
            )
        if r.place not in SAFE_PLACES:
            raise DomainError(str(_l("Choose where we should leave it.")), field="place")
        note = (r.note or "").strip()
        if r.place == "other" and not note:
            raise DomainError(str(_l("Tell the driver where to leave it.")), field="note")
        if len(note) > 200:
            raise DomainError(str(_l("Keep the note to 200 characters.")), field="note")
        choice.place, choice.note = r.place, note or None
        choice.co2e_grams = estimate.for_option(C.SAFE_PLACE)
    elif r.type is C.NEIGHBOUR:
        name, house = (r.neighbour_name or "").strip(), (r.neighbour_house or "").strip()
        if not name:
            raise DomainError(str(_l("Enter your neighbour's name.")), field="neighbour_name")
        if not house:
            raise DomainError(
                str(_l("Enter your neighbour's house or flat number.")), field="neighbour_house"
            )
        if len(name) > 100:
            raise DomainError(str(_l("Keep the name to 100 characters.")), field="neighbour_name")
        if len(house) > 40:
            raise DomainError(str(_l("Keep the number to 40 characters.")), field="neighbour_house")
        choice.note, choice.neighbour_house = name, house
        choice.co2e_grams = estimate.for_option(C.NEIGHBOUR)
    elif r.type is C.HOLD:
        limit = hold_limit(parcel.merchant, today)
        if r.day is None:
            raise DomainError(str(_l("Enter the date to hold it until.")), field="day")
        if r.day <= today or now >= cutoff(r.day, zone):
            raise DomainError(
                str(
                    _l(
                        "Choose a later date: changes for a day close at %(time)s the day before.",
                        time=cutoff_time(zone),
                    )
                ),
                field="day",
                code="hold_too_soon",
            )
        if r.day > limit:
            raise DomainError(
                str(_l("We can hold it until %(day)s at the latest.", day=format_day(limit))),
                field="day",
                code="hold_too_long",
            )
        # The held parcel is delivered on its last day: never a day nobody delivers.
        if why := closed_day_text(zone, r.day):
            raise DomainError(why, field="day", code="hold_on_closed_day")
        choice.day = r.day
        choice.co2e_grams = estimate.for_option(C.HOLD)
    else:  # pragma: no cover - the enum is closed
        raise DomainError(str(_l("Unknown choice.")), field="type")
    return choice


def _same(a: DeliveryChoice, b: DeliveryChoice) -> bool:
    keys = ("type", "slot_id", "pickup_point_id", "day", "place", "note", "neighbour_house")
    a_slot = a.slot_id if a.slot_id is not None else (a.slot.id if a.slot else None)
    b_slot = b.slot.id if b.slot else None
    b_point = b.pickup_point.id if b.pickup_point else None
    return (
        a.type == b.type
        and a_slot == b_slot
        and a.pickup_point_id == b_point
        and all(getattr(a, k) == getattr(b, k) for k in keys[3:])
    )


def _lock_in_order(new: DeliveryChoice, old: DeliveryChoice | None) -> None:
    """Lock the slots (and lockers) a move touches in id order, so two recipients swapping
    between the same two slots queue up instead of deadlocking (PostgreSQL; a no-op on SQLite,
    which serialises writers)."""
    slots = {c.slot.id if c.slot else c.slot_id for c in (new, old) if c is not None} - {None}
    if len(slots) > 1:
        db.session.execute(
            select(Slot.id).where(Slot.id.in_(slots)).order_by(Slot.id).with_for_update()
        ).all()
    points = {
        c.pickup_point.id if c.pickup_point else c.pickup_point_id
        for c in (new, old)
        if c is not None and c.type is C.LOCKER
    } - {None}
    if len(points) > 1:
        db.session.execute(
            select(PickupPoint.id)
            .where(PickupPoint.id.in_(points))
            .order_by(PickupPoint.id)
            .with_for_update()
        ).all()


def _reserve(choice: DeliveryChoice) -> None:
    if choice.slot is not None:
        taken = db.session.execute(
            update(Slot)
            .where(Slot.id == choice.slot.id, Slot.booked < Slot.capacity, Slot.closed_at.is_(None))
            .values(booked=Slot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise SlotFull(
                str(_l("That time has just filled up. Please choose another.")), field="slot"
            )
    if choice.type is C.LOCKER and choice.pickup_point is not None:
        taken = db.session.execute(
            update(PickupPoint)
            .where(
                PickupPoint.id == choice.pickup_point.id,
                PickupPoint.lockers_reserved < PickupPoint.locker_capacity,
            )
            .values(lockers_reserved=PickupPoint.lockers_reserved + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise LockerFull(
                str(_l("That locker has no free compartment. Please choose another.")),
                field="pickup_point",
            )


def release_on_end(parcel: Parcel, status: S, now: datetime) -> None:
    """The journey ended: a locker compartment is empty again, and a cancelled or returned
    parcel gives its slot place back. A delivered parcel used its slot, which stays counted."""
    choice = current_choice(parcel)
    if choice is None or choice.released_at is not None:
        return
    if status is S.DELIVERED:
        if choice.type is C.LOCKER:
            release_booking(choice, slot=False)
            choice.released_at = now
    elif status in (S.CANCELLED, S.RETURN_TO_SENDER):
        release_booking(choice)
        choice.released_at = now


def release_booking(previous: DeliveryChoice, *, slot: bool = True) -> None:
    """Give back what the replaced choice held, in the same transaction as the new booking."""
    if previous.released_at is not None:
        return
    if slot and previous.slot_id:
        db.session.execute(
            update(Slot)
            .where(Slot.id == previous.slot_id, Slot.booked > 0)
            .values(booked=Slot.booked - 1)
            .execution_options(synchronize_session=False)
        )
    if previous.type is C.LOCKER and previous.pickup_point_id:
        db.session.execute(
            update(PickupPoint)
            .where(PickupPoint.id == previous.pickup_point_id, PickupPoint.lockers_reserved > 0)
            .values(lockers_reserved=PickupPoint.lockers_reserved - 1)
            .execution_options(synchronize_session=False)
        )


def _update_eta(parcel: Parcel, choice: DeliveryChoice, now: datetime) -> None:
    """Choices that fix a day move the ETA window to it; instructions keep the carrier's."""
    if choice.slot is not None:
        window = (choice.slot.starts_at, choice.slot.ends_at)
    elif choice.type in (C.GREEN_DAY, C.HOLD) and choice.day is not None and parcel.zone:
        window = day_window(parcel.zone, choice.day)
    else:
        # An instruction or a pickup point fixes no day: the carrier's own plan applies again
        # (not the window of a slot just given up, which others may now book).
        window = carrier_eta(parcel)
    parcel.eta_from, parcel.eta_to = window or (None, None)
    parcel.eta_at = now


def carrier_eta(parcel: Parcel) -> tuple[datetime, datetime] | None:
    """The window of the carrier's newest event with one, unless a later event voided it."""
    from portal.services.events import ETA_ENDS

    latest = db.session.execute(
        select(TrackingEvent)
        .where(TrackingEvent.parcel_id == parcel.id, TrackingEvent.eta_from.is_not(None))
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None
    voided = db.session.execute(
        select(TrackingEvent.id).where(
            TrackingEvent.parcel_id == parcel.id,
            TrackingEvent.occurred_at > latest.occurred_at,
            TrackingEvent.code.in_(ETA_ENDS),
        )
    ).first()
    return None if voided else (latest.eta_from, latest.eta_to)


# --- words -----------------------------------------------------------------------------------


def describe(choice: DeliveryChoice, tz: str | None = None) -> str:
    """One line saying what was chosen, in the current language (pages, messages, API)."""
    zone = zone_of(tz)
    locale = get_locale()
    t = choice.type
    if t is C.SLOT and choice.slot:
        s = choice.slot
        return str(
            _l(
                "Delivery on %(day)s, %(start)s-%(end)s",
                day=format_day(s.day),
                start=format_time(s.starts_at, "HH:mm", tzinfo=zone, locale=locale),
                end=format_time(s.ends_at, "HH:mm", tzinfo=zone, locale=locale),
            )
        )
    if t is C.GREEN_DAY and choice.day:
        return str(_l("Green day delivery on %(day)s", day=format_day(choice.day)))
    if t in (C.PICKUP_POINT, C.LOCKER) and choice.pickup_point:
        p = choice.pickup_point
        what = _l("Locker") if t is C.LOCKER else _l("Pickup point")
        return f"{what}: {p.name}, {p.address_line}"
    if t is C.SAFE_PLACE:
        place = str(SAFE_PLACE_TEXT.get(choice.place or "other", ""))
        text = str(_l("Leave it in a safe place: %(place)s", place=place))
        return f"{text} ({choice.note})" if choice.note else text
    if t is C.NEIGHBOUR:
        return str(
            _l(
                "Leave it with %(name)s at number %(house)s",
                name=choice.note or "",
                house=choice.neighbour_house or "",
            )
        )
    if t is C.HOLD and choice.day:
        return str(_l("Hold until %(day)s", day=format_day(choice.day)))
    return str(t)


# --- distances -------------------------------------------------------------------------------


def postcode_centre(country: str, postcode: str) -> tuple[float, float] | None:
    """The centre of the longest known postcode prefix, or None."""
    from portal.contact import normalise_postcode
    from portal.models import ZonePostcodePrefix

    code = normalise_postcode(postcode)
    if not code:
        return None
    candidates = [code[:n] for n in range(len(code), 0, -1)]
    rows = db.session.execute(
        select(ZonePostcodePrefix).where(
            ZonePostcodePrefix.country == country.upper(),
            ZonePostcodePrefix.prefix.in_(candidates),
            ZonePostcodePrefix.latitude.is_not(None),
        )
    ).scalars()
    best = max(rows, key=lambda row: len(row.prefix), default=None)
    return (best.latitude, best.longitude) if best else None


def distance_to(country: str, postcode: str, point: PickupPoint) -> int | None:
    centre = postcode_centre(country, postcode)
    if centre is None:
        return None
    return estimate.distance_m(centre[0], centre[1], point.latitude, point.longitude)
