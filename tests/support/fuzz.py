"""Schemathesis against the app's own OpenAPI document, in-process, with valid keys.

Shared by `tests/security/test_api_fuzz.py` (a bounded run in `make test`) and
`bench/api_fuzz.py` (a longer run by hand). Every operation gets generated requests, valid
ones and (with `negative=True`) ones the document says are wrong; each answer must not be a
5xx and must have a documented status code, content type and body.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import hypothesis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.api.openapi import build_openapi
from portal.extensions import db
from portal.models.types import utcnow
from portal.services.parcels import ItemData
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The examples in the document: the explicit phase then opens a real parcel and return.
TRACKING_NUMBER, RMA = "RR123456785SE", "YC9W-KCR6"
CARRIER_OPERATIONS = {"POST /events", "GET /manifest", "GET /manifest.csv"}


def operations() -> list[str]:
    """Every operation of the document as `METHOD /path` (the path under /api/v1)."""
    paths = build_openapi("http://portal.test")["paths"]
    return [f"{method.upper()} {path}" for path, ops in paths.items() for method in ops]


def seed() -> dict[str, str]:
    """A merchant with a delivered parcel and a return of it, slots to choose from, and the
    carrier; returns a key for each. Needs an app context; commits."""
    merchant = factories.make_merchant("Nordic Outdoor")
    carrier = factories.make_carrier("Baltic Express")
    factories.make_delivery_zone(today=date.today())
    parcel = factories.make_parcel(
        merchant=merchant,
        carrier=carrier,
        tracking_number=TRACKING_NUMBER,
        items=[ItemData("TENT-2P", "Trail tent", 2, Decimal("2499.00"))],
        statuses=factories.DELIVERED,
        start=utcnow() - timedelta(days=1),
        order_ref="1001",
    )
    ret = open_return(
        parcel,
        ReturnRequest([LineRequest(sku="TENT-2P", quantity=1, reason="damaged")], "dropoff"),
        created_by="merchant",
    )
    ret.rma = RMA
    db.session.commit()
    return {
        "merchant": factories.make_api_key(merchant=merchant),
        "carrier": factories.make_api_key(carrier=carrier),
    }


def _with_headers(case, headers: dict[str, str]):
    case.headers = {**(case.headers or {}), **headers}
    return case


@dataclass
class Run:
    label: str
    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def fuzz(
    app: Flask,
    keys: dict[str, str],
    label: str,
    *,
    max_examples: int,
    negative: bool = True,
    seed: int | None = 0,
) -> Run:
    """Fuzz one operation; raises the first failed check (schemathesis says what and how to
    reproduce it with curl). The same `seed` sends the same requests; None draws new ones."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    role = "carrier" if label in CARRIER_OPERATIONS else "merchant"
    headers = {"Authorization": f"Bearer {keys[role]}"}
    run = Run(label)

    def call_and_check(case) -> None:
        # Each call in a context of its own, as in production (IsolatedClient in conftest).
        response = contextvars.Context().run(case.call, headers=headers)
        db.session.rollback()
        run.calls += 1
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    def explore(strategy, examples: int) -> None:
        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],  # no shrinking: report the first failure as found
        )
        def check(case) -> None:
            call_and_check(case)

        (check if seed is None else hypothesis.seed(seed)(check))()

    started = time.monotonic()
    # The document's examples first (a parcel, a return, an event that all exist), each once,
    # then generated requests: valid ones with the key, and invalid ones.
    for strategy in schema.get_strategies_from_examples(operation):
        explore(strategy.map(lambda case: _with_headers(case, headers)), 1)
    explore(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers),
        max_examples,
    )
    if negative:
        # Invalid requests may also get a broken Authorization header from schemathesis (a
        # documented 401); the key is only their default. An operation with nothing to get
        # wrong (no body, no constrained parameter) has no invalid requests.
        with contextlib.suppress(Unsatisfiable):
            explore(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), max_examples)
    run.seconds = time.monotonic() - started
    return run
