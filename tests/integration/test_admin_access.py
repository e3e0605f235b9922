"""Every console route, walked with every role: the server checks the role on each one."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import ClosedDay, PickupPoint, Role, Slot, SlotTemplate, WebhookEndpoint
from portal.services.api_keys import create_api_key
from tests.support import factories
from tests.support.pages import csrf_for
from tests.support.staff import login

# What only supervisors may open: agents, merchants (branding, policy, keys, webhooks), the
# merchants' message templates and the delivery network.
SUPERVISOR_ONLY = ("admin.agent", "admin.merchant", "admin.message_template", "admin.network")
LOGIN_PAGES = {
    "accounts.login",
    "accounts.login_code",
    "accounts.dropoff_login",
    "accounts.dropoff_login_code",
}


def console_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every /admin route but the log-in pages, and /dropoff."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in LOGIN_PAGES:
            continue
        if not (rule.rule.startswith("/admin") or rule.endpoint == "returns.dropoff"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


@pytest.fixture
def world(app):
    """One of everything a console URL can name."""
    merchant = factories.make_merchant()
    parcel = factories.make_parcel(merchant=merchant)
    target = factories.make_agent("target@example.com")
    key, _ = create_api_key(merchant=merchant)
    endpoint = WebhookEndpoint(merchant=merchant, url="https://shop.example/hook", secret="s")
    db.session.add(endpoint)
    zone = factories.make_delivery_zone()
    closed = ClosedDay(zone_id=zone.id, day=date(2030, 1, 2), reason="Inventory")
    db.session.add(closed)
    db.session.commit()
    network = {
        "zone_id": zone.id,
        "prefix_id": zone.prefixes[0].id,
        "day_id": closed.id,
        "template_id": db.session.scalars(select(SlotTemplate.id)).first(),
        "slot_id": db.session.scalars(select(Slot.id)).first(),
        "point_id": db.session.scalars(select(PickupPoint.id)).first(),
    }
    return {
        **network,
        "tn": parcel.tracking_number,
        "merchant_id": merchant.id,
        "account_id": target.id,
        "key_id": key.id,
        "endpoint_id": endpoint.id,
        "action": "assign",
        "trigger": "parcel_created",
        "channel": "sms",
        "language": "en",
    }


def url_for_rule(app: Flask, endpoint: str, world: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint=endpoint))
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        items = getattr(converter, "items", None)
        values[name] = sorted(items)[0] if items else world[name]
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def request(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token})


def test_every_console_route_checks_the_role(app, world):
    routes = console_routes(app)
    assert len(routes) > 30  # the walk really covers the console

    clients = {"anonymous": app.test_client()}
    for role in (Role.DROPOFF, Role.AGENT, Role.SUPERVISOR):
        client = app.test_client()
        if role is Role.DROPOFF:
            account = factories.make_dropoff_account()
        else:
            account = factories.make_agent(f"{role.value}@example.com", role=role)
        login(client, account)
        clients[role.value] = client
    # Each session's own good CSRF token: a forged-looking POST must still meet the role
    # check, not just the CSRF check.
    tokens = {name: csrf_for(c) for name, c in clients.items()}

    failures = []
    for endpoint, method, rule in routes:
        url = url_for_rule(app, endpoint, world)
        supervisor_only = endpoint.startswith(SUPERVISOR_ONLY)
        for who, client in clients.items():
            res = request(client, method, url, tokens[who])
            code = res.status_code
            if endpoint == "returns.dropoff":
                ok = (
                    (who == "anonymous" and code == 302 and "/login" in res.location)
                    or (who == "dropoff" and code in (200, 422))
                    or (who == "supervisor" and code in (200, 422))
                    or (who == "agent" and code == 403)
                )
            elif who == "anonymous":
                ok = code == 302 and "/login" in res.location
            elif who == "dropoff":
                ok = code == 403 or (endpoint.startswith("accounts.") and code < 500)
            elif who == "agent" and supervisor_only:
                ok = code == 403
            else:
                ok = code not in (401, 403) and code < 500
            if not ok:
                failures.append(f"{who:<10} {method:<4} {rule} -> {code}")
    assert failures == [], "\n".join(failures)
