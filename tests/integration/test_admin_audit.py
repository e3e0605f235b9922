"""Every kind of staff action leaves its audit row: who, what, when, before and after."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Account,
    ApiKey,
    AuditEntry,
    Channel,
    ClosedDay,
    InboundMessage,
    Merchant,
    Notification,
    ParcelStatus,
    PickupPoint,
    Role,
    Slot,
    SlotTemplate,
    WebhookEndpoint,
    Zone,
    ZonePostcodePrefix,
)
from portal.services.audit import ACTIONS
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories
from tests.support.staff import login, post, totp_code

NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def requested_return(merchant, ref: str):
    first, _ = factories.make_order(merchant, order_ref=ref)
    ret = open_return(
        first,
        ReturnRequest(
            [LineRequest(parcel_item_id=first.items[0].id, quantity=1, reason="too_small")],
            method="dropoff",
        ),
    )
    db.session.commit()
    return ret


def test_every_action_type_writes_its_audit_row(app, client):
    app.config["WEBHOOK_ALLOW_INSECURE"] = False
    boss = factories.make_agent("boss@example.com", role=Role.SUPERVISOR)
    login(client, boss)
    factories.make_delivery_zone()
    merchant = factories.make_merchant()
    factories.set_return_policy(merchant, auto_approve=False)
    parcel = factories.make_parcel(merchant=merchant, statuses=[ParcelStatus.IN_TRANSIT])
    delivered = factories.make_parcel(merchant=merchant, statuses=factories.DELIVERED)
    complaint = factories.make_complaint(delivered)
    one, two = requested_return(merchant, "A-1"), requested_return(merchant, "A-2")
    delivered_order, _ = factories.make_order(merchant, order_ref="A-3")
    reply = InboundMessage(
        provider_id="SMa1", from_phone=parcel.recipient_phone, body="Hi", parcel_id=parcel.id
    )
    db.session.add(reply)
    db.session.commit()
    sms = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == Channel.SMS
        )
    ).scalar_one()
    slot = (
        db.session.execute(
            select(Slot).where(Slot.day == date(2026, 11, 30)).order_by(Slot.starts_at)
        )
        .scalars()
        .first()
    )

    def act(url: str, data: dict | None = None, expect: int = 303):
        res = post(client, url, data or {})
        assert res.status_code == expect, (url, res.get_data(as_text=True)[:300])
        return res

    p, d = f"/admin/parcels/{parcel.tracking_number}", f"/admin/parcels/{delivered.tracking_number}"
    act(f"{p}/notifications/resend", {"notification_id": sms.id})
    act(f"{p}/delivery", {"choice": "slot", "slot": slot.id})
    act(f"{p}/hold", {"reason": "Address to check"})
    act(f"{p}/hold", {"release": "1"})
    act(f"{p}/inbound/read", {"inbound_id": reply.id})
    act(f"{p}/notes", {"body": "Called the recipient."})
    r1, r2 = (
        f"/admin/parcels/{one.parcel.tracking_number}",
        f"/admin/parcels/{two.parcel.tracking_number}",
    )
    act(f"{r1}/returns/decide", {"return_id": one.id, "decision": "approve"})
    act(f"{r1}/returns/refund", {"return_id": one.id, "amount": "599"})
    act(f"{r2}/returns/decide", {"return_id": two.id, "decision": "reject", "reason": "Worn."})
    shirt = delivered_order.items[0]
    o = f"/admin/parcels/{delivered_order.tracking_number}"
    act(
        f"{o}/return",
        {f"qty_{shirt.id}": "1", f"reason_{shirt.id}": "damaged", "method": "dropoff"},
    )
    case = {"complaint_id": complaint.id}
    act(f"{d}/complaints/assign", {**case, "assignee": boss.id})
    act(f"{d}/complaints/photos", {**case, "message": "A photo of the pole, please."})
    act(f"{d}/complaints/message", {**case, "message": "Thanks for waiting."})
    act(f"{d}/complaints/status", {**case, "status": "resolved", "resolution": "reship"})

    act(
        "/admin/agents",
        {
            "email": "new@example.com",
            "name": "New",
            "role": "agent",
            "place": "",
        },
    )
    newcomer = db.session.execute(
        select(Account).where(Account.email == "new@example.com")
    ).scalar_one()
    a = f"/admin/agents/{newcomer.id}"
    act(f"{a}/role", {"role": "supervisor", "place": ""})
    newcomer.totp_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    act(f"{a}/totp-reset", {})
    act(f"{a}/password-reset", {})
    own = "the boss's own new password"
    act(
        "/admin/account/password",
        {
            "current_password": factories.STAFF_PASSWORD,
            "password": own,
            "confirm": own,
            "code": totp_code(boss),
        },
    )

    act("/admin/merchants", {"name": "Nordic Socks"})
    shop = db.session.execute(select(Merchant).where(Merchant.name == "Nordic Socks")).scalar_one()
    m = f"/admin/merchants/{shop.id}"
    act(
        f"{m}/details",
        {
            "name": "Nordic Socks",
            "return_address": "Desk 1",
            "complaint_due_days": "5",
            "storage_days": "20",
            "safe_place_max_value": "",
        },
    )
    act(f"{m}/slot-share", {"api_slot_share": "30"})
    act(
        f"{m}/policy",
        {
            "window_days": "14",
            "methods": ["dropoff"],
            "reasons": ["damaged"],
            "non_returnable_skus": "",
            "fee": "",
        },
    )
    act(f"{m}/keys", {}, expect=200)  # the key is on this page, once
    key = db.session.execute(select(ApiKey).where(ApiKey.merchant_id == shop.id)).scalar_one()
    act(f"{m}/keys/{key.id}/revoke", {})
    act(f"{m}/webhooks", {"url": "https://93.184.216.34/hook"}, expect=200)
    hook = db.session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == shop.id)
    ).scalar_one()
    act(f"{m}/webhooks/{hook.id}/delete", {})
    t = f"{m}/messages/parcel_created/sms/en"
    act(t, {"body": "Hi from {{ merchant }}: {{ link }}"})
    act(f"{t}/reset", {})

    # The delivery network.
    net = "/admin/network"
    act(f"{net}/carriers", {"name": "Bring"})
    zone_form = {"name": "Uppsala", "country": "SE", "time_zone": "Europe/Stockholm"}
    act(f"{net}/zones/new", {**zone_form, "green_weekday": "", "cutoff": "18:00"})
    uppsala = db.session.execute(select(Zone).where(Zone.name == "Uppsala")).scalar_one()
    z = f"{net}/zones/{uppsala.id}"
    act(z, {**zone_form, "green_weekday": "2", "cutoff": "17:00", "version": "1"})
    act(f"{z}/prefixes", {"prefix": "75"})
    prefix = db.session.execute(
        select(ZonePostcodePrefix).where(ZonePostcodePrefix.prefix == "75")
    ).scalar_one()
    act(f"{z}/prefixes/{prefix.id}/remove", {})
    window = {"weekday": "0", "start_time": "09:00", "vehicle": "van"}
    act(f"{z}/templates", {**window, "end_time": "12:00", "capacity": "4"})
    template = db.session.execute(
        select(SlotTemplate).where(SlotTemplate.zone_id == uppsala.id)
    ).scalar_one()
    tpl = f"{net}/templates/{template.id}"
    act(tpl, {"end_time": "13:00", "capacity": "5", "version": "1"})
    act(f"{tpl}/remove", {"version": "2"})
    act(f"{z}/closed-days", {"day": "2026-12-01", "reason": "Inventory"})
    closed = db.session.execute(select(ClosedDay)).scalar_one()
    act(f"{z}/closed-days/{closed.id}/remove", {})
    # The parcel is booked on `slot` (above): closing it lists the parcel, then withdraws it.
    close = f"{net}/slots/{slot.id}/close"
    listed = act(close, {"reason": "Van in repair"}, expect=200).get_data(as_text=True)
    seen = re.search(r'name="confirmed" value="([^"]*)"', listed).group(1)
    act(close, {"reason": "Van in repair", "confirmed": seen})
    act(f"{net}/slots/{slot.id}/reopen", {})
    point_form = {
        "name": "Kiosk",
        "point_type": "pickup_point",
        "carrier_id": "",
        "external_id": "",
        "address_line": "Gatan 1",
        "postcode": "113 50",
        "city": "Stockholm",
        "country": "SE",
        "latitude": "59.34",
        "longitude": "18.05",
        "opening_hours": "24/7",
        "locker_capacity": "",
    }
    act(f"{net}/points/new", point_form)
    kiosk = db.session.execute(select(PickupPoint).where(PickupPoint.name == "Kiosk")).scalar_one()
    pt = f"{net}/points/{kiosk.id}"
    act(pt, {**point_form, "city": "Solna", "version": "1"})
    act(f"{pt}/close", {"closed_from": "2026-11-27", "closed_until": "", "reason": "Gone"})
    act(f"{pt}/reopen", {})
    zones_csv = (
        "zone,country,time_zone,postcode_prefix,latitude,longitude,green_weekday,cutoff\n"
        "Göteborg,SE,Europe/Stockholm,41,,,,\n"
    )
    res = post(
        client,
        f"{net}/import",
        {"kind": "zones", "file": (io.BytesIO(zones_csv.encode()), "zones.csv")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 200
    act(f"{net}/import/apply", {})

    db.session.rollback()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    by_action = {row.action: row for row in rows}
    assert set(ACTIONS) - set(by_action) == set()
    for row in rows:
        assert row.actor == "boss@example.com" and row.account_id == boss.id
        assert row.at is not None and (row.before is not None or row.after is not None)
    # Free text is kept out of the log (services/audit.py pseudonym): its length and a hash.
    assert by_action["return.reject"].after["reason"]["chars"] == len("Worn.")
    assert "Worn." not in str(by_action["return.reject"].after)
    assert by_action["delivery.change"].parcel_id == parcel.id
    share = {"before": {"api_slot_share": 50}, "after": {"api_slot_share": 30}}
    assert share in [{"before": r.before, "after": r.after} for r in rows]
    # Secrets never reach the log.
    logged = " ".join(f"{r.before} {r.after}" for r in rows)
    assert hook.secret not in logged and key.key_hash not in logged
    assert own not in logged
