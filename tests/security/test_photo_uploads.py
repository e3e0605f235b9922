"""Complaint photos as a CPU burner (issue 15, hole 2): files tiny on the wire that decode into
millions of pixels are refused from their headers, before anything is decoded, and one client
can have only PHOTO_UPLOADS_PER_IP photo forms in flight at once."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from PIL import ImageFile
from sqlalchemy import func, select

from portal.complaints import upload_slots
from portal.extensions import db
from portal.models import Complaint, Photo
from tests.support import factories
from tests.support.attack_images import animation, blank_image, progressive_jpeg

NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_parcel(statuses=factories.DELIVERED, start=NOW - timedelta(days=1))


@pytest.fixture
def opened(client, parcel):
    return factories.open_as_recipient(client, parcel)


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """The formats of the images Pillow decodes pixels of, in order."""
    seen: list[str] = []
    load = ImageFile.ImageFile.load

    def counting(self):
        if self.tile:  # pixels still to decode
            seen.append(self.format)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return seen


def file_complaint(client, parcel, files, **kwargs):
    url = f"/t/{parcel.tracking_number}/complaint"
    page = client.get(url, **kwargs).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": token,
        "type": "other",
        "description": "The box was empty.",
        "photos": [(io.BytesIO(data), name) for data, name in files],
    }
    return client.post(url, data=data, content_type="multipart/form-data", **kwargs)


def saved() -> tuple[int, int]:
    complaints = db.session.scalar(select(func.count()).select_from(Complaint))
    photos = db.session.scalar(select(func.count()).select_from(Photo))
    return complaints, photos


def stored_files(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()]


def photos_error(html: str) -> str:
    found = re.search(r'<p class="error" id="photos-error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)).strip() if found else ""


# --- decoding only what the request may cost --------------------------------------------------


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_four_tiny_files_of_25_m_pixels_each_are_refused_undecoded(
    opened, parcel, uploads, decodes, fmt
):
    bait = blank_image(fmt)  # 5000 x 5000 in ~1 KB (WebP) or ~80 KB (PNG)
    files = [(bait, f"bait{n}.{fmt.lower()}") for n in range(4)]

    started = time.process_time()
    res = file_complaint(opened, parcel, files)
    cpu = time.process_time() - started

    assert_refused_undecoded(
        res,
        "These photos are too big to send at once: "
        f"bait3.{fmt.lower()} is one too many. Send it on its own, or choose smaller photos.",
        decodes,
        uploads,
    )
    assert cpu < 1.0, cpu  # was 3 s and more; decoding one of them alone costs ~0.5 s


def test_a_bad_file_at_the_end_refuses_the_batch_before_the_others_are_decoded(
    opened, parcel, uploads, decodes
):
    files = [(factories.image_bytes("PNG", (2000, 1500)), f"shot{n}.png") for n in range(4)]
    files.append((b"Order 1001: one trail tent\n", "receipt.jpg"))

    res = file_complaint(opened, parcel, files)

    assert_refused_undecoded(
        res,
        "receipt.jpg isn't a JPEG, PNG or WebP photo. Choose another file.",
        decodes,
        uploads,
    )


def test_five_phone_photos_are_still_taken(opened, parcel, uploads):
    phone = factories.image_bytes("JPEG", (4032, 3024))  # 12 MP, as phones save them
    res = file_complaint(opened, parcel, [(phone, f"IMG_{n}.jpg") for n in range(5)])
    assert res.status_code == 303
    assert saved() == (1, 5) and len(stored_files(uploads)) == 5


def test_two_screenshots_at_the_largest_are_still_taken(opened, parcel, uploads):
    shot = blank_image("PNG")
    res = file_complaint(opened, parcel, [(shot, "a.png"), (shot, "b.png")])
    assert res.status_code == 303
    assert saved() == (1, 2)


def test_the_budget_is_a_setting(app, opened, parcel, monkeypatch, decodes):
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS_PER_REQUEST", 1_000_000)
    photo = factories.image_bytes("JPEG", (800, 600))  # 0.48 M pixels
    res = file_complaint(opened, parcel, [(photo, "a.jpg"), (photo, "b.jpg"), (photo, "c.jpg")])
    assert res.status_code == 422
    assert "c.jpg is one too many" in photos_error(res.get_data(as_text=True))
    assert decodes == []


# --- what decoding really costs: full size, every scan, the frames decoded --------------------


@pytest.fixture
def decoded_frames(monkeypatch) -> list[tuple[str, int]]:
    """(format, frame) of every frame Pillow decodes pixels of, in order."""
    seen: list[tuple[str, int]] = []
    load = ImageFile.ImageFile.load

    def counting(self):
        if self.tile:
            seen.append((self.format, self.tell()))
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return seen


def assert_refused_undecoded(res, message: str, decodes: list[str], uploads) -> None:
    """The form came back with `message` on its photos, and nothing was decoded or kept."""
    assert res.status_code == 422
    assert photos_error(res.get_data(as_text=True)) == message
    assert decodes == []
    assert saved() == (0, 0) and stored_files(uploads) == []


def test_jpegs_count_at_full_size_though_decoded_smaller(opened, parcel, uploads, decodes):
    # Drawn at 1/2 scale (16 M pixels) for a 2048-pixel photo, but every block of the 64 M is
    # still read: two of them are more than a request's 80 M.
    photo = blank_image("JPEG", 8000)
    res = file_complaint(opened, parcel, [(photo, "IMG_1.jpg"), (photo, "IMG_2.jpg")])
    assert_refused_undecoded(
        res,
        "These photos are too big to send at once: "
        "IMG_2.jpg is one too many. Send it on its own, or choose smaller photos.",
        decodes,
        uploads,
    )


def test_a_big_progressive_jpeg_is_refused_undecoded(opened, parcel, uploads, decodes):
    # 36 M pixels in 140 KB. A progressive JPEG keeps every coefficient at full size until its
    # last scan, whatever scale it is drawn at (64 M pixels took 430 MB): so it has the limit
    # of the formats decoded whole, 25 M pixels, and not a baseline JPEG's 64 M.
    res = file_complaint(opened, parcel, [(progressive_jpeg(6000, 6000), "scan.jpg")])
    assert_refused_undecoded(
        res,
        "scan.jpg has too many pixels to be a photo. Choose another file.",
        decodes,
        uploads,
    )


def test_a_jpeg_of_hundreds_of_scans_is_refused_undecoded(opened, parcel, uploads, decodes):
    # 4 M pixels and 500 scans more than libjpeg writes, in 23 KB: each scan is another pass
    # over the whole picture (2,000 of them took 10 s of CPU).
    bait = progressive_jpeg(2000, 2000, extra_scans=500)
    res = file_complaint(opened, parcel, [(bait, "scans.jpg")])
    assert_refused_undecoded(
        res,
        "scans.jpg couldn't be read: the file may be damaged. Choose another.",
        decodes,
        uploads,
    )


def test_a_jpeg_of_many_scans_counts_each_pass_against_the_budget(opened, parcel, uploads, decodes):
    # 9 M pixels in 100 scans (within the scan limit): each tenth of them is another pass over
    # the picture, so it costs what 90 M pixels in one pass do, more than a form may decode.
    bait = progressive_jpeg(3000, 3000, extra_scans=94)
    assert bait.count(b"\xff\xda") == 100
    res = file_complaint(opened, parcel, [(bait, "passes.jpg")])
    assert_refused_undecoded(
        res,
        "passes.jpg has too many pixels to be a photo. Choose another file.",
        decodes,
        uploads,
    )


def test_an_ordinary_progressive_photo_is_still_taken(opened, parcel, uploads):
    photo = progressive_jpeg(4000, 3000)  # 12 M pixels in libjpeg's usual 6 scans
    res = file_complaint(opened, parcel, [(photo, "IMG_1.jpg"), (photo, "IMG_2.jpg")])
    assert res.status_code == 303
    assert saved() == (1, 2)


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_an_animation_costs_the_one_frame_decoded(opened, parcel, uploads, decoded_frames, fmt):
    # Ten frames of 9 M pixels: only the first is decoded (and kept), so it counts 9 M, not
    # the 90 M that decoding every frame would cost, and no other frame is ever decoded.
    bait = animation(fmt, 3000, 10)
    phone = factories.image_bytes("JPEG", (4032, 3024))
    res = file_complaint(opened, parcel, [(bait, f"moving.{fmt.lower()}"), (phone, "IMG_1.jpg")])
    assert res.status_code == 303
    assert decoded_frames == [(fmt, 0), ("JPEG", 0)]
    assert saved() == (1, 2)


# --- one upload in flight per client ----------------------------------------------------------


def test_a_second_upload_while_one_is_in_flight_gets_429(opened, parcel, uploads, redis_queue):
    photo = factories.image_bytes("JPEG")
    slot = upload_slots.take("127.0.0.1")  # an upload from this client is under way
    try:
        busy = file_complaint(opened, parcel, [(photo, "a.jpg")])
        other_client = file_complaint(
            opened, parcel, [(photo, "a.jpg")], environ_base={"REMOTE_ADDR": "192.0.2.7"}
        )
    finally:
        upload_slots.give_back(slot)

    assert busy.status_code == 429
    # Our 5 s, and no X-RateLimit-* of the page's lookup limit, which is not what was hit.
    assert busy.headers["Retry-After"] == "5"
    assert "X-RateLimit-Limit" not in busy.headers
    assert "We're still checking photos you sent a moment ago." in unescape(
        busy.get_data(as_text=True)
    )
    assert other_client.status_code == 303  # someone else is not held up
    assert saved() == (1, 1)

    again = file_complaint(opened, parcel, [(photo, "b.jpg")])
    assert again.status_code == 303  # the slot was given back
    assert saved() == (2, 2)


@pytest.mark.parametrize(
    ("in_flight", "same_client", "someone_else"),
    [
        # IPv6: one line's /64, whichever of its 2**64 addresses a connection comes from.
        ("2001:db8:1:2::a", "2001:db8:1:2:ffff:ffff:ffff:1", "2001:db8:1:3::a"),
        # IPv4: the address, also as a dual-stack socket reports it.
        ("192.0.2.7", "::ffff:192.0.2.7", "192.0.2.8"),
    ],
)
def test_a_client_changing_address_within_its_network_still_waits_its_turn(
    opened, parcel, redis_queue, in_flight, same_client, someone_else
):
    photo = factories.image_bytes("JPEG")
    slot = upload_slots.take(in_flight)
    try:
        busy = file_complaint(
            opened, parcel, [(photo, "a.jpg")], environ_base={"REMOTE_ADDR": same_client}
        )
        other = file_complaint(
            opened, parcel, [(photo, "b.jpg")], environ_base={"REMOTE_ADDR": someone_else}
        )
    finally:
        upload_slots.give_back(slot)
    assert busy.status_code == 429
    assert other.status_code == 303
    assert saved() == (1, 1)


def test_a_refused_upload_gives_its_slot_back(opened, parcel, redis_queue):
    refused = file_complaint(opened, parcel, [(b"text", "a.jpg")])
    assert refused.status_code == 422
    taken = file_complaint(opened, parcel, [(factories.image_bytes("JPEG"), "b.jpg")])
    assert taken.status_code == 303


def test_pages_without_photos_are_not_counted(opened, parcel, redis_queue):
    slot = upload_slots.take("127.0.0.1")
    try:
        assert opened.get(f"/t/{parcel.tracking_number}/complaint").status_code == 200
    finally:
        upload_slots.give_back(slot)


def test_a_slot_a_dead_worker_kept_lapses(app, opened, parcel, redis_queue):
    # A worker killed mid-upload never gave its slot back: Redis holds it, started long ago.
    seconds = app.config["PHOTO_UPLOAD_SLOT_SECONDS"]
    now, _micro = redis_queue.time()
    redis_queue.zadd("lastmile:photo-uploads:127.0.0.1", {"killed": now - seconds - 1})
    res = file_complaint(opened, parcel, [(factories.image_bytes("JPEG"), "a.jpg")])
    assert res.status_code == 303


def test_without_redis_reachable_uploads_are_counted_in_process(app, opened, parcel, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens
    slot = upload_slots.take("127.0.0.1")
    try:
        busy = file_complaint(opened, parcel, [(factories.image_bytes("JPEG"), "a.jpg")])
    finally:
        upload_slots.give_back(slot)
    assert busy.status_code == 429


def test_without_redis_configured_this_process_counts(app, monkeypatch):
    # The embedded default (one process). Through the service: a complaint filed without
    # REDIS_URL would be sent on a thread racing the test's clean-up.
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "PHOTO_UPLOADS_PER_IP", 2)
    first, second = upload_slots.take("192.0.2.1"), upload_slots.take("192.0.2.1")
    with pytest.raises(upload_slots.TooManyUploads):
        upload_slots.take("192.0.2.1")
    upload_slots.give_back(upload_slots.take("192.0.2.2"))  # another client
    upload_slots.give_back(first)
    upload_slots.give_back(upload_slots.take("192.0.2.1"))
    upload_slots.give_back(second)
