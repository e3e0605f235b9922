"""Values that outgrow their column after normalisation, or carry NUL, at every entry point
(issue 15, holes 4 and 5): a clear 4xx naming the field, or simply no match, never a 500 and
never half-written data. PostgreSQL enforces varchar(n) and refuses NUL; SQLite does neither,
so each test asserts the answer a client sees, which must be the same on both.

What was swept (String(n) columns that input reaches, and the path it takes):
- API (pydantic, portal/api/schemas.py): each field's max_length is its column's, counted on
  what is stored. Only the postcode changes after it is counted (NFKC: "㎉" is "kcal"), and
  e-mail (NFC, which email_validator re-checks) and phone (E.164, at most 16) are rewritten.
- Pages (WTForms Length, portal/forms.py refuses control characters): the console's new
  account lower-cases its e-mail ("İ" is two characters in lower case).
- Query strings read without a form (audit filters, search, tracking, API filters): NUL.
- Twilio webhooks: MessageSid (varchar(64)), From (varchar(20); WhatsApp's "whatsapp:+46…").
- Written by the app from input: a resend's dedupe_key (varchar(200)), a failure receipt's
  error code in last_error (varchar(500)), a merchant template's rendered subject
  (varchar(200)) and SMS (SMS_MAX_SEGMENTS).
- CSV and GeoJSON network imports check lengths on the stored values (test_network_files).
"""

from __future__ import annotations

import json

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    Account,
    Channel,
    InboundMessage,
    Notification,
    Parcel,
    Role,
    SmsOptOut,
)
from tests.support import factories
from tests.support.api import baltic_parcel_body
from tests.support.messaging import signed_post
from tests.support.staff import login, post

NOW = factories.DELIVERY_NOW

# U+3389 SQUARE KCAL is "kcal" under NFKC: 16 characters as sent, 22 once normalised.
GROWS_UNDER_NFKC = "\u3389--------------\u3389"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def network(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    factories.make_carrier("Baltic Express")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- the JSON API ------------------------------------------------------------------------------


def _set(body: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("recipient.postcode", GROWS_UNDER_NFKC, id="postcode-grows-under-nfkc"),
        pytest.param("recipient.postcode", "1" * 17, id="postcode"),
        pytest.param("recipient.name", "N" * 201, id="name"),
        pytest.param("recipient.address_line", "A" * 301, id="address_line"),
        pytest.param("recipient.city", "C" * 121, id="city"),
        pytest.param("recipient.email", "e" * 64 + "@" + "d" * 190 + ".se", id="email"),
        pytest.param("recipient.phone", "+46 70 123 45 67 " + "8" * 30, id="phone"),
        pytest.param("order_ref", "O" * 65, id="order_ref"),
        pytest.param("carrier", "B" * 121, id="carrier"),
        pytest.param("items.0.sku", "S" * 65, id="sku"),
        pytest.param("items.0.name", "I" * 201, id="item-name"),
        pytest.param("recipient.name", "Alva\x00", id="name-with-nul"),
    ],
)
def test_parcel_fields_over_their_column_are_refused_by_name(merchant_api, field, value):
    res = merchant_api.post("/api/v1/parcels", json=_set(baltic_parcel_body(), field, value))
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field
    assert count(Parcel) == 0


def test_a_postcode_that_normalises_within_the_column_is_taken(merchant_api):
    # Full-width digits typed on a phone: NFKC makes them the digits they look like.
    body = _set(baltic_parcel_body(), "recipient.postcode", "\uff11\uff11\uff13 \uff14\uff18")
    res = merchant_api.post("/api/v1/parcels", json=body)
    assert res.status_code == 201, res.json
    assert db.session.execute(select(Parcel.postcode)).scalar_one() == "113 48"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "E" * 101),
        ("location", "L" * 201),
        ("tracking_number", "T" * 41),
    ],
)
def test_event_fields_over_their_column_are_refused(carrier_api, field, value):
    parcel = factories.make_parcel()
    event = factories.event_json(parcel, "e1", "in_transit")
    event[field] = value
    res = carrier_api.post("/api/v1/events", json={"events": [event]})
    assert res.status_code in (200, 207, 422), res.json
    assert res.status_code < 500
    text = json.dumps(res.json)
    assert field in text  # named, in the batch's answer or the error


@pytest.mark.parametrize(
    "query",
    [
        f"postcode={GROWS_UNDER_NFKC}&weight=100",
        "postcode=1" + "1" * 40 + "&weight=100",
    ],
)
def test_delivery_options_refuse_a_postcode_that_grows_too_long(merchant_api, query):
    res = merchant_api.get(f"/api/v1/delivery-options?{query}")
    assert res.status_code == 422
    assert res.json["error"]["field"] == "postcode"


# --- NUL in query strings ------------------------------------------------------------------------
# PostgreSQL refuses NUL in any text. Each query a value reaches answers "no such thing" (or
# the form's own error) without asking the database, as it would for any other wrong value.


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/admin/audit?agent=%00", 422, "No account has this e-mail."),
        ("/admin/audit?agent=agent%40example.com%00", 422, "No account has this e-mail."),
        ("/admin/audit.csv?agent=%00", 422, None),
        ("/admin/audit?parcel=%00", 422, None),
        ("/admin/audit.csv?parcel=%00", 422, None),
        ("/admin/audit?action=%00", 200, None),  # no such action: the filter is left off
        ("/admin/audit?from=%00", 422, "Give the date as YYYY-MM-DD."),
        ("/admin/?q=%00", 200, None),
        ("/admin/?q=Alva%00", 200, None),
        ("/admin/parcels/%00", 404, None),
    ],
)
def test_nul_in_a_console_query_finds_nothing(client, url, status, says):
    login(client, factories.make_agent())
    res = client.get(url)
    assert res.status_code == status
    if says:
        assert says in res.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/track?tn=%00", 422),
        ("/track?tn=RR123456785SE&postcode=%00", 422),
        ("/t/%00", 404),
        ("/l/%00", 404),
        ("/c/%00", 404),
        ("/r/%00", 404),
    ],
)
def test_nul_in_a_page_url_finds_nothing(client, url, status):
    assert client.get(url).status_code == status


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/delivery-options?postcode=113%0048&weight=100", 422, "postcode"),
        ("/api/v1/pickup-points?postcode=%00", 422, "postcode"),
        ("/api/v1/parcels/%00", 422, "tracking_number"),
        ("/api/v1/returns?since=%00", 422, "since"),
        ("/api/v1/returns/%00", 404, "rma"),
    ],
)
def test_nul_in_an_api_url_is_refused_by_name(merchant_api, url, status, field):
    res = merchant_api.get(url)
    assert res.status_code == status and res.json["error"]["field"] == field


def test_the_audit_log_finds_no_agent_for_an_address_no_account_can_have(client):
    login(client, factories.make_agent())
    for agent in ("x" * 300 + "@example.com", "agent@example.com\x07"):
        res = client.get("/admin/audit", query_string={"agent": agent})
        assert res.status_code == 422
        assert "No account has this e-mail." in res.get_data(as_text=True)
        assert client.get("/admin/audit.csv", query_string={"agent": agent}).status_code == 422


# --- the console ---------------------------------------------------------------------------------


def test_a_new_account_whose_email_grows_in_lower_case_is_refused_on_the_form(client):
    login(client, factories.make_agent("boss@example.com", role=Role.SUPERVISOR))
    # 'İ' (U+0130) is 'i̇', two characters, in lower case: 205 characters as typed, 405 after.
    email = "\u0130" * 200 + "@example.com"
    res = post(client, "/admin/agents", {"email": email, "name": "X", "role": "agent"})
    assert res.status_code == 422
    assert "at most 254 characters" in res.get_data(as_text=True)
    assert count(Account) == 1


def test_a_message_can_be_resent_any_number_of_times(client):
    parcel = factories.make_parcel()
    login(client, factories.make_agent())
    console = f"/admin/parcels/{parcel.tracking_number}"
    for _ in range(12):  # each time the newest copy: the key was nested one level deeper
        newest = db.session.execute(
            select(Notification)
            .where(Notification.channel == Channel.EMAIL)
            .order_by(Notification.id.desc())
            .limit(1)
        ).scalar_one()
        res = post(
            client,
            f"{console}/notifications/resend",
            {"notification_id": newest.id},
        )
        assert res.status_code == 303
    keys = list(
        db.session.execute(
            select(Notification.dedupe_key).where(Notification.channel == Channel.EMAIL)
        ).scalars()
    )
    assert len(keys) == 13 and len(set(keys)) == 13
    assert max(len(k) for k in keys) <= 200


# --- Twilio's webhooks ---------------------------------------------------------------------------


@pytest.fixture
def recipient(db):
    return factories.make_parcel(phone="+46701234567")


def test_a_whatsapp_reply_is_a_reply_from_that_phone(messaging, client, recipient):
    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+46701234567", "Body": "Is it here?"},
    )
    assert res.status_code == 200
    assert "passed your message on to customer service" in res.get_data(as_text=True)
    message = db.session.execute(select(InboundMessage)).scalar_one()
    assert message.from_phone == "+46701234567" and message.parcel_id == recipient.id

    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SM" + "b" * 32, "From": "whatsapp:+46701234567", "Body": "STOP"},
    )
    assert res.status_code == 200
    assert db.session.get(SmsOptOut, "+46701234567") is not None


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"MessageSid": "SM" + "a" * 63}, id="sid-over-64"),
        pytest.param({"MessageSid": "SM12\x0034"}, id="sid-with-nul"),
        pytest.param({"MessageSid": ""}, id="no-sid"),
        pytest.param({"From": "+4670123456789012345678"}, id="from-over-20"),
        pytest.param({"From": "whatsapp:+46701234567\x00"}, id="from-with-nul"),
    ],
)
def test_a_malformed_inbound_message_is_refused_and_not_stored(
    messaging, client, recipient, params
):
    form = {"MessageSid": "SM" + "c" * 32, "From": "+46701234567", "Body": "Hello", **params}
    res = signed_post(client, "/hooks/twilio/inbound", form)
    assert res.status_code == 400
    assert count(InboundMessage) == 0


@pytest.mark.parametrize("sid", ["SM12\x0034", "SM" + "a" * 63])
def test_a_malformed_status_callback_is_refused(messaging, client, recipient, sid):
    res = signed_post(
        client, "/hooks/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"}
    )
    assert res.status_code == 400


@pytest.mark.parametrize("error_code", ["3" * 600, "30003\x00", "30003"])
def test_a_failure_receipt_keeps_what_fits_of_its_error_code(
    app, messaging, client, recipient, error_code
):
    from tests.support.messaging import run_worker

    run_worker(app)
    sms = db.session.execute(
        select(Notification).where(Notification.channel == Channel.SMS)
    ).scalar_one()
    res = signed_post(
        client,
        "/hooks/twilio/status",
        {"MessageSid": sms.provider_id, "MessageStatus": "undelivered", "ErrorCode": error_code},
    )
    assert res.status_code == 200
    db.session.refresh(sms)
    assert sms.state.value == "failed" and len(sms.last_error) <= 500
    assert "\x00" not in sms.last_error


def test_a_wrong_signature_is_still_403_before_anything_else(messaging, client):
    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SM\x00", "From": "+46701234567", "Body": "x"},
        signature="wrong",
    )
    assert res.status_code == 403


# --- merchants' templates (hole 5) -----------------------------------------------------------


def test_a_template_subject_too_long_for_a_real_name_still_creates_the_parcel(client):
    from portal.services.messages.overrides import save_override

    shop = factories.make_merchant("Long Names AB")
    key = factories.make_api_key(merchant=shop)
    boss = factories.make_agent("boss@example.com", role=Role.SUPERVISOR)
    # Previewed with the sample parcel (Alva Lindqvist, Surbrunnsgatan 14): fine there.
    save_override(
        shop,
        "parcel_created",
        Channel.EMAIL,
        "en",
        "{{ parcel.recipient_name }}, your parcel to {{ parcel.address_line }} is on its way",
        "Hello {{ parcel.recipient_name }}. Follow it: {{ link }}\n\n"
        "No more e-mail: {{ unsubscribe_link }}",
        boss,
    )
    db.session.commit()
    body = baltic_parcel_body()
    body["recipient"]["name"] = "Maximiliana " * 15 + "Lindqvist"  # 189 characters
    body["recipient"]["address_line"] = "Surbrunnsgatan " * 19 + "14"  # 287
    body["recipient"]["language"] = "en"
    res = client.post("/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {key}"})
    assert res.status_code == 201, res.json
    email = db.session.execute(
        select(Notification).where(Notification.channel == Channel.EMAIL)
    ).scalar_one()
    assert len(email.subject) <= 200
    assert email.subject.startswith("Maximiliana Maximiliana") and email.subject.endswith("…")
    assert "Hello Maximiliana" in email.body  # the merchant's wording, not the built-in one


def test_a_template_sms_too_long_for_a_real_address_falls_back_to_the_built_in_text(client):
    from portal.gsm7 import segments
    from portal.services.messages.overrides import SMS_MAX_SEGMENTS, save_override

    shop = factories.make_merchant("Long Addresses AB")
    key = factories.make_api_key(merchant=shop)
    boss = factories.make_agent("boss@example.com", role=Role.SUPERVISOR)
    line = "{{ parcel.recipient_name }}, {{ parcel.address_line }}, {{ parcel.city }}. "
    save_override(shop, "parcel_created", Channel.SMS, "en", None, line * 4 + "{{ link }}", boss)
    db.session.commit()
    body = baltic_parcel_body()
    body["recipient"].update(
        name="Maximiliana " * 15 + "Lindqvist",
        address_line="Surbrunnsgatan " * 19 + "14",
        language="en",
    )
    res = client.post("/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {key}"})
    assert res.status_code == 201, res.json
    sms = db.session.execute(
        select(Notification).where(Notification.channel == Channel.SMS)
    ).scalar_one()
    assert segments(sms.body) <= SMS_MAX_SEGMENTS
    assert "Maximiliana" not in sms.body  # the built-in text, which names no one
    assert "/l/" in sms.body  # and has the link
