"""Issue 19: standing preferences set once at /me, applied to every new parcel addressed to me
(or, where they can't be, the parcel says why); a choice at checkout wins."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import DeliveryChoice, Notification, PickupPoint
from tests.conftest import ApiClient
from tests.support import factories, me, staff
from tests.support.api import parcel_body
from tests.support.pages import csrf_for, text

PHONE = me.PHONE


def save(client, **values):
    data = {"notify_sms": "y", "notify_email": "y", "csrf_token": csrf_for(client)} | values
    return client.post("/me/preferences", data=data)


def locker() -> PickupPoint:
    return db.session.execute(
        select(PickupPoint).where(PickupPoint.name == "Box Locker")
    ).scalar_one()


def merchant_api(client, merchant=None) -> ApiClient:
    return ApiClient(client, factories.make_api_key(merchant=merchant or factories.make_merchant()))


def create(api: ApiClient, **extra):
    carrier = factories.make_carrier()
    body = parcel_body(carrier.name, phone="070-123 45 67", email="alva@example.com") | extra
    res = api.post("/api/v1/parcels", json=body)
    assert res.status_code == 201, res.json
    return res.json


def test_a_locker_set_once_is_chosen_for_every_new_parcel(clock, client, app):
    factories.make_delivery_zone()
    factories.make_parcel()  # an earlier parcel to 113 48: the points near it are offered
    me.sign_in(client)
    page = text(client.get("/me").get_data(as_text=True))
    assert "Box Locker" in page and "Near Shop" in page
    res = save(client, delivery="pickup_point", pickup_point=str(locker().id))
    assert res.status_code == 303, text(res.get_data(as_text=True))

    api = merchant_api(app.test_client())
    body = create(api)
    assert body["choice"]["type"] == "locker" and body["choice"]["made_by"] == "preference"
    assert [c["made_by"] for c in body["choices"]] == ["preference"]
    sms = (
        db.session.execute(
            select(Notification.body)
            .where(Notification.trigger == "parcel_created", Notification.channel == "sms")
            .order_by(Notification.id.desc())
        )
        .scalars()
        .first()
    )
    assert "your usual choice applies: Locker: Box Locker" in sms
    mail = (
        db.session.execute(
            select(Notification.body)
            .where(Notification.trigger == "parcel_created", Notification.channel == "email")
            .order_by(Notification.id.desc())
        )
        .scalars()
        .first()
    )
    assert "Your usual choice applies to this parcel: Locker: Box Locker" in mail


def test_a_choice_at_checkout_wins_over_the_preference(clock, client, app):
    factories.make_delivery_zone()
    factories.make_parcel()
    me.sign_in(client)
    save(client, delivery="pickup_point", pickup_point=str(locker().id))
    near = db.session.execute(
        select(PickupPoint).where(PickupPoint.name == "Near Shop")
    ).scalar_one()
    body = create(
        merchant_api(app.test_client()),
        delivery_choice={"type": "pickup_point", "id": near.id},
    )
    assert [c["made_by"] for c in body["choices"]] == ["merchant"]
    assert body["choice"]["pickup_point"]["name"] == "Near Shop"


def test_a_preference_that_cannot_be_used_leaves_the_plan_and_says_why(clock, client, app):
    factories.make_delivery_zone()
    merchant = factories.safe_place_merchant(limit=None)  # no safe place for its parcels
    factories.make_parcel()
    me.sign_in(client)
    assert save(client, delivery="safe_place", safe_place="porch").status_code == 303
    body = create(merchant_api(app.test_client(), merchant))
    assert body["choice"] is None and body["choices"] == []
    viewer = app.test_client()
    me.sign_in(viewer)
    viewer.get("/me")  # opens the parcels verified
    page = text(viewer.get(f"/t/{body['tracking_number']}").get_data(as_text=True))
    assert "We couldn't follow your standing preference for this parcel." in page
    assert "Your usual safe place: The shop doesn't allow leaving this parcel unattended." in page


def test_channels_and_language_become_the_new_parcels(clock, client, app):
    me.sign_in(client)
    data = {"delivery": "none", "notify_email": "y", "language": "sv"}  # no SMS
    res = client.post("/me/preferences", data=data | {"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    body = create(merchant_api(app.test_client()))
    assert body["recipient"]["language"] == "sv"
    sent = db.session.execute(
        select(Notification.channel).where(Notification.trigger == "parcel_created")
    ).scalars()
    assert list(sent) == ["email"]  # SMS off: only the e-mail went, in Swedish


def test_bad_preferences_are_refused_in_place(clock, client):
    factories.make_delivery_zone()
    factories.make_parcel()
    me.sign_in(client)
    for values, words in (
        ({"delivery": "pickup_point", "pickup_point": "999999"}, "Choose one of the pickup points"),
        ({"delivery": "neighbour", "neighbour_house": "12"}, "Enter your neighbour's name"),
        ({"delivery": "safe_place", "safe_place": "other"}, "Tell the driver where"),
        ({"delivery": "none", "notify_sms": "", "notify_email": ""}, "Choose SMS, e-mail or both"),
    ):
        data = {"notify_sms": "y", "notify_email": "y", "csrf_token": csrf_for(client)} | values
        data = {k: v for k, v in data.items() if v != ""}
        res = client.post("/me/preferences", data=data)
        assert res.status_code == 422, values
        assert words in text(res.get_data(as_text=True)), values
    assert db.session.execute(select(DeliveryChoice)).scalars().all() == []


def test_my_quiet_hours_hold_my_sms_instead_of_the_operators(clock, client, app):
    me.sign_in(client)
    data = {"delivery": "none", "notify_sms": "y", "quiet_start": "23", "quiet_end": "7"}
    res = client.post("/me/preferences", data=data | {"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    api = merchant_api(app.test_client())

    def created_sms():
        return (
            db.session.execute(
                select(Notification)
                .where(Notification.trigger == "parcel_created", Notification.channel == "sms")
                .order_by(Notification.id.desc())
            )
            .scalars()
            .first()
        )

    # 22:30 in Stockholm: inside the operator's quiet hours (21-08), not mine (23-07).
    clock.move_to(datetime(2026, 11, 26, 21, 30, tzinfo=UTC))
    create(api)
    assert created_sms().not_before is None
    # 23:30: inside mine, so it waits until 07:00, not the operator's 08:00.
    clock.move_to(datetime(2026, 11, 26, 22, 30, tzinfo=UTC))
    create(api)
    assert created_sms().not_before == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def test_quiet_hours_need_both_ends(clock, client):
    me.sign_in(client)
    data = {"delivery": "none", "notify_sms": "y", "quiet_start": "23"}
    res = client.post("/me/preferences", data=data | {"csrf_token": csrf_for(client)})
    assert res.status_code == 422
    assert "when quiet hours start and when they end" in text(res.get_data(as_text=True))


def test_the_console_shows_a_choice_made_by_a_preference(clock, client, app):
    factories.make_delivery_zone()
    factories.make_parcel()
    me.sign_in(client)
    save(client, delivery="pickup_point", pickup_point=str(locker().id))
    body = create(merchant_api(app.test_client()))
    console = app.test_client()
    staff.login(console, factories.make_agent())
    page = text(console.get(f"/admin/parcels/{body['tracking_number']}").get_data(as_text=True))
    assert "by preference (the recipient's standing preference at /me)" in page
