"""The merchant page's forms; the rules themselves live in admin/services/merchants.py."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.admin.services import merchants
from portal.forms import Form
from portal.models import ReturnMethod, ReturnReason
from portal.services.photos import Upload

METHOD_LABELS = {
    ReturnMethod.DROPOFF: "Drop-off at a service point",
    ReturnMethod.LOCKER: "Parcel locker",
    ReturnMethod.HOME_PICKUP: "Home pickup",
}
REASON_LABELS = {
    ReturnReason.TOO_SMALL: "Too small",
    ReturnReason.TOO_LARGE: "Too large",
    ReturnReason.DAMAGED: "Damaged",
    ReturnReason.NOT_AS_DESCRIBED: "Not as described",
    ReturnReason.WRONG_ITEM: "Wrong item",
    ReturnReason.CHANGED_MIND: "Changed mind",
    ReturnReason.OTHER: "Other (always offered)",
}


def _days_field(label: str, bounds: tuple[int, int], description: str) -> IntegerField:
    low, high = bounds
    return IntegerField(
        label,
        description=description,
        validators=[
            InputRequired("Give a number of days."),
            NumberRange(low, high, f"Give a whole number from {low} to {high}."),
        ],
    )


def _money_field(label: str, description: str) -> DecimalField:
    return DecimalField(label, description=description, places=2, validators=[Optional()])


class ActionForm(Form):
    """A button that changes something: only the CSRF token."""


class NewMerchantForm(Form):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Give the merchant's name."),
            Length(max=merchants.NAME_MAX, message=f"At most {merchants.NAME_MAX} characters."),
        ],
    )


class DetailsForm(Form):
    name = StringField(
        "Name",
        description="Shown to customers on tracking pages, e-mails and return labels.",
        validators=[
            InputRequired("Give the merchant's name."),
            Length(max=merchants.NAME_MAX, message=f"At most {merchants.NAME_MAX} characters."),
        ],
    )
    return_address = TextAreaField(
        "Return address",
        description=f"Printed on return labels; up to {merchants.RETURN_ADDRESS_LINES} lines.",
        validators=[Length(max=merchants.RETURN_ADDRESS_MAX + 50, message="Too long.")],
    )
    complaint_due_days = _days_field(
        "Days to answer a complaint",
        merchants.COMPLAINT_DUE_DAYS,
        "Working days (Monday to Friday) from a complaint to our answer.",
    )
    storage_days = _days_field(
        "Storage days",
        merchants.STORAGE_DAYS,
        "How long a carrier may keep a parcel on hold or at a pickup point.",
    )
    safe_place_max_value = _money_field(
        "Safe-place limit",
        "Safe-place drops are offered for parcels worth at most this (in the parcel's "
        "currency). Empty: never offered.",
    )

    def details(self) -> merchants.Details:
        return merchants.Details(
            name=self.name.data or "",
            return_address=self.return_address.data,
            complaint_due_days=self.complaint_due_days.data,
            storage_days=self.storage_days.data,
            safe_place_max_value=self.safe_place_max_value.data,
        )


class SlotShareForm(Form):
    api_slot_share = IntegerField(
        "Share of each slot for API bookings (%)",
        description="Of each delivery slot's places, the percentage this merchant's checkout may "
        "book through the API (a delivery choice on a new parcel), rounded down but at least one "
        "place; recipients booking on their parcel page are not limited by it, only by the "
        "slot's capacity. Shares of all merchants that add up to 100 % never take more places "
        "than a slot has.",
        validators=[
            InputRequired("Give the share as a percentage."),
            NumberRange(
                *merchants.API_SLOT_SHARE,
                message="Give a whole number from {} to {}.".format(*merchants.API_SLOT_SHARE),
            ),
        ],
    )


class BrandingForm(Form):
    brand_colour = StringField(
        "Brand colour",
        description="#RRGGBB, the background of the white header text on tracking pages and "
        "e-mails, so it must be dark enough (contrast at least 4.5:1). Empty: Lastmile green.",
        validators=[Length(max=20, message="Give the colour as # and six hex digits.")],
    )


class LogoForm(Form):
    logo = FileField(
        "Logo",
        description=f"PNG, JPEG or WebP, at most {merchants.LOGO_MAX_BYTES // (1024 * 1024)} MB; "
        f"stored at most {merchants.LOGO_MAX_SIDE} pixels on its longest side.",
        validators=[FileRequired("Choose an image file.")],
    )

    def upload(self) -> Upload:
        file: FileStorage = self.logo.data
        return Upload(file.filename or "", file.read())


class PolicyForm(Form):
    window_days = IntegerField(
        "Return window (days)",
        description="Days from delivery in which customers may start a return. 0: no returns.",
        validators=[
            InputRequired("Give a number of days."),
            NumberRange(
                *merchants.WINDOW_DAYS,
                message="Give a whole number from {} to {}.".format(*merchants.WINDOW_DAYS),
            ),
        ],
    )
    methods = SelectMultipleField(
        "Ways to send a return",
        choices=[SelectChoice(m.value, label) for m, label in METHOD_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service says which values it takes, in plain words
    )
    reasons = SelectMultipleField(
        "Reasons offered",
        choices=[SelectChoice(r.value, label) for r, label in REASON_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    non_returnable_skus = TextAreaField(
        "SKUs never taken back",
        description="One a line (or separated by commas), on top of items marked non-returnable "
        "when the parcel was created.",
        validators=[Length(max=40_000, message="Too long.")],
    )
    fee = _money_field("Return fee", "Deducted from the refund. Empty or 0: free returns.")
    auto_approve = BooleanField("Approve returns automatically")

    @classmethod
    def for_policy(cls, values: merchants.PolicyValues) -> PolicyForm:
        return cls(
            formdata=None,
            window_days=values.window_days,
            methods=list(values.methods),
            reasons=list(values.reasons),
            non_returnable_skus="\n".join(values.non_returnable_skus),
            fee=values.fee,
            auto_approve=values.auto_approve,
        )

    def values(self) -> merchants.PolicyValues:
        return merchants.PolicyValues(
            window_days=self.window_days.data,
            methods=tuple(self.methods.data or ()),
            reasons=tuple(self.reasons.data or ()),
            non_returnable_skus=merchants.parse_skus(self.non_returnable_skus.data),
            fee=self.fee.data,
            auto_approve=bool(self.auto_approve.data),
        )


class WebhookForm(Form):
    url = StringField(
        "Endpoint URL",
        description="HTTPS, on a public address. We POST parcel status changes to it, signed "
        "with a secret shown once when you add it.",
        validators=[
            InputRequired("Give the endpoint's URL."),
            Length(
                max=merchants.WEBHOOK_URL_MAX,
                message=f"At most {merchants.WEBHOOK_URL_MAX} characters.",
            ),
        ],
    )
