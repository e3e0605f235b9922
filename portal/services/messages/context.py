"""The variables a message is written with: the parcel, its link and ETA, and what each trigger
adds (the new choice, the pickup point's last day, whether a reply can rebook, the predicted
delivery day of a new parcel).

Three triggers speak of the delivery side: the choice in force and what it says, and how long
a pickup point keeps the parcel. Delivery and the pickup network queue messages themselves (so
they import this package), hence they lend those lookups at start-up (`set_delivery_lookups`,
called from portal/notifications/__init__.py) instead of being imported here. The predicted
delivery is lent the same way (`set_predictor`): services/edd reads the network's files, and the
network queues messages, so importing it here would close a cycle.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from flask import current_app

from portal.extensions import db
from portal.formatting import eta_window
from portal.localtime import clock, format_day, local_day, parcel_zone
from portal.models import DeliveryChoice, Parcel
from portal.models.types import utcnow
from portal.services.tracking import timeline


class PickupDeadline(Protocol):
    """Where a parcel waits and until when (services/network/pickup.py)."""

    place: str | None
    last_day: date
    hours: str | None


@dataclass(frozen=True)
class DeliveryLookups:
    current_choice: Callable[[Parcel], DeliveryChoice | None]
    describe: Callable[[DeliveryChoice, str | None], str]
    pickup_deadline: Callable[[Parcel, datetime], PickupDeadline]


class PredictedDates(Protocol):
    """A parcel's predicted delivery (services/edd's Prediction), in the parcel's zone."""

    earliest: date
    latest: date
    most_likely: date


# services/edd's predict_parcel(parcel, time_zone): None once the journey ended.
Predictor = Callable[[Parcel, str | None], PredictedDates | None]

_lookups: DeliveryLookups | None = None
_predictor: Predictor | None = None


def set_delivery_lookups(lookups: DeliveryLookups) -> None:
    """Lend the delivery side's lookups (once, at start-up)."""
    global _lookups
    _lookups = lookups


def set_predictor(predictor: Predictor | None) -> Predictor | None:
    """Lend the predicted delivery (once, at start-up); returns the one lent before."""
    global _predictor
    before, _predictor = _predictor, predictor
    return before


def _delivery() -> DeliveryLookups:
    if _lookups is None:
        raise RuntimeError("messages: no delivery lookups set (create_app() sets them)")
    return _lookups


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def pickup_code(parcel: Parcel) -> str:
    """A six-digit pickup code, stable per parcel, unguessable without the secret key."""
    digest = hmac.new(
        current_app.config["SECRET_KEY"].encode(), parcel.tracking_number.encode(), hashlib.sha256
    ).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"


def expected_dates(parcel: Parcel) -> dict[str, str]:
    """The predicted delivery (services/edd) in the current language: the most likely day and
    the range's first and last day, as the parcel's zone counts them. All empty when the carrier
    gave a window (its `eta` says more, and wins) or nothing is predicted (the journey ended, or
    no predictor was lent), and when only the global default stands behind it: a message is a
    promise, and that default is nobody's knowledge of this route or carrier."""
    predictor = _predictor
    prediction = None
    if parcel.eta_from is None and predictor is not None:
        prediction = predictor(parcel, parcel.time_zone)
    if prediction is None or prediction.basis == "default":
        return dict.fromkeys(("expected_day", "expected_earliest", "expected_latest"), "")
    return {
        "expected_day": format_day(prediction.most_likely),
        "expected_earliest": format_day(prediction.earliest),
        "expected_latest": format_day(prediction.latest),
    }


def context(parcel: Parcel, trigger: str, link: str, extra: dict) -> dict:
    """Every variable of `trigger`'s message about `parcel`, its signed link token `link`, and
    the caller's `extra` (see triggers.TRIGGER_KEYS), in the current language."""
    values = {
        "parcel": parcel,
        "merchant": parcel.merchant.name,
        "tracking_number": parcel.tracking_number,
        "link": f"{base_url()}/l/{link}",
        "eta": eta_window(parcel.eta_from, parcel.eta_to, parcel.time_zone),
        "trigger": trigger,
        **extra,
    }
    if parcel.eta_from and parcel.eta_to:
        # SMS spell times plainly: an en dash would make the whole message UCS-2 (70 a segment).
        zone = parcel_zone(parcel)
        values["eta_from_local"] = clock(parcel.eta_from, zone)
        values["eta_to_local"] = clock(parcel.eta_to, zone)
        values["eta_day"] = local_day(parcel.eta_from, parcel.time_zone)
    if trigger == "parcel_created":
        values |= expected_dates(parcel)
        # The recipient's standing preference (issue 19) made the parcel's first choice: the
        # message says so (and its link leads to changing it for this parcel only).
        choice = _delivery().current_choice(parcel)
        applied = choice is not None and choice.made_by == "preference"
        text = _delivery().describe(choice, parcel.time_zone) if applied else ""
        values["preference_text"] = text
        values["preference_short"] = text[:40].rstrip(" ,.")
    if trigger == "delivery_failed":
        # The SMS offers "reply 1 / 2" only where we have slots and pickup points to offer.
        values["reply_choices"] = parcel.zone_id is not None
    if trigger == "choice_withdrawn" and "withdrawn_choice_id" in extra:
        withdrawn = db.session.get(DeliveryChoice, extra["withdrawn_choice_id"])
        describe = _delivery().describe
        values["withdrawn_text"] = describe(withdrawn, parcel.time_zone) if withdrawn else ""
    if trigger == "delivery_changed":
        choice = _delivery().current_choice(parcel)
        values["choice_text"] = _delivery().describe(choice, parcel.time_zone) if choice else ""
    if trigger == "ready_for_pickup":
        # The chosen point, its last day moved off days it is closed; else where the carrier
        # says the parcel is, for the plain number of days.
        deadline = _delivery().pickup_deadline(parcel, parcel.status_at or utcnow())
        if deadline.place is not None:
            values["pickup_place"] = deadline.place
        else:
            events = timeline(parcel)
            values["pickup_place"] = events[0].location if events else ""
        values["pickup_until"] = format_day(deadline.last_day)
        values["pickup_hours"] = deadline.hours or ""
        values["pickup_code"] = pickup_code(parcel)
    return values
