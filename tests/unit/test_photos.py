"""The upload rules for complaint photos: by content, re-encoded, no metadata, no bombs."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from portal.extensions import db
from portal.services import photos
from portal.services.photos import PhotoRejected, Upload, process
from portal.storage import LocalStorage, StoredFileMissing
from tests.support import factories


def gps_tagged_jpeg() -> bytes:
    """A 400 x 200 phone photo taken on its side (orientation 6) in Stockholm, with a comment."""
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (59.0, 20.0, 30.5), 3: "E", 4: (18.0, 3.0, 10.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 60, 40)).save(
        buffer, "JPEG", exif=exif, comment=b"Alva's flat, 3rd floor"
    )
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def test_a_gps_tagged_jpeg_comes_back_upright_without_exif(app):
    raw = gps_tagged_jpeg()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the GPS is really there

    photo = process(Upload("IMG_0042.jpg", raw))

    out = Image.open(io.BytesIO(photo.data))
    assert photo.content_type == "image/jpeg" and out.format == "JPEG"
    assert (photo.width, photo.height) == out.size == (200, 400)  # turned upright
    assert len(out.getexif()) == 0 and "exif" not in out.info
    assert b"Exif" not in photo.data and b"Phone maker" not in photo.data
    assert b"3rd floor" not in photo.data  # the JPEG comment is gone too


def test_a_text_file_named_jpg_is_refused(app):
    with pytest.raises(PhotoRejected) as refused:
        process(Upload("receipt.jpg", b"Order 1001: one trail tent\n"))
    assert refused.value.message == (
        "receipt.jpg isn't a JPEG, PNG or WebP photo. Choose another file."
    )
    assert refused.value.field == "photos"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cat.png", factories.image_bytes("GIF")),  # a real image, but not a format we take
        ("scan.jpg", b"%PDF-1.7\n" + b"0" * 200),
        ("empty.jpg", b""),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
    ],
)
def test_only_jpeg_png_and_webp_by_content(app, name, data):
    with pytest.raises(PhotoRejected, match="isn't a JPEG, PNG or WebP photo"):
        process(Upload(name, data))


def test_a_damaged_photo_is_refused(app):
    whole = factories.image_bytes("JPEG", (800, 600))
    with pytest.raises(PhotoRejected, match="couldn't be read"):
        process(Upload("cut.jpg", whole[: len(whole) // 2]))


def test_a_file_over_10_mb_is_refused(app):
    with pytest.raises(PhotoRejected) as refused:
        process(Upload("huge.jpg", b"\xff\xd8" + b"\0" * (10 * 1024 * 1024)))
    assert refused.value.message == "huge.jpg is larger than 10 MB. Choose a smaller photo."


def test_an_oversized_image_is_downscaled_to_2048(app):
    photo = process(Upload("wide.jpg", factories.image_bytes("JPEG", (4096, 3072))))
    assert (photo.width, photo.height) == (2048, 1536)
    assert Image.open(io.BytesIO(photo.data)).size == (2048, 1536)

    tall = process(Upload("tall.png", factories.image_bytes("PNG", (1000, 3000))))
    assert (tall.width, tall.height) == (683, 2048) and tall.content_type == "image/png"

    small = process(Upload("small.jpg", factories.image_bytes("JPEG", (640, 480))))
    assert (small.width, small.height) == (640, 480)  # never enlarged


@pytest.mark.parametrize(
    "size",
    [
        (9000, 9000),  # 81 M pixels: above our limit, where Pillow only warns
        (8000, 8000),  # 64 M: a phone's JPEG may be this big, a PNG may not (decoded in full)
        (100_000, 100_000),  # 10 G pixels: where Pillow refuses by itself
    ],
)
def test_a_decompression_bomb_is_refused(app, size):
    bomb = png_claiming(*size)
    assert len(bomb) < 200
    with pytest.raises(PhotoRejected, match="has too many pixels"):
        process(Upload("bomb.png", bomb))


def test_a_big_phone_jpeg_is_taken_and_comes_back_small(app):
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 6000), (90, 120, 200)).save(buffer, "JPEG", quality=60)
    photo = process(Upload("big.jpg", buffer.getvalue()))
    assert (photo.width, photo.height) == (2048, 1536) and photo.content_type == "image/jpeg"


def test_each_format_stays_itself(app):
    png = process(Upload("a.png", factories.image_bytes("PNG", alpha=True)))
    webp = process(Upload("b.webp", factories.image_bytes("WEBP", alpha=True)))
    assert png.content_type == "image/png" and Image.open(io.BytesIO(png.data)).mode == "RGBA"
    assert webp.content_type == "image/webp"
    assert Image.open(io.BytesIO(webp.data)).format == "WEBP"
    jpeg = process(Upload("c.jpeg", factories.image_bytes("JPEG")))
    assert Image.open(io.BytesIO(jpeg.data)).format == "JPEG"


def test_local_storage_uses_random_names_inside_its_folder(tmp_path):
    storage = LocalStorage(tmp_path)
    key = storage.save(b"pixels", "image/png")
    assert key.endswith(".png") and storage.open(key) == b"pixels"
    assert storage.save(b"pixels", "image/png") != key
    assert [p.name for p in tmp_path.rglob("*.part")] == []
    for hostile in ("../secret_key", "/etc/passwd", key.replace(".png", ".html")):
        with pytest.raises(StoredFileMissing):
            storage.open(hostile)
    storage.delete(key)
    storage.delete(key)  # twice is fine
    with pytest.raises(StoredFileMissing):
        storage.open(key)


def test_files_of_a_transaction_that_does_not_commit_are_deleted(app, tmp_path):
    storage = LocalStorage(tmp_path)
    photo = process(Upload("a.jpg", factories.image_bytes()))

    kept = photos.store(db.session(), storage, photo)
    db.session.commit()
    dropped = photos.store(db.session(), storage, photo)
    with db.session.begin_nested():  # a savepoint ending is not the transaction ending
        pass
    assert storage.open(dropped)
    db.session.rollback()

    assert storage.open(kept)
    with pytest.raises(StoredFileMissing):
        storage.open(dropped)
