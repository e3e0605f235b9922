"""A complaint with photos while the upload disk is full: the customer is told, keeps what they
wrote, and nothing is half saved; once there is room the same form goes through."""

from __future__ import annotations

import io
import os
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Complaint, Photo
from portal.storage import LocalStorage
from tests.support import factories
from tests.support.pages import csrf_for

TEXT = "The box was crushed on one side and the lamp inside is broken."


class FullDisk(LocalStorage):
    """The upload folder on a disk with no room left: each file is written where every write
    fails with ENOSPC (Linux's /dev/full), then handed to the real folder."""

    def save(self, data: bytes, content_type: str) -> str:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(data)
        return super().save(data, content_type)


@pytest.fixture
def parcel(db):
    parcel = factories.make_parcel(statuses=factories.DELIVERED)
    db.session.commit()
    return parcel


def file_complaint(client, parcel):
    url = f"/t/{parcel.tracking_number}/complaint"
    token = csrf_for(client)
    photo = (io.BytesIO(factories.image_bytes("JPEG")), "lamp.jpg")
    data = {"csrf_token": token, "type": "other", "description": TEXT, "photos": [photo]}
    return client.post(url, data=data, content_type="multipart/form-data")


def saved() -> tuple[int, int]:
    db.session.rollback()
    complaints = db.session.scalar(select(func.count()).select_from(Complaint))
    return complaints, db.session.scalar(select(func.count()).select_from(Photo))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_refuses_the_complaint_clearly_and_keeps_the_text(
    app, client, parcel, tmp_path, monkeypatch
):
    folder = tmp_path / "uploads"
    client.get("/l/" + factories.make_link(parcel))
    monkeypatch.setitem(app.extensions, "storage", FullDisk(folder))
    res = file_complaint(client, parcel)
    page = unescape(res.get_data(as_text=True))
    assert res.status_code == 503
    assert "We couldn't save your photos just now, so nothing has been sent yet." in page
    assert re.search(r"<textarea[^>]*>\s*" + re.escape(TEXT), page), "the text is kept"
    assert saved() == (0, 0)
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))

    monkeypatch.setitem(app.extensions, "storage", LocalStorage(folder))
    again = file_complaint(client, parcel)
    assert again.status_code == 303
    assert saved() == (1, 1)
