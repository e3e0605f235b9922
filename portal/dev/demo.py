"""Demo data for `make run`: a merchant, a carrier, zones and a parcel in every status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from portal import s10
from portal.dev.bench import CarrierProfile, history_rows, write_history
from portal.extensions import db
from portal.models import (
    ApiKey,
    Complaint,
    InboundMessage,
    Parcel,
    ParcelStatus,
    ReturnPolicy,
    Role,
    SignedLink,
    Zone,
)
from portal.models.types import utcnow
from portal.services.accounts import create_account, find_account
from portal.services.api_keys import create_api_key, get_or_create_carrier, get_or_create_merchant
from portal.services.calendar import zone_calendar
from portal.services.complaints import ComplaintRequest, open_complaint
from portal.services.edd import fit_estimates
from portal.services.events import EventData, accept_events
from portal.services.links import issue_link
from portal.services.network import files, imports
from portal.services.parcels import ItemData, ParcelData, RecipientData, create_parcel

MERCHANT = "Nordic Outdoor"
CARRIER = "Baltic Express"
S = ParcelStatus

# The path each demo parcel took: (status, hours before now, hub).
PATHS: dict[ParcelStatus, list[tuple[ParcelStatus, float, str]]] = {}
_BASE = [
    (S.PENDING, 72, "Nordic Outdoor warehouse, Borås"),
    (S.PICKED_UP, 60, "Borås"),
    (S.IN_TRANSIT, 40, "Jönköping hub"),
    (S.IN_TRANSIT, 20, "Stockholm Årsta terminal"),
]
PATHS[S.PENDING] = _BASE[:1]
PATHS[S.PICKED_UP] = _BASE[:2]
PATHS[S.IN_TRANSIT] = _BASE
PATHS[S.DELAYED] = [*_BASE, (S.DELAYED, 3, "Stockholm Årsta terminal")]
PATHS[S.ON_HOLD] = [*_BASE, (S.ON_HOLD, 4, "Stockholm Årsta terminal")]
PATHS[S.OUT_FOR_DELIVERY] = [*_BASE, (S.OUT_FOR_DELIVERY, 2, "Stockholm")]
PATHS[S.DELIVERY_FAILED] = [*PATHS[S.OUT_FOR_DELIVERY], (S.DELIVERY_FAILED, 0.5, "Stockholm")]
PATHS[S.READY_FOR_PICKUP] = [
    *_BASE[:3],
    (S.OUT_FOR_DELIVERY, 10, "Stockholm"),
    (S.DELIVERY_FAILED, 8, "Stockholm"),
    (S.READY_FOR_PICKUP, 5, "ICA Nära Vasastan, Stockholm"),
]
PATHS[S.DELIVERED] = [*_BASE, (S.OUT_FOR_DELIVERY, 6, "Stockholm"), (S.DELIVERED, 3, "Stockholm")]
PATHS[S.RETURN_TO_SENDER] = [
    *PATHS[S.READY_FOR_PICKUP],
    (S.RETURN_TO_SENDER, 1, "ICA Nära Vasastan, Stockholm"),
]
PATHS[S.CANCELLED] = [*_BASE[:1], (S.CANCELLED, 50, "Nordic Outdoor warehouse, Borås")]

DESCRIPTIONS = {
    S.PENDING: "Shipment information received",
    S.PICKED_UP: "Picked up from the sender",
    S.IN_TRANSIT: "Sorted and on its way",
    S.OUT_FOR_DELIVERY: "Loaded on the delivery van",
    S.DELIVERY_FAILED: "Nobody at home; card left",
    S.READY_FOR_PICKUP: "Ready at the pickup point; bring ID",
    S.DELIVERED: "Delivered to the recipient",
    S.ON_HOLD: "Held at the terminal at the recipient's request",
    S.DELAYED: "Late arrival of the linehaul truck",
    S.RETURN_TO_SENDER: "Not collected in time; returning to sender",
    S.CANCELLED: "Shipment cancelled by the sender",
}

# A carrier in Norway, Denmark or Finland writes its scans in the country's language.
LOCAL_DESCRIPTIONS = {
    "nb": {
        S.PENDING: "Sendingsinformasjon mottatt",
        S.PICKED_UP: "Hentet hos avsender",
        S.IN_TRANSIT: "Sortert og på vei",
        S.OUT_FOR_DELIVERY: "Lastet på bilen for utkjøring",
        S.DELIVERED: "Levert til mottaker",
    },
    "da": {
        S.PENDING: "Forsendelsesoplysninger modtaget",
        S.PICKED_UP: "Afhentet hos afsender",
        S.IN_TRANSIT: "Sorteret og på vej",
        S.OUT_FOR_DELIVERY: "Læsset på bilen til udbringning",
        S.DELIVERED: "Leveret til modtager",
    },
    "fi": {
        S.PENDING: "Lähetyksen tiedot vastaanotettu",
        S.PICKED_UP: "Noudettu lähettäjältä",
        S.IN_TRANSIT: "Lajiteltu ja matkalla",
        S.OUT_FOR_DELIVERY: "Lastattu jakeluautoon",
        S.DELIVERED: "Toimitettu vastaanottajalle",
    },
}

# The demo network is imported from these files, the road an operator takes (README).
NETWORK_FILES = Path(__file__).resolve().parent / "network"


def _import_network() -> None:
    """Zones, slot templates and the carrier's pickup points from the demo's CSV files."""
    imports.import_zones(files.read_zones((NETWORK_FILES / "zones.csv").read_bytes()))
    imports.import_slot_templates(
        files.read_slot_templates((NETWORK_FILES / "slot_templates.csv").read_bytes())
    )
    imports.import_pickup_points(
        files.read_pickup_points((NETWORK_FILES / "pickup_points.csv").read_bytes())
    )


def _working_window(zone: Zone, now: datetime, *, days_later: int = 0) -> tuple[datetime, datetime]:
    """A two-hour ETA window inside the zone's working hours: later today while the vans are
    out (08:00-19:00 on a working day), else 09:00-11:00 on the next working day."""
    tz = ZoneInfo(zone.time_zone)
    local = now.astimezone(tz)
    calendar = zone_calendar(zone, local.date(), 30)
    day = local.date()
    if days_later == 0 and calendar.is_open(day) and day.weekday() < 5 and 8 <= local.hour < 19:
        start = (local + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=2)
    day = day + timedelta(days=1)
    for _ in range(days_later + 1):
        while day.weekday() >= 5 or not calendar.is_open(day):
            day += timedelta(days=1)
        found, day = day, day + timedelta(days=1)
    start = datetime.combine(found, time(9), tzinfo=tz)
    return start, start + timedelta(hours=2)


@dataclass
class DemoParcel:
    status: ParcelStatus
    tracking_number: str
    token: str
    postcode: str
    city: str = "Stockholm"
    language: str = ""


# A demo-only service-point login, printed by seed-demo; never created outside the demo.
DEMO_STAFF_EMAIL = "kiosk@lastmile.example"
DEMO_STAFF_PASSWORD = "demo-dropoff-desk"  # noqa: S105
# The console: an agent, and a supervisor who sets up two-factor log-in on first use.
DEMO_AGENT_EMAIL = "agent@lastmile.example"
DEMO_SUPERVISOR_EMAIL = "supervisor@lastmile.example"
DEMO_CONSOLE_PASSWORD = "demo-console-pass"  # noqa: S105


def demo_tracking_number(i: int, country: str = "SE") -> str:
    # Not of the portal's own series (S10_PREFIX…S10_COUNTRY, LM…SE by default), which is
    # reserved for the numbers it issues: the demo merchant sends its own, as a merchant may.
    serial = f"{90000000 + i:08d}"
    return f"DM{serial}{s10.check_digit(serial)}{country}"


@dataclass(frozen=True)
class NordicRecipient:
    """A demo recipient in Oslo, Copenhagen or Helsinki, reading in their own language."""

    name: str
    address_line: str
    postcode: str
    city: str
    country: str
    phone: str
    email: str
    language: str
    currency: str
    terminal: str


NORDIC = (
    NordicRecipient(
        "Ingrid Haugen",
        "Thorvald Meyers gate 12",
        "0555",
        "Oslo",
        "NO",
        "+4741234567",
        "ingrid@example.com",
        "nb",
        "NOK",
        "Oslo Alnabru terminal",
    ),
    NordicRecipient(
        "Mette Kjær",
        "Istedgade 40",
        "1650",
        "København V",
        "DK",
        "+4520123456",
        "mette@example.com",
        "da",
        "DKK",
        "Brøndby terminal",
    ),
    NordicRecipient(
        "Aino Virtanen",
        "Helsinginkatu 5",
        "00500",
        "Helsinki",
        "FI",
        "+358401234567",
        "aino@example.com",
        "fi",
        "EUR",
        "Vantaan terminaali",
    ),
)
# Each Nordic recipient gets a parcel on its way (to choose a slot or pickup point) and one
# delivered (to return).
NORDIC_STATUSES = (S.IN_TRANSIT, S.DELIVERED)


def seed_demo(now: datetime | None = None) -> tuple[list[DemoParcel], dict[str, str]]:
    """Create the demo set once; later runs only refresh the signed links. Caller commits."""
    now = now or utcnow()
    merchant = get_or_create_merchant(MERCHANT)
    carrier = get_or_create_carrier(CARRIER)
    merchant.safe_place_max_value = Decimal("3000")  # SEK: the demo tent may go on the porch
    merchant.return_address = "Returns desk\nLagervägen 4\n136 50 Haninge\nSweden"
    if (
        db.session.execute(
            select(ReturnPolicy.id).where(ReturnPolicy.merchant_id == merchant.id)
        ).first()
        is None
    ):
        db.session.add(ReturnPolicy(merchant=merchant, window_days=30))
    if find_account(DEMO_STAFF_EMAIL) is None:
        create_account(
            DEMO_STAFF_EMAIL,
            name="Demo kiosk",
            role=Role.DROPOFF,
            password=DEMO_STAFF_PASSWORD,
            place="Pressbyrån Odenplan",
        )
    for email, name, role in (
        (DEMO_AGENT_EMAIL, "Demo agent", Role.AGENT),
        (DEMO_SUPERVISOR_EMAIL, "Demo supervisor", Role.SUPERVISOR),
    ):
        if find_account(email) is None:
            create_account(email, name=name, role=role, password=DEMO_CONSOLE_PASSWORD)
    _import_network()

    keys: dict[str, str] = {}
    for owner, kind in ((merchant, "merchant"), (carrier, "carrier")):
        column = ApiKey.merchant_id if kind == "merchant" else ApiKey.carrier_id
        if db.session.execute(select(ApiKey.id).where(column == owner.id)).first() is None:
            _, keys[kind] = create_api_key(**{kind: owner})

    made: list[DemoParcel] = []
    for i, status in enumerate(ParcelStatus):
        number = demo_tracking_number(i)
        parcel = _seeded(merchant, number)
        if parcel is None:
            parcel = create_parcel(
                merchant,
                ParcelData(
                    carrier=CARRIER,
                    tracking_number=number,
                    order_ref=f"NO-{10400 + i}",
                    currency="SEK",
                    weight_grams=1200 + 150 * i,
                    recipient=RecipientData(
                        name="Alva Lindqvist",
                        address_line=f"Surbrunnsgatan {10 + i}",
                        postcode="113 48",
                        city="Stockholm",
                        country="SE",
                        phone="+46701234567",
                        email="alva@example.com",
                        language="sv" if i % 3 == 0 else "en",
                    ),
                    items=[
                        ItemData("TENT-2P", "Trail tent, 2 person", 1, Decimal("2499.00")),
                        ItemData("SOCK-WL", "Wool hiking socks", 2, Decimal("149.00")),
                    ],
                ),
            )
            _scan(carrier, parcel, PATHS[status], DESCRIPTIONS, now)
        made.append(
            DemoParcel(status, parcel.tracking_number, _fresh_link(parcel, now), parcel.postcode)
        )
        if status is S.DELIVERED:
            _ensure_console_work(parcel, now)
    for n, who in enumerate(NORDIC):
        for k, status in enumerate(NORDIC_STATUSES):
            parcel = _nordic_parcel(merchant, carrier, who, 50 + 2 * n + k, status, now)
            made.append(
                DemoParcel(
                    status,
                    parcel.tracking_number,
                    _fresh_link(parcel, now),
                    parcel.postcode,
                    who.city,
                    who.language,
                )
            )
    _seed_history(carrier.id, now)
    return made, keys


def _seeded(merchant, number: str) -> Parcel | None:
    """The demo parcel seeded before under this number. The demo merchant's own: numbers are
    unique per merchant, not across merchants. A demo database seeded before the DM series has
    it under its LM number: keep that one rather than add a second set."""
    return db.session.execute(
        select(Parcel)
        .where(
            Parcel.merchant_id == merchant.id,
            Parcel.tracking_number.in_((number, "LM" + number.removeprefix("DM"))),
        )
        .order_by(Parcel.id)
        .limit(1)
    ).scalar_one_or_none()


def _nordic_parcel(merchant, carrier, who: NordicRecipient, i: int, status, now) -> Parcel:
    number = demo_tracking_number(i, who.country)
    parcel = _seeded(merchant, number)
    if parcel is not None:
        return parcel
    parcel = create_parcel(
        merchant,
        ParcelData(
            carrier=CARRIER,
            tracking_number=number,
            order_ref=f"NO-{10400 + i}",
            currency=who.currency,
            weight_grams=900 + 100 * i % 700,
            recipient=RecipientData(
                name=who.name,
                address_line=who.address_line,
                postcode=who.postcode,
                city=who.city,
                country=who.country,
                phone=who.phone,
                email=who.email,
                language=who.language,
            ),
            items=[ItemData("JACKET-W", "Rain jacket", 1, Decimal("1299.00"))],
        ),
    )
    path = [
        (S.PENDING, 80, "Nordic Outdoor, Borås"),
        (S.PICKED_UP, 70, "Borås"),
        (S.IN_TRANSIT, 30, who.terminal),
    ]
    if status is S.DELIVERED:
        path += [(S.OUT_FOR_DELIVERY, 8, who.city), (S.DELIVERED, 4, who.city)]
    # No carrier window: their pages show a predicted delivery instead.
    _scan(carrier, parcel, path, LOCAL_DESCRIPTIONS[who.language], now, windows=False)
    return parcel


def _scan(
    carrier, parcel: Parcel, path, descriptions: dict, now: datetime, *, windows: bool = True
) -> None:
    """The carrier's scans along `path` ((status, hours before now, place) each), in the
    words of `descriptions`; with `windows`, scans on the way carry a delivery window where the
    parcel has a zone (a day later for a delay)."""
    events = []
    for n, (code, hours, place) in enumerate(path):
        eta = {}
        if windows and code in (S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELAYED) and parcel.zone:
            start, end = _working_window(parcel.zone, now, days_later=1 if code is S.DELAYED else 0)
            eta = {"eta_from": start, "eta_to": end}
        events.append(
            EventData(
                event_id=f"demo-{parcel.tracking_number}-{n}",
                tracking_number=parcel.tracking_number,
                code=code.value,
                occurred_at=now - timedelta(hours=hours),
                location=place,
                description=descriptions[code],
                **eta,
            )
        )
    accept_events(carrier, events, now=now)


def _fresh_link(parcel: Parcel, now: datetime) -> str:
    """A new signed link; the old ones are dropped so reruns don't pile rows up."""
    db.session.execute(delete(SignedLink).where(SignedLink.parcel_id == parcel.id))
    return issue_link(parcel, now=now)


# Generated delivery history for the demo carrier (not real data: portal/dev/bench.py says how
# it is made), so the tracking page shows a predicted delivery learned per route. The merchant
# ships from Haninge (area 13, its return address) and Borås (50), some from Göteborg (41, a
# zone: its routes also count towards a zone pair). Its carrier takes every parcel through its
# Jönköping hub (a day more than the distance alone), as the demo parcels' paths show.
DEMO_ORIGINS = [("13650", 0.6), ("50630", 0.25), ("41105", 0.15)]
DEMO_DESTINATIONS = {"Stockholm inner city": 0.6, "Göteborg": 0.25, "Helsinki": 0.15}
DEMO_HISTORY_DAYS = 120
DEMO_HISTORY_PER_DAY = 40


def _seed_history(carrier_id: int, now: datetime) -> None:
    """Replace the demo carrier's generated history (ending yesterday) and fit on it."""
    zones = db.session.execute(
        select(Zone).where(Zone.name.in_(DEMO_DESTINATIONS)).order_by(Zone.name)
    ).scalars()
    destinations = [(zone, DEMO_DESTINATIONS[zone.name]) for zone in zones]
    profile = CarrierProfile(CARRIER, 1.0, late=0.035, early=0.015, delayed=0.015, handling=1)
    rows = history_rows(
        [(carrier_id, profile)],
        DEMO_ORIGINS,
        destinations,
        days=DEMO_HISTORY_DAYS,
        per_day=DEMO_HISTORY_PER_DAY,
        today=now.astimezone(ZoneInfo("Europe/Stockholm")).date(),
    )
    write_history(rows, [carrier_id])
    fit_estimates()


def _ensure_console_work(parcel: Parcel, now: datetime) -> None:
    """Something for the console's queues: a complaint about the delivered demo parcel and an
    unread SMS reply from its recipient."""
    if db.session.execute(select(Complaint.id).where(Complaint.parcel_id == parcel.id)).first():
        return
    open_complaint(
        parcel,
        ComplaintRequest(
            type="damaged",
            description="The tent pole arrived bent and the box was crushed at one corner.",
            item_ids=[parcel.items[0].id],
            photos=[],
        ),
        now=now,
    )
    db.session.add(
        InboundMessage(
            provider_id=f"SMdemo{parcel.id:026d}",
            from_phone=parcel.recipient_phone,
            body="Hi, the box was damaged. Who do I talk to?",
            parcel_id=parcel.id,
            received_at=now,
        )
    )
