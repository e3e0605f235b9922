"""The delivery network as supervisors run it from the console (`zones`, `slots`, `points`,
`uploads`), and what those share: the errors the pages show, the version check that keeps two
supervisors from overwriting each other, and the confirmation a closure with bookings needs.

Each rule takes the acting Account and plain values, flushes, writes its audit row (with the
fields before and after) in the caller's transaction, and raises a DomainError the page shows:
`EditConflict` when someone saved the same row after the form was opened (naming who and what
changed, from the audit log), `ConfirmationNeeded` when a closure would take bookings away and
the supervisor hasn't seen that list yet. The caller commits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Account, AuditEntry, Vehicle, Zone
from portal.models.types import utcnow
from portal.services import delivery
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import closures

# The days and vehicles as the audit log and snapshots keep them (English, stable), and as the
# pages show them (WEEKDAYS, VEHICLES: in the supervisor's language).
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
VEHICLE_NAMES = {Vehicle.VAN: "Van", Vehicle.CARGO_BIKE: "Cargo bike"}
WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
VEHICLES = {Vehicle.VAN: _l("Van"), Vehicle.CARGO_BIKE: _l("Cargo bike")}
NAME_MAX = 120  # Zone.name, Carrier.name, PickupPoint.name
REASON_MAX = 120  # ClosedDay.reason; slot and point reasons may be longer, the day's may not
# Country codes: ISO 3166 alpha-2 as CLDR (babel) knows them, with their English names.
COUNTRIES = {
    code: name for code, name in Locale("en").territories.items() if re.fullmatch("[A-Z]{2}", code)
}
TIME_ZONES = available_timezones()

# How field names read in messages ("capacity 3 → 5").
LABELS = {
    "green_weekday": _l("green day"),
    "time_zone": _l("time zone"),
    "end_time": _l("end"),
    "start_time": _l("start"),
    "locker_capacity": _l("locker capacity"),
    "address_line": _l("address"),
    "external_id": _l("external id"),
    "opening_hours": _l("opening hours"),
    "closed_from": _l("closed from"),
    "closed_until": _l("closed until"),
    "closed_reason": _l("closure reason"),
    "is_locker": _l("type"),
    "carrier": _l("carrier"),
}


# --- errors the pages show -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{LABELS.get(self.field, self.field)} {_shown(self.before)} → {_shown(self.after)}"


@dataclass(frozen=True)
class Edit:
    """One save by someone else, from the audit log."""

    who: str
    at: datetime
    changes: list[FieldChange]

    def __str__(self) -> str:
        what = ", ".join(str(c) for c in self.changes) or _("no field changed")
        return str(
            _(
                "%(who)s saved it at %(when)s UTC: %(what)s",
                who=self.who,
                when=f"{self.at:%Y-%m-%d %H:%M}",
                what=what,
            )
        )


class EditConflict(Conflict):
    """Someone saved the same row after the form was opened: nothing of this save was written.
    `edits` are theirs (newest last), from the audit log; `differs` are the fields where what
    is stored now differs from what this form sent; `version` is the row's version now."""

    code = "edit_conflict"

    def __init__(self, what: str, edits: list[Edit], differs: list[FieldChange], version: int):
        # Made in the request that refuses the save, so in the supervisor's language.
        if edits:
            told = str(_("; then ")).join(str(e) for e in edits)
            head = str(
                _(
                    "Someone changed this %(what)s after you opened it. %(edits)s.",
                    what=what,
                    edits=told,
                )
            )
        else:
            now = ", ".join(f"{LABELS.get(c.field, c.field)} {_shown(c.before)}" for c in differs)
            head = str(
                _(
                    "This %(what)s was changed after you opened it (by a file import or from "
                    "the command line).",
                    what=what,
                )
            ) + (" " + str(_("Now: %(values)s.", values=now)) if now else "")
        super().__init__(
            str(
                _(
                    "%(head)s Nothing of yours was saved. Your values are still in the form: save "
                    "again to replace theirs, or open the page again to start from theirs.",
                    head=head,
                )
            )
        )
        self.what, self.edits, self.differs, self.version = what, edits, differs, version


@dataclass(frozen=True)
class Booked:
    """A parcel whose booking a closure takes away, as the confirmation step lists it."""

    choice_id: int
    tracking_number: str
    booked_on: str
    status: str


class ConfirmationNeeded(DomainError):
    """A closure would take bookings away: the supervisor sees whose first, then confirms."""

    code = "confirmation_needed"

    def __init__(self, affected: list[Booked]):
        n = len(affected)
        super().__init__(
            ngettext(
                "%(num)d parcel is booked on it. Each booking is given back, the carrier's own "
                "plan applies again, and each recipient is asked to choose again. Check the "
                "list, then confirm.",
                "%(num)d parcels are booked on it. Each booking is given back, the carrier's own "
                "plan applies again, and each recipient is asked to choose again. Check the "
                "list, then confirm.",
                n,
            )
        )
        self.affected = affected


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "none"
    return str(value)


def clock(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def bookings_of(affected: list[closures.Affected]) -> list[Booked]:
    # Console pages are English whatever the browser asks for.
    with force_locale("en"):
        return [
            Booked(
                a.choice.id,
                a.tracking_number,
                delivery.describe(a.choice, a.parcel.time_zone),
                str(a.parcel.status),
            )
            for a in affected
        ]


def require_confirmation(
    affected: list[closures.Affected], confirmed: Iterable[int] | None
) -> None:
    """The supervisor confirmed exactly the bookings listed to them (choice ids): one booked
    since they looked means showing the list again."""
    ids = {a.choice.id for a in affected}
    if ids and not ids <= set(confirmed or ()):
        raise ConfirmationNeeded(bookings_of(affected))


def record_withdrawn(
    actor: Account, affected: list[closures.Affected], booked: list[Booked], subject: str, why: str
) -> None:
    """Each parcel's own audit trail says which closure took its booking away."""
    by_choice = {b.choice_id: b for b in booked}
    for a in affected:
        shown = by_choice.get(a.choice.id)
        record(
            actor,
            "network.withdraw",
            parcel=a.parcel,
            subject=subject,
            before={"choice": shown.booked_on if shown else str(a.choice.type)},
            after={"reason": why},
        )


# --- versions: two supervisors editing the same row ------------------------------------------


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _edits_since(subject: str, actions: tuple[str, ...], version: int) -> list[Edit]:
    """Saves of `subject` that made a version newer than `version`, oldest first. The action
    (indexed) narrows the search before the subject does."""
    entries = db.session.execute(
        select(AuditEntry)
        .options(joinedload(AuditEntry.account))
        .where(AuditEntry.action.in_(actions), AuditEntry.subject == subject)
        .order_by(AuditEntry.id.desc())
        .limit(20)
    ).scalars()
    edits = []
    for e in entries:
        made = (e.after or {}).get("version")
        if not isinstance(made, int) or made <= version:
            continue
        before, after = e.before or {}, e.after or {}
        changes = [
            FieldChange(k, before.get(k), after[k])
            for k in after
            if k not in ("version", "withdrawn") and before.get(k) != after[k]
        ]
        who = f"{e.account.name} ({e.actor})" if e.account is not None else e.actor
        edits.append(Edit(who, e.at, changes))
    return list(reversed(edits))


@dataclass(frozen=True)
class Versioned:
    """What a versioned edit needs to tell a conflict: the row's name in words, its audit
    subject and actions, and its fields as the audit log writes them."""

    what: str
    subject: str
    actions: tuple[str, ...]
    snapshot: Callable[[], dict[str, Any]]


def _conflict(v: Versioned, version: int, mine: dict[str, Any]) -> EditConflict:
    now = v.snapshot()
    differs = [FieldChange(k, now.get(k), mine[k]) for k in mine if now.get(k) != mine[k]]
    return EditConflict(
        v.what, _edits_since(v.subject, v.actions, version), differs, now["version"]
    )


def check_version(v: Versioned, row: Any, version: int | None, mine: dict[str, Any]) -> None:
    if version is None:
        raise DomainError(_("This form is out of date: open the page again."))
    if row.version != version:
        raise _conflict(v, version, mine)


def save_versioned(
    v: Versioned, row: Any, version: int, mine: dict[str, Any], change: Callable[[], Any]
):
    """Apply `change` and flush in a savepoint. The version column makes the UPDATE (or DELETE)
    match only the version the form was opened at: when another supervisor's save committed in
    between, no row matches (StaleDataError), and that is a conflict, never an overwrite."""
    try:
        with db.session.begin_nested():
            result = change()
            db.session.flush()
    except StaleDataError:
        try:
            db.session.refresh(row)
        except InvalidRequestError:  # they removed it
            raise NotFound(_("Someone removed this %(what)s a moment ago.", what=v.what)) from None
        raise _conflict(v, version, mine) from None
    return result


# --- shared checks -----------------------------------------------------------------------------


def clean_text(value: str | None, field: str, what, limit: int = NAME_MAX) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise DomainError(_("Give the %(what)s.", what=what), field=field)
    if len(value) > limit:
        raise DomainError(
            _("Keep the %(what)s to %(limit)s characters.", what=what, limit=limit), field=field
        )
    return value


def clean_country(value: str | None, field: str = "country") -> str:
    code = (value or "").strip().upper()
    if code not in COUNTRIES:
        raise DomainError(
            _("Give a two-letter country code (ISO 3166), like SE, NO, FI or DK."), field=field
        )
    return code


def coordinates(
    latitude: float | None, longitude: float | None
) -> tuple[float | None, float | None]:
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise DomainError(_("Give both coordinates of the centre, or neither."), field=missing)
    if latitude is not None and not -90 <= latitude <= 90:
        raise DomainError(_("A latitude is from -90 to 90."), field="latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise DomainError(_("A longitude is from -180 to 180."), field="longitude")
    return latitude, longitude


def zone_today(zone: Zone, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(zone.time_zone)).date()


def days_ahead() -> int:
    return current_app.config["DELIVERY_DAYS_AHEAD"]
