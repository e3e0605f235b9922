"""Parcels by status, deliveries and first attempts, and delivery choices with their CO2e."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from portal.admin.services.dashboard.scope import (
    N_,
    Column,
    Scope,
    Table,
    for_merchant,
    percent,
)
from portal.extensions import db
from portal.green import estimate
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Parcel,
    ParcelStatus,
    PickupPoint,
    TrackingEvent,
    Vehicle,
)

GREEN_CHOICES = (ChoiceType.GREEN_DAY, ChoiceType.PICKUP_POINT, ChoiceType.LOCKER)


def baseline_grams() -> int:
    """What a green choice is compared with: an attended home delivery by van, failed first
    attempts included (portal/green/estimate.py, `home_drop`)."""
    return estimate.home_drop(Vehicle.VAN)


# --- parcels -----------------------------------------------------------------------------------


@dataclass
class ParcelsByStatus:
    """Parcels created in the period, by their status now."""

    counts: dict[ParcelStatus, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def table(self) -> Table:
        return Table(
            "parcels-by-status",
            N_("Parcels by status"),
            [
                Column(N_("Status"), "label"),
                Column(N_("Parcels")),
                Column(N_("Share (%)"), "percent"),
            ],
            [
                (status.value, self.counts.get(status, 0), percent(n, self.total))
                for status in ParcelStatus
                if (n := self.counts.get(status, 0))
            ],
        )


def parcels_by_status(scope: Scope) -> ParcelsByStatus:
    query = (
        select(Parcel.status, func.count())
        .where(scope.during(Parcel.created_at))
        .group_by(Parcel.status)
    )
    rows = db.session.execute(for_merchant(query, scope)).all()
    return ParcelsByStatus({ParcelStatus(status): n for status, n in rows})


@dataclass
class Deliveries:
    """Parcels delivered in the period (the time of their `delivered` event), how many of them
    with no failed attempt before it, and the failed attempts carriers reported in the period."""

    delivered: int
    first_attempt: int
    failed_attempts: int
    parcels_failed: int

    @property
    def first_attempt_rate(self) -> float | None:
        return percent(self.first_attempt, self.delivered)


def deliveries(scope: Scope) -> Deliveries:
    # `status_at` of a delivered parcel is when its delivered event happened (a terminal status
    # never moves), and (status, status_at) is indexed for the stuck-parcel queue.
    delivered = select(func.count()).where(
        Parcel.status == ParcelStatus.DELIVERED, scope.during(Parcel.status_at)
    )
    total = db.session.execute(for_merchant(delivered, scope)).scalar_one()
    # Those with a failed attempt before the delivery, as one join rather than a probe per
    # delivered parcel: failed attempts are the rarer rows, so they lead.
    failed_first = (
        select(func.count(Parcel.id.distinct()))
        .select_from(TrackingEvent)
        .join(Parcel, Parcel.id == TrackingEvent.parcel_id)
        .where(
            TrackingEvent.code == ParcelStatus.DELIVERY_FAILED,
            TrackingEvent.occurred_at < Parcel.status_at,
            Parcel.status == ParcelStatus.DELIVERED,
            scope.during(Parcel.status_at),
        )
    )
    not_first = db.session.execute(for_merchant(failed_first, scope)).scalar_one()

    failed = select(func.count(), func.count(TrackingEvent.parcel_id.distinct())).where(
        TrackingEvent.code == ParcelStatus.DELIVERY_FAILED,
        TrackingEvent.parcel_id.is_not(None),
        scope.during(TrackingEvent.occurred_at),
    )
    attempts, parcels = db.session.execute(
        for_merchant(failed, scope, TrackingEvent.parcel_id)
    ).one()
    return Deliveries(total, total - not_first, attempts, parcels)


# --- delivery choices and their CO2e -----------------------------------------------------------


@dataclass(frozen=True)
class ChoiceRow:
    kind: ChoiceType
    choices: int
    grams: int  # the estimates shown to the recipients when they chose, summed

    @property
    def green(self) -> bool:
        return self.kind in GREEN_CHOICES

    @property
    def avoided_grams(self) -> int | None:
        return self.choices * baseline_grams() - self.grams if self.green else None


@dataclass
class Choices:
    """Current delivery choices (not replaced by a newer one) made in the period."""

    rows: list[ChoiceRow]

    @property
    def total(self) -> int:
        return sum(r.choices for r in self.rows)

    @property
    def green(self) -> int:
        return sum(r.choices for r in self.rows if r.green)

    @property
    def green_share(self) -> float | None:
        return percent(self.green, self.total)

    @property
    def avoided_grams(self) -> int:
        return sum(r.avoided_grams or 0 for r in self.rows)

    def table(self) -> Table:
        return Table(
            "delivery-choices",
            N_("Delivery choices"),
            [
                Column(N_("Choice"), "label"),
                Column(N_("Green"), "term"),
                Column(N_("Choices")),
                Column(N_("Share (%)"), "percent"),
                Column(N_("Estimated CO2e (g)")),
                Column(N_("CO2e avoided (g)")),
            ],
            [
                (
                    r.kind.value,
                    N_("yes") if r.green else N_("no"),
                    r.choices,
                    percent(r.choices, self.total),
                    r.grams,
                    r.avoided_grams,
                )
                for r in self.rows
            ],
        )


def delivery_choices(scope: Scope) -> Choices:
    # The point's own flag says pickup point or locker, whatever type the choice was saved as.
    kind = case(
        (PickupPoint.is_locker.is_(True), ChoiceType.LOCKER.value),
        (DeliveryChoice.pickup_point_id.is_not(None), ChoiceType.PICKUP_POINT.value),
        else_=DeliveryChoice.type,
    ).label("kind")
    query = (
        select(
            kind,
            func.count(),
            func.count(DeliveryChoice.co2e_grams),
            func.coalesce(func.sum(DeliveryChoice.co2e_grams), 0),
        )
        .select_from(DeliveryChoice)
        .outerjoin(PickupPoint, PickupPoint.id == DeliveryChoice.pickup_point_id)
        .where(DeliveryChoice.superseded_at.is_(None), scope.during(DeliveryChoice.made_at))
        .group_by(kind)
    )
    query = for_merchant(query, scope, DeliveryChoice.parcel_id)
    found: dict[ChoiceType, ChoiceRow] = {}
    for value, n, with_estimate, grams in db.session.execute(query).all():
        choice = ChoiceType(value)
        # A choice saved without an estimate gets the one its option has now (a pickup point
        # at an unknown distance counts as reached on foot).
        grams = int(grams) + (n - with_estimate) * estimate.for_option(choice)
        found[choice] = ChoiceRow(choice, n, grams)
    return Choices([found[c] for c in ChoiceType if c in found])
