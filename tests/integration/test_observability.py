"""What an operator watches: /metrics behind its token, /readyz, request ids from the request
into the queued job's log lines, and JSON logs that keep personal data out."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import os
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from flask import Flask
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from portal import create_app, logs
from portal.extensions import db
from portal.models import Channel, Notification, NotificationState
from portal.notifications.handoff import drain, queue, redis_connection
from portal.notifications.worker import Worker, serve_metrics
from tests.support import factories
from tests.support.api import parcel_body
from tests.support.messaging import free_port
from tests.support.metrics import AUTH, TOKEN, total, value

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
# Thursday 26 November 2026, 10:00 in Stockholm.
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def metrics_on(app: Flask):
    app.config["METRICS_TOKEN"] = TOKEN
    yield
    app.config["METRICS_TOKEN"] = None


def scrape(client) -> str:
    res = client.get("/metrics", headers=AUTH)
    assert res.status_code == 200, res.data
    return res.get_data(as_text=True)


def work_burst(app: Flask) -> None:
    """`flask worker --burst` as it runs jobs: this app's Worker in a context of its own, once
    the rows committed so far are handed over."""
    drain()

    def work() -> None:
        with app.app_context():
            Worker([queue()], connection=redis_connection()).work(burst=True)

    contextvars.Context().run(work)
    db.session.rollback()


@pytest.fixture
def json_lines():
    """Every log line of the test, as the JSON handler writes it (LASTMILE_LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    # INFO from the loggers under test (pytest holds the root logger at WARNING). The test app
    # ran the migrations in this process, and Alembic's fileConfig() disabled every logger
    # that existed then; `flask db upgrade` runs in a process of its own.
    saved = {}
    for name in ("portal", "gunicorn.access", "portal.notifications.worker"):
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.disabled)
        logger.setLevel(logging.INFO)
        logger.disabled = False

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    root.removeHandler(handler)
    for name, (level, disabled) in saved.items():
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).disabled = disabled


# --- /metrics -----------------------------------------------------------------------------


def test_metrics_answer_404_while_no_token_is_set(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_need_the_bearer_token_and_are_never_cached(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    res = client.get("/metrics", headers=AUTH)
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert res.headers["Cache-Control"] == "no-store"
    assert "# TYPE lastmile_http_requests_total counter" in res.get_data(as_text=True)


def test_metrics_token_comes_from_the_plain_environment_or_the_prefixed_one(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "plain-token")
    assert create_app({"ENV_NAME": "test"}).config["METRICS_TOKEN"] == "plain-token"
    monkeypatch.setenv("LASTMILE_METRICS_TOKEN", "prefixed-token")
    assert create_app({"ENV_NAME": "test"}).config["METRICS_TOKEN"] == "prefixed-token"


def test_requests_are_counted_by_endpoint_method_and_status_class(client, metrics_on):
    parcel = factories.make_parcel()
    before = scrape(client)
    client.get(f"/t/{parcel.tracking_number}")
    client.get(f"/t/{parcel.tracking_number}")
    client.get("/no/such/page")
    client.get("/t/RR000000000SE")  # no such parcel
    after = scrape(client)

    def grew(endpoint: str, method: str, status: str) -> float:
        labels = {"endpoint": endpoint, "method": method, "status": status}
        name = "lastmile_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tracking.parcel", "GET", "2xx") == 2
    assert grew("none", "GET", "4xx") == 1  # an unknown path: one label, whatever the path
    assert grew("tracking.parcel", "GET", "4xx") == 1
    assert grew("observability.metrics", "GET", "2xx") == 0  # scrapes are not counted
    count = "lastmile_http_request_duration_seconds_count"
    labels = {"endpoint": "tracking.parcel", "method": "GET", "status": "2xx"}
    assert value(after, count, **labels) - value(before, count, **labels) == 2
    assert "/t/" not in after and parcel.tracking_number not in after


def test_made_up_methods_and_paths_add_no_series_of_their_own(client, metrics_on):
    parcel = factories.make_parcel()
    before = scrape(client)
    for i in range(5):  # `curl -X FOO0`, `-X FOO1`, …: a series each would grow without end
        assert client.open(f"/t/{parcel.tracking_number}", method=f"FOO{i}").status_code == 405
        assert client.open(f"/no/such/page/{i}", method=f"BAR{i}").status_code in (404, 405)
    client.open(f"/t/{parcel.tracking_number}", method="OPTIONS")
    after = scrape(client)

    def grew(**labels: str) -> float:
        name = "lastmile_http_requests_total"
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew(method="other", endpoint="none", status="4xx") == 10
    assert grew(method="OPTIONS") == 1  # HTTP's own methods keep their names
    assert "FOO" not in after and "BAR" not in after and "/no/such" not in after
    count = "lastmile_http_request_duration_seconds_count"
    assert total(after, count, method="other") - total(before, count, method="other") == 10


def test_outbox_gauges_count_queued_rows_and_the_oldest_due_one(client, metrics_on):
    parcel = factories.make_parcel()
    db.session.query(Notification).delete()  # the order confirmation's rows: not this story's

    def row(channel: Channel, created: datetime, **kw) -> None:
        db.session.add(
            Notification(
                parcel_id=parcel.id,
                channel=channel,
                trigger="delayed",
                recipient="x",
                body="b",
                dedupe_key=f"{channel}-{created.isoformat()}-{kw}",
                created_at=created,
                updated_at=created,
                **kw,
            )
        )

    row(Channel.SMS, NOW - timedelta(minutes=12))
    row(Channel.SMS, NOW - timedelta(minutes=3))
    # Written last night, held for quiet hours until 08:00 local (07:00 UTC): due for 2 hours.
    row(Channel.SMS, NOW - timedelta(hours=12), not_before=NOW - timedelta(hours=2))
    # Held until tomorrow morning: queued, but not late.
    row(Channel.EMAIL, NOW - timedelta(hours=1), not_before=NOW + timedelta(hours=20))
    row(Channel.EMAIL, NOW - timedelta(days=2), state=NotificationState.SENT)
    db.session.commit()

    with time_machine.travel(NOW, tick=False):
        text = scrape(client)
    messages = "lastmile_outbox_messages"
    assert value(text, messages, channel="sms", state="queued") == 3
    assert value(text, messages, channel="email", state="queued") == 1
    assert value(text, messages, channel="webhook", state="queued") == 0
    oldest = "lastmile_outbox_oldest_pending_seconds"
    assert value(text, oldest, channel="sms") == 2 * 3600
    assert value(text, oldest, channel="email") == 0
    assert value(text, "lastmile_dependency_up", dependency="database") == 1


def test_slots_remaining_per_zone_over_the_next_seven_days(client, metrics_on):
    with time_machine.travel(NOW, tick=False):
        zone = factories.make_delivery_zone()
        factories.make_zone("Empty", prefixes=("99",))
        # Weekdays 09-11 (3 places) and 11-13 (2). From Thursday 10:00 to next Thursday 10:00:
        # Thursday's 11-13 (2), Friday, Monday, Tuesday, Wednesday (5 each), next Thursday's
        # 09-11 (3).
        assert value(scrape(client), "lastmile_slots_remaining", zone="Stockholm") == 25
        begun, later = factories.slots_on(NOW.date())  # Thursday's 09-11 and 11-13
        begun.booked += 1  # not counted either way
        later.booked += 1
        db.session.commit()
        text = scrape(client)
    assert value(text, "lastmile_slots_remaining", zone=zone.name) == 24
    assert value(text, "lastmile_slots_remaining", zone="Empty") == 0
    assert 'lastmile_slots_remaining{zone="Empty"} 0.0' in text


def test_rq_queue_length_counts_jobs_waiting_for_a_worker(client, metrics_on, redis_queue):
    assert value(scrape(client), "lastmile_rq_queue_length") == 0
    factories.make_parcel()  # its order confirmation: one job of two rows
    drain()  # handed over off the committing thread
    text = scrape(client)
    assert value(text, "lastmile_rq_queue_length") == 1
    assert value(text, "lastmile_dependency_up", dependency="redis") == 1


def test_an_unreachable_redis_reads_as_down_and_the_rest_still_scrapes(app, client, metrics_on):
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    try:
        text = scrape(client)
    finally:
        app.config["REDIS_URL"] = saved
    assert value(text, "lastmile_dependency_up", dependency="redis") == 0
    assert value(text, "lastmile_dependency_up", dependency="database") == 1
    assert "lastmile_rq_queue_length" not in text
    assert "lastmile_outbox_messages" in text


def test_messages_sent_are_counted_by_channel_and_result(app, client, metrics_on, messaging, clock):
    before = scrape(client)
    factories.make_parcel()
    messaging.twilio.answers = [400]  # Twilio refuses the number: the SMS fails for good
    work_burst(app)
    after = scrape(client)
    name = "lastmile_notifications_sent_total"

    def grew(**labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # The SMS failed, and its fall-back e-mail went with the parcel's own e-mail (deduplicated).
    assert grew(channel="sms", result="failed") == 1
    assert grew(channel="email", result="sent") == 1
    assert grew(channel="sms", result="sent") == 0


def test_carrier_events_are_counted_by_result(client, metrics_on, carrier_api, carrier):
    parcel = factories.make_parcel(carrier=carrier)
    at = NOW - timedelta(hours=1)
    events = [
        factories.event_json(parcel, "e1", "picked_up", at),
        factories.event_json(parcel, "e1", "picked_up", at),  # the same event twice
        factories.event_json(parcel, "e2", "no_such_code", at),
    ]
    before = scrape(client)
    with time_machine.travel(NOW, tick=False):
        assert carrier_api.post("/api/v1/events", json={"events": events}).status_code == 200
    after = scrape(client)
    name = "lastmile_events_ingested_total"
    for result in ("accepted", "duplicate", "rejected"):
        assert value(after, name, result=result) - value(before, name, result=result) == 1


def test_the_workers_own_metrics_port_needs_the_token(app, messaging):
    port = free_port()
    server = serve_metrics(TOKEN, "127.0.0.1", port)
    try:
        factories.make_parcel()
        work_burst(app)
        url = f"http://127.0.0.1:{port}/metrics"
        refused = requests.get(url, timeout=5)
        res = requests.get(url, headers=AUTH, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert refused.status_code == 401
    assert res.status_code == 200 and res.headers["Cache-Control"] == "no-store"
    assert total(res.text, "lastmile_notifications_sent_total", result="sent") >= 2
    # The outbox and slot gauges are the web tier's: one source, however many workers.
    assert "lastmile_outbox_messages" not in res.text


def test_a_taken_metrics_port_leaves_the_worker_sending(app, messaging, metrics_on, caplog, clock):
    factories.make_parcel()  # its order confirmation, queued for the worker
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        caplog.set_level(logging.WARNING, logger="portal.notifications.worker")
        # As its own process would: the command pushes an app context of its own.
        result = contextvars.Context().run(
            app.test_cli_runner().invoke, args=["worker", "--burst", "--metrics-port", str(port)]
        )
    db.session.rollback()  # read what the worker committed
    assert result.exit_code == 0, result.exception
    assert len(messaging.twilio.sent) == 1 and len(messaging.smtp.messages) == 1
    [warning] = [r for r in caplog.records if r.name == "portal.notifications.worker"]
    assert warning.levelno == logging.WARNING
    assert f"port {port} unavailable" in warning.getMessage()


# --- /readyz and /healthz -----------------------------------------------------------------


def test_readyz_is_200_when_the_database_and_redis_answer(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_readyz_is_503_naming_redis_when_it_does_not_answer(app, client):
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    try:
        ready, alive = client.get("/readyz"), client.get("/healthz")
    finally:
        app.config["REDIS_URL"] = saved
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
    assert alive.status_code == 200  # liveness: the process and its database are fine


def test_readyz_is_503_naming_the_database_when_it_does_not_answer():
    broken = create_app(
        {
            "ENV_NAME": "test",
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 1}},
        }
    )
    res = broken.test_client().get("/readyz")
    assert res.status_code == 503
    assert res.json == {
        "status": "unavailable",
        "database": "unreachable",
        "redis": "not configured",
    }


# --- request ids and logs -------------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_anything_else_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"}).headers[
        "X-Request-ID"
    ] == ("lb-1234.abc")
    for bad in ("has space", "x" * 200, "<script>", "a\u00e5b"):
        rid = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert rid != bad and len(rid) == 32 and int(rid, 16) >= 0
    first = client.get("/no/such/page").headers["X-Request-ID"]
    assert first != client.get("/no/such/page").headers["X-Request-ID"]


def test_the_request_id_travels_into_the_queued_job_and_its_log_lines(
    app, merchant_api, carrier, messaging, json_lines, clock
):
    res = merchant_api.post(
        "/api/v1/parcels",
        json=parcel_body(carrier.name, phone="+46701234567", email="alva@example.com"),
        headers={"X-Request-ID": "checkout-4711"},
    )
    assert res.status_code == 201, res.json
    assert res.headers["X-Request-ID"] == "checkout-4711"
    work_burst(app)

    assert len(messaging.twilio.sent) == 1
    [job_line] = [line for line in json_lines() if line["logger"] == "portal.notifications.worker"]
    assert job_line["request_id"] == "checkout-4711"
    assert job_line["level"] == "INFO" and "2 outbox row(s)" in job_line["message"]
    assert set(job_line) >= {"time", "level", "logger", "message", "request_id"}
    assert datetime.fromisoformat(job_line["time"]).tzinfo is not None


def test_json_lines_keep_tokens_postcodes_and_keys_out(json_lines):
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s',
        {"h": "10.0.0.1", "r": "GET /l/SeCrEt_Token-123 HTTP/1.1", "s": "303"},
    )
    logging.getLogger("portal.test").warning(
        "lookup ?tn=RR1&postcode=11348 with Authorization: Bearer lm_mk_secret",
        exc_info=ValueError("/u/unsubscribe-token"),
    )
    out = json_lines()
    text = json.dumps(out)
    for secret in ("SeCrEt_Token-123", "11348", "lm_mk_secret", "unsubscribe-token"):
        assert secret not in text
    assert out[0]["message"] == '10.0.0.1 "GET /l/[redacted] HTTP/1.1" 303'
    assert "postcode=[redacted]" in out[1]["message"] and "/u/[redacted]" in out[1]["exc_info"]


# --- under gunicorn, as deployed ----------------------------------------------------------


@pytest.mark.committed  # gunicorn's worker processes read the data
@pytest.mark.slow
def test_gunicorn_workers_count_together_and_log_json_without_tokens(database_url, tmp_path, app):
    """deploy/gunicorn.conf.py with two workers replaced every ~10 requests: /metrics counts
    every request whichever worker served it or the scrape, replaced workers' files are folded
    away, and every log line is JSON with the request id and no signed-link token."""
    parcel = factories.make_parcel()
    token = factories.make_link(parcel)
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    # A crashed earlier run's counts: cleared at start.
    stale = MmapedDict(str(multiproc / "counter_1.db"))
    labels = ["endpoint", "method", "status"]
    key = mmap_key(
        "lastmile_http_requests",
        "lastmile_http_requests_total",
        labels,
        ["health.healthz", "GET", "2xx"],
        "stale",
    )
    stale.write_value(key, 1000.0, 0.0)
    stale.close()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "LASTMILE_LOG_FORMAT": "json",
        "LASTMILE_RATELIMIT_ENABLED": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_MAX_REQUESTS": "10",
    }
    env.pop("REDIS_URL", None)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz")
        # Generous timeouts: a worker replaced every 10 requests boots again (10 s on a loaded
        # 2-core machine), and a request given up on here would still count on the server.
        for _ in range(25):
            assert requests.get(base + "/healthz", timeout=60).status_code == 200
        link = requests.get(
            f"{base}/l/{token}",
            headers={"X-Request-ID": "e2e-link-1"},
            allow_redirects=False,
            timeout=60,
        )
        assert link.status_code == 303
        healthz = {"endpoint": "health.healthz", "method": "GET", "status": "2xx"}
        for _ in range(3):  # whichever worker answers the scrape
            text = requests.get(base + "/metrics", headers=AUTH, timeout=60).text
            assert value(text, "lastmile_http_requests_total", **healthz) == 26  # + wait_for's
        # Workers were replaced (max_requests) and their counters folded into the archives.
        assert (multiproc / "counter_archive.db").exists()
        assert len(list(multiproc.glob("*.db"))) <= 2 * 2 + 2
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [json.loads(line) for line in err.read_text().splitlines()]
    assert out.read_text() == ""
    assert token not in err.read_text()
    [access] = [line for line in lines if line.get("request_id") == "e2e-link-1"]
    assert access["logger"] == "gunicorn.access"
    assert '"GET /l/[redacted] HTTP/1.1" 303' in access["message"]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            # Long enough for a worker to import the app: a request that timed out on our side
            # would still be counted on the server's.
            requests.get(url, timeout=30)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
