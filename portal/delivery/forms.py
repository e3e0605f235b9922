"""One small form per kind of choice; each posts to `/t/<tn>/delivery` on its own."""

from __future__ import annotations

from datetime import date

from wtforms import HiddenField, RadioField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms import ABOVE, Form
from portal.i18n import lazy_gettext as _l
from portal.models import ChoiceType
from portal.services.delivery import SAFE_PLACE_TEXT, SAFE_PLACES, ChoiceRequest
from portal.services.errors import DomainError


def _int(value: str | None, message: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValidationError(message) from None


class ChoiceForm(Form):
    kind: ChoiceType
    choice = HiddenField()

    def request(self) -> ChoiceRequest:
        raise NotImplementedError


class SlotForm(ChoiceForm):
    kind = ChoiceType.SLOT
    slot = StringField(_l("Delivery time"), validators=[InputRequired(_l("Choose a time."))])

    def validate_slot(self, field):
        _int(field.data, _l("Choose one of the times shown."))

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(self.kind, slot_id=int(self.slot.data))


class GreenDayForm(ChoiceForm):
    kind = ChoiceType.GREEN_DAY
    day = HiddenField()

    def request(self) -> ChoiceRequest:
        try:
            day = date.fromisoformat(self.day.data) if self.day.data else None
        except ValueError:
            day = None
        return ChoiceRequest(self.kind, day=day)


class PickupForm(ChoiceForm):
    kind = ChoiceType.PICKUP_POINT
    pickup_point = StringField(
        _l("Pickup point"), validators=[InputRequired(_l("Choose a pickup point."))]
    )

    def validate_pickup_point(self, field):
        _int(field.data, _l("Choose one of the pickup points shown."))

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(self.kind, pickup_point_id=int(self.pickup_point.data))


class SafePlaceForm(ChoiceForm):
    kind = ChoiceType.SAFE_PLACE
    place = RadioField(
        _l("Where should we leave it?"),
        choices=[SelectChoice(p, SAFE_PLACE_TEXT[p]) for p in SAFE_PLACES],
        validators=[InputRequired(_l("Choose where we should leave it."))],
    )
    note = StringField(
        _l("Note for the driver (optional)"),
        validators=[Optional(), Length(max=200, message=_l("Keep the note to 200 characters."))],
        description=_l("For example: behind the blue pot. Needed if you chose somewhere else."),
    )

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(self.kind, place=self.place.data, note=self.note.data)


class NeighbourForm(ChoiceForm):
    kind = ChoiceType.NEIGHBOUR
    neighbour_name = StringField(
        _l("Neighbour's name"),
        validators=[
            DataRequired(_l("Enter your neighbour's name.")),
            Length(max=100, message=_l("Keep the name to 100 characters.")),
        ],
    )
    neighbour_house = StringField(
        _l("House or flat number"),
        validators=[
            DataRequired(_l("Enter your neighbour's house or flat number.")),
            Length(max=40, message=_l("Keep the number to 40 characters.")),
        ],
    )

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(
            self.kind,
            neighbour_name=self.neighbour_name.data,
            neighbour_house=self.neighbour_house.data,
        )


class HoldForm(ChoiceForm):
    kind = ChoiceType.HOLD
    until = StringField(
        _l("Hold until"),
        validators=[InputRequired(_l("Enter the date to hold it until."))],
        description=_l("We deliver on this day."),
    )

    def validate_until(self, field):
        try:
            date.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Enter a date like 2026-12-07.")) from None

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(self.kind, day=date.fromisoformat(self.until.data.strip()))


FORMS: dict[str, type[ChoiceForm]] = {
    "slot": SlotForm,
    "green_day": GreenDayForm,
    "pickup_point": PickupForm,
    "safe_place": SafePlaceForm,
    "neighbour": NeighbourForm,
    "hold": HoldForm,
}
# Which form field shows a service error about each request field.
ERROR_FIELD = {"day": {"hold": "until", "green_day": None}}


def error_field(kind: str, exc: DomainError) -> str:
    """The field of the `kind` form that shows the service's refusal, or ABOVE the form (the
    hidden `choice` shows nothing)."""
    name = exc.field
    if name in ERROR_FIELD:
        name = ERROR_FIELD[name].get(kind)
    return name if name and name != "choice" else ABOVE


def blank_forms() -> dict[str, ChoiceForm]:
    return {name: cls(formdata=None, choice=name) for name, cls in FORMS.items()}
