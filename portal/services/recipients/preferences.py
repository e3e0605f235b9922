"""Standing preferences at work (issue 19): a new parcel addressed to a recipient with a
profile (matched by E.164 phone or normalised e-mail) takes their channels and language, and
their delivery preference becomes its delivery choice (`made_by: "preference"`) when it is
valid for that parcel: the same rules as the recipient choosing it on the parcel page (the
merchant's safe-place allowance, the locker's room, the point serving the zone, the change
window…). When it isn't, the parcel keeps the carrier's plan and `preference_note` says which
preference could not be used and why. A choice the merchant passes at checkout wins: the
caller doesn't ask then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.localtime import format_day
from portal.models import ChoiceType, Parcel, PickupPoint, Recipient, RecipientAddress
from portal.services.delivery import SAFE_PLACES, ChoiceRequest, choose, next_green_day
from portal.services.delivery_options import expected_day
from portal.services.edd import calendar_for
from portal.services.errors import DomainError
from portal.services.network.nearest import near_postcode
from portal.services.recipients.parcels import parcels_of

MADE_BY_PREFERENCE = "preference"
# Quiet hours run overnight: from an evening hour to a morning one (local time).
QUIET_STARTS = range(18, 24)
QUIET_ENDS = range(5, 12)
PREFERENCES = ("none", "pickup_point", "safe_place", "green_day", "neighbour")
PREFERENCE_TEXT = {
    "pickup_point": _l("Your usual pickup point"),
    "safe_place": _l("Your usual safe place"),
    "green_day": _l("Your green day"),
    "neighbour": _l("Your neighbour"),
}


# A refusal in the words of a standing preference, not of someone choosing on the page.
_WHY = {
    "pickup_point_not_found": _l("that pickup point doesn't serve this address."),
    "postcode_not_served": _l("we don't deliver to this postcode ourselves."),
}


def recipient_of(parcel: Parcel) -> Recipient | None:
    """The profile the parcel's phone or e-mail address belongs to, if any."""
    proofs = []
    if parcel.recipient_phone:
        proofs.append(
            (RecipientAddress.kind == "phone") & (RecipientAddress.value == parcel.recipient_phone)
        )
    if parcel.recipient_email:
        proofs.append(
            (RecipientAddress.kind == "email")
            & (RecipientAddress.value == func.lower(parcel.recipient_email))
        )
    if not proofs:
        return None
    return db.session.execute(
        select(Recipient)
        .join(RecipientAddress, RecipientAddress.recipient_id == Recipient.id)
        .where(or_(*proofs))
        .order_by(Recipient.id)
        .limit(1)
    ).scalar_one_or_none()


def apply_preferences(parcel: Parcel, *, now: datetime, delivery: bool = True) -> None:
    """Give a parcel just made its recipient's standing preferences (the caller commits).
    `delivery` False: the merchant chose at checkout, so only channels and language apply."""
    recipient = recipient_of(parcel)
    if recipient is None:
        return
    # A channel the parcel has no address for can't carry anything: the other one stays on,
    # so a recipient who chose e-mail still hears about a parcel sent with a phone number only.
    parcel.notify_sms = recipient.notify_sms or not parcel.recipient_email
    parcel.notify_email = recipient.notify_email or not parcel.recipient_phone
    if recipient.language:
        parcel.language = recipient.language
    parcel.quiet_start, parcel.quiet_end = recipient.quiet_start, recipient.quiet_end
    if not delivery or recipient.delivery_preference == "none":
        return
    try:
        request = _request(recipient, parcel, now)
        # A savepoint: a refusal drawn half-way (a locker that filled up) leaves nothing behind.
        with db.session.begin_nested():
            choose(parcel, request, now=now, made_by=MADE_BY_PREFERENCE, confirm=False)
    except DomainError as exc:
        label = PREFERENCE_TEXT.get(recipient.delivery_preference, "")
        why = _WHY.get(exc.code)
        parcel.preference_note = f"{label}: {why if why is not None else exc.message}"[:300]


def _request(recipient: Recipient, parcel: Parcel, now: datetime) -> ChoiceRequest:
    kind = recipient.delivery_preference
    if kind == "pickup_point":
        if recipient.preferred_point_id is None:
            raise DomainError(str(_l("the pickup point you chose no longer exists.")))
        point_type = ChoiceType.PICKUP_POINT  # choose() makes it a locker when it is one
        return ChoiceRequest(point_type, pickup_point_id=recipient.preferred_point_id)
    if kind == "safe_place":
        return ChoiceRequest(
            ChoiceType.SAFE_PLACE, place=recipient.safe_place, note=recipient.safe_place_note
        )
    if kind == "neighbour":
        return ChoiceRequest(
            ChoiceType.NEIGHBOUR,
            neighbour_name=recipient.neighbour_name,
            neighbour_house=recipient.neighbour_house,
        )
    if kind == "green_day":
        return _green_day(parcel, now)
    raise DomainError(str(_l("this preference is not known.")))


def _green_day(parcel: Parcel, now: datetime) -> ChoiceRequest:
    """The green day, when it comes at most one working day after the parcel would anyway."""
    if parcel.zone is None:
        raise DomainError(str(_l("we don't deliver to this postcode ourselves.")))
    green = next_green_day(parcel.zone, now)
    if green is None:
        raise DomainError(str(_l("there is no green day in this area.")))
    earliest = expected_day(parcel, now)
    if earliest is not None:
        calendar = calendar_for(parcel.country, parcel.zone_id)
        if green > calendar.add(earliest, 1):
            raise DomainError(
                str(
                    _l(
                        "the green day (%(green)s) is more than a day later than it would "
                        "come otherwise (%(day)s).",
                        green=format_day(green),
                        day=format_day(earliest),
                    )
                )
            )
    return ChoiceRequest(ChoiceType.GREEN_DAY, day=green)


def points_near_me(recipient: Recipient, now: datetime, limit: int = 5) -> list[PickupPoint]:
    """The pickup points and lockers nearest where the recipient's latest parcel went (the
    preference is kept only where it serves: apply_preferences checks it per parcel)."""
    latest = next((p for p in parcels_of(recipient, now) if p.postcode and p.country), None)
    if latest is None:
        return []
    try:
        found = near_postcode(latest.country, latest.postcode, limit=limit, now=now)
    except DomainError:
        return []
    points = [n.point for n in found.points]
    chosen = recipient.preferred_point_id
    if chosen is not None and chosen not in {p.id for p in points}:
        kept = db.session.get(PickupPoint, chosen)
        if kept is not None:
            points.append(kept)  # the one chosen earlier stays on offer, wherever it is
    return points


def save_preferences(
    recipient: Recipient,
    *,
    delivery: str,
    pickup_point_id: int | None,
    offered: set[int],
    safe_place: str | None,
    safe_place_note: str | None,
    neighbour_name: str | None,
    neighbour_house: str | None,
    notify_sms: bool,
    notify_email: bool,
    language: str | None,
    languages: tuple[str, ...],
    quiet_start: int | None = None,
    quiet_end: int | None = None,
) -> None:
    """Check and keep the recipient's standing preferences; DomainError names the field."""
    if delivery not in PREFERENCES:
        raise DomainError(str(_l("Choose how your parcels arrive.")), field="delivery")
    if delivery == "pickup_point" and pickup_point_id not in offered:
        raise DomainError(str(_l("Choose one of the pickup points shown.")), field="pickup_point")
    note = (safe_place_note or "").strip() or None
    if delivery == "safe_place":
        if safe_place not in SAFE_PLACES:
            raise DomainError(str(_l("Choose where we should leave it.")), field="safe_place")
        if safe_place == "other" and not note:
            raise DomainError(
                str(_l("Tell the driver where to leave it.")), field="safe_place_note"
            )
    name, house = (neighbour_name or "").strip(), (neighbour_house or "").strip()
    if delivery == "neighbour":
        if not name:
            raise DomainError(str(_l("Enter your neighbour's name.")), field="neighbour_name")
        if not house:
            raise DomainError(
                str(_l("Enter your neighbour's house or flat number.")), field="neighbour_house"
            )
    if not (notify_sms or notify_email):
        raise DomainError(str(_l("Choose SMS, e-mail or both.")), field="notify_sms")
    if language and language not in languages:
        raise DomainError(str(_l("Choose one of the languages shown.")), field="language")
    if (quiet_start is None) != (quiet_end is None):
        raise DomainError(
            str(_l("Choose when quiet hours start and when they end, or neither.")),
            field="quiet_start",
        )
    if quiet_start is not None and not (quiet_start in QUIET_STARTS and quiet_end in QUIET_ENDS):
        raise DomainError(str(_l("Choose one of the hours shown.")), field="quiet_start")
    recipient.delivery_preference = delivery
    recipient.preferred_point_id = pickup_point_id if delivery == "pickup_point" else None
    recipient.safe_place = safe_place if delivery == "safe_place" else None
    recipient.safe_place_note = note if delivery == "safe_place" else None
    recipient.neighbour_name = name or None if delivery == "neighbour" else None
    recipient.neighbour_house = house or None if delivery == "neighbour" else None
    recipient.notify_sms, recipient.notify_email = notify_sms, notify_email
    recipient.language = language or None
    recipient.quiet_start, recipient.quiet_end = quiet_start, quiet_end
