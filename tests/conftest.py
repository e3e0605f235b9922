"""Fixtures: an app on a database of its own (SQLite, or PostgreSQL when DATABASE_URL says so),
built by the real migrations; each test in one transaction rolled back at its end (tests marked
`committed` commit for real and empty the tables afterwards); clients for pages and the API."""

from __future__ import annotations

import contextvars
import os
import uuid
from collections.abc import Iterator

import pytest
import time_machine
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from portal import create_app
from portal.extensions import db as _db
from portal.extensions import limiter
from portal.services.edd import forget_closed_days, forget_estimates
from tests.support import factories
from tests.support.database import HINT, bind_sessions_to_the_test, one_transaction
from tests.support.databases import scratch_database

# TEST_REDIS_URL lets test runs side by side each flush a database of their own.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        yield url


class IsolatedClient(FlaskClient):
    """Each request runs in a context of its own, as in production.

    Flask reuses an app context that is already pushed (the test's, for its factories), which
    would share `g` and the database session with the request and hide a missing commit.
    Afterwards the test's own transaction is ended (tests commit what they arrange), so what it
    reads next is what the request committed, on SQLite's snapshots as on PostgreSQL.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # a test's own thread; helper threads have none
            _db.session.rollback()
        return response


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "RATELIMIT_STORAGE_URI": "memory://",
            "PUBLIC_BASE_URL": "http://portal.test",
            # The real Redis, with a queue of this run's own.
            "REDIS_URL": REDIS_URL,
            "RQ_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
            # One round instead of scrypt: every agent made and every log-in hashes a password.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        bind_sessions_to_the_test(_db)
        upgrade()  # the real migrations, not create_all: they are tested on every run
    yield app
    with app.app_context():
        _db.engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "committed: commits for real, for other threads or processes to see (a live server, a "
        "worker thread, racing requests); the tables are emptied afterwards instead of the "
        "test's transaction being rolled back",
    )
    config.addinivalue_line(
        "markers", "clock(when): where the `clock` fixture starts (default factories.DELIVERY_NOW)"
    )


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """Time standing still at the moment the test's or module's `clock` marker names, else at
    factories.DELIVERY_NOW (Thursday 26 November 2026, 10:00 in Stockholm); the test moves it
    with `clock.shift(...)` and `clock.move_to(...)`."""
    marker = request.node.get_closest_marker("clock")
    start = marker.args[0] if marker else factories.DELIVERY_NOW
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def db(app: Flask, request: pytest.FixtureRequest) -> Iterator:
    """An app context for the test, rate limits reset afterwards. By default the test runs in one
    transaction rolled back at the end (tests/support/database.py); a test marked `committed`
    commits for real and every table is emptied afterwards."""
    with app.app_context():
        if request.node.get_closest_marker("committed"):
            yield _db
            _db.session.rollback()
            _empty_every_table()
            _db.session.remove()
        else:
            with one_transaction(app, _db) as problems:
                yield _db
            if problems:
                _empty_every_table()  # whatever got past the one connection
                pytest.fail(f"{problems[0]}: {HINT}")
    limiter.reset()
    # Each worker keeps estimates and closed days it read for minutes; a test's were rolled back.
    forget_estimates()
    forget_closed_days()


def _empty_every_table() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class ApiClient:
    """A test client that sends a Bearer key and JSON."""

    def __init__(self, client: FlaskClient, key: str):
        self.client, self.key = client, key

    def _headers(self, extra: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, headers: dict | None = None):
        return self.client.get(path, headers=self._headers(headers))

    def post(self, path: str, json=None, data=None, headers: dict | None = None):
        return self.client.post(path, json=json, data=data, headers=self._headers(headers))


@pytest.fixture
def merchant_api(client: FlaskClient) -> ApiClient:
    merchant = factories.make_merchant()
    return ApiClient(client, factories.make_api_key(merchant=merchant))


@pytest.fixture
def carrier(db) -> object:
    return factories.make_carrier()


@pytest.fixture
def carrier_api(client: FlaskClient, carrier) -> ApiClient:
    return ApiClient(client, factories.make_api_key(carrier=carrier))


@pytest.fixture
def redis_queue(app):
    """The real Redis, emptied before and after the test (once hand-offs still on their way
    there, made off the committing thread, have landed)."""
    import redis

    from portal.notifications.handoff import drain

    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    drain()
    conn.flushdb()
    yield conn
    drain()
    conn.flushdb()


@pytest.fixture
def messaging(app, redis_queue):
    """Twilio (real SDK, recorded at the HTTP layer) and SMTP (aiosmtpd on loopback) configured."""
    from tests.support.messaging import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioRecorder, start_smtp

    twilio = TwilioRecorder()
    controller, smtp = start_smtp()
    settings = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": FROM,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": controller.port,
        "SMTP_STARTTLS": False,
        "WEBHOOK_ALLOW_INSECURE": True,
    }
    saved = {k: app.config.get(k) for k in settings}
    app.config.update(settings)
    app.extensions["twilio_http_client"] = twilio
    yield type("Messaging", (), {"twilio": twilio, "smtp": smtp, "redis": redis_queue})
    app.config.update(saved)
    app.extensions.pop("twilio_http_client", None)
    controller.stop()
