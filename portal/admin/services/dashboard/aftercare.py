"""After delivery: returns and their reasons, complaints and how fast they close, and the
messages we sent with how many arrived."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from portal.admin.services.dashboard.deliveries import deliveries
from portal.admin.services.dashboard.scope import (
    N_,
    Column,
    Scope,
    Table,
    for_merchant,
    percent,
)
from portal.extensions import db
from portal.models import (
    Channel,
    Complaint,
    ComplaintStatus,
    ComplaintType,
    Notification,
    NotificationState,
    Return,
    ReturnItem,
    ReturnReason,
)

CLOSED_COMPLAINTS = (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)
# What a message's delivered rate is out of: the ones handed to the provider. Queued messages
# have not been tried yet and suppressed ones (STOP, quiet hours given up) were never sent.
ATTEMPTED = (NotificationState.SENT, NotificationState.DELIVERED, NotificationState.FAILED)
MESSAGE_CHANNELS = (Channel.SMS, Channel.EMAIL)


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
            N_("Return reasons"),
            [
                Column(N_("Reason"), "label"),
                Column(N_("Item lines")),
                Column(N_("Share (%)"), "percent"),
                Column(N_("Units")),
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
            N_("Complaints"),
            [
                Column(N_("Type"), "label"),
                Column(N_("Filed")),
                Column(N_("Closed")),
                Column(N_("Median time to resolve (hours)"), "number"),
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
    filed = for_merchant(filed, scope, Complaint.parcel_id)
    closed = for_merchant(closed, scope, Complaint.parcel_id)
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
            N_("SMS and e-mail"),
            [
                Column(N_("Channel"), "label"),
                *(Column(state.value.capitalize()) for state in NotificationState),
                Column(N_("Delivered rate (%)"), "percent"),
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
    query = for_merchant(query, scope, Notification.parcel_id)
    counts: dict[Channel, dict[NotificationState, int]] = defaultdict(dict)
    for channel, state, n in db.session.execute(query).all():
        counts[Channel(channel)][NotificationState(state)] = n
    return Messages(dict(counts))
