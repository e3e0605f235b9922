"""The Network area's forms; the rules live in services/network/console/. Fields are named as
the services name them, so a service's refusal lands on its field."""

from __future__ import annotations

from datetime import time

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from portal.forms import Form
from portal.services.network.console import VEHICLES, WEEKDAYS
from portal.services.network.console.points import PointValues
from portal.services.network.console.slots import TemplateValues
from portal.services.network.console.uploads import KINDS
from portal.services.network.console.zones import ZoneValues


class _Plain:
    """A field whose parse error says what to type, not "Not a valid … value"."""

    def __init__(self, *args, invalid: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid = invalid

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.invalid) from None


class ClockField(_Plain, TimeField):
    def __init__(self, label: str, **kwargs):
        super().__init__(
            label, format=["%H:%M", "%H:%M:%S"], invalid="Give the time as HH:MM.", **kwargs
        )


class DayField(_Plain, DateField):
    def __init__(self, label: str, **kwargs):
        super().__init__(label, invalid="Give the day as YYYY-MM-DD.", **kwargs)


def _is_whole_number(text: str) -> bool:
    """ASCII digits, optionally signed: `str.isdigit()` takes "²", which `int()` refuses, and
    `int()` takes "٣", which nobody types for 3."""
    digits = text.strip().removeprefix("-")
    return digits.isascii() and digits.isdigit()


def _whole_number(value: str | int) -> int:
    if isinstance(value, int):  # a form drawn from stored values
        return value
    if not isinstance(value, str) or not _is_whole_number(value):
        raise ValueError(value)
    return int(value)


class _WholeNumberField(IntegerField):
    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] not in ("", None) and not _is_whole_number(valuelist[0]):
            self.data = None
            raise ValueError("Not a whole number.")
        super().process_formdata(valuelist)


class NumberField(_Plain, _WholeNumberField):
    pass


class CoordinateField(_Plain, FloatField):
    pass


def _version() -> IntegerField:
    """The row's version when the form was drawn: a save based on an older one is refused."""
    return _WholeNumberField(widget=HiddenInput(), validators=[Optional()])


def _optional_int(value):
    return _whole_number(value) if value not in ("", None) else None


WEEKDAY_CHOICES = [SelectChoice(str(n), name) for n, name in enumerate(WEEKDAYS)]


class ActionForm(Form):
    """A button: only the CSRF token."""


class ZoneForm(Form):
    name = StringField("Name", validators=[InputRequired("Give the zone's name."), Length(max=120)])
    country = StringField(
        "Country",
        description="Two letters (ISO 3166): SE, NO, FI, DK … Its public holidays close the "
        "zone's slots.",
        validators=[InputRequired("Give the country code.")],
    )
    time_zone = StringField(
        "Time zone",
        description="As in the IANA database, like Europe/Stockholm: slots, cutoffs and green "
        "days are in this local time.",
        validators=[InputRequired("Give the time zone.")],
    )
    green_weekday = SelectField(
        "Green day",
        description="The weekday of the consolidated round offered as the green choice.",
        choices=[SelectChoice("", "No green day"), *WEEKDAY_CHOICES],
        coerce=_optional_int,
        validate_choice=False,
    )
    cutoff = ClockField(
        "Cutoff",
        description="Changes for a delivery day close at this local time the day before.",
        validators=[InputRequired("Give the cutoff as HH:MM.")],
    )
    version = _version()

    def values(self) -> ZoneValues:
        return ZoneValues(
            name=self.name.data or "",
            country=self.country.data or "",
            time_zone=self.time_zone.data or "",
            green_weekday=self.green_weekday.data,
            cutoff=self.cutoff.data,
        )

    @classmethod
    def of(cls, values: ZoneValues, version: int | None = None) -> ZoneForm:
        return cls(
            formdata=None,
            name=values.name,
            country=values.country,
            time_zone=values.time_zone,
            green_weekday=values.green_weekday,
            cutoff=values.cutoff,
            version=version,
        )


class PrefixForm(Form):
    prefix = StringField(
        "Postcode prefix", validators=[InputRequired("Give the prefix."), Length(max=20)]
    )
    latitude = CoordinateField(
        "Centre latitude",
        invalid="Give the latitude as a number, like 59.3430.",
        validators=[Optional()],
    )
    longitude = CoordinateField(
        "Centre longitude",
        invalid="Give the longitude as a number, like 18.0530.",
        validators=[Optional()],
    )


class _Confirmable(Form):
    # The bookings (delivery choice ids) the supervisor saw listed and confirmed.
    confirmed = HiddenField()

    def confirmed_ids(self) -> set[int]:
        ids = (p.strip() for p in (self.confirmed.data or "").split(","))
        return {int(p) for p in ids if p.isascii() and p.isdigit()}


class ClosedDayForm(_Confirmable):
    day = DayField("Day", validators=[InputRequired("Give the day.")])
    reason = StringField(
        "Reason",
        description="Recipients whose delivery is withdrawn read it.",
        validators=[InputRequired("Give the reason."), Length(max=120)],
    )


class TemplateForm(Form):
    weekday = SelectField(
        "Weekday", choices=WEEKDAY_CHOICES, coerce=_whole_number, validate_choice=False
    )
    start_time = ClockField("Start", validators=[InputRequired("Give the start as HH:MM.")])
    end_time = ClockField("End", validators=[InputRequired("Give the end as HH:MM.")])
    vehicle = SelectField(
        "Vehicle",
        choices=[SelectChoice(v.value, label) for v, label in VEHICLES.items()],
        validate_choice=False,
    )
    capacity = NumberField(
        "Capacity",
        description="Parcels one slot takes.",
        invalid="Give a whole number.",
        validators=[InputRequired("Give the capacity.")],
    )

    def values(self) -> TemplateValues:
        return TemplateValues(
            weekday=self.weekday.data,
            start_time=self.start_time.data,
            end_time=self.end_time.data,
            vehicle=self.vehicle.data,
            capacity=self.capacity.data,
        )


class TemplateEditForm(Form):
    end_time = ClockField("End", validators=[InputRequired("Give the end as HH:MM.")])
    capacity = NumberField(
        "Capacity",
        description="Parcels each future slot takes. A slot with more bookings keeps them all.",
        invalid="Give a whole number.",
        validators=[InputRequired("Give the capacity.")],
    )
    version = _version()

    @classmethod
    def of(cls, end_time: time, capacity: int, version: int) -> TemplateEditForm:
        return cls(formdata=None, end_time=end_time, capacity=capacity, version=version)


class VersionForm(Form):
    """A button on a versioned row (remove a template)."""

    version = _version()


class SlotCloseForm(_Confirmable):
    reason = StringField(
        "Reason",
        description="Recipients whose delivery is withdrawn read it.",
        validators=[InputRequired("Give the reason."), Length(max=200)],
    )


POINT_TYPES = [SelectChoice("pickup_point", "Pickup point"), SelectChoice("locker", "Locker")]


class PointForm(Form):
    carrier_id = SelectField(
        "Carrier",
        description="Whose point it is; their files name it by its external id.",
        coerce=_optional_int,
        validate_choice=False,
    )
    external_id = StringField(
        "External id",
        description="The carrier's own id for the point.",
        validators=[Length(max=64)],
    )
    name = StringField("Name", validators=[InputRequired("Give the name."), Length(max=120)])
    point_type = SelectField("Type", choices=POINT_TYPES, validate_choice=False)
    address_line = StringField(
        "Street address", validators=[InputRequired("Give the address."), Length(max=300)]
    )
    postcode = StringField(
        "Postcode",
        description="Its zone follows from the postcode.",
        validators=[InputRequired("Give the postcode."), Length(max=16)],
    )
    city = StringField("City", validators=[InputRequired("Give the city."), Length(max=120)])
    country = StringField(
        "Country", description="Two letters: SE, NO, FI …", validators=[InputRequired()]
    )
    latitude = CoordinateField(
        "Latitude",
        invalid="Give the latitude as a number, like 59.3430.",
        validators=[InputRequired("Give the latitude.")],
    )
    longitude = CoordinateField(
        "Longitude",
        invalid="Give the longitude as a number, like 18.0530.",
        validators=[InputRequired("Give the longitude.")],
    )
    opening_hours = StringField(
        "Opening hours",
        description="OpenStreetMap syntax: Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off",
        validators=[InputRequired("Give the opening hours."), Length(max=300)],
    )
    locker_capacity = NumberField(
        "Compartments",
        description="Lockers only; never below the compartments booked now.",
        invalid="Give a whole number.",
        validators=[Optional()],
    )
    version = _version()

    def with_carriers(self, carriers) -> PointForm:
        self.carrier_id.choices = [
            SelectChoice("", "None (our own point)"),
            *(SelectChoice(str(c.id), c.name) for c in carriers),
        ]
        return self

    def values(self) -> PointValues:
        return PointValues(
            carrier_id=self.carrier_id.data,
            external_id=self.external_id.data or "",
            name=self.name.data or "",
            is_locker=self.point_type.data == "locker",
            address_line=self.address_line.data or "",
            postcode=self.postcode.data or "",
            city=self.city.data or "",
            country=self.country.data or "",
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            opening_hours=self.opening_hours.data or "",
            locker_capacity=self.locker_capacity.data,
        )

    @classmethod
    def of(cls, values: PointValues, version: int | None = None) -> PointForm:
        return cls(
            formdata=None,
            carrier_id=values.carrier_id,
            external_id=values.external_id,
            name=values.name,
            point_type="locker" if values.is_locker else "pickup_point",
            address_line=values.address_line,
            postcode=values.postcode,
            city=values.city,
            country=values.country,
            latitude=values.latitude,
            longitude=values.longitude,
            opening_hours=values.opening_hours,
            locker_capacity=values.locker_capacity,
            version=version,
        )


class PointCloseForm(_Confirmable):
    closed_from = DayField("First closed day", validators=[InputRequired("Give the first day.")])
    closed_until = DayField(
        "Last closed day",
        description="Leave it empty to close the point for good.",
        validators=[Optional()],
    )
    reason = StringField(
        "Reason",
        description="Recipients whose delivery is withdrawn read it.",
        validators=[InputRequired("Give the reason."), Length(max=200)],
    )


class CarrierForm(Form):
    name = StringField(
        "Name", validators=[InputRequired("Give the carrier's name."), Length(max=120)]
    )


KIND_LABELS = {
    "zones": "Zones and postcode prefixes (zones.csv)",
    "slots": "Slot templates (slot_templates.csv)",
    "pickup-points": "Pickup points and lockers (CSV or GeoJSON)",
}


class ImportForm(Form):
    kind = SelectField(
        "What the file holds",
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS],
        validate_choice=False,
    )
    file = FileField(
        "File",
        description="UTF-8 CSV with the header row of its kind (pickup points also as GeoJSON), "
        "at most 4 MB.",
        validators=[FileRequired("Choose a file.")],
    )
    close_missing = BooleanField(
        "Close the points of each carrier in the file that it no longer lists (pickup points only)"
    )
