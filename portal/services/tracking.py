"""What a shopper sees of a parcel: plain-word status, progress, timeline, verification."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Parcel, ParcelStatus, TrackingEvent

S = ParcelStatus

# Plain words for each status: a short label and what it means for the recipient.
STATUS_TEXT = {
    S.PENDING: (_l("Order received"), _l("The shop has told us about your parcel.")),
    S.PICKED_UP: (_l("Picked up"), _l("The carrier has your parcel.")),
    S.IN_TRANSIT: (_l("On its way"), _l("Your parcel is travelling to you.")),
    S.OUT_FOR_DELIVERY: (_l("Out for delivery"), _l("Your parcel arrives today.")),
    S.DELIVERY_FAILED: (
        _l("Delivery attempt failed"),
        _l("We could not deliver your parcel. We will try again or you can choose another way."),
    ),
    S.READY_FOR_PICKUP: (
        _l("Ready for pickup"),
        _l("Your parcel is waiting for you at the pickup point."),
    ),
    S.DELIVERED: (_l("Delivered"), _l("Your parcel has been delivered.")),
    S.ON_HOLD: (_l("On hold"), _l("Your parcel is being held and will move on later.")),
    S.DELAYED: (_l("Delayed"), _l("Your parcel is late. We will update the time as we know more.")),
    S.RETURN_TO_SENDER: (
        _l("Returned to sender"),
        _l("Your parcel is going back to the shop."),
    ),
    S.CANCELLED: (_l("Cancelled"), _l("This shipment was cancelled.")),
}

# The steps of the progress bar, and which step each status stands at.
STEPS = (
    (_l("Ordered"), S.PENDING),
    (_l("Picked up"), S.PICKED_UP),
    (_l("On its way"), S.IN_TRANSIT),
    (_l("Out for delivery"), S.OUT_FOR_DELIVERY),
    (_l("Delivered"), S.DELIVERED),
)
STEP_OF = {
    S.PENDING: 0,
    S.PICKED_UP: 1,
    S.IN_TRANSIT: 2,
    S.DELAYED: 2,
    S.ON_HOLD: 2,
    S.OUT_FOR_DELIVERY: 3,
    S.DELIVERY_FAILED: 3,
    S.READY_FOR_PICKUP: 3,
    S.DELIVERED: 4,
}
# Statuses that mean something went wrong at the current step.
TROUBLE = frozenset({S.DELIVERY_FAILED, S.DELAYED, S.ON_HOLD, S.RETURN_TO_SENDER, S.CANCELLED})


@dataclass
class Step:
    label: str
    state: str  # "done", "current" or "todo"


def progress(status: ParcelStatus) -> list[Step] | None:
    """The progress bar's steps, or None for a parcel leaving the normal path."""
    at = STEP_OF.get(status)
    if at is None:
        return None
    steps = []
    for i, (label, _) in enumerate(STEPS):
        state = "done" if i < at or status == S.DELIVERED else "current" if i == at else "todo"
        if i == at and status == S.READY_FOR_PICKUP:
            label = _l("Ready for pickup")
        steps.append(Step(label, state))
    return steps


def status_label(status: ParcelStatus) -> str:
    return str(STATUS_TEXT[status][0])


def status_explanation(status: ParcelStatus) -> str:
    return str(STATUS_TEXT[status][1])


def timeline(parcel: Parcel) -> list[TrackingEvent]:
    """Every event of the parcel as full rows, newest first (messages and the console; pages
    and the API read plain rows)."""
    return list(db.session.execute(_NEWEST_FIRST, {"parcel_id": parcel.id}).scalars())


def event_rows(parcel_id: int) -> list[Row]:
    """The parcel's events, oldest first, as plain rows of what the API shows of each: no ORM
    objects to build for a read (issue 17)."""
    return list(db.session.execute(_ROWS_OLDEST_FIRST, {"parcel_id": parcel_id}))


# Built once (issue 17: building a statement per call costs about as much as running it).
_NEWEST_FIRST = (
    select(TrackingEvent)
    .where(TrackingEvent.parcel_id == bindparam("parcel_id"))
    .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
)
_e = TrackingEvent.__table__.c
_ROWS_OLDEST_FIRST = (
    select(
        _e.event_id, _e.code, _e.occurred_at, _e.location, _e.description, _e.eta_from, _e.eta_to
    )
    .where(_e.parcel_id == bindparam("parcel_id"))
    .order_by(_e.occurred_at, _e.id)
)


def postcode_matches(parcel: Parcel, postcode: str) -> bool:
    """Whether a typed postcode is the recipient's (spaces, dashes and case don't matter, nor
    the country's prefix people write on parcels: "DK-2100", "FI-00100")."""
    typed = normalise_postcode(postcode)
    stored = normalise_postcode(parcel.postcode)
    country = (parcel.country or "").upper()
    if country and typed.startswith(country) and not stored.startswith(country):
        typed = typed.removeprefix(country)
    # As bytes: compare_digest refuses non-ASCII text, which a typed postcode may hold.
    return bool(typed) and hmac.compare_digest(typed.encode(), stored.encode())
