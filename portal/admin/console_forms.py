"""The parcel console's action forms, one small form per action.

They parse and draw; the rules (lengths, which status may follow which, amounts) are the
console services', whose refusals show above the form that caused them. Field names are the
ones the forms always posted. A page holds one form per return and per case, so a form drawn
for one row gets ids ending in that row's id (`reason-7`).
"""

from __future__ import annotations

from typing import TypeVar

from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.admin.text import lazy_gettext as _l
from portal.forms import Form
from portal.services.complaints import thread

RESOLUTIONS = ("refund", "reship", "compensation", "none")
# Customer text (services/complaints): the agent's form starts from it in the customer's language.
PHOTOS_ASKED = thread.PHOTOS_ASKED

F = TypeVar("F", bound=Form)


def _select(label) -> SelectField:
    # Choices are the page's (staff, the case's next statuses); the service checks the value.
    return SelectField(label, validate_choice=False)


class ResendForm(Form):
    notification_id = HiddenField()


class InboundReadForm(Form):
    inbound_id = HiddenField()


class HoldForm(Form):
    ids = {"reason": "hold-reason"}
    reason = StringField(_l("Why hold it?"))
    release = HiddenField()  # the Release button's value


class DecideReturnForm(Form):
    ids = {"reason": "reason"}
    return_id = HiddenField()
    decision = HiddenField()  # the pressed button's value: approve or reject
    reason = StringField(_l("Reason for the customer"))


class RefundForm(Form):
    ids = {"amount": "amount"}
    return_id = HiddenField()
    amount = StringField(_l("Refund amount"))


class AssignForm(Form):
    ids = {"assignee": "assignee"}
    complaint_id = HiddenField()
    assignee = _select(_l("Assign to"))


class ComplaintStatusForm(Form):
    ids = {"status": "status", "resolution": "resolution", "amount": "camount", "message": "cmsg"}
    complaint_id = HiddenField()
    status = _select(_l("New status"))
    resolution = _select(_l("Resolution (when resolved)"))
    amount = StringField(_l("Amount"))
    message = TextAreaField(
        _l("Message to the customer (needed to ask for something or to reject)")
    )


class ComplaintMessageForm(Form):
    ids = {"message": "msg"}
    complaint_id = HiddenField()
    message = TextAreaField(_l("Message"))


class AskForPhotosForm(Form):
    ids = {"message": "ph"}
    complaint_id = HiddenField()
    message = TextAreaField(_l("Which photos?"))


class NoteForm(Form):
    ids = {"body": "note-body"}
    body = TextAreaField(_l("New note"))


COMPLAINT_FORMS: dict[str, type[Form]] = {
    "assign": AssignForm,
    "status": ComplaintStatusForm,
    "message": ComplaintMessageForm,
    "photos": AskForPhotosForm,
}


def drawn(
    form_class: type[F],
    row: int | None,
    *,
    posted,
    labels: dict[str, str] | None = None,
    choices: dict[str, list] | None = None,
    **data,
) -> F:
    """A form to draw: with what was posted when it was the one refused (`posted`, the
    request's form data, else None), each field missing from it taking `data`; field ids as
    the class's `ids` say, ending in `-<row>` for a form drawn once per row; `labels` and
    `choices` that depend on the row (a currency, a case's next statuses)."""
    form = form_class(formdata=posted, data=data)  # what was posted wins, field by field
    for name, options in (choices or {}).items():
        form[name].choices = [
            c if isinstance(c, tuple | SelectChoice) else SelectChoice(str(c), str(c))
            for c in options
        ]
    for name, prefix in getattr(form_class, "ids", {}).items():
        form[name].id = f"{prefix}-{row}" if row is not None else prefix
    for name, text in (labels or {}).items():
        form[name].label.text = text
    return form


# How the console names each resolution (the stored value stays the code).
RESOLUTION_LABELS = {
    "refund": _l("refund"),
    "reship": _l("reship"),
    "compensation": _l("compensation"),
    "none": _l("none"),
}
RESOLUTION_CHOICES = [
    SelectChoice("", "—"),
    *(SelectChoice(r, RESOLUTION_LABELS.get(r, r)) for r in RESOLUTIONS),
]
