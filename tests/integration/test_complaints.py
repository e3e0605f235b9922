"""Complaints as a customer files and follows them, and as agents move them on (service)."""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.gsm7 import is_gsm7, segments
from portal.models import (
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Notification,
    Photo,
    Role,
    SignedLink,
)
from portal.services import complaints
from portal.services.complaints import ReplyNotAllowed, StatusChangeNotAllowed
from portal.services.errors import DomainError
from portal.services.parcels import ItemData
from portal.services.photos import Upload
from tests.support import factories
from tests.support.pages import csrf_for
from tests.support.staff import login

# Thursday 26 November 2026, 10:00 in Stockholm.
NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    """Photos of this test go to a folder of its own."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_parcel(
        items=[
            ItemData("TENT-2P", "Trail tent", 1, Decimal("2499.00")),
            ItemData("MUG-ENAMEL", "Enamel mug", 2, Decimal("129.00")),
        ],
        statuses=factories.DELIVERED,
        start=NOW - timedelta(days=1),
    )


@pytest.fixture
def opened(client, parcel):
    """The recipient's browser, opened from the SMS link."""
    client.get("/l/" + factories.make_link(parcel))
    return client


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def form_url(parcel) -> str:
    return f"/t/{parcel.tracking_number}/complaint"


def jpeg(name: str = "photo.jpg", size=(800, 600)) -> tuple[io.BytesIO, str]:
    return io.BytesIO(factories.image_bytes("JPEG", size)), name


def file_complaint(client, parcel, photos=(), **fields):
    data = {
        "csrf_token": csrf_for(client),
        "type": "damaged",
        "description": "The box was crushed and the tent pole is bent.",
        "items": [str(parcel.items[0].id)],
        **fields,
        "photos": list(photos),
    }
    return client.post(form_url(parcel), data=data, content_type="multipart/form-data")


def reply(client, complaint, body="Here is the label.", photos=()):
    # The session's token, as any of its pages carries (one opened before the case moved on).
    return client.post(
        f"/c/{complaint.case_number}",
        data={"csrf_token": csrf_for(client), "body": body, "photos": list(photos)},
        content_type="multipart/form-data",
    )


def stored_files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def messages(trigger: str) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(Notification.trigger == trigger).order_by(Notification.id)
        ).scalars()
    )


# --- filing ----------------------------------------------------------------------------------


def test_unverified_visitors_are_sent_to_the_postcode_check(client, parcel):
    res = client.get(form_url(parcel))
    assert res.status_code == 303
    assert (
        res.location
        == f"/t/{parcel.tracking_number}/verify?next=/t/{parcel.tracking_number}/complaint"
    )
    case = factories.make_complaint(parcel)
    res = client.get(f"/c/{case.case_number}")
    assert res.status_code == 303
    assert res.location.endswith(f"verify?next=/c/{case.case_number}")


def test_the_parcel_page_offers_to_report_a_problem(client, opened, parcel):
    html = opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    assert f'href="/t/{parcel.tracking_number}/complaint">Report a problem</a>' in html
    anonymous = client.application.test_client()
    assert "Report a problem" not in anonymous.get(f"/t/{parcel.tracking_number}").get_data(
        as_text=True
    )


def test_the_form_has_types_items_and_photos(opened, parcel):
    res = opened.get(form_url(parcel))
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and res.headers["Cache-Control"] == "private, no-store"
    assert 'enctype="multipart/form-data"' in html
    assert "<legend>What went wrong?</legend>" in html
    for value in ("damaged", "missing_item", "not_received", "late", "wrong_item", "other"):
        assert f'type="radio" value="{value}"' in html
    assert "<legend>Which items is it about?</legend>" in html
    assert 'type="checkbox"' in html and "1 × Trail tent" in html and "2 × Enamel mug" in html
    assert 'accept="image/jpeg,image/png,image/webp"' in html and "multiple" in html
    page = text(html)
    assert "Up to 5 photos: JPEG, PNG or WebP, each at most 10 MB." in page
    assert "We answer within 3 working days." in page
    assert len(html.encode()) < 100_000


def test_filing_a_complaint_with_two_photos(opened, parcel, uploads):
    res = file_complaint(opened, parcel, photos=[jpeg("front.jpg"), jpeg("side.jpg", (3000, 1000))])

    complaint = db.session.execute(select(Complaint)).scalar_one()
    assert res.status_code == 303 and res.location == f"/c/{complaint.case_number}"
    assert re.fullmatch(r"C-[A-HJKMNP-Z2-9]{8}", complaint.case_number)
    assert complaint.status is ComplaintStatus.OPEN
    assert [i.sku for i in complaint.items] == ["TENT-2P"]
    assert [(p.width, p.height, p.content_type) for p in complaint.photos] == [
        (800, 600, "image/jpeg"),
        (2048, 683, "image/jpeg"),
    ]
    assert stored_files(uploads) == sorted(p.storage_key for p in complaint.photos)

    res = opened.get(res.location)
    page = text(res.get_data(as_text=True))
    assert res.headers["Cache-Control"] == "private, no-store"
    assert "Thank you, we've got your complaint." in page
    assert f"Case {complaint.case_number}" in page
    assert "We'll answer by Tuesday 1 December." in page  # Fri, Mon, Tue: 3 working days
    assert "Received We have your complaint and will look into it." in page
    assert "What went wrong Damaged" in page and "Items 1 × Trail tent" in page
    assert "The box was crushed and the tent pole is bent." in page
    html = res.get_data(as_text=True)
    for photo in complaint.photos:
        assert f'src="/c/{complaint.case_number}/photos/{photo.id}"' in html
    assert 'alt="Photo 2 of 2"' in html

    # The parcel page lists the case with its status.
    parcel_page = text(opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert f"{complaint.case_number} Damaged Received" in parcel_page

    # The customer is told, with a link that opens the case.
    sent = messages("complaint_opened")
    assert {m.channel for m in sent} == {Channel.SMS, Channel.EMAIL}
    sms = next(m for m in sent if m.channel is Channel.SMS).body
    assert f"we've got your complaint, case {complaint.case_number}" in sms
    assert "We'll answer by Tuesday 1 December." in sms
    assert is_gsm7(sms) and segments(sms) == 1, sms
    links = db.session.execute(select(SignedLink.target)).scalars().all()
    assert f"/c/{complaint.case_number}" in links


def test_the_answer_is_due_after_the_merchants_working_days(opened, parcel):
    parcel.merchant.complaint_due_days = 1
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 27, 16, tzinfo=UTC), tick=False):  # Friday
        file_complaint(opened, parcel)
        complaint = db.session.execute(select(Complaint)).scalar_one()
        page = text(opened.get(f"/c/{complaint.case_number}").get_data(as_text=True))
    assert "We'll answer by Monday 30 November." in page


@pytest.mark.parametrize(
    ("filed", "days", "due"),
    [
        (datetime(2026, 11, 26, 9, tzinfo=UTC), 3, "2026-12-01"),  # Thursday → Tuesday
        (datetime(2026, 11, 28, 9, tzinfo=UTC), 3, "2026-12-02"),  # Saturday → Wednesday
        (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), 1, "2026-11-30"),  # Sat 00:30 local → Mon
        (datetime(2026, 11, 29, 9, tzinfo=UTC), 0, "2026-11-30"),  # Sunday, 0 days → Monday
        (datetime(2026, 11, 26, 9, tzinfo=UTC), 10, "2026-12-10"),
    ],
)
def test_working_days_skip_weekends(app, filed, days, due):
    at = complaints.due_at(filed, days, "Europe/Stockholm")
    assert at.date().isoformat() == due and at.tzinfo is not None


def test_errors_stay_on_the_form(opened, parcel):
    res = file_complaint(opened, parcel, type="", description="  ", items=[])
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "<title>Error: Report a problem" in html
    assert 'role="alert"' in html and '<a href="#type">Choose what went wrong.</a>' in html
    assert 'aria-describedby="type-error"' in html and '<p class="error" id="type-error">' in html
    assert '<p class="error" id="description-error">Tell us what happened.</p>' in html
    assert 'aria-invalid="true"' in html

    res = file_complaint(opened, parcel, type="missing_item", items=[], description="Mug gone")
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert '<p class="error" id="items-error">Choose the items this is about.</p>' in html
    assert "Mug gone" in html  # what was typed is kept
    assert count(Complaint) == 0


def test_a_text_file_named_jpg_is_refused_and_nothing_is_saved(opened, parcel, uploads):
    res = file_complaint(
        opened,
        parcel,
        photos=[jpeg("fine.jpg"), (io.BytesIO(b"just some text\n"), "notes.jpg")],
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert (
        '<p class="error" id="photos-error">notes.jpg isn&#39;t a JPEG, PNG or WebP photo. '
        "Choose another file.</p>"
    ) in html
    assert 'aria-describedby="photos-hint photos-error"' in html
    assert "Please choose your photos again." in text(html)
    assert count(Complaint) == count(Photo) == 0 and messages("complaint_opened") == []
    assert stored_files(uploads) == []


def test_a_sixth_photo_is_refused(opened, parcel, uploads):
    res = file_complaint(opened, parcel, photos=[jpeg(f"{n}.jpg") for n in range(6)])
    assert res.status_code == 422
    assert "Add at most 5 photos at a time." in res.get_data(as_text=True)
    assert count(Complaint) == count(Photo) == 0 and stored_files(uploads) == []

    res = file_complaint(opened, parcel, photos=[jpeg(f"{n}.jpg") for n in range(5)])
    assert res.status_code == 303 and count(Photo) == 5 and len(stored_files(uploads)) == 5


def test_a_photo_over_10_mb_is_refused_in_place(opened, parcel, uploads):
    big = io.BytesIO(b"\xff\xd8\xff" + os.urandom(10 * 1024 * 1024)), "big.jpg"
    res = file_complaint(opened, parcel, photos=[big])
    assert res.status_code == 422
    assert "big.jpg is larger than 10 MB. Choose a smaller photo." in res.get_data(as_text=True)
    assert count(Complaint) == 0 and stored_files(uploads) == []


def test_photos_beyond_the_4_mb_api_limit_are_taken(opened, parcel):
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2_500_000
    photos = [(io.BytesIO(buffer.getvalue()), f"noise{n}.png") for n in range(2)]
    res = file_complaint(opened, parcel, photos=photos)
    assert res.status_code == 303
    assert [p.content_type for p in db.session.execute(select(Photo)).scalars()] == [
        "image/png"
    ] * 2


def test_a_request_over_the_limit_gets_the_413_page(opened, parcel, uploads, carrier_api):
    body = b"x" * (5 * 10 * 1024 * 1024 + 2 * 1024 * 1024)
    res = opened.post(
        form_url(parcel),
        data=body,
        content_type="multipart/form-data; boundary=xyz",
        headers={"X-CSRFToken": csrf_for(opened)},
    )
    assert res.status_code == 413
    html = res.get_data(as_text=True)
    assert "<h1>Too large to send</h1>" in html
    assert "Each photo can be at most 10 MB, and you can send at most 5 photos at a time." in text(
        html
    )
    assert count(Complaint) == 0 and stored_files(uploads) == []

    # The API keeps its own limit and answers in JSON.
    res = carrier_api.post(
        "/api/v1/events",
        data=b"{" + b" " * (4 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert res.status_code == 413 and res.json["error"]["code"] == "too_large"


def test_a_failure_after_the_files_were_written_leaves_nothing(
    opened, parcel, uploads, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(complaints.filing, "tell_customer", broken)
    res = file_complaint(opened, parcel, photos=[jpeg("a.jpg"), jpeg("b.jpg")])
    assert res.status_code == 500
    assert count(Complaint) == count(Photo) == count(ComplaintMessage) == 0
    assert stored_files(uploads) == []


def test_a_case_number_is_drawn_again_when_taken(parcel, monkeypatch):
    first = factories.make_complaint(parcel)
    drawn = iter([first.case_number, "C-K7QX94MP"])
    monkeypatch.setattr(complaints.filing, "new_case_number", lambda: next(drawn))
    second = factories.make_complaint(parcel, type="late")
    assert second.case_number == "C-K7QX94MP" and count(Complaint) == 2


def test_a_case_number_typed_loosely_finds_the_case(opened, parcel):
    case = factories.make_complaint(parcel)
    loose = case.case_number.lower().replace("c-", "c ")
    res = opened.get(f"/c/{loose}")
    assert res.status_code == 301 and res.location == f"/c/{case.case_number}"
    assert opened.get("/c/C-AAAAAAAA").status_code == 404
    # No number a case can have: 404 at once, never a redirect to another wrong number.
    for wrong in ("abc", "C-ABC", "C-AAAAAAAAA", "C-AAAA0AAA", "C-%00AAAAAAA", "%00"):
        assert opened.get(f"/c/{wrong}").status_code == 404, wrong
        assert opened.get(f"/c/{wrong}/photos/1").status_code == 404, wrong


def test_control_characters_stay_on_the_form_and_nothing_is_saved(opened, parcel):
    res = file_complaint(opened, parcel, description="The box\x00 was crushed.")
    assert res.status_code == 422 and "Remove the special characters." in res.get_data(True)
    assert count(Complaint) == 0
    case = factories.make_complaint(parcel)
    complaints.change_status(case, "awaiting_customer", message="A photo, please.")
    db.session.commit()
    thread = count(ComplaintMessage)
    res = reply(opened, case, body="Here\x00 it is.")
    assert res.status_code == 422 and "Remove the special characters." in res.get_data(True)
    assert count(ComplaintMessage) == thread


# --- photos are private ----------------------------------------------------------------------


def test_photos_are_shown_only_to_the_verified_recipient_and_agents(app, opened, parcel):
    case = factories.make_complaint(parcel, photos=[Upload("a.jpg", factories.image_bytes())])
    url = f"/c/{case.case_number}/photos/{case.photos[0].id}"

    res = opened.get(url)
    assert res.status_code == 200 and res.mimetype == "image/jpeg"
    assert res.headers["Cache-Control"] == "private, no-store"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(res.data)).size == (640, 480)

    stranger = app.test_client()
    assert stranger.get(url).status_code == 404
    other = factories.make_parcel()
    stranger.get("/l/" + factories.make_link(other))  # verified, but for another parcel
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/c/{case.case_number}/photos/999999").status_code == 404

    agent = app.test_client()
    login(agent, factories.make_agent())
    assert agent.get(url).status_code == 200
    supervisor = app.test_client()
    login(supervisor, factories.make_agent("boss@example.com", role=Role.SUPERVISOR))
    assert supervisor.get(url).status_code == 200
    kiosk = app.test_client()
    login(kiosk, factories.make_dropoff_account())
    assert kiosk.get(url).status_code == 404


# --- the thread ------------------------------------------------------------------------------


def test_the_customer_can_reply_only_while_we_wait_for_them(opened, parcel, uploads):
    case = factories.make_complaint(parcel)
    page = text(opened.get(f"/c/{case.case_number}").get_data(as_text=True))
    assert "Send answer" not in page
    assert "If we need anything from you, we'll ask here" in page
    res = reply(opened, case)
    assert res.status_code == 409
    assert "You can reply when we ask you for something." in res.get_data(as_text=True)
    assert count(ComplaintMessage) == 0

    complaints.change_status(
        case, "awaiting_customer", agent=factories.make_agent(), message="Please send the label."
    )
    db.session.commit()
    page = text(opened.get(f"/c/{case.case_number}").get_data(as_text=True))
    assert "Waiting for your answer" in page
    assert "Customer service" in page and "Please send the label." in page
    assert "Your answer" in page and "Send answer" in page

    res = reply(opened, case, "The label is on the box.", photos=[jpeg("label.jpg")])
    assert res.status_code == 303
    page = opened.get(f"/c/{case.case_number}").get_data(as_text=True)
    assert "We&#39;ve got your answer" in page
    assert "You" in text(page) and "The label is on the box." in page
    label = db.session.execute(select(Photo)).scalar_one()
    assert label.message is not None and label.message.author == "customer"
    assert f"/c/{case.case_number}/photos/{label.id}" in page
    assert "Status: Being looked into" in text(page)
    assert "Send answer" not in page  # the case is back with the agents
    db.session.refresh(case)
    assert case.status is ComplaintStatus.INVESTIGATING
    assert len(stored_files(uploads)) == 1

    res = reply(opened, case, "One more thing")
    assert res.status_code == 409


def test_a_status_change_notifies_the_customer(opened, parcel):
    case = factories.make_complaint(parcel)
    agent = factories.make_agent()

    entry = complaints.change_status(
        case,
        ComplaintStatus.RESOLVED,
        agent=agent,
        message="Sorry about the tent. We refund it.",
        resolution="refund",
        amount="2499",
    )
    db.session.commit()

    sent = messages("complaint_updated")
    assert {m.channel for m in sent} == {Channel.SMS, Channel.EMAIL}
    assert all(m.dedupe_key.endswith(f":{case.id}:{entry.id}:{m.channel}") for m in sent)
    sms = next(m for m in sent if m.channel is Channel.SMS).body
    assert f"news on your complaint {case.case_number} (Resolved)" in sms
    assert is_gsm7(sms) and segments(sms) == 1, sms
    mail = next(m for m in sent if m.channel is Channel.EMAIL)
    assert "Resolution: Refund: €2,499.00" in mail.body
    assert "Sorry about the tent. We refund it." in mail.body
    assert "Sorry about the tent. We refund it." in mail.body_html

    page = text(opened.get(f"/c/{case.case_number}").get_data(as_text=True))
    assert "Resolved We have settled your complaint." in page
    assert "Resolution Refund: €2,499.00" in page
    assert "Status: Resolved" in page and "Sorry about the tent. We refund it." in page
    assert "We'll answer by" not in page

    # Every change is told, each once.
    complaints.change_status(case, "investigating", agent=agent)
    complaints.add_agent_message(case, "We are asking the carrier again.", agent=agent)
    db.session.commit()
    assert len(messages("complaint_updated")) == 6


def test_swedish_recipients_are_told_in_swedish(parcel):
    swedish = factories.make_parcel(language="sv", merchant=parcel.merchant)
    case = factories.make_complaint(swedish, type="late")
    sms = next(m for m in messages("complaint_opened") if m.channel is Channel.SMS).body
    assert f"vi har tagit emot din reklamation, ärende {case.case_number}" in sms
    assert "Svar senast tisdag 1 december." in sms
    assert is_gsm7(sms) and segments(sms) == 1, sms


def test_status_rules(parcel):
    case = factories.make_complaint(parcel)
    with pytest.raises(DomainError, match="Choose how the case is resolved"):
        complaints.change_status(case, "resolved")
    with pytest.raises(DomainError, match="Give the amount"):
        complaints.change_status(case, "resolved", resolution="compensation")
    with pytest.raises(DomainError, match="Only a refund or compensation has an amount"):
        complaints.change_status(case, "resolved", resolution="reship", amount="10")
    with pytest.raises(DomainError, match="above zero"):
        complaints.change_status(case, "resolved", resolution="refund", amount="-5")
    with pytest.raises(DomainError, match="Tell the customer what you need"):
        complaints.change_status(case, "awaiting_customer")
    with pytest.raises(DomainError, match="Only a resolved case has a resolution"):
        complaints.change_status(case, "investigating", resolution="refund")
    with pytest.raises(DomainError, match="Unknown status"):
        complaints.change_status(case, "closed")
    db.session.rollback()

    complaints.change_status(case, "rejected", message="The parcel was signed for.")
    with pytest.raises(StatusChangeNotAllowed):
        complaints.change_status(case, "awaiting_customer", message="Send a photo")
    complaints.change_status(case, "investigating")  # opened again
    complaints.change_status(case, "resolved", resolution="compensation", amount="150.5")
    db.session.commit()
    assert (case.resolution, case.resolution_amount) == ("compensation", Decimal("150.50"))
    with pytest.raises(ReplyNotAllowed):
        complaints.reply(case, "thanks")


# --- the API ---------------------------------------------------------------------------------


def test_the_api_lists_complaints_for_the_merchant(client, parcel):
    case = factories.make_complaint(parcel)
    complaints.change_status(case, "resolved", resolution="reship")
    db.session.commit()
    merchant_key = factories.make_api_key(merchant=parcel.merchant)
    res = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}",
        headers={"Authorization": f"Bearer {merchant_key}"},
    )
    assert res.status_code == 200
    assert res.json["complaints"] == [
        {
            "case_number": case.case_number,
            "type": "damaged",
            "status": "resolved",
            "resolution": "reship",
            "resolution_amount": None,
            "due_at": "2026-12-01T22:59:59Z",
            "created_at": "2026-11-26T09:00:00Z",
            "updated_at": "2026-11-26T09:00:00Z",
        }
    ]
    carrier_key = factories.make_api_key(carrier=parcel.carrier)
    res = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}",
        headers={"Authorization": f"Bearer {carrier_key}"},
    )
    assert res.json["complaints"] == []
    doc = client.get("/api/v1/openapi.json").json
    assert doc["components"]["schemas"]["ParcelOut"]["properties"]["complaints"]["items"] == {
        "$ref": "#/components/schemas/ComplaintOut"
    }
