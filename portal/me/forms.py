"""Forms of /me."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form
from portal.i18n import lazy_gettext as _l


class AddressForm(Form):
    address = StringField(
        _l("Phone number or e-mail address"),
        validators=[
            DataRequired(_l("Enter your phone number or e-mail address.")),
            Length(max=254, message=_l("That is too long for a phone number or an address.")),
        ],
        description=_l("The one your parcels' messages go to. We send you a code."),
    )


class CodeForm(Form):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter the 6-digit code we sent you.")),
            Length(max=12, message=_l("The code has 6 digits.")),
        ],
        description=_l("6 digits. It works for 10 minutes."),
    )
    remember = BooleanField(_l("Keep me signed in on this device for 30 days"))


class SignOutForm(Form):
    pass


class PreferencesForm(Form):
    """Defaults for every new parcel addressed to me. The pickup points offered are the
    nearest to where my latest parcel went (set by the view)."""

    delivery = RadioField(
        _l("How my parcels arrive"),
        choices=[
            SelectChoice("none", _l("As the carrier plans")),
            SelectChoice("pickup_point", _l("At a pickup point or locker I choose")),
            SelectChoice("safe_place", _l("Left in a safe place")),
            SelectChoice("green_day", _l("On the green day, when it is at most a day later")),
            SelectChoice("neighbour", _l("With a neighbour")),
        ],
        default="none",
    )
    pickup_point = RadioField(_l("Pickup point or locker"), choices=[], validate_choice=False)
    # Checked by services/recipients (only when a safe place is the preference).
    safe_place = SelectField(_l("Where to leave it"), choices=[], validate_choice=False)
    safe_place_note = StringField(
        _l("Note for the driver (optional)"), validators=[Optional(), Length(max=200)]
    )
    neighbour_name = StringField(_l("Neighbour's name"), validators=[Optional(), Length(max=100)])
    neighbour_house = StringField(
        _l("Their house or flat number"), validators=[Optional(), Length(max=40)]
    )
    notify_sms = BooleanField(_l("By SMS"))
    notify_email = BooleanField(_l("By e-mail"))
    # Choices set by the view (services/recipients QUIET_STARTS / QUIET_ENDS).
    quiet_start = SelectField(_l("SMS wait from"), choices=[], validate_choice=False)
    quiet_end = SelectField(_l("until"), choices=[], validate_choice=False)
    language = SelectField(
        _l("Language of my messages and pages"),
        # Each language in its own name; the list is LANGUAGES (set in __init__, per app).
        choices=[SelectChoice("", _l("The shop's choice"))],
        default="",
    )
