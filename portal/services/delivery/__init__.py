"""Delivery choices: the rules for changing how a parcel arrives, and making a change.

The package owns a parcel's delivery choices and the places they hold: `days` (slots, cutoffs,
closed days, green days), `choices` (what was chosen, and saying so), `window` (what may still
change), `capacity` (taking and giving back slot and locker places, merchants' shares), `eta`
(the delivery window) and `choose` (making a change). Callers import from the package.

Capacity (slots, locker compartments) is taken with one conditional UPDATE
(`booked = booked + 1 WHERE booked < capacity`) whose row count says whether there was room,
backed by a CHECK constraint, so concurrent recipients can never take more than the capacity on
SQLite or PostgreSQL. Whatever the previous choice held is given back in the same transaction,
and each change queues its confirmation through the outbox in that transaction too.
"""

from __future__ import annotations

from portal.services.delivery.capacity import (
    MADE_BY_MERCHANT,
    check_merchant_share,
    merchant_api_bookings,
    merchant_slot_limit,
    release_booking,
    release_on_end,
)
from portal.services.delivery.choices import (
    SAFE_PLACE_TEXT,
    SAFE_PLACES,
    C,
    ChoiceEntry,
    choice_entries,
    choice_history,
    current_choice,
    delivery_day,
    describe,
)
from portal.services.delivery.choose import ChoiceRequest, book_slot, choose, distance_to
from portal.services.delivery.days import (
    CUTOFF,
    DAY_WINDOW,
    closed_day_text,
    cutoff,
    cutoff_time,
    day_window,
    generate_slots,
    next_green_day,
)
from portal.services.delivery.errors import (
    ChangeTooLate,
    LockerFull,
    MerchantSlotShareFull,
    PickupPointClosed,
    SlotClosed,
    SlotFull,
)
from portal.services.delivery.eta import ETA_ENDS, carrier_eta
from portal.services.delivery.window import (
    PICKUP_HOLD_DAYS,
    REBOOK_TYPES,
    ChangeWindow,
    arrival_day,
    change_window,
    hold_limit,
    parcel_value,
    pickup_span,
    point_closed_text,
    safe_place_allowed,
    today_in,
)

__all__ = [
    "CUTOFF",
    "DAY_WINDOW",
    "ETA_ENDS",
    "MADE_BY_MERCHANT",
    "PICKUP_HOLD_DAYS",
    "REBOOK_TYPES",
    "SAFE_PLACES",
    "SAFE_PLACE_TEXT",
    "C",
    "ChangeTooLate",
    "ChangeWindow",
    "ChoiceEntry",
    "ChoiceRequest",
    "LockerFull",
    "MerchantSlotShareFull",
    "PickupPointClosed",
    "SlotClosed",
    "SlotFull",
    "arrival_day",
    "book_slot",
    "carrier_eta",
    "change_window",
    "check_merchant_share",
    "choice_entries",
    "choice_history",
    "choose",
    "closed_day_text",
    "current_choice",
    "cutoff",
    "cutoff_time",
    "day_window",
    "delivery_day",
    "describe",
    "distance_to",
    "generate_slots",
    "hold_limit",
    "merchant_api_bookings",
    "merchant_slot_limit",
    "next_green_day",
    "parcel_value",
    "pickup_span",
    "point_closed_text",
    "release_booking",
    "release_on_end",
    "safe_place_allowed",
    "today_in",
]
