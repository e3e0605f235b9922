"""The database restarting or unreachable: clients hear 503 with Retry-After, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.errors import OUTAGE_RETRY_AFTER
from portal.extensions import db as _db
from tests.support import factories

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:9/none"


def app_on(url: str, socket_check: bool = True, **engine_options):
    return create_app(
        {
            "DATABASE_SOCKET_CHECK": socket_check,
            "ENV_NAME": "test",
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 1}, **engine_options},
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def test_api_answers_503_with_retry_after_when_the_database_is_unreachable():
    res = (
        app_on(UNREACHABLE)
        .test_client()
        .post(
            "/api/v1/events",
            json={"events": []},
            headers={"Authorization": "Bearer some-carrier-key", "Idempotency-Key": "batch-1"},
        )
    )
    assert res.status_code == 503
    # Seconds, as for an outage; not when the API key's rate-limit window resets (a minute).
    assert res.headers["Retry-After"] == str(OUTAGE_RETRY_AFTER)
    assert res.json["error"]["code"] == "unavailable"
    assert "psycopg" not in res.get_data(as_text=True)


def test_a_page_answers_a_friendly_503_when_the_database_is_unreachable():
    res = app_on(UNREACHABLE).test_client().get("/t/RR123456785SE")
    assert res.status_code == 503
    assert res.headers["Retry-After"] == str(OUTAGE_RETRY_AFTER)
    page = res.get_data(as_text=True)
    assert "Busy right now" in page and "Please try again in a moment." in page
    assert "Traceback" not in page and "psycopg" not in page


def _drop_connections(url: str) -> int:
    """What a PostgreSQL restart does to every open connection of the database."""
    admin = make_url(url).set(database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        dropped = conn.execute(
            text(
                # Waiting (up to 5 s) for each to end, as a restart does before anyone reconnects.
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": make_url(url).database},
        ).scalar_one()
    engine.dispose()
    return dropped


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("connections dropped by the server: PostgreSQL only")
    return database_url


def post_scan(client, key: str, parcel, event_id: str):
    res = client.post(
        "/api/v1/events",
        json={"events": [factories.event_json(parcel, event_id, "in_transit")]},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": event_id},
    )
    _db.session.rollback()  # the test's own connection back to the pool, as between requests
    return res


def stored_events(url: str) -> list[str]:
    engine = create_engine(url)  # the test's own connection went with the others
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id FROM tracking_event ORDER BY event_id"))
        stored = list(rows.scalars())
    engine.dispose()
    return stored


@pytest.mark.committed  # the server drops the app's connections; a second one counts rows
def test_a_connection_the_server_dropped_gives_503_and_the_retry_stores_once(postgres_url, carrier):
    key = factories.make_api_key(carrier=carrier)
    parcel = factories.make_parcel(carrier=carrier)
    _db.session.commit()
    # Without the pool's liveness check the next request meets the dead connection itself.
    app = app_on(postgres_url, socket_check=False, pool_size=1)
    client = app.test_client()
    assert post_scan(client, key, parcel, "scan-1").status_code == 200
    assert _drop_connections(postgres_url) >= 1
    res = post_scan(client, key, parcel, "scan-2")
    assert res.status_code == 503 and res.headers["Retry-After"] == str(OUTAGE_RETRY_AFTER)
    assert res.json["error"]["code"] == "unavailable"
    # The dead connection was thrown away: the same batch again goes through, once.
    retry = post_scan(client, key, parcel, "scan-2")
    assert retry.status_code == 200 and retry.json["accepted"] == 1
    assert stored_events(postgres_url) == ["scan-1", "scan-2"]
    with app.app_context():
        _db.engine.dispose()


@pytest.mark.committed  # the server drops the app's connections; a second one counts rows
def test_the_first_request_after_a_restart_succeeds(postgres_url, client, carrier):
    key = factories.make_api_key(carrier=carrier)
    parcel = factories.make_parcel(carrier=carrier)
    _db.session.commit()
    assert post_scan(client, key, parcel, "scan-1").status_code == 200
    assert _drop_connections(postgres_url) >= 1
    # The socket check (connections.py) finds the dead connection before the request uses it.
    assert post_scan(client, key, parcel, "scan-2").status_code == 200
