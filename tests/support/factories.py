"""Small builders that make one row with sensible defaults, so a test says only what matters.

Each commits: the pages under test run in their own request and must see the row.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal import s10
from portal.extensions import db
from portal.models import (
    Account,
    Carrier,
    ChoiceType,
    Merchant,
    Parcel,
    ParcelStatus,
    PickupPoint,
    ReturnPolicy,
    Role,
    SlotTemplate,
    Vehicle,
    Zone,
)
from portal.models.types import utcnow
from portal.services.accounts import create_account
from portal.services.api_keys import create_api_key
from portal.services.delivery import ChoiceRequest, choose, generate_slots
from portal.services.events import EventData, accept_events
from portal.services.links import issue_link
from portal.services.parcels import ItemData, ParcelData, RecipientData, create_parcel
from portal.services.zones import ensure_zone

_seq = itertools.count(1)


def unique_tracking_number() -> str:
    serial = f"{next(_seq) + 10_000_000:08d}"
    return f"RR{serial}{s10.check_digit(serial)}SE"


def make_merchant(name: str | None = None, *, api_slot_share: int | None = None) -> Merchant:
    merchant = Merchant(name=name or f"Shop {next(_seq)}")
    if api_slot_share is not None:  # else the column's default (50 %)
        merchant.api_slot_share = api_slot_share
    db.session.add(merchant)
    db.session.commit()
    return merchant


def make_carrier(name: str | None = None) -> Carrier:
    carrier = Carrier(name=name or f"Carrier {next(_seq)}")
    db.session.add(carrier)
    db.session.commit()
    return carrier


def make_api_key(*, merchant: Merchant | None = None, carrier: Carrier | None = None) -> str:
    _, plaintext = create_api_key(merchant=merchant, carrier=carrier)
    db.session.commit()
    return plaintext


def make_zone(
    name: str = "Stockholm",
    country: str = "SE",
    tz: str = "Europe/Stockholm",
    prefixes: tuple[str, ...] = ("11",),
):
    zone = ensure_zone(name, country, tz, list(prefixes))
    db.session.commit()
    return zone


def make_squatter(number: str, merchant: Merchant, carrier: Carrier) -> Parcel:
    """A parcel of `merchant` in Göteborg under `number`, written straight to the table as
    one created before the portal reserved its own series could be (the API refuses it now)."""
    squatter = Parcel(
        tracking_number=number,
        merchant=merchant,
        carrier=carrier,
        recipient_name="Squatter",
        address_line="Elsewhere 1",
        postcode="411 01",
        city="Göteborg",
        country="SE",
    )
    db.session.add(squatter)
    db.session.commit()
    return squatter


def make_parcel(
    *,
    merchant: Merchant | None = None,
    carrier: Carrier | None = None,
    tracking_number: str | None = None,
    postcode: str = "113 48",
    city: str = "Stockholm",
    name: str = "Alva Lindqvist",
    email: str = "alva@example.com",
    phone: str | None = "+46701234567",
    language: str = "en",
    items: list[ItemData] | None = None,
    statuses: list[ParcelStatus] = (),
    start: datetime | None = None,
    eta: tuple[datetime, datetime] | None = None,
    order_ref: str | None = None,
) -> Parcel:
    """A parcel that went through `statuses`, one event an hour from `start`."""
    carrier = carrier or db.session.execute(select(Carrier)).scalars().first() or make_carrier()
    parcel = create_parcel(
        merchant or make_merchant(),
        ParcelData(
            carrier=carrier.name,
            tracking_number=tracking_number or unique_tracking_number(),
            recipient=RecipientData(
                name=name,
                address_line="Surbrunnsgatan 14",
                postcode=postcode,
                city=city,
                country="SE",
                phone=phone,
                email=email,
                language=language,
            ),
            items=items or [ItemData("TENT-2P", "Trail tent", 1, Decimal("2499.00"))],
            weight_grams=1500,
            order_ref=order_ref,
        ),
    )
    start = start or utcnow() - timedelta(hours=len(statuses) + 1)
    events = [
        EventData(
            event_id=f"{parcel.tracking_number}-{n}",
            tracking_number=parcel.tracking_number,
            code=status.value,
            occurred_at=start + timedelta(hours=n),
            location="Stockholm terminal",
            description=f"step {n}",
            eta_from=eta[0] if eta and n == len(statuses) - 1 else None,
            eta_to=eta[1] if eta and n == len(statuses) - 1 else None,
        )
        for n, status in enumerate(statuses)
    ]
    if events:
        accept_events(carrier, events)
    db.session.commit()
    return parcel


def make_link(parcel: Parcel, **kwargs) -> str:
    token = issue_link(parcel, **kwargs)
    db.session.commit()
    return token


def add_events(parcel: Parcel, *events: tuple[str, str, datetime]) -> None:
    """Carrier events `(event_id, code, occurred_at)` for the parcel, committed."""
    accept_events(
        parcel.carrier,
        [
            EventData(event_id=e, tracking_number=parcel.tracking_number, code=c, occurred_at=at)
            for e, c, at in events
        ],
    )
    db.session.commit()


def event_json(parcel: Parcel, event_id: str, code: str, at: datetime | None = None, **extra):
    """One event as a carrier posts it to /api/v1/events."""
    return {
        "event_id": event_id,
        "tracking_number": parcel.tracking_number,
        "code": code,
        "occurred_at": (at or utcnow()).isoformat(),
        "location": "Stockholm terminal",
        **extra,
    }


# Thursday 26 November 2026, 10:00 in Stockholm: delivery tests run at this moment.
DELIVERY_NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
VASASTAN = (59.3430, 18.0530)  # the centre of postcode area 113


def make_delivery_zone(
    *, today: date = date(2026, 11, 26), green_weekday: int | None = 1, locker_capacity: int = 1
) -> Zone:
    """Stockholm 113 with weekday slots (09-11 van, capacity 3; 11-13 cargo bike, capacity 2),
    Tuesday as green day, two pickup points and a locker, and slots from `today` for 14 days."""
    zone = ensure_zone(
        "Stockholm",
        "SE",
        "Europe/Stockholm",
        ["113"],
        centres={"113": VASASTAN},
        green_weekday=green_weekday,
    )
    for weekday in range(5):
        for start, capacity, vehicle in ((9, 3, Vehicle.VAN), (11, 2, Vehicle.CARGO_BIKE)):
            db.session.add(
                SlotTemplate(
                    zone=zone,
                    weekday=weekday,
                    start_time=time(start),
                    end_time=time(start + 2),
                    capacity=capacity,
                    vehicle=vehicle,
                )
            )
    for name, locker, lat, lon, capacity in (
        ("Far Kiosk", False, 59.3600, 18.0530, 0),  # about 1.9 km north
        ("Near Shop", False, 59.3440, 18.0530, 0),  # about 110 m
        ("Box Locker", True, 59.3450, 18.0530, locker_capacity),  # about 220 m
    ):
        db.session.add(
            PickupPoint(
                zone_id=zone.id,
                name=name,
                is_locker=locker,
                address_line=f"{name} street 1",
                postcode="113 50",
                city="Stockholm",
                latitude=lat,
                longitude=lon,
                opening_hours="Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off",
                locker_capacity=capacity,
            )
        )
    db.session.flush()
    generate_slots(14, today=today)
    db.session.commit()
    return zone


def safe_place_merchant(limit: str | None = "5000") -> Merchant:
    merchant = make_merchant()
    merchant.safe_place_max_value = Decimal(limit) if limit is not None else None
    db.session.commit()
    return merchant


# --- returns ---------------------------------------------------------------------------------

DELIVERED = [ParcelStatus.PICKED_UP, ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERED]


def shirt_and_socks() -> list[ItemData]:
    return [
        ItemData("SHIRT-M", "Linen shirt", 2, Decimal("599.00")),
        ItemData("SOCKS-3", "Wool socks", 3, Decimal("149.00")),
        ItemData("GIFT-CARD", "Gift card", 1, Decimal("500.00"), returnable=False),
    ]


def make_order(
    merchant: Merchant | None = None, *, order_ref: str = "ORD-1001", delivered_at=None, **kw
) -> tuple[Parcel, Parcel]:
    """An order in two delivered parcels: shirts, socks and a gift card, then a tent."""
    merchant = merchant or make_merchant()
    first = make_parcel(
        merchant=merchant,
        order_ref=order_ref,
        items=shirt_and_socks(),
        statuses=DELIVERED,
        start=delivered_at,
        **kw,
    )
    second = make_parcel(
        merchant=merchant, order_ref=order_ref, statuses=DELIVERED, start=delivered_at, **kw
    )
    return first, second


def set_return_policy(merchant: Merchant, **values) -> ReturnPolicy:
    policy = ReturnPolicy(merchant=merchant, **values)
    db.session.add(policy)
    db.session.commit()
    return policy


STAFF_PASSWORD = "correct horse battery"


def make_dropoff_account(
    email: str = "kiosk@example.com", password: str = STAFF_PASSWORD, **kw
) -> Account:
    account = create_account(
        email,
        name="Kiosk staff",
        role=Role.DROPOFF,
        password=password,
        place=kw.get("place", "Pressbyrån Odenplan"),
    )
    db.session.commit()
    return account


# --- complaints ------------------------------------------------------------------------------


def make_agent(
    email: str = "agent@example.com",
    *,
    role: Role = Role.AGENT,
    password: str = STAFF_PASSWORD,
    totp: bool | None = None,
) -> Account:
    """An agent or supervisor. Supervisors have two-step log-in (they must) unless `totp=False`;
    agents only with `totp=True`. `tests.support.staff.login` passes the code step."""
    import pyotp

    account = create_account(email, name="Agent Aino", role=role, password=password)
    if totp if totp is not None else account.role is Role.SUPERVISOR:
        account.totp_secret = pyotp.random_base32()
    db.session.commit()
    return account


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), **save) -> bytes:
    """A small real image: a coloured gradient, so re-encoding has something to keep."""
    import io

    from PIL import Image

    mode = "RGBA" if fmt in ("PNG", "WEBP") and save.pop("alpha", False) else "RGB"
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def make_complaint(parcel: Parcel, *, type: str = "damaged", status=None, **kw):
    """A filed complaint (no photos unless given as `photos=[Upload, …]`), optionally moved on
    to `status` by the system, committed."""
    from portal.services import complaints

    item_ids = [i.id for i in parcel.items] if type in ("damaged", "missing_item") else []
    request = complaints.ComplaintRequest(
        type=type,
        description=kw.pop("description", "The box was crushed and the tent pole is bent."),
        item_ids=kw.pop("item_ids", item_ids),
        photos=kw.pop("photos", []),
    )
    complaint = complaints.open_complaint(parcel, request, **kw)
    if status is not None:
        message = "Please send a photo of the label." if status == "awaiting_customer" else None
        complaints.change_status(complaint, status, message=message)
    db.session.commit()
    return complaint


# --- the delivery network: holidays, closed days, closures, opening hours -------------------
# Imports stay inside these helpers: others append to this file at the same time, and the
# import block at the top is where their edits and ours would collide.


def pickup_point(name: str) -> PickupPoint:
    """One of make_delivery_zone's points ("Near Shop", "Box Locker", "Far Kiosk")."""
    return db.session.execute(select(PickupPoint).where(PickupPoint.name == name)).scalar_one()


def slots_on(day: date) -> list:
    """The slots of `day` in time order (make_delivery_zone: 09-11 van, then 11-13 bike)."""
    from portal.models import Slot

    return list(
        db.session.execute(select(Slot).where(Slot.day == day).order_by(Slot.starts_at)).scalars()
    )


def close_zone_on(zone: Zone, day: date, reason: str = ""):
    """An operator's closed day written as a network import does (no booking withdrawn)."""
    from portal.models import ClosedDay

    row = ClosedDay(zone_id=zone.id, day=day, reason=reason)
    db.session.add(row)
    db.session.commit()
    return row


def page_text(html: str) -> str:
    """What a reader sees of a page: tags gone, entities decoded, whitespace collapsed."""
    import re
    from html import unescape

    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def open_as_recipient(client, parcel: Parcel):
    """The recipient's browser, opened from the signed link in an SMS (verified)."""
    client.get("/l/" + make_link(parcel))
    return client


def post_delivery_choice(client, parcel: Parcel, data: dict, **kwargs):
    """Post one form of `/t/<tn>/delivery` as the page renders it (with its CSRF token)."""
    import re

    url = f"/t/{parcel.tracking_number}/delivery"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def parcel_going_to_a_pickup_point(**kw):
    """A parcel with a shirt and socks, in transit since five hours before DELIVERY_NOW, in a
    delivery zone, whose recipient chose the pickup point "Near Shop" at DELIVERY_NOW."""
    make_delivery_zone()
    parcel = make_parcel(
        items=shirt_and_socks(),
        statuses=[ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT],
        start=DELIVERY_NOW - timedelta(hours=5),
        **kw,
    )
    near = pickup_point("Near Shop")
    choose(
        parcel,
        ChoiceRequest(ChoiceType.PICKUP_POINT, pickup_point_id=near.id),
        now=DELIVERY_NOW,
    )
    db.session.commit()
    return parcel
