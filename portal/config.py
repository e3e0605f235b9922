"""Configuration, one class per environment, read from the environment.

Any key can also be set as LASTMILE_<KEY> (Flask's from_prefixed_env), e.g.
LASTMILE_RATELIMIT_ENABLED=false for a benchmark run.
"""

from __future__ import annotations

import secrets
from pathlib import Path


def database_url(raw: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL, defaulting to a SQLite file in instance/."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'lastmile.db'}"
    # psycopg 3 is the driver we ship; plain postgres URLs would make SQLAlchemy look for psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def instance_secret_key(instance_path: str) -> str:
    """A secret generated once into instance/secret_key, so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    ENV_NAME = "development"
    # hide_parameters: a failed statement is logged without its values (names, phones, links).
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
    # A pooled PostgreSQL connection the server has closed is swapped for a new one before a
    # request gets it, by a look at its socket instead of a ping (connections.py, issue 17).
    DATABASE_SOCKET_CHECK = True
    REDIS_URL = None
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    # How staff passwords are hashed (werkzeug method string). Only tests change it, to a cheap one.
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105  (a method name, not a password)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 30

    # Flask-Limiter: Redis when configured so limits hold across processes, memory otherwise.
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # Redis when REDIS_URL is set (see from_environment)
    # Redis down must not turn every limited page into a 500: count in memory until it is back.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_LOOKUP = "60 per minute"  # /track, /t/<tn> and /l/<token> per IP
    RATELIMIT_POSTCODE_FAILURES = "5 per 15 minutes"  # wrong postcodes per parcel
    RATELIMIT_API = "1200 per minute"  # per API key
    RATELIMIT_API_WRONG_KEYS = "30 per minute"  # missing or wrong API keys per IP
    # /me's sign-in codes (issue 19): codes sent per address and per IP, and codes typed per IP
    # (each code also allows 5 tries of its own).
    RATELIMIT_ME_CODES_PER_ADDRESS = "3 per 15 minutes"
    RATELIMIT_ME_CODES_PER_IP = "10 per hour"
    RATELIMIT_ME_CODE_TRIES_PER_IP = "30 per 15 minutes"
    # Wrong codes an address may get over a day, from any number of IPs, before no code is
    # sent to it or checked for it until the day has passed.
    ME_CODE_FAILURES_PER_DAY = 15

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    # Customer languages: English, Swedish, Norwegian Bokmål, Danish, Finnish (CLDR codes).
    LANGUAGES = ("en", "sv", "nb", "da", "fi")
    # The staff console's languages, picked per account (console.po exists for these only).
    CONSOLE_LANGUAGES = ("en", "sv")
    # Two catalogues in one directory: `messages` (customer text) and `console` (staff).
    BABEL_TRANSLATION_DIRECTORIES = "translations;translations"
    BABEL_DOMAIN = "messages;console"
    # Local time for parcels whose postcode matches no zone.
    DEFAULT_TIMEZONE = "Europe/Stockholm"

    # Delivery choices (issue 4).
    DELIVERY_DAYS_AHEAD = 14  # slots and green days offered this far ahead
    REBOOK_DAYS = 7  # after a failed attempt, a new delivery within this many days
    HOLD_MAX_DAYS = 30  # a hold never runs longer (nor past the merchant's storage_days)
    PICKUP_POINTS_SHOWN = 5  # nearest first
    # The pickup-point map (issue 20): where its tiles come from, and the attribution their
    # provider requires. The map pages' CSP allows images from this URL's host; an empty
    # MAP_TILE_URL turns the map off (the pages show their lists only).
    MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    MAP_TILE_ATTRIBUTION = (
        '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )
    LOCKER_MAX_WEIGHT_GRAMS = 20_000
    CARGO_BIKE_MAX_WEIGHT_GRAMS = 25_000

    # Complaint photos (issue 5): checked by content, re-encoded without metadata, stored with
    # random names under UPLOAD_FOLDER (None: instance/uploads). The complaint and reply forms
    # take a request of PHOTO_MAX_COUNT photos plus the text, more than MAX_CONTENT_LENGTH.
    PHOTO_MAX_BYTES = 10 * 1024 * 1024  # each, as uploaded
    PHOTO_MAX_COUNT = 5  # per form sent
    PHOTO_MAX_PER_CASE = 20  # a case's photos over all its replies
    PHOTO_MAX_SIDE = 2048  # longest side kept, in pixels
    # Decoding, not uploading, is what photos cost (issue 15): a 1 KB WebP decodes into 25 M
    # pixels. Every file's header is checked first, and the pixels a request's photos decode
    # into, together, must stay within this: five 16 MP phone photos (JPEG), three PNG or WebP
    # at their largest. About 2 s of CPU at most; more is refused before anything is decoded.
    PHOTO_MAX_PIXELS_PER_REQUEST = 80_000_000
    # Photo forms one client IP may have in flight at once, over all workers (Redis counts when
    # REDIS_URL is set, else this process); more get a 429 asking to wait. One, so that one
    # client can never keep every worker decoding. A slot a killed worker never gave back
    # lapses after PHOTO_UPLOAD_SLOT_SECONDS, longer than any request may run.
    PHOTO_UPLOADS_PER_IP = 1
    PHOTO_UPLOAD_SLOT_SECONDS = 300
    UPLOAD_FOLDER = None

    SIGNED_LINK_DAYS = 30
    # Fresh tracking numbers: S10 service indicator and the issuing country.
    S10_PREFIX = "LM"
    S10_COUNTRY = "SE"
    # How often an open parcel page refreshes its status with JavaScript on (htmx polling).
    TRACKING_POLL_SECONDS = 30
    EVENT_BATCH_MAX = 1000
    # Carrier clocks drift; an event further in the future than this is refused as a bad time.
    EVENT_MAX_FUTURE_SECONDS = 15 * 60
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024  # a full batch of 1000 events at maximum lengths

    # Notifications. Without Twilio or SMTP settings a development backend records messages
    # (seen at /dev/outbox in debug mode) instead of sending them.
    TWILIO_ACCOUNT_SID = None
    TWILIO_AUTH_TOKEN = None
    TWILIO_FROM = None
    TWILIO_API_BASE = None  # e.g. a local stand-in for api.twilio.com (benchmarks)
    SMTP_HOST = None
    SMTP_PORT = 587
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_FROM = "Lastmile <no-reply@lastmile.invalid>"
    SMTP_STARTTLS = True
    SMTP_TIMEOUT = 10
    NOTIFY_QUIET_START = 21  # local hour from which SMS wait …
    NOTIFY_QUIET_END = 8  # … until this local hour (out_for_delivery is exempt)
    NOTIFY_MAX_ATTEMPTS = 4
    NOTIFY_RETRY_BASE_SECONDS = 30  # 30 s, 60 s, 120 s …
    NOTIFY_CLAIM_SECONDS = 120  # a worker's hold on a row while it calls the provider
    NOTIFY_SWEEP_SECONDS = 5  # how often the sweeper looks for due rows
    NOTIFY_MAX_EVENT_AGE_HOURS = 12  # older events update the page but message nobody
    RQ_QUEUE = "notifications"

    # Predicted delivery dates (issue 18, services/edd).
    EDD_DEFAULT_DAYS = (1, 3)  # working days, when nothing better is known: basis "default"
    EDD_MIN_SAMPLE = 30  # parcels a segment needs before the fit keeps it
    EDD_RANGE_COVERAGE = 0.95  # the range holds at least this share of comparable parcels
    EDD_FIT_DAYS = 180  # the fit learns from pickups of this many days back
    EDD_ORIGIN_AREA_DIGITS = 2  # a route starts from this much of the origin postcode

    # Retention (issue 19, services/retention.py): how long personal data outlives a parcel's
    # close (delivered, returned to sender, cancelled; its status_at). After RETENTION_DAYS the
    # recipient's name, address line, phone and e-mail, message bodies, inbound replies, notes
    # and signed links go; complaint photos RETENTION_PHOTO_DAYS after their case closed.
    # `flask retention run` anonymises RETENTION_BATCH parcels per committed transaction.
    RETENTION_DAYS = 90
    RETENTION_PHOTO_DAYS = 365
    RETENTION_BATCH = 2000
    # A /me profile with no parcel addressed to it and no sign-in for RETENTION_PROFILE_DAYS gets
    # one notice, and is deleted RETENTION_PROFILE_NOTICE_DAYS later unless its owner signs in.
    RETENTION_PROFILE_DAYS = 365
    RETENTION_PROFILE_NOTICE_DAYS = 30

    # Agent console (issue 6).
    PHONE_REGION = "SE"  # how the search box reads a phone number typed without +country
    LOGIN_LOCK_AFTER = 5  # wrong passwords in a row lock the account …
    LOGIN_LOCK_MINUTES = 15  # … for this long
    # A set-password link (a new account's, or a supervisor's reset) works once, for this long.
    STAFF_PASSWORD_LINK_HOURS = 24
    STAFF_IDLE_MINUTES = 30  # a staff session ends after this long without a request
    STUCK_AFTER_HOURS = 48  # the stuck-parcel queue: no event for this long
    # Merchant webhooks must be HTTPS to a public address; tests allow loopback HTTP.
    WEBHOOK_ALLOW_INSECURE = False

    # Observability (issue 15). /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`,
    # and 404 while it is unset (request metrics are not kept then either).
    METRICS_TOKEN = None
    # `flask worker --metrics-port` serves the sender's counters on this address.
    WORKER_METRICS_HOST = "127.0.0.1"
    WORKER_METRICS_PORT = None
    # "json": one JSON object per log line on stderr (LASTMILE_LOG_FORMAT=json).
    LOG_FORMAT = "text"


def from_environment(env: dict[str, str]) -> dict[str, str]:
    """Settings read from the plain environment variables the deployment docs name."""
    settings = {}
    if env.get("REDIS_URL"):
        settings["REDIS_URL"] = env["REDIS_URL"]
        settings["RATELIMIT_STORAGE_URI"] = env["REDIS_URL"]
    if env.get("PUBLIC_BASE_URL"):
        settings["PUBLIC_BASE_URL"] = env["PUBLIC_BASE_URL"]
    if env.get("SECRET_KEY"):
        settings["SECRET_KEY"] = env["SECRET_KEY"]
    for key in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "SMTP_HOST",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "SMTP_FROM",
        "METRICS_TOKEN",
    ):
        if env.get(key):
            settings[key] = env[key]
    if env.get("SMTP_PORT"):
        settings["SMTP_PORT"] = int(env["SMTP_PORT"])
    return settings


# Settings that are secrets: always strings, whatever they look like (see create_app).
SECRET_KEYS = (
    "SECRET_KEY",
    "METRICS_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "SMTP_PASSWORD",
)


class DevelopmentConfig(Config):
    pass


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    WTF_CSRF_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    PUBLIC_BASE_URL = "http://portal.test"
    # No map tiles from the internet in tests: the map's own tests serve theirs.
    MAP_TILE_URL = ""


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}
