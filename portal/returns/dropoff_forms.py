from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.forms import Form
from portal.i18n import lazy_gettext as _l


class DropoffForm(Form):
    code = StringField(
        _l("Return code"),
        validators=[
            DataRequired(_l("Scan the QR code or type the code under it.")),
            Length(max=64),
        ],
        description=_l("The 12 characters under the QR code, or the RMA number."),
    )
