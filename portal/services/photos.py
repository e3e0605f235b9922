"""Photos people upload: checked by content, re-encoded without metadata, stored transactionally.

Nothing of the uploaded file survives but its pixels: the image is decoded (JPEG, PNG or WebP
only, whatever the file is called), turned upright from its EXIF orientation, shrunk to
PHOTO_MAX_SIDE and encoded afresh in its own format, so EXIF (GPS included), XMP, comments and
anything hidden after the image data are gone. Decoding is the expensive part (a 1 KB WebP can
decode into 25 M pixels), so every file of a request is first checked from its header alone,
and the request's pixels, counted at full size, against PHOTO_MAX_PIXELS_PER_REQUEST, before
any file is decoded.
Files written during a database transaction are deleted again if that transaction does not
commit, so a failure never leaves an orphan file.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from portal.i18n import lazy_gettext as _l
from portal.services.errors import DomainError
from portal.storage import Storage
from portal.transactions import after_rollback, transaction_local

# Decoded pixels, not file size, are what a decompression bomb inflates. 64 Mi pixels takes the
# largest phone photos (9248 x 6936 = 64.1 M); a PNG that big still decodes into at most 256 MB.
MAX_PIXELS = 64 * 1024 * 1024
# PNG and WebP have no reduced-size decoding: every pixel is decoded at full size (4 bytes
# each), so a 200 KB 8000 x 8000 PNG would cost 256 MB and seconds. Nor does a progressive
# JPEG gain from it: every coefficient is kept at full size until the last scan (2 bytes a
# sample; 64 M pixels took 430 MB). Phones save photos as baseline JPEG; a PNG, WebP or
# progressive JPEG this large is a screenshot of a big monitor, or a picture from the web.
MAX_DECODED_WHOLE_PIXELS = 25 * 1000 * 1000
# Every scan of a JPEG is another pass over all of the picture's blocks, and one can take as
# little as 14 bytes: 2,000 repeated scans made a 44 KB 2000 x 2000 JPEG take 10 s of CPU. libjpeg's
# own progressive scripts have 6 scans (grey) or 10 (colour), a baseline JPEG has 1; counted
# over the whole file, an EXIF thumbnail or an MPO's second picture adds a few more.
MAX_JPEG_SCANS = 100
# Below that, scans still multiply what decoding costs (a 25 M-pixel JPEG took 0.12 s in its 6
# scans and 2.9 s in 96): a JPEG counts against the request's pixel budget once for each
# SCANS_PER_PASS scans it has, so an ordinary photo (1 scan, or libjpeg's 6 to 10) counts once.
SCANS_PER_PASS = 10
# Start of scan. Entropy-coded data follows every 0xFF with 0x00, so there this is always a
# real scan; elsewhere (metadata) it only appears by chance, and only counts against the file.
_SOS = b"\xff\xda"
# Pillow warns above this and refuses above twice this; the warning is made an error below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Pillow format -> (format written, content type). MPO is how Pillow opens the multi-picture
# JPEGs many phones write; its first picture is an ordinary JPEG.
FORMATS = {
    "JPEG": ("JPEG", "image/jpeg"),
    "MPO": ("JPEG", "image/jpeg"),
    "PNG": ("PNG", "image/png"),
    "WEBP": ("WEBP", "image/webp"),
}
OPEN_AS = ("JPEG", "PNG", "WEBP")  # Pillow's JPEG opener hands MPO files over itself
JPEG_QUALITY = 85
WEBP_QUALITY = 85
# What decoding a broken or hostile file raises, besides Pillow's own errors.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)


class PhotoRejected(DomainError):
    code = "photo_rejected"

    def __init__(self, message: str):
        super().__init__(message, field="photos")


@dataclass(frozen=True)
class Upload:
    """One file as it came in: the name the person's device gave it, and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def _label(upload: Upload) -> str:
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        return str(_l("A photo"))
    return name if len(name) <= 60 else name[:57] + "..."


@dataclass(frozen=True)
class _Checked:
    """An upload that passed the checks made from its header, before anything is decoded."""

    upload: Upload
    name: str
    out_format: str
    content_type: str
    pixels: int  # what decoding costs: the (first) picture at full size, once per pass


def process(
    upload: Upload, *, max_bytes: int | None = None, max_side: int | None = None
) -> ProcessedPhoto:
    """The upload re-encoded, or PhotoRejected saying what is wrong with it (in words a person
    understands, naming the file)."""
    return process_all([upload], max_bytes=max_bytes, max_side=max_side)[0]


def process_all(
    uploads: list[Upload],
    *,
    max_bytes: int | None = None,
    max_side: int | None = None,
    max_pixels: int | None = None,
) -> list[ProcessedPhoto]:
    """Every upload re-encoded, or PhotoRejected naming the first file at fault.

    All files are checked from their headers first (kind by content, bytes, pixels each, and
    the pixels of all together against `max_pixels`, by default PHOTO_MAX_PIXELS_PER_REQUEST):
    a refused batch costs next to nothing, however many pixels its files claim."""
    config = current_app.config
    max_bytes = max_bytes or config["PHOTO_MAX_BYTES"]
    max_side = max_side or config["PHOTO_MAX_SIDE"]
    max_pixels = max_pixels or config["PHOTO_MAX_PIXELS_PER_REQUEST"]
    checked = [_check(upload, max_bytes) for upload in uploads]
    total = 0
    for index, photo in enumerate(checked):
        total += photo.pixels
        if total > max_pixels:
            if index == 0:
                raise _too_many_pixels(photo.name)
            raise PhotoRejected(
                str(
                    _l(
                        "These photos are too big to send at once: %(name)s is one too many. "
                        "Send it on its own, or choose smaller photos.",
                        name=photo.name,
                    )
                )
            )
    return [_reencode(photo, max_side) for photo in checked]


def _too_many_pixels(name: str) -> PhotoRejected:
    return PhotoRejected(
        str(_l("%(name)s has too many pixels to be a photo. Choose another file.", name=name))
    )


@contextmanager
def _refusals(name: str) -> Iterator[None]:
    """Whatever Pillow raises about a file, as a refusal a person understands."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None
    except Image.UnidentifiedImageError:
        raise _not_a_photo(name) from None
    except _DECODE_ERRORS:
        raise _damaged(name) from None


def _damaged(name: str) -> PhotoRejected:
    return PhotoRejected(
        str(_l("%(name)s couldn't be read: the file may be damaged. Choose another.", name=name))
    )


def _not_a_photo(name: str) -> PhotoRejected:
    return PhotoRejected(
        str(_l("%(name)s isn't a JPEG, PNG or WebP photo. Choose another file.", name=name))
    )


def _check(upload: Upload, max_bytes: int) -> _Checked:
    """What can be known of the upload without decoding a pixel, or PhotoRejected."""
    name = _label(upload)
    if len(upload.data) > max_bytes:
        raise PhotoRejected(
            str(
                _l(
                    "%(name)s is larger than %(mb)d MB. Choose a smaller photo.",
                    name=name,
                    mb=max_bytes // (1024 * 1024),
                )
            )
        )
    if not upload.data:
        raise _not_a_photo(name)
    with _refusals(name), _open(upload.data) as probe:  # reads the header only
        out_format, content_type = FORMATS[probe.format]
        # Counted at full size, draft() or not: a JPEG drawn at 1/8 scale still has every block
        # of the full picture read (and a progressive one kept). Only an animation's first
        # frame is ever decoded (_decoded): its other frames cost nothing, and don't count.
        pixels = probe.width * probe.height
        if pixels > _pixel_limit(probe, out_format):
            raise _too_many_pixels(name)
        cost = pixels
        if out_format == "JPEG":
            scans = upload.data.count(_SOS)
            if scans > MAX_JPEG_SCANS:
                raise _damaged(name)
            cost = pixels * max(1, scans // SCANS_PER_PASS)
        # Structure and checksums (PNG chunks' CRCs), still without decompressing any pixel.
        probe.verify()
    return _Checked(upload, name, out_format, content_type, cost)


def _pixel_limit(probe: Image.Image, out_format: str) -> int:
    """A baseline JPEG can be decoded at a reduced size (draft), and is allowed a big phone
    photo's pixels; what is decoded whole at full size, far fewer."""
    if out_format == "JPEG" and not probe.info.get("progressive"):
        return MAX_PIXELS
    return MAX_DECODED_WHOLE_PIXELS


def _reencode(photo: _Checked, max_side: int) -> ProcessedPhoto:
    with _refusals(photo.name):
        with _open(photo.upload.data) as opened:
            image = _decoded(opened, max_side)
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        image = _for_format(image, photo.out_format)
    buffer = io.BytesIO()
    if photo.out_format == "JPEG":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif photo.out_format == "WEBP":
        image.save(buffer, "WEBP", quality=WEBP_QUALITY)
    else:
        image.save(buffer, "PNG")
    return ProcessedPhoto(buffer.getvalue(), photo.content_type, image.width, image.height)


def _open(data: bytes) -> Image.Image:
    """Open by content, never by name, and only as one of the formats we take."""
    return Image.open(io.BytesIO(data), formats=OPEN_AS)


def _decoded(image: Image.Image, max_side: int) -> Image.Image:
    """Decoded pixels only, upright, in a fresh image that carries no metadata at all."""
    # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less memory for a big photo.
    image.draft(None, (max_side, max_side))
    image.seek(0)  # an animation's first frame
    image.load()
    upright = ImageOps.exif_transpose(image) or image
    mode = upright.mode
    has_alpha = mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    # Down to size before the copy below, which would otherwise double the full-size pixels.
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image from the raw pixels: no EXIF, XMP, ICC, comments or text chunks come along.
    return Image.frombytes(upright.mode, upright.size, upright.tobytes())


def _for_format(image: Image.Image, out_format: str) -> Image.Image:
    if out_format == "JPEG" and image.mode not in ("RGB", "L"):
        return image.convert("L" if image.mode == "LA" else "RGB")
    if out_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        return image.convert("RGBA" if image.mode == "LA" else "RGB")
    return image


# --- storing within a transaction ------------------------------------------------------------

_WRITTEN = "photos_written"


def store(session: Session, storage: Storage, photo: ProcessedPhoto) -> str:
    """Save the photo and return its key; the file goes again unless `session` commits."""
    key = storage.save(photo.data, photo.content_type)
    _written(session).append((storage, key))
    return key


def discard(session: Session) -> None:
    """Delete what this session wrote and has not committed (a failed request, a refusal)."""
    _delete(_written(session))


def _written(session: Session) -> list[tuple[Storage, str]]:
    """The files written in this transaction; deleted if it ends without a commit."""

    def first_write() -> list[tuple[Storage, str]]:
        written: list[tuple[Storage, str]] = []
        after_rollback(lambda: _delete(written), session=session)
        return written

    return transaction_local(_WRITTEN, first_write, session=session)


def _delete(written: list[tuple[Storage, str]]) -> None:
    while written:
        storage, key = written.pop()
        try:
            storage.delete(key)
        except Exception:  # a file left over is tidied by hand; the refusal must still show
            current_app.logger.exception("could not delete an uncommitted photo")
