"""The complaint form and the customer's reply; the rules themselves live in the service."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import Form
from portal.i18n import lazy_gettext as _l
from portal.models import Parcel
from portal.services.complaints import (
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    TYPE_TEXT,
    ComplaintRequest,
)
from portal.services.photos import Upload


def photos_hint() -> str:
    config = current_app.config
    return _(
        "Up to %(count)d photos: JPEG, PNG or WebP, each at most %(mb)d MB.",
        count=config["PHOTO_MAX_COUNT"],
        mb=config["PHOTO_MAX_BYTES"] // (1024 * 1024),
    )


def uploads(files: list[FileStorage] | None) -> list[Upload]:
    """The files sent, read; an empty file input (nothing chosen) sends a nameless empty part."""
    sent = [Upload(f.filename or "", f.read()) for f in files or [] if isinstance(f, FileStorage)]
    return [u for u in sent if u.filename or u.data]


class PhotoForm(Form):
    photos = MultipleFileField(_l("Photos (optional)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.photos.description = photos_hint()


class ComplaintForm(PhotoForm):
    type = RadioField(
        _l("What went wrong?"),
        choices=[SelectChoice(kind.value, label) for kind, (label, _hint) in TYPE_TEXT.items()],
        validators=[InputRequired(_l("Choose what went wrong."))],
    )
    description = TextAreaField(
        _l("What happened?"),
        description=_l("In your own words: what you found, and when."),
        validators=[
            DataRequired(_l("Tell us what happened.")),
            Length(
                max=DESCRIPTION_MAX,
                message=_l("Keep it to %(n)d characters.", n=DESCRIPTION_MAX),
            ),
        ],
    )
    items = SelectMultipleField(
        _l("Which items is it about?"),
        description=_l("Needed when something is damaged, missing or wrong."),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def for_parcel(self, parcel: Parcel) -> ComplaintForm:
        self.items.choices = [SelectChoice(i.id, f"{i.quantity} × {i.name}") for i in parcel.items]
        return self

    def request(self) -> ComplaintRequest:
        return ComplaintRequest(
            type=self.type.data,
            description=self.description.data,
            item_ids=list(self.items.data or []),
            photos=uploads(self.photos.data),
        )


class ReplyForm(PhotoForm):
    body = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(_l("Write your answer.")),
            Length(max=MESSAGE_MAX, message=_l("Keep it to %(n)d characters.", n=MESSAGE_MAX)),
        ],
    )
