"""A recipient's green mile (issue 19): the CO2e their delivery choices avoided, against a van
home delivery, over every parcel ever addressed to them.

The figures come from the same estimator and factors as the `/about/co2` page (portal/green/):
each parcel's current choice counts at the CO2e stored with it when it was made (or, for an old
row without one, the estimate for its kind); a parcel with no choice got a van home delivery and
avoided nothing. A choice can cost more than the van (a pickup point far enough to drive to):
it counts against the total, so the figure is what the choices saved on balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from portal.extensions import db
from portal.green import estimate
from portal.localtime import zone_of
from portal.models import DeliveryChoice, Parcel, Recipient, RecipientAddress, Zone
from portal.services.recipients.parcels import addressed_to

CHART_MONTHS = 12


@dataclass
class Month:
    first_day: date
    avoided_grams: int = 0
    green_parcels: int = 0


@dataclass
class GreenMile:
    avoided_grams: int
    green_parcels: int
    # Parcels with a choice of any kind (greener or not).
    chosen_parcels: int
    # The baseline per parcel: a van home delivery.
    van_grams: int
    # The last CHART_MONTHS months, oldest first, by the month the choice was made.
    months: list[Month] = field(default_factory=list)

    @property
    def chart_max(self) -> int:
        return max([m.avoided_grams for m in self.months] + [0])


def _month_of(moment: datetime, tz: str | None) -> date:
    local = moment.astimezone(zone_of(tz))
    return date(local.year, local.month, 1)


def _months_back(now: datetime, count: int) -> list[date]:
    current = _month_of(now, None)
    firsts = []
    year, month = current.year, current.month
    for _ in range(count):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


_CHOICES = (
    select(DeliveryChoice.type, DeliveryChoice.co2e_grams, DeliveryChoice.made_at, Zone.time_zone)
    .join(Parcel, Parcel.id == DeliveryChoice.parcel_id)
    .outerjoin(Zone, Zone.id == Parcel.zone_id)
    .where(DeliveryChoice.superseded_at.is_(None))
)


def _saved(kind, grams: int | None) -> int:
    van = estimate.home_drop(estimate.VAN)
    return van - (grams if grams is not None else estimate.for_option(kind))


def green_mile(recipient: Recipient, now: datetime) -> GreenMile:
    """What the choices of the parcels still addressed to me avoided, and what was banked
    from those retention has since anonymised (bank_green_mile)."""
    rows = db.session.execute(_CHOICES.where(addressed_to(recipient))).all()
    months = {first: Month(first) for first in _months_back(now, CHART_MONTHS)}
    avoided, green = recipient.green_banked_grams, recipient.green_banked_parcels
    for key, (grams, parcels) in (recipient.green_banked_months or {}).items():
        month = months.get(date.fromisoformat(f"{key}-01"))
        if month is not None:
            month.avoided_grams += grams
            month.green_parcels += parcels
    for kind, grams, made_at, tz in rows:
        saved = _saved(kind, grams)
        avoided += saved
        green += saved > 0
        month = months.get(_month_of(made_at, tz))
        if month is not None:
            month.avoided_grams += saved
            month.green_parcels += saved > 0
    return GreenMile(
        avoided_grams=avoided,
        green_parcels=green,
        chosen_parcels=recipient.green_banked_chosen + len(rows),
        van_grams=estimate.home_drop(estimate.VAN),
        months=list(months.values()),
    )


def bank_green_mile(parcel_ids: list[int]) -> int:
    """Before retention takes the recipient's address off these parcels: add what their
    choices avoided to the profiles of the addresses they were sent to. Returns the profiles
    credited. Each parcel is banked once: retention anonymises it in the same transaction."""
    if not parcel_ids:
        return 0
    a = RecipientAddress
    phone = (a.kind == "phone") & (a.value == Parcel.recipient_phone)
    email = (a.kind == "email") & (a.value == func.lower(Parcel.recipient_email))
    rows = db.session.execute(
        _CHOICES.add_columns(a.recipient_id, Parcel.id)
        .join(a, phone | email)
        .where(Parcel.id.in_(parcel_ids))
        .distinct()
    ).all()
    credited: dict[int, Recipient] = {}
    for kind, grams, made_at, tz, recipient_id, _parcel in rows:
        recipient = credited.get(recipient_id) or db.session.get(Recipient, recipient_id)
        credited[recipient_id] = recipient
        saved = _saved(kind, grams)
        recipient.green_banked_grams += saved
        recipient.green_banked_parcels += saved > 0
        recipient.green_banked_chosen += 1
        months = dict(recipient.green_banked_months or {})
        key = _month_of(made_at, tz).isoformat()[:7]
        before = months.get(key, [0, 0])
        months[key] = [before[0] + saved, before[1] + (saved > 0)]
        recipient.green_banked_months = months  # a new dict: the JSON column sees the change
    db.session.flush()
    return len(credited)
