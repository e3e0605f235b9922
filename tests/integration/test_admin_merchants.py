"""Supervisors manage merchants: details, branding, return policy, API keys and webhooks."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from portal.admin.services.merchants import contrast_with_white
from portal.extensions import db
from portal.models import (
    ApiKey,
    AuditEntry,
    Channel,
    Merchant,
    Notification,
    ReturnPolicy,
    Role,
    WebhookEndpoint,
)
from portal.models.types import utcnow
from portal.services.returns import returnable
from tests.support import factories, staff
from tests.support.pages import csrf_token


@pytest.fixture
def supervisor(client):
    account = factories.make_agent(email="sara@example.com", role=Role.SUPERVISOR)
    staff.login(client, account)
    return account


@pytest.fixture
def shop(db):
    return factories.make_merchant("Fjällräven Outlet")


def page_of(shop: Merchant) -> str:
    return f"/admin/merchants/{shop.id}"


def audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def fresh(shop: Merchant) -> Merchant:
    db.session.expire_all()
    return db.session.get(Merchant, shop.id)


def details(shop: Merchant, **changes) -> dict:
    data = {
        "name": shop.name,
        "return_address": shop.return_address or "",
        "complaint_due_days": str(shop.complaint_due_days),
        "storage_days": str(shop.storage_days),
        "safe_place_max_value": ""
        if shop.safe_place_max_value is None
        else str(shop.safe_place_max_value),
    }
    data.update(changes)
    return data


def upload(client, shop: Merchant, data: bytes, filename: str):
    return staff.post(
        client,
        f"{page_of(shop)}/logo",
        {"logo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def jpeg_with_exif(size=(1200, 900)) -> bytes:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


# --- the list and creating -------------------------------------------------------------------


def test_supervisor_lists_merchants_with_counts_and_adds_one(client, supervisor, shop):
    factories.make_parcel(merchant=shop)
    factories.make_api_key(merchant=shop)
    page = client.get("/admin/merchants")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    assert "Fjällräven Outlet" in html and 'href="/admin/merchants"' in html  # in the menu
    row = re.search(r"Fjällräven Outlet</a></td>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "1", "0"]

    res = staff.post(client, "/admin/merchants", {"name": "  Nordic   Socks "})
    assert res.status_code == 303
    created = db.session.execute(
        select(Merchant).where(Merchant.name == "Nordic Socks")
    ).scalar_one()
    assert res.headers["Location"].endswith(f"/admin/merchants/{created.id}")
    [entry] = audit("merchant.create")
    assert entry.subject == f"merchant:{created.id}" and entry.after == {"name": "Nordic Socks"}

    again = staff.post(client, "/admin/merchants", {"name": "fjällräven outlet"})
    assert again.status_code == 422
    assert "Another merchant already has this name." in again.get_data(as_text=True)
    empty = staff.post(client, "/admin/merchants", {"name": ""})
    assert empty.status_code == 422 and "Give the merchant&#39;s name." in empty.get_data(True)


# --- details and service levels --------------------------------------------------------------


def test_details_are_saved_with_an_audit_row_of_what_changed(client, supervisor, shop):
    res = staff.post(
        client,
        f"{page_of(shop)}/details",
        details(
            shop,
            return_address="Returns desk\r\n  Lagervägen 4 \r\n\r\n136 50 Haninge",
            complaint_due_days="5",
            safe_place_max_value="2500",
        ),
    )
    assert res.status_code == 303 and res.headers["Location"].endswith("#details")
    shop = fresh(shop)
    assert shop.return_address == "Returns desk\nLagervägen 4\n136 50 Haninge"
    assert shop.complaint_due_days == 5 and shop.storage_days == 30
    assert shop.safe_place_max_value == Decimal("2500.00")
    [entry] = audit("merchant.update")
    assert entry.before == {
        "return_address": None,
        "complaint_due_days": 3,
        "safe_place_max_value": None,
    }
    assert entry.after == {
        "return_address": "Returns desk\nLagervägen 4\n136 50 Haninge",
        "complaint_due_days": 5,
        "safe_place_max_value": "2500.00",
    }
    assert entry.actor == "sara@example.com"

    # Emptying the safe-place limit means "never".
    staff.post(
        client,
        f"{page_of(shop)}/details",
        details(shop, safe_place_max_value=""),
    )
    assert fresh(shop).safe_place_max_value is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"complaint_due_days": "0"}, "Give a whole number from 1 to 30."),
        ({"complaint_due_days": "soon"}, "Not a valid integer value."),
        ({"storage_days": "99999999999999999999"}, "Give a whole number from 1 to 90."),
        ({"safe_place_max_value": "-5"}, "Give an amount from 0 to"),
        ({"safe_place_max_value": "NaN"}, "Give an amount from 0 to"),
        ({"safe_place_max_value": "12.345"}, "Give at most two decimals."),
        ({"name": ""}, "Give the merchant&#39;s name."),
        ({"name": "x" * 121}, "At most 120 characters."),
        ({"return_address": "a\nb\nc\nd\ne\nf\ng"}, "The return label has room for 6 lines."),
        ({"return_address": "Desk\x00 4"}, "Remove the special characters."),
    ],
)
def test_bad_details_are_refused_in_place_and_nothing_is_saved(
    client, supervisor, shop, changes, message
):
    res = staff.post(
        client,
        f"{page_of(shop)}/details",
        details(shop, **{"return_address": "Desk 1", **changes}),
    )
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert fresh(shop).return_address is None
    assert audit("merchant.update") == []


def test_a_name_another_merchant_has_is_refused(client, supervisor, shop):
    factories.make_merchant("Nordic Socks")
    res = staff.post(client, f"{page_of(shop)}/details", details(shop, name="NORDIC SOCKS"))
    assert res.status_code == 422
    assert "Another merchant already has this name." in res.get_data(as_text=True)
    assert fresh(shop).name == "Fjällräven Outlet"


# --- branding --------------------------------------------------------------------------------


def test_colour_that_white_text_cannot_be_read_on_is_refused(client, supervisor, shop):
    assert contrast_with_white("#777777") < 4.5 < contrast_with_white("#767676")
    res = staff.post(client, f"{page_of(shop)}/branding", {"brand_colour": "#777777"})
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert (
        "White text on #777777 has a contrast of only 4.4:1; the header needs at least "
        "4.5:1 (WCAG AA)." in html
    )
    assert 'value="#777777"' in html  # the form keeps what was typed
    res = staff.post(client, f"{page_of(shop)}/branding", {"brand_colour": "orange"})
    assert res.status_code == 422 and "Give the colour as # and six hex digits" in res.get_data(
        True
    )
    assert fresh(shop).brand_colour is None and audit("merchant.update") == []


def test_brand_colour_and_logo_show_on_the_merchants_pages_and_emails(client, supervisor, shop):
    res = staff.post(client, f"{page_of(shop)}/branding", {"brand_colour": "#1A3D6E"})
    assert res.status_code == 303
    assert (
        upload(client, shop, factories.image_bytes("PNG", (800, 200)), "logo.png").status_code
        == 303
    )
    shop = fresh(shop)
    assert shop.brand_colour == "#1a3d6e"
    [colour, logo] = audit("merchant.update")
    assert colour.before == {"brand_colour": None} and colour.after == {"brand_colour": "#1a3d6e"}
    assert logo.before == {"logo_key": None} and logo.after == {"logo_key": shop.logo_key}

    parcel = factories.make_parcel(merchant=shop)
    other = factories.make_parcel()
    page = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    sheet = re.search(rf'<link rel="stylesheet" href="(/brand/{shop.id}\.css\?v=1a3d6e)">', page)
    assert sheet, page[:2000]
    assert re.search(
        rf'<img class="merchant-logo" src="/brand/{shop.id}/logo\?v=\w+" alt="Fjällräven Outlet"',
        page,
    )
    assert len(page.encode()) < 100_000
    css = client.get(sheet.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "#1a3d6e" in css.get_data(as_text=True)
    assert "immutable" in css.headers["Cache-Control"] and "public" in css.headers["Cache-Control"]
    assert (
        client.get(sheet.group(1), headers={"If-None-Match": css.headers["ETag"]}).status_code
        == 304
    )

    # The pages behind verification carry it too; another merchant's parcel does not.
    client.get("/l/" + factories.make_link(parcel))
    for path in ("", "/delivery", "/complaint"):
        html = client.get(f"/t/{parcel.tracking_number}{path}").get_data(as_text=True)
        assert f"/brand/{shop.id}.css" in html and 'class="merchant-logo"' in html, path
    plain = client.get(f"/t/{other.tracking_number}").get_data(as_text=True)
    assert "/brand/" not in plain and "merchant-logo" not in plain

    # The queued e-mail: the colour in its header and the logo at an absolute URL.
    mail = (
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.channel == Channel.EMAIL
            )
        )
        .scalars()
        .first()
    )
    assert mail is not None
    assert "background:#1a3d6e;color:#ffffff" in mail.body_html
    assert re.search(
        rf'<img src="http://portal\.test/brand/{shop.id}/logo\?v=\w+" alt="Fjällräven Outlet"',
        mail.body_html,
    )


def test_uploaded_logo_is_reencoded_small_and_without_exif(client, supervisor, shop):
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()
    assert upload(client, shop, original, "photo.JPG").status_code == 303
    shop = fresh(shop)
    res = client.get(f"/brand/{shop.id}/logo")
    assert res.status_code == 200 and res.mimetype == "image/jpeg"
    assert "public" in res.headers["Cache-Control"]
    image = Image.open(io.BytesIO(res.data))
    assert image.format == "JPEG" and max(image.size) == 400 and image.size == (400, 300)
    assert not image.getexif() and "exif" not in image.info
    assert res.data != original


def test_a_text_file_named_png_is_refused_and_nothing_changes(client, supervisor, shop):
    res = upload(client, shop, b"just some words, not a picture\n", "logo.png")
    assert res.status_code == 422
    assert "logo.png isn&#39;t a JPEG, PNG or WebP photo." in res.get_data(as_text=True)
    assert fresh(shop).logo_key is None and audit("merchant.update") == []
    res = staff.post(client, f"{page_of(shop)}/logo", {}, content_type="multipart/form-data")
    assert res.status_code == 422 and "Choose an image file." in res.get_data(as_text=True)


def test_replacing_and_removing_the_logo_deletes_the_old_file(client, supervisor, shop, app):
    from portal.storage import StoredFileMissing, get_storage

    upload(client, shop, factories.image_bytes("PNG", (100, 100)), "a.png")
    first = fresh(shop).logo_key
    upload(client, shop, factories.image_bytes("WEBP", (100, 100)), "b.webp")
    second = fresh(shop).logo_key
    assert second != first and second.endswith(".webp")
    with pytest.raises(StoredFileMissing):
        get_storage().open(first)
    assert client.get(f"/brand/{shop.id}/logo").mimetype == "image/webp"

    res = staff.post(client, f"{page_of(shop)}/logo/remove", {})
    assert res.status_code == 303 and fresh(shop).logo_key is None
    with pytest.raises(StoredFileMissing):
        get_storage().open(second)
    assert client.get(f"/brand/{shop.id}/logo").status_code == 404
    assert [e.after for e in audit("merchant.update")][-1] == {"logo_key": None}


# --- return policy ---------------------------------------------------------------------------


def test_policy_change_takes_effect_on_returns(client, supervisor, shop):
    parcel, _ = factories.make_order(shop, delivered_at=utcnow() - timedelta(days=20))
    assert any(line.remaining for line in returnable(parcel).lines)
    page = client.get(page_of(shop)).get_data(as_text=True)
    assert 'id="window_days"' in page and 'value="30"' in page  # the defaults, before any row

    # The form's token from the page the test already has in hand.
    res = client.post(
        f"{page_of(shop)}/policy",
        data={
            "csrf_token": csrf_token(page),
            "window_days": "14",
            "methods": ["dropoff", "locker"],
            "reasons": ["damaged", "wrong_item"],
            "non_returnable_skus": "SOCKS-3, SOCKS-3\nUNDERWEAR-1",
            "fee": "49",
            "auto_approve": "y",
        },
    )
    assert res.status_code == 303
    row = db.session.execute(
        select(ReturnPolicy).where(ReturnPolicy.merchant_id == shop.id)
    ).scalar_one()
    assert row.window_days == 14 and row.methods == ["dropoff", "locker"]
    assert row.reasons == ["damaged", "wrong_item", "other"]
    assert row.non_returnable_skus == ["SOCKS-3", "UNDERWEAR-1"] and row.fee == Decimal("49.00")
    db.session.expire_all()
    assert not any(
        line.remaining for line in returnable(db.session.get(type(parcel), parcel.id)).lines
    )

    [entry] = audit("policy.update")
    assert entry.subject == f"merchant:{shop.id}"
    assert entry.before["window_days"] == 30 and entry.after["window_days"] == 14
    assert entry.after["fee"] == "49.00" and "auto_approve" not in entry.after  # unchanged


def test_a_policy_without_methods_is_refused(client, supervisor, shop):
    res = staff.post(
        client,
        f"{page_of(shop)}/policy",
        {"window_days": "30", "reasons": ["other"], "fee": ""},
    )
    assert res.status_code == 422
    assert "Offer at least one way to send a return." in res.get_data(as_text=True)
    res = staff.post(
        client,
        f"{page_of(shop)}/policy",
        {"window_days": "400", "methods": ["dropoff"]},
    )
    assert res.status_code == 422 and "Give a whole number from 0 to 365." in res.get_data(True)
    assert db.session.execute(select(ReturnPolicy)).first() is None and audit("policy.update") == []


# --- API keys --------------------------------------------------------------------------------


def test_api_key_is_shown_once_works_and_stops_when_revoked(client, supervisor, shop):
    parcel = factories.make_parcel(merchant=shop)
    res = staff.post(client, f"{page_of(shop)}/keys", {})
    assert res.status_code == 200 and "no-store" in res.headers["Cache-Control"]
    plaintext = re.search(
        r'id="secret-value" class="secret" type="text" value="(lm_mk_[^"]+)"', res.get_data(True)
    ).group(1)
    key = db.session.execute(select(ApiKey).where(ApiKey.merchant_id == shop.id)).scalar_one()

    page = client.get(page_of(shop)).get_data(as_text=True)
    assert plaintext not in page and key.prefix in page  # shown once, listed by prefix after

    api = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}",
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert api.status_code == 200 and api.json["tracking_number"] == parcel.tracking_number

    # The form's token from the page the test already has in hand.
    revoke = f"{page_of(shop)}/keys/{key.id}/revoke"
    res = client.post(revoke, data={"csrf_token": csrf_token(page)})
    assert res.status_code == 303
    api = client.get(
        f"/api/v1/parcels/{parcel.tracking_number}",
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert api.status_code == 401
    assert "revoked" in client.get(page_of(shop)).get_data(as_text=True)

    [created] = audit("api_key.create")
    [revoked] = audit("api_key.revoke")
    assert created.after == {"id": key.id, "prefix": key.prefix} and created.before is None
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]
    for entry in (created, revoked):
        assert plaintext not in json.dumps([entry.before, entry.after])
        assert key.key_hash not in json.dumps([entry.before, entry.after])

    # Revoking again changes nothing; another merchant's key is not found here.
    staff.post(client, f"{page_of(shop)}/keys/{key.id}/revoke", {})
    assert len(audit("api_key.revoke")) == 1
    other = factories.make_merchant()
    factories.make_api_key(merchant=other)
    theirs = db.session.execute(select(ApiKey).where(ApiKey.merchant_id == other.id)).scalar_one()
    res = staff.post(client, f"{page_of(shop)}/keys/{theirs.id}/revoke", {})
    assert res.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiKey, theirs.id).revoked_at is None


# --- webhooks --------------------------------------------------------------------------------


def test_webhook_is_added_with_its_secret_shown_once_and_removed(client, supervisor, shop, app):
    app.config["WEBHOOK_ALLOW_INSECURE"] = False
    res = staff.post(client, f"{page_of(shop)}/webhooks", {"url": "https://127.0.0.1/hook"})
    assert res.status_code == 422
    assert "The webhook host must resolve to a public address." in res.get_data(as_text=True)
    res = staff.post(
        client,
        f"{page_of(shop)}/webhooks",
        {"url": "http://93.184.216.34/hook"},
    )
    assert res.status_code == 422 and "must start with https://" in res.get_data(as_text=True)
    assert audit("webhook.create") == []

    res = staff.post(
        client,
        f"{page_of(shop)}/webhooks",
        {"url": "https://93.184.216.34/hook"},
    )
    assert res.status_code == 200 and "no-store" in res.headers["Cache-Control"]
    endpoint = db.session.execute(select(WebhookEndpoint)).scalar_one()
    assert endpoint.merchant_id == shop.id
    assert f'value="{endpoint.secret}"' in res.get_data(as_text=True)
    page = client.get(page_of(shop)).get_data(as_text=True)
    assert "https://93.184.216.34/hook" in page and endpoint.secret not in page

    # The form's token from the page the test already has in hand.
    delete = f"{page_of(shop)}/webhooks/{endpoint.id}/delete"
    res = client.post(delete, data={"csrf_token": csrf_token(page)})
    assert res.status_code == 303
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).deleted_at is not None
    assert "https://93.184.216.34/hook" not in client.get(page_of(shop)).get_data(as_text=True)
    again = staff.post(client, f"{page_of(shop)}/webhooks/{endpoint.id}/delete", {})
    assert again.status_code == 404

    [created] = audit("webhook.create")
    [deleted] = audit("webhook.delete")
    assert created.after == {"id": endpoint.id, "url": "https://93.184.216.34/hook"}
    assert deleted.before == {"id": endpoint.id, "url": "https://93.184.216.34/hook"}
    for entry in (created, deleted):
        assert endpoint.secret not in json.dumps([entry.before, entry.after])


# --- who may -----------------------------------------------------------------------------------


def test_agents_get_403_on_every_merchants_url(client, shop):
    staff.login(client, factories.make_agent(email="aino@example.com", role=Role.AGENT))
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/merchants"' not in home  # not in their menu
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home).group(1)
    base = page_of(shop)
    assert client.get("/admin/merchants").status_code == 403
    assert client.get(base).status_code == 403
    for path in (
        "/admin/merchants",
        f"{base}/details",
        f"{base}/branding",
        f"{base}/logo",
        f"{base}/logo/remove",
        f"{base}/policy",
        f"{base}/keys",
        f"{base}/keys/1/revoke",
        f"{base}/webhooks",
        f"{base}/webhooks/1/delete",
    ):
        res = client.post(
            path, data={"csrf_token": token, "name": "Mine now", "brand_colour": "#000000"}
        )
        assert res.status_code == 403, path
    assert db.session.execute(select(ApiKey)).first() is None
    assert (
        fresh(shop).brand_colour is None and db.session.execute(select(AuditEntry)).first() is None
    )


def test_brand_files_of_unbranded_or_unknown_merchants_are_404(client, shop):
    assert client.get(f"/brand/{shop.id}.css").status_code == 404
    assert client.get(f"/brand/{shop.id}/logo").status_code == 404
    assert client.get("/brand/99999999999999999999/logo").status_code == 404
