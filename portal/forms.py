"""Page forms and page writes: the base form (Flask-WTF's CSRF check plus a refusal of control
characters), the one way a service's refusal lands on a form, and `page_write`, the one place a
page view's transaction is committed or rolled back (the API's is `api_write`)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import current_app, g
from flask_wtf import FlaskForm

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.services.errors import DomainError

# Line breaks and tabs are text; anything else below 32 (NUL above all, which PostgreSQL
# refuses to store) comes from a broken client or a probe.
ALLOWED_CONTROLS = frozenset("\n\r\t")
# `field=ABOVE` puts a refusal above the form, whatever field the service named.
ABOVE = ""
# A refusal's status by the error's kind: 409 when things changed meanwhile, 503 when a file
# could not be stored (the form can be sent again as it is), else 422.
STATUS_OF_KIND = {"conflict": 409, "unavailable": 503}
_KEEP = "page_write_keep"


def has_control_characters(value: str) -> bool:
    return any(ord(c) < 32 and c not in ALLOWED_CONTROLS for c in value)


def attach_error(form: FlaskForm, exc: DomainError, field: str | None = None) -> None:
    """Show a service's refusal on the field it is about, or above the form. `field` is the
    form's name for it where the form calls it otherwise (ABOVE: above the form)."""
    name = exc.field if field is None else field
    target = form._fields.get(name) if name else None
    if target is not None and name != "csrf_token":
        target.errors = (
            [*target.errors, exc.message] if isinstance(target.errors, list) else [exc.message]
        )
    else:
        form.form_errors.append(exc.message)


def refuse(form: FlaskForm, exc: DomainError, field: str | None = None) -> int:
    """A service said no: forget what it had written (so the page drawn next shows things as
    they are), show why on the form and return the page's status (409, 503 or 422)."""
    discard_writes()
    attach_error(form, exc, field)
    return status_of(exc)


def status_of(exc: DomainError) -> int:
    return STATUS_OF_KIND.get(exc.kind, 422)


def discard_writes() -> None:
    """Forget what this request has written so far: before drawing a page as things are after
    a refusal, or before a redirect (which `page_write` commits) that reports one."""
    db.session.rollback()


def keep_writes() -> None:
    """Commit this request's writes even though it answers with a refusal: a failed log-in's
    count must stick, or guessing a password or code would cost nothing."""
    g.setdefault(_KEEP, True)


def page_write(view: Callable) -> Callable:
    """Wrap a page view that writes: the view changes the session, this commits when it answers
    with a page or a redirect (2xx, 3xx) and rolls back otherwise (4xx, 5xx, an exception).
    Views never commit themselves, so a write is never half-saved by a refusal drawn later."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            raise
        if response.status_code < 400 or g.pop(_KEEP, False):
            db.session.commit()
        else:
            db.session.rollback()
        return response

    return wrapper


class Form(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and has_control_characters(field.data):
                field.errors = [*(field.errors or []), _l("Remove the special characters.")]
                ok = False
        return ok
