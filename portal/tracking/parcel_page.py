"""The parcel page's read model: what `/t/<tn>` shows, read through Core.

Parcel pages (and their htmx polls) are the busiest reads there are. Plain rows from three
small indexed queries cost about a third of loading the same through ORM objects; writes keep
going through the models and services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, func, select

from portal.extensions import db
from portal.models import (
    DeliveryChoice,
    Merchant,
    Parcel,
    ParcelItem,
    ParcelStatus,
    PickupPoint,
    Return,
    Slot,
    SmsOptOut,
    TrackingEvent,
    Zone,
)
from portal.services.parcels import PRESENCE, pick_parcel

_p = Parcel.__table__.c
_e = TrackingEvent.__table__.c
_i = ParcelItem.__table__.c

_PARCEL = (
    select(
        _p.id,
        _p.tracking_number,
        _p.status,
        _p.city,
        _p.postcode,
        _p.address_line,
        _p.country,
        _p.language,
        _p.recipient_name,
        _p.recipient_phone,
        _p.recipient_email,
        _p.eta_from,
        _p.eta_to,
        _p.notify_sms,
        _p.notify_email,
        # Its predicted delivery (services/edd), worked out from the row alone.
        _p.status_at,
        _p.picked_up_at,
        _p.carrier_id,
        _p.origin_area,
        _p.origin_zone_id,
        _p.zone_id,
        # A standing preference that could not be used for it, and why (issue 19).
        _p.preference_note,
        Merchant.__table__.c.name.label("merchant_name"),
        _p.merchant_id,
        # The merchant's branding, for the page's header.
        Merchant.__table__.c.brand_colour.label("merchant_brand_colour"),
        Merchant.__table__.c.logo_key.label("merchant_logo_key"),
        Zone.__table__.c.time_zone,
        SmsOptOut.__table__.c.opted_out_at.label("sms_opted_out_at"),
    )
    .select_from(
        Parcel.__table__.join(Merchant.__table__, Merchant.__table__.c.id == _p.merchant_id)
        .outerjoin(Zone.__table__, Zone.__table__.c.id == _p.zone_id)
        .outerjoin(SmsOptOut.__table__, SmsOptOut.__table__.c.phone == _p.recipient_phone)
    )
    .where(_p.tracking_number == bindparam("number"))
    .order_by(_p.id)
)
_c = DeliveryChoice.__table__.c
_s = Slot.__table__.c
_pp = PickupPoint.__table__.c
_r = Return.__table__.c


def _of_parcel(table, *columns):
    return select(*columns).where(table.c.parcel_id == _p.id).scalar_subquery()


# What else the poll's live block shows, summed up in the parcel's own row (validators.py):
# events and choices are only ever added (never edited), so their count and newest id say
# which are shown; a choice's words also read its slot's window (a template's new hours move
# unbooked slots) and its pickup point's name and address (the point's version, bumped by
# every edit, only ever grows); returns are not in the block but are the parcel's too.
_VERSIONS = (
    _of_parcel(TrackingEvent.__table__, func.count()).label("v_events"),
    _of_parcel(TrackingEvent.__table__, func.max(_e.id)).label("v_last_event"),
    _of_parcel(DeliveryChoice.__table__, func.count()).label("v_choices"),
    _of_parcel(DeliveryChoice.__table__, func.max(_c.id)).label("v_last_choice"),
    select(func.sum(_pp.version))
    .select_from(DeliveryChoice.__table__.join(PickupPoint.__table__, _pp.id == _c.pickup_point_id))
    .where(_c.parcel_id == _p.id)
    .scalar_subquery()
    .label("v_points"),
    select(
        func.aggregate_strings(
            cast(_s.id, String) + "=" + cast(_s.starts_at, String) + "/" + cast(_s.ends_at, String),
            ",",
        )
    )
    .select_from(DeliveryChoice.__table__.join(Slot.__table__, _s.id == _c.slot_id))
    .where(_c.parcel_id == _p.id)
    .scalar_subquery()
    .label("v_slots"),
    _of_parcel(Return.__table__, func.count()).label("v_returns"),
    _of_parcel(Return.__table__, func.max(_r.updated_at)).label("v_returns_at"),
)
_PARCEL_VERSIONED = _PARCEL.add_columns(*_VERSIONS)

# Whether the parcel has any delivery choice, return or case at all (services.parcels).
_PRESENT = tuple(PRESENCE[name].label(name) for name in ("has_choices", "has_returns", "has_cases"))
_PARCEL_PRESENT = _PARCEL.add_columns(*_PRESENT)
_EVENTS = (
    select(_e.code, _e.occurred_at, _e.location, _e.description)
    .where(_e.parcel_id == bindparam("parcel_id"))
    .order_by(_e.occurred_at.desc(), _e.id.desc())
)
_ITEMS = (
    select(_i.sku, _i.name, _i.quantity)
    .where(_i.parcel_id == bindparam("parcel_id"))
    .order_by(_i.id)
)


@dataclass
class ParcelPage:
    id: int
    tracking_number: str
    status: ParcelStatus
    city: str
    postcode: str
    address_line: str
    country: str
    language: str
    recipient_name: str
    recipient_phone: str | None
    recipient_email: str | None
    eta_from: datetime | None
    eta_to: datetime | None
    notify_sms: bool
    notify_email: bool
    status_at: datetime | None
    picked_up_at: datetime | None
    carrier_id: int
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    preference_note: str | None
    merchant_name: str
    merchant_id: int
    merchant_brand_colour: str | None
    merchant_logo_key: str | None
    time_zone: str | None
    sms_opted_out_at: datetime | None
    events: list[Any] = field(default_factory=list)  # newest first
    items: list[Any] = field(default_factory=list)  # only for a verified recipient
    parcels_with_number: int = 1  # more than one: two merchants' parcels share the number
    # With `versions`: what the live block reads besides the row, summed up (_VERSIONS).
    versions: tuple[Any, ...] = ()
    # Whether there is anything to read (_PRESENT); True where it wasn't asked: look.
    has_choices: bool = True
    has_returns: bool = True
    has_cases: bool = True


def load_parcel_page(
    number: str,
    *,
    unlocked: Sequence[int] = (),
    items: bool = True,
    events: bool = True,
    versions: bool = False,
) -> ParcelPage | None:
    """The page's data for a normalised, valid tracking number, or None if there is none.

    `unlocked` are the parcels this visitor verified, last verified last: a number two
    merchants' parcels share opens the one of them unlocked last, and raises
    AmbiguousTrackingNumber when neither is (no data of either leaves here). What's inside
    the parcel is read only for a parcel in `unlocked`, and not at all with `items` False
    (the page's poll, which shows the status and the timeline alone). With `versions`, the
    same one statement also sums up the parcel's events, choices and returns (the poll's
    validator); without, it says whether the parcel has any choice, return or case at all
    (`has_choices`, …). With `events` False, the events are left for `load_events`.
    """
    conn = db.session.connection()
    rows = conn.execute(_PARCEL_VERSIONED if versions else _PARCEL_PRESENT, {"number": number})
    rows = rows.all()
    if not rows:
        return None
    row = pick_parcel(rows, unlocked)._asdict()
    summed = {c.name: row.pop(c.name) for c in _VERSIONS} if versions else {}
    page = ParcelPage(**row, parcels_with_number=len(rows), versions=tuple(summed.values()))
    if versions:
        page.has_choices = bool(summed["v_choices"])
    if events:
        load_events(page)
    if items and page.id in unlocked:
        page.items = conn.execute(_ITEMS, {"parcel_id": page.id}).all()
    return page


def load_events(page: ParcelPage) -> None:
    page.events = db.session.connection().execute(_EVENTS, {"parcel_id": page.id}).all()
