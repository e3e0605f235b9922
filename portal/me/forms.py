"""Forms of /me."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import Form


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
