"""Everything the parcel console shows, gathered in one place (a read model for the page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import format_date, format_decimal, ngettext, pgettext
from flask_babel import gettext as _
from sqlalchemy import or_, select

from portal.extensions import db
from portal.localtime import zone_of
from portal.models import (
    Account,
    AuditEntry,
    InboundMessage,
    Notification,
    Parcel,
    ParcelNote,
    Zone,
)
from portal.models.types import utcnow
from portal.services import complaints, delivery, returns
from portal.services.edd import Prediction, predict_parcel
from portal.services.tracking import timeline


def made_by_text(made_by: str, names: dict[int, str]) -> str:
    """`agent:7` as the agent's name; `preference` as what it is (made_by: preference);
    `recipient`, `sms`, `merchant` as they are."""
    kind, _sep, ident = made_by.partition(":")
    if kind == "agent" and ident.isdigit():
        return _("agent %(name)s", name=names.get(int(ident), "#" + ident))
    if made_by == "preference":
        return _("preference (the recipient's standing preference at /me)")
    return made_by


def short_day(day: date) -> str:
    """`Tue 9 Dec`, `tis 9 dec.`: in the console's language."""
    return format_date(day, "EEE d MMM")


def day_range(first: date, last: date) -> str:
    """`Mon 8 – Wed 10 Dec`, `Mon 30 Nov – Wed 2 Dec`, or one day."""
    if first == last:
        return short_day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{format_date(first, 'EEE d')} – {short_day(last)}"
    return f"{short_day(first)} – {short_day(last)}"


@dataclass(frozen=True)
class PredictedDelivery:
    """What the console says of a parcel's predicted delivery and its promise."""

    prediction: Prediction | None  # None once the journey ended
    summary: str | None  # `Predicted: Tue 9 Dec (most likely), range …`
    basis: str | None  # which parcels it learned from, in plain words
    late: bool  # still on its way after the latest predicted day
    promised_by: date | None
    promise: str | None  # the promise and, once delivered, whether it was kept


def _summary(p: Prediction) -> str:
    if p.confidence is None:  # a default: a range, no most likely day
        text = _("Predicted: %(range)s", range=day_range(p.earliest, p.latest))
    else:
        text = _("Predicted: %(day)s (most likely)", day=short_day(p.most_likely))
        if p.earliest != p.latest:
            text += _(", range %(range)s", range=day_range(p.earliest, p.latest))
        # Rounded down, never overstated.
        text += _(
            ", %(percent)s %% of %(count)s comparable parcels",
            percent=format_decimal(int(p.confidence * 100 + 1e-9)),
            count=format_decimal(p.sample_size),
        )
    text += " (" + _basis_name(p.basis) + ")"
    if p.delayed:
        text += _("; moved by a delay scan")
    return text


def _basis_name(basis: str) -> str:
    """The short name of what a prediction learned from (its code is the model's)."""
    names = {
        "route": pgettext("prediction basis", "route"),
        "zone_pair": pgettext("prediction basis", "zone pair"),
        "carrier": pgettext("prediction basis", "carrier"),
        "carrier_default": pgettext("prediction basis", "carrier default"),
        "default": pgettext("prediction basis", "default"),
    }
    return names.get(basis, basis)


def _basis(parcel: Parcel, basis: str) -> str:
    carrier = parcel.carrier.name
    to_zone = parcel.zone.name if parcel.zone else _("none")
    if basis == "route":
        return _(
            "Route: learned from parcels of the same carrier (%(carrier)s) from origin postcode "
            "area %(area)s to destination zone %(zone)s.",
            carrier=carrier,
            area=parcel.origin_area,
            zone=to_zone,
        )
    if basis == "zone_pair":
        origin = db.session.get(Zone, parcel.origin_zone_id) if parcel.origin_zone_id else None
        return _(
            "Zone pair: learned from parcels of the same carrier (%(carrier)s) from origin zone "
            "%(origin)s to destination zone %(zone)s; too few on the route from this origin "
            "postcode area.",
            carrier=carrier,
            origin=origin.name if origin else _("none"),
            zone=to_zone,
        )
    if basis == "carrier":
        return _(
            "Carrier: learned from all parcels of the same carrier (%(carrier)s), wherever "
            "they went; too few on this route or zone pair.",
            carrier=carrier,
        )
    if basis == "carrier_default":
        return _(
            "Carrier default: too few comparable parcels, so the operator's default transit "
            "for %(carrier)s; no confidence to give.",
            carrier=carrier,
        )
    low, high = current_app.config["EDD_DEFAULT_DAYS"]
    return _(
        "Default: too few comparable parcels and no default for the carrier, so the global "
        "default of %(low)s–%(high)s working days; no confidence to give.",
        low=low,
        high=high,
    )


def _promise(parcel: Parcel, tz: str | None) -> str | None:
    delivered = parcel.delivered_at.astimezone(zone_of(tz)).date() if parcel.delivered_at else None
    if parcel.promised_by is None:
        if delivered is None:
            return None
        return _(
            "Delivered %(day)s; no promise (no pickup scan before it).", day=short_day(delivered)
        )
    promise = _(
        "Promised by %(day)s (the latest predicted day at pickup)",
        day=short_day(parcel.promised_by),
    )
    if delivered is None or parcel.promise_kept is None:
        return promise + "."
    if parcel.promise_kept:
        return _(
            "%(promise)s; delivered %(day)s: promise kept.",
            promise=promise,
            day=short_day(delivered),
        )
    late = (delivered - parcel.promised_by).days
    return ngettext(
        "%(promise)s; delivered %(day)s: promise not kept (%(num)d day late).",
        "%(promise)s; delivered %(day)s: promise not kept (%(num)d days late).",
        late,
        promise=promise,
        day=short_day(delivered),
    )


def predicted_delivery(parcel: Parcel, tz: str | None, now) -> PredictedDelivery:
    prediction = predict_parcel(parcel, tz, now)
    today = now.astimezone(zone_of(tz)).date()
    return PredictedDelivery(
        prediction,
        _summary(prediction) if prediction else None,
        _basis(parcel, prediction.basis) if prediction else None,
        bool(prediction and prediction.late_on(today)),
        parcel.promised_by,
        _promise(parcel, tz),
    )


def parcel_console(parcel: Parcel) -> dict:
    tz = parcel.time_zone
    now = utcnow()
    accounts = {a.id: a.name for a in db.session.execute(select(Account)).scalars()}
    choices = delivery.choice_entries(parcel.id, tz)
    notifications = list(
        db.session.execute(
            select(Notification)
            .where(Notification.parcel_id == parcel.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        ).scalars()
    )
    inbound_filter = InboundMessage.parcel_id == parcel.id
    if parcel.recipient_phone:
        # Replies we couldn't tie to a parcel still came from this recipient's phone.
        inbound_filter = or_(
            inbound_filter,
            (InboundMessage.parcel_id.is_(None))
            & (InboundMessage.from_phone == parcel.recipient_phone),
        )
    inbound = list(
        db.session.execute(
            select(InboundMessage).where(inbound_filter).order_by(InboundMessage.received_at.desc())
        ).scalars()
    )
    cases = []
    for complaint in reversed(complaints.complaints_of(parcel.id)):
        first, by_message = complaints.photos_in_thread(complaint)
        cases.append(
            {
                "complaint": complaint,
                "type": complaints.type_label(complaint.type),
                "due": complaints.due_day(complaint),
                "overdue": complaint.status not in complaints.CLOSED and complaint.due_at < now,
                "thread": [
                    (m, complaints.entry_text(m), by_message.get(m.id, []))
                    for m in complaint.messages
                ],
                "photos": first,
                "transitions": sorted(s.value for s in complaints.TRANSITIONS[complaint.status]),
                "assignee": accounts.get(complaint.assigned_to_id),
            }
        )
    notes = list(
        db.session.execute(
            select(ParcelNote)
            .where(ParcelNote.parcel_id == parcel.id)
            .order_by(ParcelNote.created_at.desc(), ParcelNote.id.desc())
        ).scalars()
    )
    audit = list(
        db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.parcel_id == parcel.id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(100)
        ).scalars()
    )
    rets = returns.returns_for(parcel.id)
    current = delivery.current_choice(parcel)
    return {
        "parcel": parcel,
        "events": timeline(parcel),
        "predicted": predicted_delivery(parcel, tz, now),
        "current_choice": delivery.describe(current, tz) if current else None,
        "choices": [(c, made_by_text(c.made_by, accounts)) for c in reversed(choices)],
        "window": delivery.change_window(parcel, now, current),
        "notifications": notifications,
        "inbound": inbound,
        "returns": [(r, returns.refund_due(r), returns.items_value(r)) for r in rets],
        "cases": cases,
        "notes": notes,
        "audit": audit,
    }
