"""The base of every page form: Flask-WTF's CSRF check plus a refusal of control characters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.services.errors import DomainError

# Line breaks and tabs are text; anything else below 32 (NUL above all, which PostgreSQL
# refuses to store) comes from a broken client or a probe.
ALLOWED_CONTROLS = frozenset("\n\r\t")


def has_control_characters(value: str) -> bool:
    return any(ord(c) < 32 and c not in ALLOWED_CONTROLS for c in value)


def attach_error(form: FlaskForm, exc: DomainError) -> None:
    """Show a service's refusal on the field it is about, or above the form."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None and exc.field != "csrf_token":
        field.errors = (
            [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
        )
    else:
        form.form_errors.append(exc.message)


class Form(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and has_control_characters(field.data):
                field.errors = [*(field.errors or []), _l("Remove the special characters.")]
                ok = False
        return ok
