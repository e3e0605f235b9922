"""Request and response bodies of the JSON API; the OpenAPI document is generated from these."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from babel import Locale
from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from portal.contact import normalise_email, normalise_phone, valid_postcode
from portal.models import ParcelStatus

# ISO 3166-1 alpha-2 codes Babel knows ("001"-style regions and "ZZ" excluded).
COUNTRIES = frozenset(
    code for code in Locale("en").territories if len(code) == 2 and code.isalpha() and code != "ZZ"
)

Text = Annotated[str, Field(min_length=1)]
# The customer languages (Config.LANGUAGES): messages and pages in the recipient's own.
Language = Literal["en", "sv", "nb", "da", "fi"]


# Control characters (NUL above all, which PostgreSQL refuses in text) have no place in any
# field; tab, newline and carriage return are allowed in free text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("contains control characters")
        return value


def _timestamp_text(value: Any) -> Any:
    """Times come as ISO 8601 strings; a bare number would be read as seconds since 1970."""
    if value is not None and not isinstance(value, str):
        raise ValueError("give the time as an ISO 8601 string with a time zone")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]


def _in_cents(value: Decimal) -> Decimal:
    # As the database keeps money, NUMERIC(12, 2): a body sent with 10.5 is stored, and so
    # answered, as 10.50 (decimal_places=2 has refused anything finer already).
    return value.quantize(Decimal("0.01"))


Cents = AfterValidator(_in_cents)
Count = Annotated[int, Field(strict=True)]  # 1 and not "1" or true


class RecipientIn(In):
    name: Annotated[Text, Field(max_length=200)]
    address_line: Annotated[Text, Field(max_length=300)]
    # The country first: the postcode is checked and written by its country's rules.
    country: Annotated[
        str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, e.g. SE")
    ]
    postcode: Annotated[
        Text,
        Field(
            max_length=16,
            description="Checked and stored as the country's post writes it in SE (113 48), "
            "NO (0150), DK (2100) and FI (00100); elsewhere 2 to 10 letters and digits",
        ),
    ]
    city: Annotated[Text, Field(max_length=120)]
    phone: str | None = Field(
        None, description="E.164 (+46701234567), or national form in the recipient's country"
    )
    email: str | None = Field(None, max_length=254)
    language: Language = "en"

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        if v.upper() not in COUNTRIES:
            raise ValueError("not an ISO 3166-1 country code")
        return v.upper()

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, v):
        # "no" (and Nynorsk's "nn") as a shop's platform may send it: Bokmål, CLDR's "no".
        if isinstance(v, str):
            v = v.strip().replace("_", "-").split("-")[0].lower()
            return {"no": "nb", "nn": "nb"}.get(v, v)
        return v

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, v: str, info: ValidationInfo) -> str:
        return valid_postcode(v, info.data.get("country"))

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None, info: ValidationInfo) -> str | None:
        if not v:
            return None
        return normalise_phone(v, info.data.get("country"))

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalise_email(v) if v else None


class ItemIn(In):
    sku: Annotated[Text, Field(max_length=64)]
    name: Annotated[Text, Field(max_length=200)]
    quantity: Annotated[Count, Field(ge=1, le=10_000)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), Cents]
    returnable: Annotated[bool, Field(strict=True)] = Field(
        True, description="false for items the customer can never send back"
    )


ChoiceKind = Literal[
    "slot", "green_day", "pickup_point", "locker", "safe_place", "neighbour", "hold"
]


class DeliveryChoiceIn(In):
    """An option picked from GET /delivery-options, with what that kind of option needs."""

    type: ChoiceKind
    id: int | str | None = Field(
        None, description="The option's id: required for slot, pickup_point and locker"
    )
    place: Literal["porch", "garage", "back_door", "shed", "other"] | None = Field(
        None, description="safe_place: where to leave it"
    )
    note: str | None = Field(None, max_length=200, description="safe_place: note for the driver")
    neighbour_name: str | None = Field(None, max_length=100, description="neighbour")
    house_number: str | None = Field(None, max_length=40, description="neighbour")
    until: date | None = Field(None, description="hold: the day to deliver on")


class ParcelIn(In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "Baltic Express",
                    "order_ref": "1001",
                    "weight_grams": 1200,
                    "recipient": {
                        "name": "Alva Lindqvist",
                        "phone": "070-123 45 67",
                        "email": "alva@example.com",
                        "address_line": "Surbrunnsgatan 14",
                        "postcode": "113 48",
                        "city": "Stockholm",
                        "country": "SE",
                        "language": "sv",
                    },
                    "items": [
                        {
                            "sku": "TENT-2P",
                            "name": "Trail tent",
                            "quantity": 1,
                            "unit_price": "2499.00",
                        }
                    ],
                }
            ]
        }
    )
    carrier: str | None = Field(
        None,
        max_length=120,
        description="The carrier's name, as on its key; may be left out when the merchant "
        "ships with one carrier only",
    )
    recipient: RecipientIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=500)]
    weight_grams: Annotated[
        Count,
        Field(
            ge=0,
            le=1_000_000,
            validation_alias=AliasChoices("weight_grams", "weight"),
            description="Weight in grams; `weight` is accepted as an alias",
        ),
    ] = 0
    tracking_number: str | None = Field(
        None, description="S10; a fresh number is generated when absent"
    )
    order_ref: str | None = Field(None, max_length=64)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    origin_postcode: Annotated[str, Field(max_length=16)] | None = Field(
        None,
        description="Where the parcel leaves from, for its predicted delivery date; without "
        "it, the postcode of the merchant's return address",
    )
    delivery_choice: DeliveryChoiceIn | None = Field(
        None,
        description="An option from GET /delivery-options, checked by the same rules as on the "
        "parcel page; 409 `slot_full` when the slot filled up meanwhile, 409 "
        "`merchant_slot_share_full` when your bookings through the API already hold your share "
        "of the slot's places",
    )

    @field_validator("origin_postcode")
    @classmethod
    def _origin_postcode(cls, v: str | None) -> str | None:
        return None if v is None else valid_postcode(v)


class EventIn(In):
    event_id: Annotated[Text, Field(max_length=100, description="Unique per carrier")]
    tracking_number: Annotated[Text, Field(max_length=40)]
    code: ParcelStatus
    occurred_at: Timestamp
    location: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    eta_from: Timestamp | None = None
    eta_to: Timestamp | None = None
    merchant: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        description="The name of the merchant whose parcel it is (the sender, as Lastmile knows "
        "it). Needed only where more than one parcel you carry has the tracking number (two "
        "merchants may use one number): such an event without it is rejected as "
        "`ambiguous_tracking_number`. Given, only that merchant's parcel (or return) is "
        "matched; if it has none, the event is rejected as `unknown_parcel` with field "
        "`merchant`",
    )


class EventBatchIn(BaseModel):
    """A batch of up to 1000 events; each one is accepted or rejected on its own."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "BX-9912-1",
                            "tracking_number": "RR123456785SE",
                            "code": "in_transit",
                            "occurred_at": "2026-01-15T09:30:00+01:00",
                            "location": "Stockholm terminal",
                        }
                    ]
                }
            ]
        }
    )

    events: Annotated[list[EventIn], Field(min_length=1, max_length=1000)]


class RawEventBatch(BaseModel):
    """What is checked of the batch as a whole before each event is read on its own."""

    model_config = ConfigDict(extra="forbid")
    events: list[Any] = Field(min_length=1)


# --- responses ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None
    details: list[ErrorDetail] | None = Field(
        None, description="Every validation problem, when there were several"
    )


class ErrorOut(BaseModel):
    error: ErrorBody


class EtaOut(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime


class RecipientOut(BaseModel):
    name: str
    phone: str | None
    email: str | None
    address_line: str
    postcode: str
    city: str
    country: str
    language: str


class ItemOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    returnable: bool = True


class EventOut(BaseModel):
    event_id: str
    code: ParcelStatus
    occurred_at: datetime
    location: str | None
    description: str | None
    eta_from: datetime | None
    eta_to: datetime | None


class NotificationOut(BaseModel):
    trigger: str
    channel: Literal["sms", "email"]
    state: Literal["queued", "sent", "delivered", "failed", "suppressed"]
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None


class ChoiceOut(BaseModel):
    type: ChoiceKind
    label: str
    co2e_grams: int | None
    slot: dict[str, Any] | None = Field(None, description="id, date, start, end, zone")
    pickup_point: dict[str, Any] | None = Field(None, description="id, name, address")
    day: date | None = Field(None, description="green_day: the day; hold: the day to deliver")
    place: str | None = None
    note: str | None = None
    neighbour_name: str | None = None
    house_number: str | None = None
    made_by: str
    made_at: datetime
    superseded_at: datetime | None


class PredictedDeliveryOut(BaseModel):
    """When the parcel is expected, learned from comparable parcels (README: Predicted
    delivery dates). Dates are local to the recipient's zone."""

    earliest: dt.date
    latest: dt.date
    most_likely: dt.date
    confidence: float | None = Field(
        description="The share of comparable parcels that arrived between earliest and latest; "
        "null for the defaults, which no parcels back",
        ge=0,
        le=1,
    )
    basis: Literal["carrier", "route", "zone_pair", "carrier_default", "default"] = Field(
        description="Which parcels it was learned from: the same route (origin postcode area "
        "to destination zone) and carrier, the same zones, the carrier anywhere; or, with too "
        "few of those, the operator's default for the carrier, or the global default"
    )
    sample_size: int = Field(description="How many comparable parcels it was learned from")


class OptionOut(BaseModel):
    type: ChoiceKind
    id: int | str
    label: str
    co2e_grams: int
    greenest: bool
    green_default: bool = Field(
        description="Green by default: true on at most one option, the greenest of those that "
        "arrive no later than the earliest option (a slot or green day on its date; options "
        "with no fixed day on `predicted_delivery.most_likely`, left out without one; a hold "
        "never), and only when it is greener than a van home delivery. Pre-select it at "
        "checkout; when every greener option arrives later, no option has it"
    )
    available: bool
    date: dt.date | None = None
    start: datetime | None = None
    end: datetime | None = None
    capacity: int | None = None
    remaining: int | None = None
    share_remaining: int | None = Field(
        None,
        description="slot: places your bookings through the API may still take, your share of "
        "the capacity (set by Lastmile) less what they hold; 0: `available` is false for you",
    )
    vehicle: str | None = None
    zone: str | None = Field(None, description="slot: its zone's name")
    distance_m: int | None = None
    name: str | None = None
    address: str | None = None
    opening_hours: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    latest: dt.date | None = Field(None, description="hold: the last day it can be held until")
    predicted_delivery: PredictedDeliveryOut | None = Field(
        None,
        description="Options with no fixed day (pickup point, locker, safe place, neighbour, "
        "home delivery): when it is expected, if it ships on the next working day",
    )


class DeliveryOptionsOut(BaseModel):
    zone: str | None
    options: list[OptionOut]
    co2e_method: str = Field(description="Where the estimates are explained")


class ManifestStopOut(BaseModel):
    tracking_number: str
    status: ParcelStatus
    recipient_name: str
    phone: str | None
    address_line: str
    postcode: str
    city: str
    weight_grams: int
    window_start: datetime | None
    window_end: datetime | None
    choice: str | None = Field(description="The choice type, or null for a plain home delivery")
    vehicle: str | None
    pickup_point: str | None
    instructions: str | None


class ManifestOut(BaseModel):
    date: dt.date
    zone: str
    stops: list[ManifestStopOut]


class DeliveryEstimateIn(In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "Baltic Express",
                    "origin_postcode": "136 50",
                    "destination_postcode": "113 48",
                }
            ]
        }
    )
    carrier: Annotated[Text, Field(max_length=120, description="The carrier's name")]
    origin_postcode: Annotated[str, Field(max_length=16, description="Where it leaves from")]
    destination_postcode: Annotated[str, Field(max_length=16, description="Where it goes")]
    country: str | None = Field(
        None,
        pattern=r"^[A-Za-z]{2}$",
        description="The destination's country; needed only for a postcode two countries we "
        "serve share",
    )
    ship_date: dt.date | None = Field(
        None,
        description="When it will be handed to the carrier; the next working day when left "
        "out. From today to 90 days ahead",
    )

    @field_validator("origin_postcode", "destination_postcode")
    @classmethod
    def _postcodes(cls, v: str) -> str:
        return valid_postcode(v)


class DeliveryEstimateOut(PredictedDeliveryOut):
    zone: str | None = Field(description="The destination's zone, or null outside the network")


class ParcelOut(BaseModel):
    tracking_number: str
    tracking_url: str
    status: ParcelStatus
    merchant: str
    carrier: str
    order_ref: str | None
    eta: EtaOut | None
    predicted_delivery: PredictedDeliveryOut | None = Field(
        None,
        description="Until the journey ends: the predicted delivery day and range, updated "
        "at every scan (the carrier's window, `eta`, is firmer once there is one)",
    )
    recipient: RecipientOut
    items: list[ItemOut]
    weight_grams: int
    currency: str
    zone: str | None
    events: list[EventOut] = Field(description="Ordered by occurred_at, oldest first")
    choice: ChoiceOut | None = Field(None, description="The current delivery choice")
    choices: list[ChoiceOut] = Field(
        [], description="Every delivery choice made, oldest first (merchant keys only)"
    )
    returns: list[ReturnOut] = []
    complaints: list[dict[str, Any]] = []
    notifications: list[NotificationOut] | None = Field(
        None, description="What the recipient was told (merchant keys only; no bodies)"
    )
    created_at: datetime
    updated_at: datetime


class EventResultOut(BaseModel):
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    error: ErrorBody | None = None


class EventBatchOut(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[EventResultOut]


class WebhookIn(In):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://shop.example.com/hooks/lastmile"}]}
    )
    url: Annotated[str, Field(min_length=8, max_length=500, description="https:// endpoint")]


class WebhookOut(BaseModel):
    id: int
    url: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown only in this answer")


class WebhookListOut(BaseModel):
    webhooks: list[WebhookOut]


ReturnReasonKind = Literal[
    "too_small", "too_large", "damaged", "not_as_described", "wrong_item", "changed_mind", "other"
]


class ReturnItemIn(In):
    sku: Annotated[Text, Field(max_length=64)]
    quantity: Annotated[Count, Field(ge=1, le=10_000)]
    reason: ReturnReasonKind
    reason_text: str | None = Field(None, max_length=500, description="required for `other`")


class ReturnIn(In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tracking_number": "RR123456785SE",
                    "method": "dropoff",
                    "items": [{"sku": "TENT-2P", "quantity": 1, "reason": "damaged"}],
                }
            ]
        }
    )
    tracking_number: Annotated[Text, Field(max_length=40, description="a delivered parcel")]
    items: Annotated[list[ReturnItemIn], Field(min_length=1, max_length=200)]
    method: Literal["dropoff", "locker", "home_pickup"]
    slot_id: int | None = Field(None, description="home_pickup: a slot id from delivery-options")


class RefundIn(In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": "2499.00"}]})
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2), Cents]


class ReturnItemOut(BaseModel):
    sku: str
    name: str
    tracking_number: str = Field(description="the parcel the item came in")
    quantity: int
    reason: ReturnReasonKind
    reason_text: str | None = None


class ReturnOut(BaseModel):
    rma: str
    return_tracking_number: str
    tracking_number: str = Field(description="the parcel the return was started from")
    order_ref: str | None
    status: Literal[
        "requested",
        "approved",
        "rejected",
        "dropped_off",
        "in_transit",
        "received",
        "refunded",
        "closed",
    ]
    method: Literal["dropoff", "locker", "home_pickup"]
    created_by: Literal["recipient", "merchant", "agent"]
    label_url: str | None = Field(description="PNG label; null until approved")
    label_svg_url: str | None
    return_url: str = Field(description="the customer's page (needs their verification)")
    currency: str
    fee: Decimal | None
    refund_amount: Decimal | None
    items: list[ReturnItemOut]
    dropped_off_at: datetime | None
    dropped_off_place: str | None
    received_at: datetime | None
    refunded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReturnListOut(BaseModel):
    returns: list[ReturnOut]
    next_since: datetime | None = Field(
        description="pass as since= to fetch the next page; null when this was the last"
    )


# --- the delivery network (zones, carriers' pickup points) ----------------------------------

PointKind = Literal["pickup_point", "locker"]
WeekdayCode = Literal["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]


class PrefixOut(BaseModel):
    prefix: str = Field(description="Normalised: upper case, no spaces or dashes")
    latitude: float | None = Field(description="The area's centre (WGS 84); null: unknown")
    longitude: float | None


class ClosedDayOut(BaseModel):
    date: dt.date
    reason: str


class ZoneOut(BaseModel):
    id: int = Field(description="Also accepted as GET /manifest's `zone`")
    name: str
    country: str
    time_zone: str = Field(description="IANA name, e.g. Europe/Stockholm")
    green_weekday: WeekdayCode | None = Field(description="The green day's weekday; null: none")
    cutoff: str = Field(
        pattern=r"^\d{2}:\d{2}$",
        description="Changes for a day close at this local time the day before (HH:MM)",
    )
    prefixes: list[PrefixOut]
    closed_days: list[ClosedDayOut] = Field(
        description="Days an operator closed the zone, from today (local) on, soonest first"
    )


class ZonesOut(BaseModel):
    zones: list[ZoneOut]


class PickupPointIn(BaseModel):
    """One point, with pickup_points.csv's columns. The same checks as a network file: `field`
    names the first bad one and `details` lists them all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Pressbyrån Odenplan",
                    "type": "pickup_point",
                    "address_line": "Odenplan 1",
                    "postcode": "113 22",
                    "city": "Stockholm",
                    "country": "SE",
                    "latitude": 59.3429,
                    "longitude": 18.0496,
                    "opening_hours": "Mo-Fr 07:00-21:00; Sa,Su 09:00-18:00; PH off",
                }
            ]
        },
    )
    name: Annotated[str, Field(min_length=1, max_length=120)]
    type: PointKind
    address_line: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Annotated[str, Field(min_length=2, max_length=16)]
    city: Annotated[str, Field(min_length=1, max_length=120)]
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    opening_hours: Annotated[
        str,
        Field(
            min_length=1,
            max_length=300,
            description="OpenStreetMap opening_hours syntax, e.g. `Mo-Fr 08:00-20:00; PH off`",
        ),
    ]
    capacity: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Lockers: compartments (at least 1, never below those booked); "
        "pickup points: leave out",
    )
    external_id: str | None = Field(None, description="If given, the URL's")
    carrier: str | None = Field(None, description="If given, your key's carrier")


class PickupPointOut(BaseModel):
    external_id: str
    carrier: str
    name: str
    type: PointKind
    address_line: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    opening_hours: str
    capacity: int | None = Field(description="Lockers: compartments; null for pickup points")
    zone: str | None = Field(description="The zone its postcode is in; null: none of ours")
    closed_from: dt.date | None = Field(description="Closed from this local day (null: open)")
    closed_until: dt.date | None = Field(description="…to this day inclusive; null: for good")
    closed_reason: str | None
    result: Literal["created", "updated", "unchanged"]
    reopened: bool = Field(description="It had been closed with DELETE and is open again")


class PickupPointClosedOut(BaseModel):
    external_id: str
    closed_from: dt.date = Field(description="Closed for good from this local day")
    already_closed: bool = Field(description="It was closed before this call")
    affected_parcels: int = Field(
        description="Parcels whose booking on the point was withdrawn (each recipient told)"
    )


class ImportIn(BaseModel):
    """A GeoJSON FeatureCollection of Point features ([longitude, latitude]) whose properties
    are pickup_points.csv's columns less latitude and longitude; `carrier` may be left out."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": [18.0496, 59.3429]},
                            "properties": {
                                "external_id": "SE-1001",
                                "name": "Pressbyrån Odenplan",
                                "type": "pickup_point",
                                "address_line": "Odenplan 1",
                                "postcode": "113 22",
                                "city": "Stockholm",
                                "country": "SE",
                                "opening_hours": "Mo-Fr 07:00-21:00; PH off",
                            },
                        }
                    ],
                }
            ]
        }
    )
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(description="Point features, numbered from 1")


class ImportOut(BaseModel):
    dry_run: bool = Field(description="true: counted only, nothing was written")
    created: int
    updated: int
    unchanged: int
    closed: int = Field(description="Your points left out of the collection (close_missing)")
    affected_parcels: int = Field(
        description="Parcels whose booking on a closed point was (or would be) withdrawn"
    )


class FeatureErrorOut(BaseModel):
    feature: int = Field(description="The feature's number from 1; 0: the document itself")
    field: str
    message: str


class ImportErrorOut(BaseModel):
    error: ErrorBody
    errors: list[FeatureErrorOut] = Field(
        [],
        description="Every bad feature (nothing was written); absent when the fault is not in "
        "the features (a query parameter, a reused Idempotency-Key)",
    )


class CentreOut(BaseModel):
    latitude: float
    longitude: float


class NearbyPointOut(BaseModel):
    id: int = Field(description="Pass as `delivery_choice.id` (type pickup_point or locker)")
    external_id: str | None = Field(description="The carrier's id; null for our own points")
    carrier: str | None
    name: str
    type: PointKind
    address_line: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    distance_m: int = Field(description="Straight-line distance from the postcode's centre")
    opening_hours: str = Field(description="OpenStreetMap opening_hours syntax")
    open_now: bool | None = Field(description="null when the hours can't be read")
    next_opening: datetime | None = Field(
        description="While closed: when it opens next (local time with offset); null when open "
        "or not within 30 days"
    )
    closes_at: datetime | None = Field(
        description="While open: when it closes; null when closed or open round the clock"
    )
    capacity: int | None = Field(description="Lockers: compartments; null for pickup points")
    free: int | None = Field(description="Lockers: compartments not booked")


class NearbyOut(BaseModel):
    postcode: str
    country: str
    zone: str | None
    centre: CentreOut = Field(description="Where distances are measured from")
    pickup_points: list[NearbyPointOut] = Field(description="Open points, nearest first")


ParcelOut.model_rebuild()
