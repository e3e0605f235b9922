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
from portal.admin.text import lazy_gettext as _l
from portal.forms import Form
from portal.models import ReturnMethod, ReturnReason
from portal.services.photos import Upload

METHOD_LABELS = {
    ReturnMethod.DROPOFF: _l("Drop-off at a service point"),
    ReturnMethod.LOCKER: _l("Parcel locker"),
    ReturnMethod.HOME_PICKUP: _l("Home pickup"),
}
REASON_LABELS = {
    ReturnReason.TOO_SMALL: _l("Too small"),
    ReturnReason.TOO_LARGE: _l("Too large"),
    ReturnReason.DAMAGED: _l("Damaged"),
    ReturnReason.NOT_AS_DESCRIBED: _l("Not as described"),
    ReturnReason.WRONG_ITEM: _l("Wrong item"),
    ReturnReason.CHANGED_MIND: _l("Changed mind"),
    ReturnReason.OTHER: _l("Other (always offered)"),
}


def _days_field(label, bounds: tuple[int, int], description) -> IntegerField:
    low, high = bounds
    return IntegerField(
        label,
        description=description,
        validators=[
            InputRequired(_l("Give a number of days.")),
            NumberRange(
                low, high, _l("Give a whole number from %(low)s to %(high)s.", low=low, high=high)
            ),
        ],
    )


def _money_field(label, description) -> DecimalField:
    return DecimalField(label, description=description, places=2, validators=[Optional()])


class ActionForm(Form):
    """A button that changes something: only the CSRF token."""


class NewMerchantForm(Form):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(_l("Give the merchant's name.")),
            Length(
                max=merchants.NAME_MAX,
                message=_l("At most %(max)s characters.", max=merchants.NAME_MAX),
            ),
        ],
    )


class DetailsForm(Form):
    name = StringField(
        _l("Name"),
        description=_l("Shown to customers on tracking pages, e-mails and return labels."),
        validators=[
            InputRequired(_l("Give the merchant's name.")),
            Length(
                max=merchants.NAME_MAX,
                message=_l("At most %(max)s characters.", max=merchants.NAME_MAX),
            ),
        ],
    )
    return_address = TextAreaField(
        _l("Return address"),
        description=_l(
            "Printed on return labels; up to %(lines)s lines.",
            lines=merchants.RETURN_ADDRESS_LINES,
        ),
        validators=[Length(max=merchants.RETURN_ADDRESS_MAX + 50, message=_l("Too long."))],
    )
    complaint_due_days = _days_field(
        _l("Days to answer a complaint"),
        merchants.COMPLAINT_DUE_DAYS,
        _l("Working days (Monday to Friday) from a complaint to our answer."),
    )
    storage_days = _days_field(
        _l("Storage days"),
        merchants.STORAGE_DAYS,
        _l("How long a carrier may keep a parcel on hold or at a pickup point."),
    )
    safe_place_max_value = _money_field(
        _l("Safe-place limit"),
        _l(
            "Safe-place drops are offered for parcels worth at most this (in the parcel's "
            "currency). Empty: never offered."
        ),
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
        _l("Share of each slot for API bookings (%)"),
        description=_l(
            "Of each delivery slot's places, the percentage this merchant's checkout may book "
            "through the API (a delivery choice on a new parcel), rounded down but at least one "
            "place; recipients booking on their parcel page are not limited by it, only by the "
            "slot's capacity. Shares of all merchants that add up to 100 % never take more "
            "places than a slot has."
        ),
        validators=[
            InputRequired(_l("Give the share as a percentage.")),
            NumberRange(
                *merchants.API_SLOT_SHARE,
                message=_l(
                    "Give a whole number from %(low)s to %(high)s.",
                    low=merchants.API_SLOT_SHARE[0],
                    high=merchants.API_SLOT_SHARE[1],
                ),
            ),
        ],
    )


class BrandingForm(Form):
    brand_colour = StringField(
        _l("Brand colour"),
        description=_l(
            "#RRGGBB, the background of the white header text on tracking pages and e-mails, so "
            "it must be dark enough (contrast at least 4.5:1). Empty: Lastmile green."
        ),
        validators=[Length(max=20, message=_l("Give the colour as # and six hex digits."))],
    )


class LogoForm(Form):
    logo = FileField(
        _l("Logo"),
        description=_l(
            "PNG, JPEG or WebP, at most %(mb)s MB; stored at most %(side)s pixels on its "
            "longest side.",
            mb=merchants.LOGO_MAX_BYTES // (1024 * 1024),
            side=merchants.LOGO_MAX_SIDE,
        ),
        validators=[FileRequired(_l("Choose an image file."))],
    )

    def upload(self) -> Upload:
        file: FileStorage = self.logo.data
        return Upload(file.filename or "", file.read())


class PolicyForm(Form):
    window_days = IntegerField(
        _l("Return window (days)"),
        description=_l("Days from delivery in which customers may start a return. 0: no returns."),
        validators=[
            InputRequired(_l("Give a number of days.")),
            NumberRange(
                *merchants.WINDOW_DAYS,
                message=_l(
                    "Give a whole number from %(low)s to %(high)s.",
                    low=merchants.WINDOW_DAYS[0],
                    high=merchants.WINDOW_DAYS[1],
                ),
            ),
        ],
    )
    methods = SelectMultipleField(
        _l("Ways to send a return"),
        choices=[SelectChoice(m.value, label) for m, label in METHOD_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service says which values it takes, in plain words
    )
    reasons = SelectMultipleField(
        _l("Reasons offered"),
        choices=[SelectChoice(r.value, label) for r, label in REASON_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    non_returnable_skus = TextAreaField(
        _l("SKUs never taken back"),
        description=_l(
            "One a line (or separated by commas), on top of items marked non-returnable when "
            "the parcel was created."
        ),
        validators=[Length(max=40_000, message=_l("Too long."))],
    )
    fee = _money_field(_l("Return fee"), _l("Deducted from the refund. Empty or 0: free returns."))
    auto_approve = BooleanField(_l("Approve returns automatically"))

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
        _l("Endpoint URL"),
        description=_l(
            "HTTPS, on a public address. We POST parcel status changes to it, signed with a "
            "secret shown once when you add it."
        ),
        validators=[
            InputRequired(_l("Give the endpoint's URL.")),
            Length(
                max=merchants.WEBHOOK_URL_MAX,
                message=_l("At most %(max)s characters.", max=merchants.WEBHOOK_URL_MAX),
            ),
        ],
    )
