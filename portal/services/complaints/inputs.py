"""What customers and agents write: text within its limits, and photos re-encoded before
anything is written, then stored (files of a transaction that does not commit are deleted
again, see services/photos.py)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Complaint, ComplaintMessage, Photo
from portal.services import photos
from portal.services.errors import DomainError
from portal.storage import Storage, get_storage

DESCRIPTION_MAX = 4000
MESSAGE_MAX = 4000


class PhotosNotSaved(DomainError):
    """The photos could not be written (the upload disk is full): nothing was filed, and the
    same form can be sent again later."""

    code = "photos_not_saved"
    kind = "unavailable"


def clean_text(raw: str | None, limit: int, *, field_name: str, empty) -> str:
    text = (raw or "").strip()
    if not text:
        raise DomainError(str(empty), field=field_name)
    if len(text) > limit:
        raise DomainError(
            str(_l("Keep it to %(n)d characters.", n=limit)), field=field_name, code="too_long"
        )
    return text


def processed_photos(uploads: list[photos.Upload], *, already: int) -> list[photos.ProcessedPhoto]:
    """Every photo re-encoded, before anything is written: one refusal refuses them all."""
    config = current_app.config
    uploads = [u for u in uploads if u.data or u.filename]  # an empty file input sends ""
    if len(uploads) > config["PHOTO_MAX_COUNT"]:
        raise photos.PhotoRejected(
            str(_l("Add at most %(n)d photos at a time.", n=config["PHOTO_MAX_COUNT"]))
        )
    if already + len(uploads) > config["PHOTO_MAX_PER_CASE"]:
        raise photos.PhotoRejected(
            str(_l("A case can have at most %(n)d photos.", n=config["PHOTO_MAX_PER_CASE"]))
        )
    return photos.process_all(uploads)


def store_photos(
    complaint: Complaint,
    processed: list[photos.ProcessedPhoto],
    message: ComplaintMessage | None,
    storage: Storage | None,
    now: datetime,
) -> None:
    storage = storage or get_storage()
    session = db.session()
    try:
        for p in processed:
            key = photos.store(session, storage, p)
            complaint.photos.append(
                Photo(
                    storage_key=key,
                    content_type=p.content_type,
                    width=p.width,
                    height=p.height,
                    size_bytes=len(p.data),
                    message=message,
                    created_at=now,
                )
            )
    except OSError as exc:
        photos.discard(session)  # the disk filled up half way: take back what was written
        current_app.logger.error("could not store a photo: %s", exc.strerror or exc)
        raise PhotosNotSaved(
            str(
                _l(
                    "We couldn't save your photos just now, so nothing has been sent yet. "
                    "Please try again in a few minutes."
                )
            ),
            field="photos",
        ) from exc
    except Exception:
        photos.discard(session)
        raise
