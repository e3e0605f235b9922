"""Accepting carriers' tracking events and deriving the parcel's status from them.

Events arrive late, twice and out of order. A batch is written in one transaction with one
bulk INSERT … ON CONFLICT DO NOTHING, so a resent event is a duplicate and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from portal import s10
from portal.bulk import insert_new, update_by_id
from portal.extensions import db
from portal.models import Carrier, Merchant, Parcel, ParcelStatus, Return, TrackingEvent
from portal.models.types import utcnow
from portal.services.delivery import ETA_ENDS, release_on_end
from portal.services.edd import after_scans
from portal.services.messages import status_changed
from portal.services.parcels import S10_RETURN_PREFIX
from portal.services.returns import apply_return_event

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
# Times outside these bounds are typos or epoch zeros, never tracking history.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
ETA_HORIZON = timedelta(days=365)


@dataclass
class EventData:
    event_id: str
    tracking_number: str
    code: str
    occurred_at: datetime
    location: str | None = None
    description: str | None = None
    eta_from: datetime | None = None
    eta_to: datetime | None = None
    # The name of the merchant whose parcel it is: says which one is meant where two
    # merchants' parcels this carrier moves share the tracking number.
    merchant: str | None = None


@dataclass
class EventResult:
    event_id: str | None
    status: str
    code: str | None = None
    message: str | None = None
    field: str | None = None

    @classmethod
    def rejected(cls, event_id: str | None, code: str, message: str, field: str | None):
        return cls(event_id, REJECTED, code=code, message=message, field=field)


@dataclass
class StatusChange:
    parcel: Parcel
    old: ParcelStatus
    new: ParcelStatus
    event: EventData


def supersedes(
    current: ParcelStatus, current_at: datetime | None, code: ParcelStatus, at: datetime
) -> bool:
    """Whether an event with `code` at `at` sets the parcel's status.

    No non-terminal event, later or earlier, moves a parcel out of `delivered`,
    `return_to_sender` or `cancelled`. A terminal event wins over any non-terminal status
    whenever it arrives, and a newer terminal event replaces an older one (a parcel delivered,
    then refused and sent back). Otherwise the newest event by occurred_at decides, so a stale
    event that arrives late never moves the status back.
    """
    if current.is_terminal and not code.is_terminal:
        return False
    if code.is_terminal and not current.is_terminal:
        return True
    return current_at is None or at >= current_at


def _check(event: EventData, now: datetime, max_future: timedelta) -> EventResult | None:
    """A rejection for an event that is well-formed JSON but breaks a rule, else None."""
    try:
        event.tracking_number = s10.validate(event.tracking_number)
    except s10.S10Error as exc:
        return EventResult.rejected(
            event.event_id, "invalid_tracking_number", str(exc), "tracking_number"
        )
    if event.code not in ParcelStatus._value2member_map_:
        return EventResult.rejected(
            event.event_id, "unknown_code", f"unknown status code {event.code!r}", "code"
        )
    if event.occurred_at > now + max_future:
        return EventResult.rejected(
            event.event_id, "bad_time", "occurred_at lies in the future", "occurred_at"
        )
    if event.occurred_at < EARLIEST:
        return EventResult.rejected(
            event.event_id, "bad_time", "occurred_at is before the year 2000", "occurred_at"
        )
    for name in ("eta_from", "eta_to"):
        value = getattr(event, name)
        if value is not None and not EARLIEST <= value <= now + ETA_HORIZON:
            return EventResult.rejected(
                event.event_id, "bad_eta", f"{name} is not within the coming year", name
            )
    if (event.eta_from is None) != (event.eta_to is None):
        field = "eta_to" if event.eta_to is None else "eta_from"
        return EventResult.rejected(
            event.event_id, "bad_eta", "give both eta_from and eta_to, or neither", field
        )
    if event.eta_from and event.eta_to and event.eta_to < event.eta_from:
        return EventResult.rejected(
            event.event_id, "bad_eta", "eta_to is before eta_from", "eta_to"
        )
    # Stored, compared and told to webhooks in UTC, whatever offset the carrier wrote (now
    # that the times are known to lie in range, so the conversion can't overflow).
    event.occurred_at = event.occurred_at.astimezone(UTC)
    if event.eta_from is not None and event.eta_to is not None:
        event.eta_from, event.eta_to = event.eta_from.astimezone(UTC), event.eta_to.astimezone(UTC)
    return None


@dataclass
class _Tracked:
    """The columns of a parcel that events move, read and written as plain rows: a batch of
    1000 touches 1000 parcels, and the ORM's per-object bookkeeping would cost more than the
    database work itself."""

    id: int
    tracking_number: str
    carrier_id: int
    merchant_id: int
    status: ParcelStatus
    status_at: datetime | None
    eta_from: datetime | None
    eta_to: datetime | None
    eta_at: datetime | None
    # Predicted delivery (services/edd): where the parcel goes, when it was picked up and
    # delivered, its promise and whether it was kept.
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    country: str
    picked_up_at: datetime | None
    delivered_at: datetime | None
    promised_by: date | None
    promise_kept: bool | None

    def moved(self) -> dict:
        return {name: getattr(self, name) for name in MOVED}


MOVED = (
    "status",
    "status_at",
    "eta_from",
    "eta_to",
    "eta_at",
    "picked_up_at",
    "delivered_at",
    "promised_by",
    "promise_kept",
)


def accept_events(
    carrier: Carrier,
    events: list[EventData],
    *,
    now: datetime | None = None,
    max_future: timedelta = timedelta(minutes=15),
) -> tuple[list[EventResult], list[StatusChange]]:
    """Store a batch of events for `carrier`; one result per event, in order.

    The caller commits. Parcels touched by the batch are locked (in id order, so two batches
    never deadlock) while their status is worked out, so concurrent batches serialise per parcel.
    """
    now = now or utcnow()
    results: list[EventResult | None] = [_check(e, now, max_future) for e in events]

    checked = [e for e, r in zip(events, results, strict=True) if r is None]
    numbers = {e.tracking_number for e in checked}
    # Only this carrier's parcels and returns: another carrier's reads as unknown, so a
    # carrier learns nothing of others' parcels (and never moves one).
    parcels: dict[str, list[_Tracked]] = {}
    if numbers:
        rows = db.session.execute(
            select(*(getattr(Parcel, f.name) for f in fields(_Tracked)))
            .where(Parcel.tracking_number.in_(numbers), Parcel.carrier_id == carrier.id)
            .order_by(Parcel.id)
            .with_for_update()
        )
        for row in rows:
            parcels.setdefault(row.tracking_number, []).append(_Tracked(*row))
    # A return has its own tracking number; its events come through here too. Return numbers
    # are the portal's (services/parcels.is_reserved): one always means the return, even where
    # a parcel was created under it before that rule, so the parcel can't catch its scans.
    returns: dict[str, Return] = {}
    maybe_returns = {n for n in numbers if n.startswith(S10_RETURN_PREFIX)} | (
        numbers - parcels.keys()
    )
    if maybe_returns:
        rows = db.session.execute(
            select(Return)
            .where(
                Return.return_tracking_number.in_(maybe_returns), Return.carrier_id == carrier.id
            )
            .order_by(Return.id)
            .with_for_update()
        ).scalars()
        returns = {r.return_tracking_number: r for r in rows}
    merchants = _merchant_ids({e.merchant for e in checked if e.merchant is not None})

    seen: set[str] = set()
    to_insert: list[tuple[int, EventData, _Tracked | Return]] = []
    for i, event in enumerate(events):
        if results[i] is not None:
            continue
        match = _match(event, parcels, returns, merchants)
        if isinstance(match, EventResult):
            results[i] = match
        elif event.event_id in seen:
            results[i] = EventResult(event.event_id, DUPLICATE)
        else:
            seen.add(event.event_id)
            to_insert.append((i, event, match))

    inserted = _insert_events(carrier, [(e, p) for _, e, p in to_insert], now)

    tracked = [p for under_number in parcels.values() for p in under_number]
    before = {p.id: p.moved() for p in tracked}
    moved: list[tuple[_Tracked, EventData, ParcelStatus]] = []
    for i, event, parcel in sorted(to_insert, key=lambda t: t[1].occurred_at):
        if event.event_id not in inserted:
            results[i] = EventResult(event.event_id, DUPLICATE)
            continue
        results[i] = EventResult(event.event_id, ACCEPTED)
        if isinstance(parcel, Return):
            apply_return_event(parcel, ParcelStatus(event.code), event.occurred_at)
            continue
        was = parcel.status
        if apply_event(parcel, event):
            moved.append((parcel, event, was))
    picked = [p for p in tracked if p.picked_up_at != before[p.id]["picked_up_at"]]
    picked_ids = {p.id for p in picked}
    after_scans(
        picked,
        # Delivered now, or delivered before and its pickup scan came late.
        [
            p
            for p in tracked
            if p.delivered_at is not None
            and (p.delivered_at != before[p.id]["delivered_at"] or p.id in picked_ids)
        ],
        now,
    )
    changed = [p for p in tracked if p.moved() != before[p.id]]
    _write_parcels(changed, now)
    changes = _status_changes(moved)
    _tell_recipients(changes, {i: b["status"] for i, b in before.items()}, now)
    return [r for r in results if r is not None], changes


def _merchant_ids(names: set[str]) -> dict[str, int]:
    """The ids of the merchants named in a batch's events, by name (names are unique)."""
    if not names:
        return {}
    rows = db.session.execute(select(Merchant.name, Merchant.id).where(Merchant.name.in_(names)))
    return {name: merchant_id for name, merchant_id in rows}


def _match(
    event: EventData,
    parcels: dict[str, list[_Tracked]],
    returns: dict[str, Return],
    merchants: dict[str, int],
) -> _Tracked | Return | EventResult:
    """The parcel or return of this carrier an event is for, else the event's rejection.

    Never a guess: where two merchants' parcels the carrier moves share the number, the
    event names the merchant, or it is refused (and the carrier can't ever move the wrong
    recipient's parcel). Without that way out, one merchant creating a parcel under another's
    number with the same carrier would stop every event for the other's parcel."""
    number = event.tracking_number
    named = event.merchant is not None
    merchant_id = merchants.get(event.merchant) if named else None
    ret = returns.get(number)
    # A return's number means the return, whatever merchant a parcel under it has.
    candidates: list[_Tracked | Return] = [ret] if ret is not None else parcels.get(number, [])
    fitting = [c for c in candidates if not named or c.merchant_id == merchant_id]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        return EventResult.rejected(
            event.event_id,
            "ambiguous_tracking_number",
            "more than one parcel you carry has this tracking number, so the event can't be "
            "matched to one; send `merchant` (the name of the merchant whose parcel it is) to "
            "say which; nothing was changed",
            "tracking_number",
        )
    if candidates:  # parcels with the number, none of them the named merchant's
        return EventResult.rejected(
            event.event_id,
            "unknown_parcel",
            f"no parcel of yours from the merchant {event.merchant!r} has this tracking number",
            "merchant",
        )
    return EventResult.rejected(
        event.event_id,
        "unknown_parcel",
        "no parcel of yours has this tracking number",
        "tracking_number",
    )


def _insert_events(
    carrier: Carrier, pairs: list[tuple[EventData, _Tracked | Return]], now: datetime
) -> set[str]:
    """Insert the new events in one statement; the event_ids that were new (a resent event
    hits the unique (carrier, event_id) and is skipped, not an error)."""
    rows = [
        {
            "parcel_id": p.id if isinstance(p, _Tracked) else None,
            "return_id": p.id if isinstance(p, Return) else None,
            "carrier_id": carrier.id,
            "event_id": e.event_id,
            "code": e.code,
            "occurred_at": e.occurred_at,
            "location": e.location,
            "description": e.description,
            "eta_from": e.eta_from,
            "eta_to": e.eta_to,
            "received_at": now,
        }
        for e, p in pairs
    ]
    table = TrackingEvent.__table__
    new = insert_new(table, rows, unique=["carrier_id", "event_id"], returning=[table.c.event_id])
    return {row.event_id for row in new}


def _write_parcels(changed: list[_Tracked], now: datetime) -> None:
    """Write the parcels the batch moved in one UPDATE, and bring any Parcel object this session
    already holds up to date (a console action, a test) without marking it changed."""
    if not changed:
        return
    update_by_id(Parcel.__table__, [{"id": p.id, **p.moved(), "updated_at": now} for p in changed])
    for p in changed:
        held = db.session.identity_map.get(identity_key(Parcel, p.id))
        if held is not None:
            for name, value in (*p.moved().items(), ("updated_at", now)):
                set_committed_value(held, name, value)


def _status_changes(moved: list[tuple[_Tracked, EventData, ParcelStatus]]) -> list[StatusChange]:
    """The batch's status changes with Parcel objects, in the order they happened, and the
    slot or locker given back when a journey ends. Objects are loaded only for those parcels
    (the messages, webhooks and releases need them), not for every scan on the way."""
    ends = [(p, e, was) for p, e, was in moved if ParcelStatus(e.code).is_terminal or e.code != was]
    if not ends:
        return []
    ids = {p.id for p, _, _ in ends}
    loaded = {
        p.id: p for p in db.session.execute(select(Parcel).where(Parcel.id.in_(ids))).scalars()
    }
    changes = []
    for tracked, event, was in ends:
        parcel, code = loaded[tracked.id], ParcelStatus(event.code)
        if code.is_terminal:
            release_on_end(parcel, code, event.occurred_at)
        if code != was:
            changes.append(StatusChange(parcel, was, code, event))
    return changes


def _tell_recipients(
    changes: list[StatusChange], before: dict[int, ParcelStatus], now: datetime
) -> None:
    """One message per parcel per batch, for where it ended up: a batch that carries a parcel
    from out_for_delivery to delivered says "delivered", not both."""
    last: dict[int, StatusChange] = {}
    for change in changes:
        last[change.parcel.id] = change
    status_changed(
        [
            (change.parcel, before[parcel_id], change.event.occurred_at)
            for parcel_id, change in last.items()
            if change.parcel.status != before[parcel_id]
        ],
        now,
    )


# The scans that say the carrier has the parcel.
JOURNEY_STARTS = frozenset({ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT})


def apply_event(parcel: _Tracked, event: EventData) -> bool:
    """Move the parcel's status and ETA for one new event; whether the event set the status
    (to another status or, newer, to the same one)."""
    code = ParcelStatus(event.code)
    if code in JOURNEY_STARTS and (
        parcel.picked_up_at is None or event.occurred_at < parcel.picked_up_at
    ):
        # Transit runs from the first pickup scan (or, from a carrier that sends none, the
        # first in-transit one), whenever it arrives.
        parcel.picked_up_at = event.occurred_at
    moves = supersedes(parcel.status, parcel.status_at, code, event.occurred_at)
    ends = code.is_terminal if moves else parcel.status.is_terminal
    if (
        event.eta_from
        and not ends  # a finished journey has no delivery window, whatever comes in late
        and (parcel.eta_at is None or event.occurred_at >= parcel.eta_at)
    ):
        parcel.eta_from, parcel.eta_to, parcel.eta_at = (
            event.eta_from,
            event.eta_to,
            event.occurred_at,
        )
    if not moves:
        return False
    parcel.status, parcel.status_at = code, event.occurred_at
    if code == ParcelStatus.DELIVERED and parcel.delivered_at is None:
        parcel.delivered_at = event.occurred_at  # the first delivery scan is the delivery
    if code in ETA_ENDS and event.eta_from is None:
        # A failed attempt, a parcel waiting at a pickup point or a finished journey voids the
        # old delivery window; the carrier's next event with a window sets a new one.
        parcel.eta_from = parcel.eta_to = None
        parcel.eta_at = event.occurred_at
    return True
