"""The live OpenAPI document as a merchant's developer meets it: Redocly's recommended rules
find nothing to report, and a client `openapi-python-client` generates from it runs a
merchant's and a carrier's whole journey, in process (httpx's WSGI transport) and in the
test's transaction."""

from __future__ import annotations

import contextvars
import csv
import importlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from portal.extensions import db
from tests.support import factories
from tests.support.api import baltic_parcel_body

ROOT = Path(__file__).resolve().parents[2]
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "lastmile_client"
# The generator's defaults run `ruff` over what it wrote; the test needs no formatting.
GENERATOR_CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\n"

# Thursday 26 November 2026, 10:00 in Stockholm; the parcel is booked on Friday's first slot.
SLOT_DAY = date(2026, 11, 27)


def live_document(client, tmp_path: Path) -> tuple[dict, Path]:
    res = client.get("/api/v1/openapi.json")
    assert res.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_bytes(res.data)
    return res.json, path


def test_redocly_recommended_rules_find_nothing(client, tmp_path):
    doc, path = live_document(client, tmp_path)
    # No telemetry and no update check: the linter needs no network.
    env = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    }
    run = subprocess.run(
        [REDOCLY, "lint", "--extends", "recommended", "--format", "json", path.name],
        cwd=tmp_path,  # no redocly.yaml of ours to soften the rules
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(run.stdout)
    problems = [(p["severity"], p["ruleId"], p["message"]) for p in report["problems"]]
    assert doc["info"]["license"] == {"name": "MIT", "identifier": "MIT"}  # pyproject.toml's
    assert problems == []
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}


@pytest.fixture
def generated(client, tmp_path) -> ModuleType:
    """The client package generated from the live document, importable as `lastmile_client`."""
    _, path = live_document(client, tmp_path)
    config = tmp_path / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    into = ["--output-path", tmp_path / PACKAGE, "--meta", "none", "--config", config]
    run = subprocess.run(
        [GENERATOR, "generate", "--path", path, *into],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # A warning means part of the document was skipped: the client would lack it.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def in_process(app):
    """The app as a WSGI callable that answers each request in a context of its own, as the
    test client does (conftest.IsolatedClient): nothing of the test's `g` or session leaks in."""

    def wsgi(environ, start_response):
        try:
            return contextvars.Context().run(app, environ, start_response)
        finally:
            db.session.rollback()

    return wsgi


def client_for(lc: ModuleType, app, key: str):
    return lc.AuthenticatedClient(
        base_url="http://portal.test/api/v1",
        token=key,
        httpx_args={"transport": httpx.WSGITransport(app=in_process(app))},
    )


def op(name: str) -> ModuleType:
    """A generated operation's module, by tag and operation: `parcels.create_parcel`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def ok(response, status: HTTPStatus = HTTPStatus.OK):
    assert response.status_code == status, response.content
    return response.parsed


def test_a_generated_client_runs_a_merchants_and_a_carriers_journey(
    app, client, clock, generated, merchant_api, carrier_api, carrier
):
    lc, models = generated, importlib.import_module(f"{PACKAGE}.models")
    factories.make_delivery_zone()
    merchant = client_for(lc, app, merchant_api.key)
    carrier_client = client_for(lc, app, carrier_api.key)

    # Checkout: the options for the address, then the parcel with Friday's first slot.
    options = ok(
        op("delivery.get_delivery_options").sync_detailed(
            client=merchant, postcode="113 48", weight=1200, carrier=carrier.name
        )
    )
    assert isinstance(options, models.DeliveryOptionsOut) and options.zone == "Stockholm"
    slot = next(
        o for o in options.options if o.type_ is models.ChoiceType.SLOT and o.date == SLOT_DAY
    )
    assert slot.vehicle is models.Vehicle.VAN and slot.available
    body = models.ParcelIn.from_dict(
        baltic_parcel_body(carrier=carrier.name, delivery_choice={"type": "slot", "id": slot.id})
    )
    parcel = ok(
        op("parcels.create_parcel").sync_detailed(
            client=merchant, body=body, idempotency_key="order-1"
        ),
        HTTPStatus.CREATED,
    )
    assert isinstance(parcel, models.ParcelOut)
    assert parcel.status is models.ParcelStatus.PENDING and parcel.carrier == carrier.name
    assert parcel.recipient.language == "sv" and parcel.recipient.phone == "+46701234567"
    assert isinstance(parcel.choice.slot, models.Slot)
    assert (parcel.choice.slot.id, parcel.choice.slot.zone) == (slot.id, "Stockholm")
    number = parcel.tracking_number

    def push(*batch: tuple[str, str, datetime]):
        sent = models.EventBatchIn.from_dict(
            {
                "events": [
                    {
                        "event_id": event_id,
                        "tracking_number": number,
                        "code": code,
                        "occurred_at": at.isoformat(),
                        "location": "Stockholm",
                    }
                    for event_id, code, at in batch
                ]
            }
        )
        return ok(op("tracking_events.post_events").sync_detailed(client=carrier_client, body=sent))

    # The carrier scans it, then reads Friday's manifest as JSON and as CSV.
    result = push(("e1", "picked_up", datetime(2026, 11, 26, 8, 0, tzinfo=UTC)))
    assert (result.accepted, result.duplicate, result.rejected) == (1, 0, 0)
    assert result.results[0].status is models.EventResult.ACCEPTED
    again = push(("e1", "picked_up", datetime(2026, 11, 26, 8, 0, tzinfo=UTC)))
    assert again.results[0].status is models.EventResult.DUPLICATE

    stops = ok(
        op("manifest.get_manifest").sync_detailed(
            client=carrier_client, date=SLOT_DAY, zone="Stockholm"
        )
    )
    assert isinstance(stops, models.ManifestOut) and stops.date == SLOT_DAY
    [stop] = stops.stops
    assert (stop.tracking_number, stop.status) == (number, models.ParcelStatus.PICKED_UP)
    assert (stop.choice, stop.vehicle) == (models.ChoiceType.SLOT, models.Vehicle.VAN)
    text = ok(
        op("manifest.get_manifest_csv").sync_detailed(
            client=carrier_client, date=SLOT_DAY, zone="Stockholm"
        )
    )
    assert isinstance(text, str)
    [row] = csv.DictReader(io.StringIO(text))
    assert (row["tracking_number"], row["choice"], row["vehicle"]) == (number, "slot", "van")
    assert row["window_start"] == "2026-11-27T08:00:00+00:00"  # ISO 8601, UTC
    # Byte for byte what GET /manifest?format=csv answers.
    same = carrier_api.get("/api/v1/manifest?date=2026-11-27&zone=Stockholm&format=csv")
    assert same.mimetype == "text/csv" and same.get_data(as_text=True) == text

    # Friday: out for delivery in the slot, delivered; merchant and carrier read the tracking.
    clock.move_to(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    push(
        ("e2", "out_for_delivery", datetime(2026, 11, 27, 7, 30, tzinfo=UTC)),
        ("e3", "delivered", datetime(2026, 11, 27, 8, 40, tzinfo=UTC)),
    )
    tracked = ok(op("parcels.get_parcel").sync_detailed(number, client=merchant))
    assert tracked.status is models.ParcelStatus.DELIVERED
    assert [e.code for e in tracked.events] == [
        models.ParcelStatus.PICKED_UP,
        models.ParcelStatus.OUT_FOR_DELIVERY,
        models.ParcelStatus.DELIVERED,
    ]
    assert [c.type_ for c in tracked.choices] == [models.ChoiceType.SLOT]
    seen = ok(op("parcels.get_parcel").sync_detailed(number, client=carrier_client))
    assert seen.status is models.ParcelStatus.DELIVERED and seen.choices == []

    # The customer sends the tent back; the shop receives it and refunds it.
    opened = ok(
        op("returns.create_return").sync_detailed(
            client=merchant,
            body=models.ReturnIn(
                tracking_number=number,
                method=models.ReturnMethod.DROPOFF,
                items=[
                    models.ReturnItemIn(
                        sku="TENT-2P", quantity=1, reason=models.ReturnReason.DAMAGED
                    )
                ],
            ),
        ),
        HTTPStatus.CREATED,
    )
    assert isinstance(opened, models.ReturnOut)
    assert opened.status is models.ReturnStatus.APPROVED
    assert opened.created_by is models.ReturnCreator.MERCHANT
    assert opened.items[0].reason is models.ReturnReason.DAMAGED and opened.label_url
    received = ok(op("returns.return_received").sync_detailed(opened.rma, client=merchant))
    assert received.status is models.ReturnStatus.RECEIVED
    refunded = ok(
        op("returns.return_refunded").sync_detailed(
            opened.rma, client=merchant, body=models.RefundIn(amount="2499.00")
        )
    )
    assert refunded.status is models.ReturnStatus.REFUNDED
    assert Decimal(refunded.refund_amount) == Decimal("2499.00")
    listed = ok(op("returns.list_returns").sync_detailed(client=merchant))
    assert [r.rma for r in listed.returns] == [opened.rma]
    missing = op("returns.get_return").sync_detailed("NONE-0000", client=merchant)
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(missing.parsed, models.ErrorOut)
    assert missing.parsed.error.field == "rma"

    # A webhook endpoint: added (its secret shown once), listed, removed.
    hook = ok(
        op("webhooks.create_webhook").sync_detailed(
            client=merchant, body=models.WebhookIn(url="https://93.184.216.34/hooks/lastmile")
        ),
        HTTPStatus.CREATED,
    )
    assert isinstance(hook, models.WebhookCreatedOut) and hook.secret
    listed = ok(op("webhooks.list_webhooks").sync_detailed(client=merchant))
    assert [w.id for w in listed.webhooks] == [hook.id]
    ok(op("webhooks.delete_webhook").sync_detailed(hook.id, client=merchant), HTTPStatus.NO_CONTENT)
    assert ok(op("webhooks.list_webhooks").sync_detailed(client=merchant)).webhooks == []

    # A merchant key is not a carrier's: the manifest says so in the one error shape.
    refused = op("manifest.get_manifest_csv").sync_detailed(
        client=merchant, date=SLOT_DAY, zone="Stockholm"
    )
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.parsed.error.code == "forbidden"


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-11-27&zone=Stockholm",
        "date=2026-11-27&zone=Stockholm&format=json",  # the path says CSV; `format` can't undo it
        "date=2026-11-27&zone=Atlantis",
        "date=27-11-2026&zone=Stockholm",
        "zone=Stockholm",
    ],
)
def test_manifest_csv_is_the_manifest_with_format_csv(carrier_api, carrier, query):
    factories.make_delivery_zone()
    window = (datetime(2026, 11, 27, 8, tzinfo=UTC), datetime(2026, 11, 27, 10, tzinfo=UTC))
    factories.make_parcel(carrier=carrier, eta=window)
    db.session.commit()
    own = carrier_api.get(f"/api/v1/manifest.csv?{query}")
    via_format = carrier_api.get(f"/api/v1/manifest?{query.replace('format=json', '')}&format=csv")
    assert (own.status_code, own.mimetype) == (via_format.status_code, via_format.mimetype)
    assert own.data == via_format.data and own.data
    assert own.headers.get("Content-Disposition") == via_format.headers.get("Content-Disposition")
