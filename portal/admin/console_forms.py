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

from portal.forms import Form

RESOLUTIONS = ("refund", "reship", "compensation", "none")
PHOTOS_ASKED = "Please send photos of the damaged item and of the box."

F = TypeVar("F", bound=Form)


def _select(label: str) -> SelectField:
    # Choices are the page's (staff, the case's next statuses); the service checks the value.
    return SelectField(label, validate_choice=False)


class ResendForm(Form):
    notification_id = HiddenField()


class InboundReadForm(Form):
    inbound_id = HiddenField()


class HoldForm(Form):
    ids = {"reason": "hold-reason"}
    reason = StringField("Why hold it?")
    release = HiddenField()  # the Release button's value


class DecideReturnForm(Form):
    ids = {"reason": "reason"}
    return_id = HiddenField()
    decision = HiddenField()  # the pressed button's value: approve or reject
    reason = StringField("Reason for the customer")


class RefundForm(Form):
    ids = {"amount": "amount"}
    return_id = HiddenField()
    amount = StringField("Refund amount")


class AssignForm(Form):
    ids = {"assignee": "assignee"}
    complaint_id = HiddenField()
    assignee = _select("Assign to")


class ComplaintStatusForm(Form):
    ids = {"status": "status", "resolution": "resolution", "amount": "camount", "message": "cmsg"}
    complaint_id = HiddenField()
    status = _select("New status")
    resolution = _select("Resolution (when resolved)")
    amount = StringField("Amount")
    message = TextAreaField("Message to the customer (needed to ask for something or to reject)")


class ComplaintMessageForm(Form):
    ids = {"message": "msg"}
    complaint_id = HiddenField()
    message = TextAreaField("Message")


class AskForPhotosForm(Form):
    ids = {"message": "ph"}
    complaint_id = HiddenField()
    message = TextAreaField("Which photos?")


class NoteForm(Form):
    ids = {"body": "note-body"}
    body = TextAreaField("New note")


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


RESOLUTION_CHOICES = [SelectChoice("", "—"), *(SelectChoice(r, r) for r in RESOLUTIONS)]
