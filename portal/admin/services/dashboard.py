"""The console's dashboard: figures for a period of days and optionally one merchant.

Every figure is one aggregate query (GROUP BY, SUM(CASE …)), so the page costs the same few
round trips at a million parcels as at ten, on PostgreSQL and SQLite alike. Only the durations of
complaints closed in the period come back as rows, for their median: that list is small.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.sql import ColumnElement, Select

from portal.extensions import db
from portal.green import estimate
from portal.models import (
    Channel,
    ChoiceType,
    Complaint,
    ComplaintStatus,
    ComplaintType,
    DeliveryChoice,
    Merchant,
    Notification,
    NotificationState,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Return,
    ReturnItem,
    ReturnReason,
    TrackingEvent,
    Vehicle,
)

# A year, leap day included; longer ranges belong in a report, not a page.
MAX_DAYS = 366

GREEN_CHOICES = (ChoiceType.GREEN_DAY, ChoiceType.PICKUP_POINT, ChoiceType.LOCKER)
CLOSED_COMPLAINTS = (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)
# What a message's delivered rate is out of: the ones handed to the provider. Queued messages
# have not been tried yet and suppressed ones (STOP, quiet hours given up) were never sent.
ATTEMPTED = (NotificationState.SENT, NotificationState.DELIVERED, NotificationState.FAILED)
MESSAGE_CHANNELS = (Channel.SMS, Channel.EMAIL)


def baseline_grams() -> int:
    """What a green choice is compared with: an attended home delivery by van, failed first
    attempts included (portal/green/estimate.py, `home_drop`)."""
    return estimate.home_drop(Vehicle.VAN)


@dataclass(frozen=True)
class Scope:
    """Days `since` to `until`, both included, midnight to midnight in `tz`; one merchant or all."""

    since: date
    until: date
    merchant_id: int | None = None
    tz: str = "UTC"

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(0), ZoneInfo(self.tz))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def during(self, column) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)


# --- tables: what the page shows, the CSV downloads and the charts draw -----------------------


@dataclass(frozen=True)
class Column:
    label: str
    # text, label (a code: `out_for_delivery`), count (whole number), percent (already × 100),
    # number (one decimal)
    kind: str = "count"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[tuple] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return [c.label for c in self.columns]


def percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


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
            "Parcels by status",
            [Column("Status", "label"), Column("Parcels"), Column("Share (%)", "percent")],
            [
                (status.value, self.counts.get(status, 0), percent(n, self.total))
                for status in ParcelStatus
                if (n := self.counts.get(status, 0))
            ],
        )


def _for_merchant(query: Select, scope: Scope, parcel_id=None) -> Select:
    """Only the scope's merchant's rows; `parcel_id` is the column that leads to the parcel."""
    if scope.merchant_id is None:
        return query
    if parcel_id is not None:
        query = query.join(Parcel, Parcel.id == parcel_id)
    return query.where(Parcel.merchant_id == scope.merchant_id)


def parcels_by_status(scope: Scope) -> ParcelsByStatus:
    query = (
        select(Parcel.status, func.count())
        .where(scope.during(Parcel.created_at))
        .group_by(Parcel.status)
    )
    rows = db.session.execute(_for_merchant(query, scope)).all()
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
    total = db.session.execute(_for_merchant(delivered, scope)).scalar_one()
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
    not_first = db.session.execute(_for_merchant(failed_first, scope)).scalar_one()

    failed = select(func.count(), func.count(TrackingEvent.parcel_id.distinct())).where(
        TrackingEvent.code == ParcelStatus.DELIVERY_FAILED,
        TrackingEvent.parcel_id.is_not(None),
        scope.during(TrackingEvent.occurred_at),
    )
    attempts, parcels = db.session.execute(
        _for_merchant(failed, scope, TrackingEvent.parcel_id)
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
            "Delivery choices",
            [
                Column("Choice", "label"),
                Column("Green", "text"),
                Column("Choices"),
                Column("Share (%)", "percent"),
                Column("Estimated CO2e (g)"),
                Column("CO2e avoided (g)"),
            ],
            [
                (
                    r.kind.value,
                    "yes" if r.green else "no",
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
    query = _for_merchant(query, scope, DeliveryChoice.parcel_id)
    found: dict[ChoiceType, ChoiceRow] = {}
    for value, n, with_estimate, grams in db.session.execute(query).all():
        choice = ChoiceType(value)
        # A choice saved without an estimate gets the one its option has now (a pickup point
        # at an unknown distance counts as reached on foot).
        grams = int(grams) + (n - with_estimate) * estimate.for_option(choice)
        found[choice] = ChoiceRow(choice, n, grams)
    return Choices([found[c] for c in ChoiceType if c in found])


# --- returns -----------------------------------------------------------------------------------


@dataclass
class Returns:
    """Returns opened in the period (any status, rejected ones too) against parcels delivered
    in the period, and the reasons given per returned item line."""

    returns: int
    delivered: int
    reasons: dict[ReturnReason, tuple[int, int]]  # lines, units

    @property
    def rate(self) -> float | None:
        return percent(self.returns, self.delivered)

    def table(self) -> Table:
        lines = sum(n for n, _ in self.reasons.values())
        return Table(
            "return-reasons",
            "Return reasons",
            [
                Column("Reason", "label"),
                Column("Item lines"),
                Column("Share (%)", "percent"),
                Column("Units"),
            ],
            [
                (reason.value, n, percent(n, lines), units)
                for reason in ReturnReason
                if reason in self.reasons
                for n, units in [self.reasons[reason]]
            ],
        )


def returns(scope: Scope, delivered: int | None = None) -> Returns:
    if delivered is None:
        delivered = deliveries(scope).delivered
    opened = select(func.count()).select_from(Return).where(scope.during(Return.created_at))
    reasons = (
        select(ReturnItem.reason, func.count(), func.coalesce(func.sum(ReturnItem.quantity), 0))
        .join(Return, Return.id == ReturnItem.return_id)
        .where(scope.during(Return.created_at))
        .group_by(ReturnItem.reason)
    )
    if scope.merchant_id is not None:
        opened = opened.where(Return.merchant_id == scope.merchant_id)
        reasons = reasons.where(Return.merchant_id == scope.merchant_id)
    return Returns(
        db.session.execute(opened).scalar_one(),
        delivered,
        {ReturnReason(r): (n, int(units)) for r, n, units in db.session.execute(reasons).all()},
    )


# --- complaints --------------------------------------------------------------------------------


def median_hours(durations: list[timedelta]) -> float | None:
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 3600, 1)


@dataclass
class Complaints:
    """Complaints filed in the period by type; complaints closed (resolved or rejected, and not
    reopened since) in the period, with the median time from filing to closing."""

    filed: dict[ComplaintType, int]
    durations: dict[ComplaintType, list[timedelta]]

    @property
    def total_filed(self) -> int:
        return sum(self.filed.values())

    @property
    def total_closed(self) -> int:
        return sum(len(d) for d in self.durations.values())

    @property
    def median_hours(self) -> float | None:
        return median_hours([d for ds in self.durations.values() for d in ds])

    def table(self) -> Table:
        return Table(
            "complaints",
            "Complaints",
            [
                Column("Type", "label"),
                Column("Filed"),
                Column("Closed"),
                Column("Median time to resolve (hours)", "number"),
            ],
            [
                (
                    kind.value,
                    self.filed.get(kind, 0),
                    len(self.durations.get(kind, [])),
                    median_hours(self.durations.get(kind, [])),
                )
                for kind in ComplaintType
                if kind in self.filed or kind in self.durations
            ],
        )


def complaints(scope: Scope) -> Complaints:
    filed = (
        select(Complaint.type, func.count())
        .where(scope.during(Complaint.created_at))
        .group_by(Complaint.type)
    )
    closed = select(Complaint.type, Complaint.created_at, Complaint.closed_at).where(
        Complaint.status.in_(CLOSED_COMPLAINTS), scope.during(Complaint.closed_at)
    )
    filed = _for_merchant(filed, scope, Complaint.parcel_id)
    closed = _for_merchant(closed, scope, Complaint.parcel_id)
    durations: dict[ComplaintType, list[timedelta]] = defaultdict(list)
    for kind, created_at, closed_at in db.session.execute(closed).all():
        durations[ComplaintType(kind)].append(closed_at - created_at)
    return Complaints(
        {ComplaintType(k): n for k, n in db.session.execute(filed).all()}, dict(durations)
    )


# --- messages ----------------------------------------------------------------------------------


@dataclass
class Messages:
    """SMS and e-mail notifications queued in the period, by the state they are in now."""

    counts: dict[Channel, dict[NotificationState, int]]

    def count(self, channel: Channel, state: NotificationState) -> int:
        return self.counts.get(channel, {}).get(state, 0)

    def attempted(self, channel: Channel) -> int:
        return sum(self.count(channel, s) for s in ATTEMPTED)

    def delivered_rate(self, channel: Channel) -> float | None:
        """delivered / (sent + delivered + failed)."""
        return percent(self.count(channel, NotificationState.DELIVERED), self.attempted(channel))

    def table(self) -> Table:
        return Table(
            "messages",
            "SMS and e-mail",
            [
                Column("Channel", "label"),
                *(Column(state.value.capitalize()) for state in NotificationState),
                Column("Delivered rate (%)", "percent"),
            ],
            [
                (
                    channel.value,
                    *(self.count(channel, state) for state in NotificationState),
                    self.delivered_rate(channel),
                )
                for channel in MESSAGE_CHANNELS
            ],
        )


def messages(scope: Scope) -> Messages:
    query = (
        select(Notification.channel, Notification.state, func.count())
        .where(Notification.channel.in_(MESSAGE_CHANNELS), scope.during(Notification.created_at))
        .group_by(Notification.channel, Notification.state)
    )
    # A merchant's messages are its parcels'; replies to a recipient's own text have no parcel
    # and count only for all merchants.
    query = _for_merchant(query, scope, Notification.parcel_id)
    counts: dict[Channel, dict[NotificationState, int]] = defaultdict(dict)
    for channel, state, n in db.session.execute(query).all():
        counts[Channel(channel)][NotificationState(state)] = n
    return Messages(dict(counts))


# --- the whole page ----------------------------------------------------------------------------


@dataclass
class Dashboard:
    scope: Scope
    merchant_name: str | None
    parcels: ParcelsByStatus
    deliveries: Deliveries
    choices: Choices
    returns: Returns
    complaints: Complaints
    messages: Messages

    def summary(self) -> Table:
        d, c, m = self.deliveries, self.choices, self.messages
        sms, email = Channel.SMS, Channel.EMAIL
        rows = [
            ("Parcels created", self.parcels.total, "", None, None),
            ("Parcels delivered", d.delivered, "", None, None),
            (
                "First-attempt delivery rate",
                d.first_attempt_rate,
                "%",
                d.first_attempt,
                d.delivered,
            ),
            ("Failed delivery attempts", d.failed_attempts, "", None, None),
            ("Parcels with a failed attempt", d.parcels_failed, "", None, None),
            ("Green choices", c.green_share, "%", c.green, c.total),
            ("CO2e avoided by green choices", round(c.avoided_grams / 1000, 2), "kg", None, None),
            ("Returns rate", self.returns.rate, "%", self.returns.returns, d.delivered),
            ("Complaints filed", self.complaints.total_filed, "", None, None),
            ("Complaints closed", self.complaints.total_closed, "", None, None),
            ("Median time to resolve", self.complaints.median_hours, "hours", None, None),
            (
                "SMS delivered rate",
                m.delivered_rate(sms),
                "%",
                m.count(sms, NotificationState.DELIVERED),
                m.attempted(sms),
            ),
            (
                "E-mail delivered rate",
                m.delivered_rate(email),
                "%",
                m.count(email, NotificationState.DELIVERED),
                m.attempted(email),
            ),
        ]
        scope = [
            ("From", self.scope.since.isoformat(), "", None, None),
            ("To", self.scope.until.isoformat(), "", None, None),
            ("Merchant", self.merchant_name or "All merchants", "", None, None),
        ]
        return Table(
            "summary",
            "Key figures",
            [
                Column("Figure", "text"),
                Column("Value", "number"),
                Column("Unit", "text"),
                Column("Count"),
                Column("Out of"),
            ],
            scope + rows,
        )

    def tables(self) -> list[Table]:
        return [
            self.summary(),
            self.parcels.table(),
            self.choices.table(),
            self.returns.table(),
            self.complaints.table(),
            self.messages.table(),
        ]


def merchant_name(merchant_id: int | None) -> str | None:
    merchant = db.session.get(Merchant, merchant_id) if merchant_id is not None else None
    return merchant.name if merchant else None


def build(scope: Scope) -> Dashboard:
    delivered = deliveries(scope)
    return Dashboard(
        scope,
        merchant_name(scope.merchant_id),
        parcels_by_status(scope),
        delivered,
        delivery_choices(scope),
        returns(scope, delivered.delivered),
        complaints(scope),
        messages(scope),
    )


# One table without the rest of the page (a CSV download, a chart).
TABLES = {
    "summary": lambda scope: build(scope).summary(),
    "parcels-by-status": lambda scope: parcels_by_status(scope).table(),
    "delivery-choices": lambda scope: delivery_choices(scope).table(),
    "return-reasons": lambda scope: returns(scope, delivered=0).table(),
    "complaints": lambda scope: complaints(scope).table(),
    "messages": lambda scope: messages(scope).table(),
}


def table(key: str, scope: Scope) -> Table:
    return TABLES[key](scope)


def merchants() -> list[tuple[int, str]]:
    """Every merchant, by name, for the page's merchant filter."""
    return [
        tuple(row)
        for row in db.session.execute(select(Merchant.id, Merchant.name).order_by(Merchant.name))
    ]
