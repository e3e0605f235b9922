"""Configuration from the environment, and the production guard rails."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.config import database_url
from portal.extensions import limiter
from portal.models import Account
from tests.support import factories
from tests.support.pages import verify


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production"})
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production"})


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    app = create_app({"ENV_NAME": "production"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_hashes_passwords_with_scrypt(monkeypatch):
    """The tests' app hashes with one round of PBKDF2 (tests/conftest.py); production keeps
    werkzeug's scrypt."""
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    app = create_app({"ENV_NAME": "production"})
    account = Account(email="agent@example.com")
    with app.app_context():
        account.set_password("correct horse battery")
    assert account.password_hash.startswith("scrypt:")
    assert account.check_password("correct horse battery")


def test_prefixed_environment_overrides_any_key(monkeypatch):
    monkeypatch.setenv("LASTMILE_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("LASTMILE_TRACKING_POLL_SECONDS", "10")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://track.example.com")
    app = create_app({"ENV_NAME": "test", "SECRET_KEY": "k" * 40})
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["TRACKING_POLL_SECONDS"] == 10
    assert app.config["PUBLIC_BASE_URL"] == "https://track.example.com"


def test_prefixed_secrets_stay_the_strings_they_were_typed_as(monkeypatch):
    # JSON would read these as the numbers 100000.0 and 123; the header would never match.
    monkeypatch.setenv("LASTMILE_METRICS_TOKEN", "1e5")
    monkeypatch.setenv("LASTMILE_SMTP_PASSWORD", "123")
    app = create_app({"ENV_NAME": "test", "SECRET_KEY": "k" * 40})
    assert app.config["METRICS_TOKEN"] == "1e5"
    assert app.config["SMTP_PASSWORD"] == "123"


def test_database_url_defaults_to_sqlite_in_instance_and_uses_psycopg():
    assert database_url(None, "/srv/instance") == "sqlite:////srv/instance/lastmile.db"
    assert database_url("postgresql://u@h/db", "") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db", "") == "postgresql+psycopg://u@h/db"


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"ENV_NAME": "development"})
    app.instance_path = str(tmp_path)
    from portal.config import instance_secret_key

    first = instance_secret_key(str(tmp_path))
    assert first == instance_secret_key(str(tmp_path)) and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.committed  # two apps, as two web processes, each with its own connections
def test_wrong_postcode_limit_is_shared_through_redis(monkeypatch, app, database_url):
    """Two web processes share one Redis: five wrong tries on one lock the parcel on the other."""
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    client.flushdb()
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = {"ENV_NAME": "test", "SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": database_url}
    try:
        one, two = create_app(settings), create_app(settings)
        assert one.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
        parcel = factories.make_parcel()
        for _ in range(5):
            verify(one.test_client(), parcel, "00000")
        assert verify(two.test_client(), parcel, "113 48").status_code == 429
        # The count lives in Redis, where every web process sees it.
        assert any(parcel.tracking_number.encode() in k for k in client.keys("*postcode*"))
    finally:
        client.flushdb()
        limiter.init_app(app)  # back to the suite's in-memory storage
