"""Status changes reach the recipient by SMS and e-mail through the outbox, once, whatever fails."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.gsm7 import is_gsm7, segments
from portal.models import Notification, NotificationState, SmsOptOut
from tests.support import factories
from tests.support.messaging import WebhookSink, run_worker, signed_post, sweep_and_work
from tests.support.pages import csrf_token

# Wednesday 25 November 2026, 10:00 in Stockholm (UTC+1): inside the SMS window.
DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)  # 22:30 in Stockholm
pytestmark = pytest.mark.clock(DAY)  # where the `clock` fixture (tests/conftest.py) starts


@pytest.fixture
def parcel(app, messaging, carrier, clock):
    """A parcel whose order confirmation (SMS and e-mail) has gone out already."""
    factories.make_zone("Stockholm", prefixes=("113",))
    made = factories.make_parcel(carrier=carrier)
    run_worker(app)
    return made


def post_event(carrier_api, parcel, event_id, code, at, **extra):
    return carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "event_id": event_id,
                    "tracking_number": parcel.tracking_number,
                    "code": code,
                    "occurred_at": at.isoformat(),
                    "location": "Stockholm",
                    **extra,
                }
            ]
        },
    )


def rows(trigger: str | None = None, channel: str | None = None) -> list[Notification]:
    q = select(Notification).order_by(Notification.id)
    if trigger:
        q = q.where(Notification.trigger == trigger)
    if channel:
        q = q.where(Notification.channel == channel)
    return list(db.session.execute(q).scalars())


def sms_to(messaging, trigger_words: str) -> list[dict]:
    return [r for r in messaging.twilio.sent if trigger_words in r["data"]["Body"]]


def test_out_for_delivery_sends_sms_and_email_with_eta_and_link(
    app, messaging, parcel, carrier_api
):
    window = {
        "eta_from": (DAY + timedelta(hours=4)).isoformat(),
        "eta_to": (DAY + timedelta(hours=6)).isoformat(),
    }
    post_event(carrier_api, parcel, "e1", "out_for_delivery", DAY, **window)
    run_worker(app)

    sms = sms_to(messaging, "arrives today")
    assert len(sms) == 1
    body = sms[0]["data"]["Body"]
    assert sms[0]["data"]["To"] == "+46701234567"
    assert sms[0]["data"]["StatusCallback"] == "http://portal.test/hooks/twilio/status"
    assert "between 14:00 and 16:00" in body and "http://portal.test/l/" in body
    assert is_gsm7(body) and segments(body) == 1
    # The link in the SMS opens the parcel, verified.
    link = body.rsplit(" ", 1)[1].removeprefix("http://portal.test")
    res = app.test_client().get(link)
    assert res.status_code == 303

    [mail] = [m for m in messaging.smtp.messages if "arrives today" in m["Subject"]]
    assert mail["To"] == "alva@example.com"
    assert mail["List-Unsubscribe"].startswith("<http://portal.test/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {p.get_content_type() for p in mail.iter_parts()} == {"text/plain", "text/html"}
    assert "Surbrunnsgatan" not in mail.get_body(("plain",)).get_content()
    assert [n.state for n in rows("out_for_delivery")] == [NotificationState.SENT] * 2


def test_duplicate_and_replayed_events_send_once(app, messaging, parcel, carrier_api):
    for _ in range(3):
        post_event(carrier_api, parcel, "e1", "out_for_delivery", DAY)
    post_event(carrier_api, parcel, "e1-resent-with-new-id", "out_for_delivery", DAY)
    run_worker(app)
    run_worker(app)
    assert len(sms_to(messaging, "arrives today")) == 1
    assert len(rows("out_for_delivery", "sms")) == 1


def test_a_carrier_batch_queues_the_message_and_the_sender_writes_it(
    app, messaging, parcel, carrier_api
):
    """The events call only queues the row; its words are written when it is sent, from the
    parcel as it is then, so a window the carrier sharpened meanwhile is the one the SMS gives."""
    post_event(carrier_api, parcel, "o1", "out_for_delivery", DAY)
    queued = rows("out_for_delivery")
    assert [(n.channel.value, n.rendered, n.body) for n in queued] == [
        ("sms", False, ""),
        ("email", False, ""),
    ]
    window = {
        "eta_from": (DAY + timedelta(hours=4)).isoformat(),
        "eta_to": (DAY + timedelta(hours=6)).isoformat(),
    }
    post_event(carrier_api, parcel, "o2", "out_for_delivery", DAY, **window)
    assert len(rows("out_for_delivery")) == 2  # the same news: no second message
    run_worker(app)
    [sms] = sms_to(messaging, "arrives today")
    assert "between 14:00 and 16:00" in sms["data"]["Body"]
    [mail] = [m for m in messaging.smtp.messages if "arrives today" in m["Subject"]]
    sent = rows("out_for_delivery")
    assert all(n.rendered for n in sent) and sent[0].body == sms["data"]["Body"]
    assert sent[1].subject == mail["Subject"]
    assert sent[1].list_unsubscribe == mail["List-Unsubscribe"].strip("<>")


def test_a_message_that_cannot_be_written_fails_alone(
    app, messaging, parcel, carrier_api, monkeypatch
):
    from portal.services.messages import outbox

    real = outbox.render

    def broken_sms(trigger, channel, *args, **kwargs):
        if channel.value == "sms":
            raise RuntimeError("template broke")
        return real(trigger, channel, *args, **kwargs)

    monkeypatch.setattr(outbox, "render", broken_sms)
    post_event(carrier_api, parcel, "d1", "delivered", DAY)
    run_worker(app)
    sms, email = rows("delivered")
    assert sms.state is NotificationState.FAILED
    assert sms.last_error == "the message could not be written"
    assert email.state is NotificationState.SENT  # the other row of the batch still went
    assert [m for m in messaging.smtp.messages if "delivered" in m["Subject"]]
    # Failed for good: the sweeper does not hand it over again.
    assert sweep_and_work(app, DAY + timedelta(minutes=5)) == 0


def test_a_database_hiccup_while_writing_leaves_the_message_to_go_again(
    app, messaging, parcel, carrier_api, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from portal.services.messages import outbox

    real, calls = outbox.issue_link, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT INTO signed_link", {}, Exception("server closed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "issue_link", flaky)
    post_event(carrier_api, parcel, "d1", "delivered", DAY)
    run_worker(app)
    sms = rows("delivered", "sms")[0]
    assert sms.state is NotificationState.QUEUED and not sms.rendered  # not failed for good
    sweep_and_work(app, DAY + timedelta(minutes=10))  # its lease has run out
    assert len(sms_to(messaging, "has been delivered")) == 1


def test_a_second_attempt_on_another_day_is_told_again(app, messaging, parcel, carrier_api):
    post_event(carrier_api, parcel, "f1", "delivery_failed", DAY)
    run_worker(app)
    next_day = DAY + timedelta(days=1)
    with time_machine.travel(next_day, tick=False):
        post_event(carrier_api, parcel, "o2", "out_for_delivery", next_day - timedelta(hours=1))
        post_event(carrier_api, parcel, "f2", "delivery_failed", next_day)
        run_worker(app)
    assert len(sms_to(messaging, "couldn't deliver")) == 2


def test_message_waits_out_a_redis_outage(app, messaging, parcel, carrier_api):
    real_redis = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        res = post_event(carrier_api, parcel, "e1", "delivered", DAY)
    finally:
        app.config["REDIS_URL"] = real_redis
    assert res.status_code == 200  # the event is accepted all the same
    [sms] = rows("delivered", "sms")
    assert sms.state is NotificationState.QUEUED
    run_worker(app)
    assert sms_to(messaging, "has been delivered") == []  # nothing reached the queue
    # Redis is back; the sweeper finds the row and the worker sends it, once.
    assert sweep_and_work(app, DAY + timedelta(minutes=2)) >= 1
    sweep_and_work(app, DAY + timedelta(minutes=4))
    assert len(sms_to(messaging, "has been delivered")) == 1


def test_provider_500_then_201_sends_one_sms(app, messaging, parcel, carrier_api):
    messaging.twilio.answers = [500]
    post_event(carrier_api, parcel, "e1", "delivered", DAY)
    run_worker(app)
    [sms] = rows("delivered", "sms")
    db.session.refresh(sms)
    assert sms.state is NotificationState.QUEUED and sms.attempts == 1
    assert "Twilio 500" in sms.last_error
    assert sms.not_before == DAY + timedelta(seconds=30)  # backoff
    sweep_and_work(app, DAY + timedelta(seconds=31))
    attempts = [r for r in messaging.twilio.requests if "has been delivered" in r["data"]["Body"]]
    assert [a["status"] for a in attempts] == [500, 201]
    # Written once, when first sent: the retry carries the same words and the same link.
    assert attempts[0]["data"]["Body"] == attempts[1]["data"]["Body"]
    db.session.refresh(sms)
    assert sms.state is NotificationState.SENT and sms.provider_id == attempts[1]["sid"]


def test_timeouts_are_retried_then_give_up_and_fall_back_to_email(
    app, messaging, parcel, carrier_api
):
    messaging.twilio.answers = [requests.ConnectTimeout("slow")] * 4
    post_event(carrier_api, parcel, "e1", "delayed", DAY)
    run_worker(app)
    for minutes in (1, 2, 4, 8):
        sweep_and_work(app, DAY + timedelta(minutes=minutes))
    [sms] = rows("delayed", "sms")
    assert sms.state is NotificationState.FAILED and sms.attempts == 4
    assert len([r for r in messaging.twilio.requests if "late" in r["data"]["Body"]]) == 4
    # The e-mail went out anyway (the recipient gets both); the fallback doesn't send it twice.
    assert len([m for m in messaging.smtp.messages if "delayed" in m["Subject"]]) == 1


def test_invalid_number_fails_at_once_and_falls_back_to_email(app, messaging, carrier, clock):
    factories.make_zone("Stockholm", prefixes=("113",))
    parcel = factories.make_parcel(carrier=carrier)
    parcel.notify_email = False  # only SMS chosen…
    db.session.commit()
    run_worker(app)
    messaging.twilio.answers = [400]
    factories.add_events(parcel, ("e1", "delivered", DAY))
    run_worker(app)
    [sms] = rows("delivered", "sms")
    assert sms.state is NotificationState.FAILED and sms.attempts == 1
    assert "Twilio 400" in sms.last_error
    # … but a failed SMS still reaches them by e-mail.
    run_worker(app)
    assert len([m for m in messaging.smtp.messages if "delivered" in m["Subject"]]) == 1


def test_refused_email_address_fails_without_retry(app, messaging, carrier, clock):
    factories.make_zone("Stockholm", prefixes=("113",))
    factories.make_parcel(carrier=carrier, email="refuse-me@example.com")
    run_worker(app)
    [mail] = rows("parcel_created", "email")
    assert mail.state is NotificationState.FAILED and "550" in mail.last_error


def test_quiet_hours_defer_sms_until_eight_but_not_out_for_delivery(app, messaging, carrier):
    factories.make_zone("Stockholm", prefixes=("113",))
    with time_machine.travel(NIGHT, tick=False):
        parcel = factories.make_parcel(carrier=carrier)
        factories.add_events(parcel, ("d1", "delayed", NIGHT))
        run_worker(app)
        assert sms_to(messaging, "running late") == []
        # E-mail has no quiet hours.
        assert len([m for m in messaging.smtp.messages if "delayed" in m["Subject"]]) == 1
        factories.add_events(parcel, ("o1", "out_for_delivery", NIGHT + timedelta(minutes=5)))
        run_worker(app)
        assert len(sms_to(messaging, "arrives today")) == 1
    [sms] = rows("delayed", "sms")
    morning = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm
    assert sms.not_before == morning
    sweep_and_work(app, morning - timedelta(minutes=1))
    assert sms_to(messaging, "running late") == []
    sweep_and_work(app, morning)
    assert len(sms_to(messaging, "running late")) == 1


def test_stop_suppresses_sms_on_every_parcel_until_start(app, messaging, parcel, client):
    sent_before = len(messaging.twilio.requests)  # the order confirmation
    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SMin1", "From": "+46701234567", "Body": "Stopp"},
    )
    assert res.status_code == 200
    assert db.session.get(SmsOptOut, "+46701234567") is not None
    other = factories.make_parcel(carrier=parcel.carrier)
    factories.add_events(other, ("e1", "delivered", DAY))
    run_worker(app)
    assert len(messaging.twilio.requests) == sent_before
    assert [n.state for n in rows("delivered", "sms")] == [NotificationState.SUPPRESSED]
    assert len([m for m in messaging.smtp.messages if "delivered" in m["Subject"]]) == 1

    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SMin2", "From": "+46701234567", "Body": "START"},
    )
    assert "You will get SMS about your parcels again" in res.get_data(as_text=True)
    factories.add_events(other, ("e2", "delayed", DAY - timedelta(hours=1)))  # older: no change
    third = factories.make_parcel(carrier=parcel.carrier)
    run_worker(app)
    assert any(r["data"]["To"] == "+46701234567" for r in messaging.twilio.sent)
    assert third.tracking_number in " ".join(r["data"]["Body"] for r in messaging.twilio.sent)


def test_stop_also_suppresses_what_is_already_queued(app, messaging, carrier, client):
    factories.make_zone("Stockholm", prefixes=("113",))
    with time_machine.travel(NIGHT, tick=False):
        factories.make_parcel(carrier=carrier)  # its SMS waits for the morning
        signed_post(
            client,
            "/hooks/twilio/inbound",
            {"MessageSid": "SMs", "From": "+46701234567", "Body": "STOP"},
        )
    [sms] = rows("parcel_created", "sms")
    assert sms.state is NotificationState.SUPPRESSED
    sweep_and_work(app, datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    assert messaging.twilio.requests == []


def test_help_answers_with_help_text_and_replies_are_kept(app, messaging, parcel, client):
    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SMh", "From": "+46701234567", "Body": "help"},
    )
    assert "<Message>" in res.get_data(as_text=True) and "Reply STOP" in res.get_data(as_text=True)
    res = signed_post(
        client,
        "/hooks/twilio/inbound",
        {
            "MessageSid": "SMq",
            "From": "+46701234567",
            "Body": "Can you leave it with the neighbour?",
        },
    )
    assert "passed your message on" in res.get_data(as_text=True)
    from portal.models import InboundMessage

    kept = db.session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars().all()
    assert [(m.keyword, m.parcel_id) for m in kept] == [("help", parcel.id), (None, parcel.id)]
    # Twilio retrying the same webhook changes nothing.
    signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SMq", "From": "+46701234567", "Body": "STOP"},
    )
    assert db.session.get(SmsOptOut, "+46701234567") is None


@pytest.mark.parametrize("path", ["/hooks/twilio/status", "/hooks/twilio/inbound"])
def test_missing_or_wrong_signature_is_403(messaging, client, path):
    params = {
        "MessageSid": "SM1",
        "MessageStatus": "delivered",
        "From": "+46701234567",
        "Body": "STOP",
    }
    assert client.post(path, data=params).status_code == 403
    assert signed_post(client, path, params, token="not-the-token").status_code == 403
    # Signed for another URL (a proxy rewriting the host does not fool it).
    assert signed_post(client, path, params, base="http://evil.example").status_code == 403
    assert db.session.get(SmsOptOut, "+46701234567") is None


def test_status_callback_marks_delivered_and_failed(app, messaging, parcel, client):
    run_worker(app)
    [sms] = rows("parcel_created", "sms")
    assert sms.state is NotificationState.SENT
    res = signed_post(
        client,
        "/hooks/twilio/status",
        {"MessageSid": sms.provider_id, "MessageStatus": "delivered"},
    )
    assert res.status_code == 200
    db.session.refresh(sms)
    assert sms.state is NotificationState.DELIVERED and sms.delivered_at is not None
    # A late "sent" receipt, a replay and an unknown SID change nothing and answer 200.
    for params in (
        {"MessageSid": sms.provider_id, "MessageStatus": "sent"},
        {"MessageSid": sms.provider_id, "MessageStatus": "failed"},
        {"MessageSid": "SMunknown", "MessageStatus": "delivered"},
    ):
        assert signed_post(client, "/hooks/twilio/status", params).status_code == 200
    db.session.refresh(sms)
    assert sms.state is NotificationState.DELIVERED


def test_undelivered_receipt_fails_the_sms_and_sends_email(app, messaging, carrier, clock, client):
    factories.make_zone("Stockholm", prefixes=("113",))
    parcel = factories.make_parcel(carrier=carrier)
    parcel.notify_email = False
    db.session.commit()
    factories.add_events(parcel, ("e1", "out_for_delivery", DAY))
    run_worker(app)
    [sms] = rows("out_for_delivery", "sms")
    signed_post(
        client,
        "/hooks/twilio/status",
        {"MessageSid": sms.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    db.session.refresh(sms)
    assert sms.state is NotificationState.FAILED and "30003" in sms.last_error
    run_worker(app)
    assert len([m for m in messaging.smtp.messages if "arrives today" in m["Subject"]]) == 1


def test_merchant_sees_what_was_sent_but_not_bodies_or_contacts(
    app, messaging, carrier, clock, client
):
    merchant = factories.make_merchant()
    key = factories.make_api_key(merchant=merchant)
    parcel = factories.make_parcel(merchant=merchant, carrier=carrier)
    run_worker(app)
    body = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}", headers={"Authorization": f"Bearer {key}"}
    ).json
    assert [(n["trigger"], n["channel"], n["state"]) for n in body["notifications"]] == [
        ("parcel_created", "sms", "sent"),
        ("parcel_created", "email", "sent"),
    ]
    assert "body" not in json.dumps(body["notifications"])
    carrier_key = factories.make_api_key(carrier=carrier)
    as_carrier = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}",
        headers={"Authorization": f"Bearer {carrier_key}"},
    ).json
    assert as_carrier["notifications"] is None


def test_merchant_webhook_receives_signed_status_changes(app, messaging, carrier, clock, client):
    sink = WebhookSink()
    try:
        merchant = factories.make_merchant()
        key = factories.make_api_key(merchant=merchant)
        auth = {"Authorization": f"Bearer {key}"}
        made = client.post("/api/v1/webhooks", json={"url": sink.url}, headers=auth)
        assert made.status_code == 201
        secret = made.json["secret"]
        listed = client.get("/api/v1/webhooks", headers=auth).json["webhooks"]
        assert listed == [
            {"id": made.json["id"], "url": sink.url, "created_at": made.json["created_at"]}
        ]
        parcel = factories.make_parcel(merchant=merchant, carrier=carrier)
        # The carrier writes local time (+01:00); the merchant hears of it in UTC.
        stockholm = timezone(timedelta(hours=1))
        factories.add_events(
            parcel,
            ("e1", "out_for_delivery", DAY.astimezone(stockholm)),
            ("e1", "out_for_delivery", DAY),
        )
        run_worker(app)
        [delivery] = sink.received
        expected = (
            "sha256=" + hmac.new(secret.encode(), delivery["body"], hashlib.sha256).hexdigest()
        )
        assert delivery["headers"]["X-Lastmile-Signature"] == expected
        payload = json.loads(delivery["body"])
        assert payload["status"] == "out_for_delivery" and payload["previous_status"] == "pending"
        assert payload["tracking_number"] == parcel.tracking_number
        assert payload["status_at"] == "2026-11-25T09:00:00+00:00"

        assert client.delete(f"/api/v1/webhooks/{made.json['id']}", headers=auth).status_code == 204
        factories.add_events(parcel, ("e2", "delivered", DAY + timedelta(hours=1)))
        run_worker(app)
        assert len(sink.received) == 1
    finally:
        sink.close()


def test_webhook_urls_must_be_https_to_public_hosts(app, merchant_api):
    app.config["WEBHOOK_ALLOW_INSECURE"] = False
    for url, code in (
        ("http://example.com/x", "not_https"),
        ("https://127.0.0.1/x", "not_public"),
        ("https://10.0.0.5/x", "not_public"),
        ("ftp://example.com", "not_https"),
    ):
        res = merchant_api.post("/api/v1/webhooks", json={"url": url})
        assert res.status_code == 422, url
        assert res.json["error"]["field"] == "url" and res.json["error"]["code"] == code


def test_recipient_chooses_channels_on_the_parcel_page(app, messaging, parcel, client):
    token = factories.make_link(parcel)
    client.get(f"/l/{token}")
    page = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    assert "How should we keep you posted?" in page
    assert 'checked id="sms"' in page and 'checked id="email"' in page
    res = client.post(
        f"/t/{parcel.tracking_number}/updates", data={"csrf_token": csrf_token(page), "email": "y"}
    )
    assert res.status_code == 303
    db.session.refresh(parcel)
    assert (parcel.notify_sms, parcel.notify_email) == (False, True)
    factories.add_events(parcel, ("e1", "delivered", DAY))
    assert [n.channel for n in rows("delivered")] == ["email"]


def test_updates_form_needs_a_verified_recipient(messaging, parcel, client):
    res = client.post(f"/t/{parcel.tracking_number}/updates", data={"email": "y"})
    assert res.status_code in (303, 400)
    db.session.refresh(parcel)
    assert parcel.notify_sms is True


def test_one_click_unsubscribe_turns_email_off(app, messaging, parcel, client):
    run_worker(app)
    [mail] = [m for m in messaging.smtp.messages if "on its way" in m["Subject"]]
    url = mail["List-Unsubscribe"].strip("<>").removeprefix("http://portal.test")
    assert "Stop e-mails" in client.get(url).get_data(as_text=True)
    res = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert res.status_code == 200
    db.session.refresh(parcel)
    assert parcel.notify_email is False and parcel.notify_sms is True
    # The unsubscribe token does not open the parcel.
    assert client.get("/l/" + url.removeprefix("/u/")).status_code == 404


def test_dev_outbox_shows_messages_only_in_debug_mode(app, parcel, client):
    assert client.get("/dev/outbox").status_code == 404
    app.debug = True
    try:
        html = client.get("/dev/outbox").get_data(as_text=True)
        assert "your order is packed" in html and "1 SMS segment (GSM-7)" in html
    finally:
        app.debug = False


def test_the_recipients_own_quiet_hours_hold_an_sms_at_sending_too(app, messaging, carrier):
    """Quiet hours from the recipient's standing preferences (issue 19), kept on the parcel:
    a message queued before them but sent inside them waits for their morning, not 08:00."""
    factories.make_zone("Stockholm", prefixes=("113",))
    with time_machine.travel(NIGHT, tick=False):  # 22:30 in Stockholm
        parcel = factories.make_parcel(carrier=carrier)
        parcel.quiet_start, parcel.quiet_end = 23, 7
        db.session.commit()
        factories.add_events(parcel, ("d1", "delayed", NIGHT))
    [sms] = rows("delayed", "sms")
    assert sms.not_before is None  # 22:30: not quiet for this recipient (the operator's is)
    sweep_and_work(app, NIGHT + timedelta(hours=1))  # 23:30: the sender finds it quiet now
    assert sms_to(messaging, "running late") == []
    db.session.refresh(sms)
    assert sms.not_before == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm
