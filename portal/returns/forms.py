"""The return form is built per order: one quantity, reason and note per returnable item."""

from __future__ import annotations

from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.forms import ABOVE, Form
from portal.i18n import lazy_gettext as _l
from portal.models import ParcelStatus, ReturnMethod, ReturnReason, ReturnStatus
from portal.services.errors import DomainError
from portal.services.returns import MAX_REASON_TEXT, LineRequest, Returnable, ReturnRequest

REASON_LABELS = {
    ReturnReason.TOO_SMALL: _l("Too small"),
    ReturnReason.TOO_LARGE: _l("Too large"),
    ReturnReason.DAMAGED: _l("Damaged"),
    ReturnReason.NOT_AS_DESCRIBED: _l("Not as described"),
    ReturnReason.WRONG_ITEM: _l("Wrong item"),
    ReturnReason.CHANGED_MIND: _l("Changed my mind"),
    ReturnReason.OTHER: _l("Other reason"),
}
METHOD_LABELS = {
    ReturnMethod.DROPOFF: _l("Drop it off at a service point"),
    ReturnMethod.LOCKER: _l("Put it in a parcel locker"),
    ReturnMethod.HOME_PICKUP: _l("Have it picked up at home"),
}
METHOD_HINTS = {
    ReturnMethod.DROPOFF: _l("Show the QR code on your phone; no printer needed."),
    ReturnMethod.LOCKER: _l("You get a locker code with the label."),
    ReturnMethod.HOME_PICKUP: _l("Choose a time below; the driver brings the label."),
}


class ReturnForm(Form):
    method = RadioField(_l("How do you send it back?"), validate_choice=False)
    slot = RadioField(_l("Pickup time"), validate_choice=False)

    line_ids: list[int]

    def request(self) -> ReturnRequest:
        lines = []
        for item_id in self.line_ids:
            raw = self[f"qty_{item_id}"].data or "0"
            # Anything but a small whole number goes to the service as -1, which refuses it.
            quantity = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else -1
            if quantity:
                lines.append(
                    LineRequest(
                        parcel_item_id=item_id,
                        quantity=quantity,
                        reason=self[f"reason_{item_id}"].data or "",
                        reason_text=self[f"note_{item_id}"].data,
                    )
                )
        slot = self.slot.data
        return ReturnRequest(
            lines=lines,
            method=self.method.data or "",
            slot_id=int(slot) if slot and slot.isascii() and slot.isdigit() else None,
        )


def return_error_field(exc: DomainError, request_: ReturnRequest) -> str:
    """The form's field for the service's reason (`items.0.reason` is the first line's
    reason field), or ABOVE the form."""
    parts = (exc.field or "").split(".")
    if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit():
        line = request_.lines[int(parts[1])]
        name = {"quantity": "qty", "sku": "qty", "reason": "reason", "reason_text": "note"}[
            parts[2]
        ]
        return f"{name}_{line.parcel_item_id}"
    if exc.field in ("method", "slot"):
        return exc.field
    return ABOVE


def return_form(available: Returnable, slots: list) -> ReturnForm:
    """A form class with fields for exactly the items that may go back."""

    class Form(ReturnForm):
        pass

    ids = []
    for line in available.lines:
        if not line.remaining:
            continue
        item_id = line.item.id
        ids.append(item_id)
        setattr(
            Form,
            f"qty_{item_id}",
            SelectField(
                _l("How many"),
                choices=[SelectChoice(str(n), str(n)) for n in range(line.remaining + 1)],
                default="0",
                validate_choice=False,
            ),
        )
        setattr(
            Form,
            f"reason_{item_id}",
            SelectField(
                _l("Why"),
                choices=[SelectChoice("", _l("Choose a reason"))]
                + [SelectChoice(r.value, REASON_LABELS[r]) for r in available.policy.reasons],
                default="",
                validate_choice=False,
            ),
        )
        setattr(
            Form,
            f"note_{item_id}",
            StringField(
                _l("Tell us more"),
                validators=[Optional(), Length(max=MAX_REASON_TEXT)],
                description=_l("Needed for \u201cOther reason\u201d."),
            ),
        )
    form = Form()
    form.line_ids = ids
    methods = list(available.policy.methods)
    if not slots and len(methods) > 1:
        # A pickup nobody can book is not a choice; the page says why it is missing.
        methods = [m for m in methods if m is not ReturnMethod.HOME_PICKUP]
    form.method.choices = [SelectChoice(m.value, METHOD_LABELS[m]) for m in methods]
    form.slot.choices = [SelectChoice(str(s.id), str(s.id)) for s in slots]
    return form


STATUS_LABELS = {
    ReturnStatus.REQUESTED: _l("Waiting for the shop's approval"),
    ReturnStatus.APPROVED: _l("Ready to send back"),
    ReturnStatus.REJECTED: _l("Not accepted"),
    ReturnStatus.DROPPED_OFF: _l("Dropped off"),
    ReturnStatus.IN_TRANSIT: _l("On its way to the shop"),
    ReturnStatus.RECEIVED: _l("Received by the shop"),
    ReturnStatus.REFUNDED: _l("Refunded"),
    ReturnStatus.CLOSED: _l("Closed"),
}
EVENT_LABELS = {
    ParcelStatus.PICKED_UP: _l("Handed over"),
    ParcelStatus.DELIVERED: _l("Delivered to the shop"),
}
