"""The carriers that own pickup points: listed with their points open and in all, and added."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Account, Carrier, PickupPoint
from portal.services.audit import record
from portal.services.errors import Conflict
from portal.services.network.console import clean_text


@dataclass(frozen=True)
class CarrierRow:
    carrier: Carrier
    points: int
    open_points: int


def list_carriers() -> list[CarrierRow]:
    counts = {
        carrier_id: (total, closed or 0)
        for carrier_id, total, closed in db.session.execute(
            select(
                PickupPoint.carrier_id,
                func.count(PickupPoint.id),
                func.count(PickupPoint.closed_from),
            ).group_by(PickupPoint.carrier_id)
        ).all()
    }
    rows = []
    for carrier in db.session.execute(select(Carrier).order_by(Carrier.name)).scalars():
        total, closed = counts.get(carrier.id, (0, 0))
        rows.append(CarrierRow(carrier, total, total - closed))
    return rows


def all_carriers() -> list[Carrier]:
    return list(db.session.execute(select(Carrier).order_by(Carrier.name)).scalars())


def add_carrier(actor: Account, name: str) -> Carrier:
    name = clean_text(name, "name", _("carrier's name"))
    if db.session.scalar(
        select(func.count(Carrier.id)).where(func.lower(Carrier.name) == name.lower())
    ):
        raise Conflict(_("A carrier has this name already."), field="name")
    carrier = Carrier(name=name)
    db.session.add(carrier)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("A carrier has this name already."), field="name") from None
    record(actor, "network.carrier.create", subject=f"carrier:{carrier.id}", after={"name": name})
    return carrier
