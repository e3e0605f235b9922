"""Forms of the tracking pages."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form
from portal.i18n import lazy_gettext as _l


class TrackForm(Form):
    """A GET form (bookmarkable, no state change), so it carries no CSRF token."""

    class Meta:
        csrf = False

    tn = StringField(
        _l("Tracking number"),
        validators=[
            DataRequired(_l("Enter your tracking number.")),
            Length(max=40, message=_l("A tracking number is 13 characters.")),
        ],
        description=_l("13 characters, like RR 123 456 785 SE. You'll find it in your e-mail."),
    )
    postcode = StringField(
        _l("Postcode (optional)"),
        validators=[Optional(), Length(max=16)],
        description=_l("Add your postcode to see the address and your delivery options."),
    )


class VerifyForm(Form):
    postcode = StringField(
        _l("Postcode of the delivery address"),
        validators=[
            DataRequired(_l("Enter the postcode the parcel is addressed to.")),
            Length(max=16, message=_l("A postcode is at most 16 characters.")),
        ],
    )


class UpdatesForm(Form):
    sms = BooleanField(_l("By SMS"))
    email = BooleanField(_l("By e-mail"))
