from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.forms import Form
from portal.i18n import lazy_gettext as _l
from portal.services.accounts import MAX_PASSWORD, MIN_PASSWORD


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
    """Setting up or turning off two-step log-in (the console's page, in the account's
    language)."""

    code = StringField(
        _l("Code from the app"),
        description=_l("The 6 digits the app shows now."),
        validators=[DataRequired(_l("Enter the code from your app.")), Length(max=20)],
    )


TOO_LONG = _l("Keep the password to %(num)d characters.", num=MAX_PASSWORD)


class NewPasswordFields(Form):
    """A new password, typed twice (the rules themselves are the service's, one place)."""

    password = PasswordField(
        _l("New password"),
        description=_l(
            "At least %(num)d characters. A few unrelated words are easy to remember.",
            num=MIN_PASSWORD,
        ),
        validators=[
            DataRequired(_l("Enter a new password.")),
            Length(max=MAX_PASSWORD, message=TOO_LONG),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Type the new password again.")),
            EqualTo("password", _l("The two new passwords don't match.")),
        ],
    )


class PasswordChangeForm(NewPasswordFields):
    """Staff change their own password; `code` only counts with two-step log-in on."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(_l("Enter your current password.")),
            Length(max=MAX_PASSWORD, message=TOO_LONG),
        ],
    )
    code = StringField(
        _l("Code"),
        description=_l("The 6 digits your authenticator app shows for Lastmile."),
        validators=[Optional(), Length(max=20)],
    )


class SetPasswordForm(NewPasswordFields):
    """A set-password link's page: the link is the proof, so only the new password."""
