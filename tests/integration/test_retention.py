"""Retention (issue 19): personal data of closed parcels anonymised once due, complaint photos
deleted a year after their case closed, nothing else touched; the dashboard and the audit log
read the same afterwards."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.admin.services import console
from portal.extensions import db
from portal.models import (
    AuditEntry,
    Channel,
    InboundMessage,
    Notification,
    Parcel,
    ParcelNote,
    ParcelStatus,
    Photo,
    SignedLink,
    TrackingEvent,
    TransitObservation,
)
from portal.models.types import utcnow
from portal.services import complaints as complaint_service
from portal.services import retention
from portal.services.photos import Upload
from portal.storage import StoredFileMissing, get_storage
from tests.support import factories, staff

NOW = factories.DELIVERY_NOW
pytestmark = [pytest.mark.clock(NOW), pytest.mark.usefixtures("clock")]
S = ParcelStatus
PHONE = "+46701234567"
EMAIL = "alva@example.com"


def closed_parcel(statuses=factories.DELIVERED, **kw) -> Parcel:
    parcel = factories.make_parcel(statuses=statuses, **kw)
    factories.make_link(parcel)
    db.session.add(
        InboundMessage(
            provider_id=f"SM{parcel.id:030d}",
            from_phone=PHONE,
            body="Leave it at the back door please",
            parcel_id=parcel.id,
        )
    )
    db.session.commit()
    return parcel


def later(days: int):
    return utcnow() + timedelta(days=days)


def personal(parcel: Parcel) -> tuple:
    db.session.refresh(parcel)
    return (
        parcel.recipient_name,
        parcel.address_line,
        parcel.recipient_phone,
        parcel.recipient_email,
    )


def test_a_parcel_closed_longer_than_the_retention_is_anonymised():
    parcel = closed_parcel()
    status = parcel.status
    postcode, zone_id, status_at = parcel.postcode, parcel.zone_id, parcel.status_at
    assert db.session.scalar(select(func.count()).where(Notification.parcel_id == parcel.id))

    report = retention.run(now=later(91))

    assert personal(parcel) == (retention.MARKER, retention.MARKER, None, None)
    # What statistics need stays.
    assert (parcel.status, parcel.postcode, parcel.zone_id, parcel.status_at) == (
        status,
        postcode,
        zone_id,
        status_at,
    )
    assert [i.sku for i in parcel.items] == ["TENT-2P"]
    messages = db.session.scalars(select(Notification).where(Notification.parcel_id == parcel.id))
    for message in messages:
        assert message.body == "" and message.body_html is None
        assert message.list_unsubscribe is None
        if message.channel is not Channel.WEBHOOK:
            assert message.recipient == retention.MARKER
        assert message.trigger and message.state  # kept for the dashboard
    reply = db.session.scalar(select(InboundMessage).where(InboundMessage.parcel_id == parcel.id))
    assert (reply.body, reply.from_phone) == ("", retention.MARKER)
    assert not db.session.scalar(select(func.count()).where(SignedLink.parcel_id == parcel.id))
    assert report.counts["parcels"] == 1 and report.counts["signed_links"] >= 1
    assert report.counts["inbound_replies"] == 1 and report.counts["notifications"] >= 1


@pytest.mark.parametrize("statuses", [[S.PICKED_UP, S.RETURN_TO_SENDER], [S.CANCELLED]])
def test_returned_and_cancelled_parcels_are_closed_too(statuses):
    parcel = closed_parcel(statuses)
    retention.run(now=later(91))
    assert personal(parcel)[0] == retention.MARKER


def test_not_yet_due_and_open_parcels_are_untouched():
    recent = closed_parcel()
    on_its_way = closed_parcel([S.PICKED_UP, S.IN_TRANSIT])
    before = (personal(recent), personal(on_its_way))

    report = retention.run(now=later(89))
    assert (personal(recent), personal(on_its_way)) == before
    assert report.counts["parcels"] == 0

    retention.run(now=later(400))  # a year on, still in transit: still needed
    assert personal(on_its_way) == before[1]
    assert db.session.scalar(select(func.count()).where(SignedLink.parcel_id == on_its_way.id))


def test_a_parcel_with_an_open_complaint_waits_for_the_case():
    parcel = closed_parcel()
    complaint = factories.make_complaint(parcel)
    retention.run(now=later(91))
    assert personal(parcel)[0] == "Alva Lindqvist"
    complaint_service.change_status(complaint, "resolved", resolution="reship")
    db.session.commit()
    retention.run(now=later(91))
    assert personal(parcel)[0] == retention.MARKER
    db.session.refresh(complaint)
    assert complaint.description == retention.MARKER
    assert all(m.body == retention.MARKER for m in complaint.messages)
    assert complaint.status.value == "resolved" and complaint.closed_at is not None


def test_dry_run_counts_and_writes_nothing():
    parcel = closed_parcel()
    before = personal(parcel)
    links = db.session.scalar(select(func.count()).select_from(SignedLink))

    report = retention.run(now=later(91), dry_run=True)

    assert report.dry_run and report.counts["parcels"] == 1 and report.counts["signed_links"] >= 1
    assert personal(parcel) == before
    assert db.session.scalar(select(func.count()).select_from(SignedLink)) == links
    real = retention.run(now=later(91))
    assert real.counts == report.counts


def test_a_second_run_skips_what_is_done():
    parcel = closed_parcel()
    first = retention.run(now=later(91))
    again = retention.run(now=later(92))
    assert first.counts["parcels"] == 1
    assert sum(again.counts.values()) == 0
    assert personal(parcel)[0] == retention.MARKER


def test_photos_go_a_year_after_the_case_closed_and_not_before():
    parcel = closed_parcel()
    upload = Upload("crushed.jpg", factories.image_bytes())
    complaint = factories.make_complaint(parcel, photos=[upload])
    complaint_service.change_status(complaint, "resolved", resolution="refund", amount="10")
    db.session.commit()
    keys = [p.storage_key for p in complaint.photos]
    assert keys and get_storage().open(keys[0])

    retention.run(now=later(364))
    assert db.session.scalar(select(func.count()).where(Photo.complaint_id == complaint.id))
    assert get_storage().open(keys[0])

    report = retention.run(now=later(366))
    assert report.counts["photos"] == len(keys) and report.counts["photo_files"] == len(keys)
    assert not db.session.scalar(select(func.count()).where(Photo.complaint_id == complaint.id))
    with pytest.raises(StoredFileMissing):
        get_storage().open(keys[0])


def test_unlinked_replies_go_after_the_retention_too():
    db.session.add(InboundMessage(provider_id="SM-unlinked", from_phone=PHONE, body="Who is this?"))
    db.session.commit()
    report = retention.run(now=later(91))
    reply = db.session.scalar(
        select(InboundMessage).where(InboundMessage.provider_id == "SM-unlinked")
    )
    assert (reply.body, reply.from_phone) == ("", retention.MARKER)
    assert report.counts["unlinked_inbound_replies"] == 1


def test_the_dashboard_counts_anonymised_parcels_as_before(client, clock):
    merchant = factories.make_merchant()
    for _ in range(2):
        factories.make_parcel(merchant=merchant, statuses=factories.DELIVERED)
    staff.login(client, factories.make_agent())
    params = {"from": "2026-11-01", "to": "2026-11-30"}

    def csv(table):
        res = client.get(f"/admin/dashboard/{table}.csv", query_string=params, buffered=True)
        assert res.status_code == 200
        return res.get_data(as_text=True)

    before = {t: csv(t) for t in ("summary", "parcels-by-status")}
    observations = db.session.scalar(select(func.count()).select_from(TransitObservation))
    report = retention.run(now=later(91))
    assert report.counts["parcels"] == 2
    assert {t: csv(t) for t in before} == before
    # The predictions learn from transit observations, which retention leaves alone.
    assert db.session.scalar(select(func.count()).select_from(TransitObservation)) == observations


def test_audit_rows_carry_no_contact_details_and_retention_leaves_them_alone():
    parcel = closed_parcel([S.PICKED_UP, S.IN_TRANSIT])
    agent = factories.make_agent()
    text = f"Recipient asked to be called on {PHONE} or mailed at {EMAIL}"
    console.add_note(agent, parcel, text)
    console.hold(agent, parcel, f"Check the address with {EMAIL}")
    db.session.commit()
    factories.add_events(parcel, ("late-delivery", "delivered", utcnow() + timedelta(minutes=1)))

    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [r.action for r in rows] == ["note.add", "parcel.hold"]
    logged = " ".join(f"{r.actor} {r.subject} {r.before} {r.after}" for r in rows)
    assert PHONE not in logged and EMAIL not in logged and "Recipient asked" not in logged
    assert not re.search(r"\+?\d{9,}", logged)
    assert rows[0].after["body"]["chars"] == len(text)
    snapshot = [(r.id, r.at, r.actor, r.action, r.subject, r.before, r.after) for r in rows]

    report = retention.run(now=later(91))
    assert report.counts["parcels"] == 1 and report.counts["parcel_notes"] == 1
    db.session.expire_all()
    after = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.id, r.at, r.actor, r.action, r.subject, r.before, r.after) for r in after] == (
        snapshot
    )
    note = db.session.scalar(select(ParcelNote).where(ParcelNote.parcel_id == parcel.id))
    assert note.body == retention.MARKER


def test_the_command_prints_counts_per_kind(app):
    closed_parcel()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was written" in dry.output and "parcels: 0" in dry.output
    # Not due today; the counts are all there, and no personal value is printed.
    for kind in retention.KINDS:
        assert f"{kind}: " in dry.output
    assert PHONE not in dry.output and EMAIL not in dry.output


def test_the_carriers_free_text_goes_but_the_scans_stay(app, clock):
    parcel = factories.make_parcel(statuses=[ParcelStatus.PICKED_UP, ParcelStatus.DELIVERED])
    clock.shift(timedelta(days=120))
    assert app.test_cli_runner().invoke(args=["retention", "run"]).exit_code == 0
    events = (
        db.session.execute(select(TrackingEvent).where(TrackingEvent.parcel_id == parcel.id))
        .scalars()
        .all()
    )
    assert [e.code for e in events] == ["picked_up", "delivered"]
    assert all(e.description is None for e in events)
