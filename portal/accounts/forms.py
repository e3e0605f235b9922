from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import Form


class LoginForm(Form):
    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
    )


class CodeForm(Form):
    """The log-in's second step: the 6 digits the authenticator app shows now."""

    code = StringField(
        _l("Code"),
        description=_l("The 6 digits your authenticator app shows for Lastmile."),
        validators=[DataRequired(_l("Enter the code from your app.")), Length(max=20)],
    )


class TotpForm(Form):
    """Setting up or turning off two-step log-in (staff pages, in English)."""

    code = StringField(
        "Code from the app",
        description="The 6 digits the app shows now.",
        validators=[DataRequired("Enter the code from your app."), Length(max=20)],
    )
