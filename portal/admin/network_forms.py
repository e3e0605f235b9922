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

from portal.admin.text import lazy_gettext as _l
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
            label, format=["%H:%M", "%H:%M:%S"], invalid=_l("Give the time as HH:MM."), **kwargs
        )


class DayField(_Plain, DateField):
    def __init__(self, label: str, **kwargs):
        super().__init__(label, invalid=_l("Give the day as YYYY-MM-DD."), **kwargs)


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
            raise ValueError(_l("Not a whole number."))
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
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the zone's name.")), Length(max=120)]
    )
    country = StringField(
        _l("Country"),
        description=_l(
            "Two letters (ISO 3166): SE, NO, FI, DK … Its public holidays close the zone's slots."
        ),
        validators=[InputRequired(_l("Give the country code."))],
    )
    time_zone = StringField(
        _l("Time zone"),
        description=_l(
            "As in the IANA database, like Europe/Stockholm: slots, cutoffs and green "
            "days are in this local time."
        ),
        validators=[InputRequired(_l("Give the time zone."))],
    )
    green_weekday = SelectField(
        _l("Green day"),
        description=_l("The weekday of the consolidated round offered as the green choice."),
        choices=[SelectChoice("", _l("No green day")), *WEEKDAY_CHOICES],
        coerce=_optional_int,
        validate_choice=False,
    )
    cutoff = ClockField(
        _l("Cutoff"),
        description=_l("Changes for a delivery day close at this local time the day before."),
        validators=[InputRequired(_l("Give the cutoff as HH:MM."))],
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
        _l("Postcode prefix"), validators=[InputRequired(_l("Give the prefix.")), Length(max=20)]
    )
    latitude = CoordinateField(
        _l("Centre latitude"),
        invalid=_l("Give the latitude as a number, like 59.3430."),
        validators=[Optional()],
    )
    longitude = CoordinateField(
        _l("Centre longitude"),
        invalid=_l("Give the longitude as a number, like 18.0530."),
        validators=[Optional()],
    )


class _Confirmable(Form):
    # The bookings (delivery choice ids) the supervisor saw listed and confirmed.
    confirmed = HiddenField()

    def confirmed_ids(self) -> set[int]:
        ids = (p.strip() for p in (self.confirmed.data or "").split(","))
        return {int(p) for p in ids if p.isascii() and p.isdigit()}


class ClosedDayForm(_Confirmable):
    day = DayField(_l("Day"), validators=[InputRequired(_l("Give the day."))])
    reason = StringField(
        _l("Reason"),
        description=_l("Recipients whose delivery is withdrawn read it."),
        validators=[InputRequired(_l("Give the reason.")), Length(max=120)],
    )


class TemplateForm(Form):
    weekday = SelectField(
        _l("Weekday"), choices=WEEKDAY_CHOICES, coerce=_whole_number, validate_choice=False
    )
    start_time = ClockField(_l("Start"), validators=[InputRequired(_l("Give the start as HH:MM."))])
    end_time = ClockField(_l("End"), validators=[InputRequired(_l("Give the end as HH:MM."))])
    vehicle = SelectField(
        _l("Vehicle"),
        choices=[SelectChoice(v.value, label) for v, label in VEHICLES.items()],
        validate_choice=False,
    )
    capacity = NumberField(
        _l("Capacity"),
        description=_l("Parcels one slot takes."),
        invalid=_l("Give a whole number."),
        validators=[InputRequired(_l("Give the capacity."))],
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
    end_time = ClockField(_l("End"), validators=[InputRequired(_l("Give the end as HH:MM."))])
    capacity = NumberField(
        _l("Capacity"),
        description=_l("Parcels each future slot takes. A slot with more bookings keeps them all."),
        invalid=_l("Give a whole number."),
        validators=[InputRequired(_l("Give the capacity."))],
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
        _l("Reason"),
        description=_l("Recipients whose delivery is withdrawn read it."),
        validators=[InputRequired(_l("Give the reason.")), Length(max=200)],
    )


POINT_TYPES = [
    SelectChoice("pickup_point", _l("Pickup point")),
    SelectChoice("locker", _l("Locker")),
]


class PointForm(Form):
    carrier_id = SelectField(
        _l("Carrier"),
        description=_l("Whose point it is; their files name it by its external id."),
        coerce=_optional_int,
        validate_choice=False,
    )
    external_id = StringField(
        _l("External id"),
        description=_l("The carrier's own id for the point."),
        validators=[Length(max=64)],
    )
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the name.")), Length(max=120)]
    )
    point_type = SelectField(_l("Type"), choices=POINT_TYPES, validate_choice=False)
    address_line = StringField(
        _l("Street address"), validators=[InputRequired(_l("Give the address.")), Length(max=300)]
    )
    postcode = StringField(
        _l("Postcode"),
        description=_l("Its zone follows from the postcode."),
        validators=[InputRequired(_l("Give the postcode.")), Length(max=16)],
    )
    city = StringField(
        _l("City"), validators=[InputRequired(_l("Give the city.")), Length(max=120)]
    )
    country = StringField(
        _l("Country"), description=_l("Two letters: SE, NO, FI …"), validators=[InputRequired()]
    )
    latitude = CoordinateField(
        _l("Latitude"),
        invalid=_l("Give the latitude as a number, like 59.3430."),
        validators=[InputRequired(_l("Give the latitude."))],
    )
    longitude = CoordinateField(
        _l("Longitude"),
        invalid=_l("Give the longitude as a number, like 18.0530."),
        validators=[InputRequired(_l("Give the longitude."))],
    )
    opening_hours = StringField(
        _l("Opening hours"),
        description=_l("OpenStreetMap syntax: Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off"),
        validators=[InputRequired(_l("Give the opening hours.")), Length(max=300)],
    )
    locker_capacity = NumberField(
        _l("Compartments"),
        description=_l("Lockers only; never below the compartments booked now."),
        invalid=_l("Give a whole number."),
        validators=[Optional()],
    )
    version = _version()

    def with_carriers(self, carriers) -> PointForm:
        self.carrier_id.choices = [
            SelectChoice("", _l("None (our own point)")),
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
    closed_from = DayField(
        _l("First closed day"), validators=[InputRequired(_l("Give the first day."))]
    )
    closed_until = DayField(
        _l("Last closed day"),
        description=_l("Leave it empty to close the point for good."),
        validators=[Optional()],
    )
    reason = StringField(
        _l("Reason"),
        description=_l("Recipients whose delivery is withdrawn read it."),
        validators=[InputRequired(_l("Give the reason.")), Length(max=200)],
    )


class CarrierForm(Form):
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the carrier's name.")), Length(max=120)]
    )


KIND_LABELS = {
    "zones": _l("Zones and postcode prefixes (zones.csv)"),
    "slots": _l("Slot templates (slot_templates.csv)"),
    "pickup-points": _l("Pickup points and lockers (CSV or GeoJSON)"),
}


class ImportForm(Form):
    kind = SelectField(
        _l("What the file holds"),
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS],
        validate_choice=False,
    )
    file = FileField(
        _l("File"),
        description=_l(
            "UTF-8 CSV with the header row of its kind (pickup points also as GeoJSON), "
            "at most 4 MB."
        ),
        validators=[FileRequired(_l("Choose a file."))],
    )
    close_missing = BooleanField(
        _l(
            "Close the points of each carrier in the file that it no longer lists "
            "(pickup points only)"
        )
    )
