"""The console's dashboard: figures for a period of days and optionally one merchant.

Every figure is one aggregate query (GROUP BY, SUM(CASE …)), so the page costs the same few
round trips at a million parcels as at ten, on PostgreSQL and SQLite alike. Only the durations of
complaints closed in the period come back as rows, for their median: that list is small.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.admin.services.dashboard.aftercare import (
    Complaints,
    Messages,
    Returns,
    complaints,
    messages,
    returns,
)
from portal.admin.services.dashboard.deliveries import (
    Choices,
    Deliveries,
    ParcelsByStatus,
    baseline_grams,
    deliveries,
    delivery_choices,
    parcels_by_status,
)
from portal.admin.services.dashboard.promises import Promises, promises_kept
from portal.admin.services.dashboard.scope import MAX_DAYS, N_, Column, Scope, Table
from portal.extensions import db
from portal.models import Channel, Merchant, NotificationState

__all__ = [
    "ALL_MERCHANTS",
    "MAX_DAYS",
    "TABLES",
    "Column",
    "Dashboard",
    "Scope",
    "Table",
    "baseline_grams",
    "build",
    "merchants",
    "table",
]

ALL_MERCHANTS = N_("All merchants")

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
    promises: Promises

    def summary(self) -> Table:
        d, c, m = self.deliveries, self.choices, self.messages
        sms, email = Channel.SMS, Channel.EMAIL
        rows = [
            (N_("Parcels created"), self.parcels.total, "", None, None),
            (N_("Parcels delivered"), d.delivered, "", None, None),
            (
                N_("First-attempt delivery rate"),
                d.first_attempt_rate,
                "%",
                d.first_attempt,
                d.delivered,
            ),
            (N_("Failed delivery attempts"), d.failed_attempts, "", None, None),
            (N_("Parcels with a failed attempt"), d.parcels_failed, "", None, None),
            (
                N_("Promise kept"),
                self.promises.share,
                "%",
                self.promises.kept,
                self.promises.delivered,
            ),
            (N_("Green choices"), c.green_share, "%", c.green, c.total),
            (
                N_("CO2e avoided by green choices"),
                round(c.avoided_grams / 1000, 2),
                "kg",
                None,
                None,
            ),
            (N_("Returns rate"), self.returns.rate, "%", self.returns.returns, d.delivered),
            (N_("Complaints filed"), self.complaints.total_filed, "", None, None),
            (N_("Complaints closed"), self.complaints.total_closed, "", None, None),
            (N_("Median time to resolve"), self.complaints.median_hours, N_("hours"), None, None),
            (
                N_("SMS delivered rate"),
                m.delivered_rate(sms),
                "%",
                m.count(sms, NotificationState.DELIVERED),
                m.attempted(sms),
            ),
            (
                N_("E-mail delivered rate"),
                m.delivered_rate(email),
                "%",
                m.count(email, NotificationState.DELIVERED),
                m.attempted(email),
            ),
        ]
        scope = [
            (N_("From"), self.scope.since.isoformat(), "", None, None),
            (N_("To"), self.scope.until.isoformat(), "", None, None),
            (N_("Merchant"), self.merchant_name or ALL_MERCHANTS, "", None, None),
        ]
        return Table(
            "summary",
            N_("Key figures"),
            [
                Column(N_("Figure"), "term"),
                Column(N_("Value"), "number"),
                Column(N_("Unit"), "term"),
                Column(N_("Count")),
                Column(N_("Out of")),
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
            self.promises.table(),
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
        promises_kept(scope),
    )


# One table without the rest of the page (a CSV download, a chart).
TABLES = {
    "summary": lambda scope: build(scope).summary(),
    "parcels-by-status": lambda scope: parcels_by_status(scope).table(),
    "delivery-choices": lambda scope: delivery_choices(scope).table(),
    "return-reasons": lambda scope: returns(scope, delivered=0).table(),
    "complaints": lambda scope: complaints(scope).table(),
    "messages": lambda scope: messages(scope).table(),
    "promise-kept": lambda scope: promises_kept(scope).table(),
}


def table(key: str, scope: Scope) -> Table:
    return TABLES[key](scope)


def merchants() -> list[tuple[int, str]]:
    """Every merchant, by name, for the page's merchant filter."""
    return [
        tuple(row)
        for row in db.session.execute(select(Merchant.id, Merchant.name).order_by(Merchant.name))
    ]
