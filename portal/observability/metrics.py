"""Prometheus metrics: counters kept as things happen (requests, messages sent, carrier events)
and gauges read from the database and Redis when Prometheus scrapes.

Under gunicorn every worker is a process of its own; with PROMETHEUS_MULTIPROC_DIR set,
prometheus_client keeps each process's counters in files there and a scrape adds them all up
(the web service's unit points it at a runtime directory emptied at each start). Without it
(`make run`, tests, the worker command) the counters live in this process's registry.
"""

from __future__ import annotations

import fcntl
import hmac
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta

from flask import current_app
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from rq import Queue
from sqlalchemy import case, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.models import Channel, Notification, NotificationState, Slot, Zone
from portal.models.types import utcnow
from portal.redis_clients import redis_client

log = logging.getLogger(__name__)

# `_created` series (when each label set first counted) double the output and no alert or panel
# reads them; multiprocess mode never has them.
disable_created_metrics()

# The counters' own registry: not prometheus_client's global one, whose process and GC
# collectors describe one process only (misleading under several gunicorn workers).
registry = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "lastmile_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
    registry=registry,
)
HTTP_DURATION = Histogram(
    "lastmile_http_request_duration_seconds",
    "Time from the first request hook to the response, by endpoint, method and status class.",
    ["endpoint", "method", "status"],
    # Pages take a few ms (BENCHMARKS.md); the tail to the 30 s worker timeout.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
NOTIFICATIONS_SENT = Counter(
    "lastmile_notifications_sent_total",
    "Outbox rows a sender tried, by channel and what happened: sent, failed (for good), "
    "retry (a temporary error), suppressed (STOP), deferred (quiet hours), error (a bug).",
    ["channel", "result"],
    registry=registry,
)
EVENTS_INGESTED = Counter(
    "lastmile_events_ingested_total",
    "Carrier tracking events received on POST /api/v1/events, by result: accepted, duplicate, "
    "rejected (by the schema or the rules).",
    ["result"],
    registry=registry,
)

SLOT_HORIZON = timedelta(days=7)
# The classic text format generate_latest writes, which every Prometheus 2 and 3 reads
# (prometheus_client's CONTENT_TYPE_LATEST says 1.0.0, for UTF-8 names we don't use).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def check_multiprocess_dir() -> None:
    """Fail at start, not at the first request, when the directory is missing."""
    path = multiprocess_dir()
    if path and not (os.path.isdir(path) and os.access(path, os.W_OK)):
        raise RuntimeError(
            f"PROMETHEUS_MULTIPROC_DIR={path} is not a writable directory "
            "(the web unit's RuntimeDirectory= makes it; see deploy/lastmile-web.service)"
        )


def count_events(counts: Mapping[str, int]) -> None:
    """Count a carrier batch's results: how many accepted, duplicate, rejected."""
    for result, n in counts.items():
        if n:
            EVENTS_INGESTED.labels(result=result).inc(n)


# deploy/gunicorn.conf.py folds a replaced worker's files into an archive while holding this
# lock exclusively; a scrape reads the files under it shared, so it never sees both.
COMPACTION_LOCK = "compaction.lock"


class _MultiProcess(Collector):
    """Every gunicorn worker's counters, live or replaced, read from the shared directory."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator:
        with open(os.path.join(self.path, COMPACTION_LOCK), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            # Read in full under the lock; the state gauges' queries run outside it.
            return iter(list(MultiProcessCollector(None, self.path).collect()))


class _Forward(Collector):
    """This process's counters, within the registry a scrape builds."""

    def collect(self) -> Iterator:
        return registry.collect()


class StateCollector(Collector):
    """Gauges of what the database and Redis hold now, read once per scrape: one indexed query
    each, so a scrape every 15 s from each Prometheus costs nothing the pages would notice.

    `lastmile_outbox_messages` counts queued rows only: sent and delivered rows are the whole
    history (millions, a full index scan per scrape) and their rate is what
    `lastmile_notifications_sent_total` tells; queued rows are the work in hand."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "lastmile_dependency_up",
            "1 when the dependency answered this scrape's queries (the checks /readyz makes).",
            labels=["dependency"],
        )
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreachable: %s", type(exc).__name__)
            db.session.rollback()
            up.add_metric(["database"], 0)
        if current_app.config.get("REDIS_URL"):
            try:
                yield self._queue_length()
                up.add_metric(["redis"], 1)
            except Exception as exc:  # any Redis client error: the gauge says so
                log.warning("metrics: Redis unreachable: %s", type(exc).__name__)
                up.add_metric(["redis"], 0)
        yield up

    def _database(self) -> list[GaugeMetricFamily]:
        now = utcnow()
        messages = GaugeMetricFamily(
            "lastmile_outbox_messages",
            "Outbox rows waiting to be sent (state queued), by channel; quiet hours and retries "
            "included.",
            labels=["channel", "state"],
        )
        oldest = GaugeMetricFamily(
            "lastmile_outbox_oldest_pending_seconds",
            "How long the queued row that has waited longest since it became due (created, "
            "or its quiet hours or retry delay over) has waited; 0 when none is due.",
            labels=["channel"],
        )
        # The (state, not_before) index finds the queued rows; only they are read.
        due_since = func.coalesce(Notification.not_before, Notification.created_at)
        rows = db.session.execute(
            select(
                Notification.channel,
                func.count(),
                func.min(case((due_since <= now, due_since))),
            )
            .where(Notification.state == NotificationState.QUEUED)
            .group_by(Notification.channel)
        ).all()
        found = {channel: (count, since) for channel, count, since in rows}
        for channel in Channel:
            count, since = found.get(channel, (0, None))
            messages.add_metric([channel.value, NotificationState.QUEUED.value], count)
            waited = (now - since).total_seconds() if since is not None else 0.0
            oldest.add_metric([channel.value], max(waited, 0.0))

        slots = GaugeMetricFamily(
            "lastmile_slots_remaining",
            "Places left in open delivery slots starting within the next 7 days, by zone.",
            labels=["zone"],
        )
        # Per zone on the slot table's (zone_id, starts_at, vehicle) unique index; a zone with
        # no slots ahead reads 0 (slots not generated, or all full).
        remaining = (
            select(func.coalesce(func.sum(Slot.capacity - Slot.booked), literal(0)))
            .where(
                Slot.zone_id == Zone.id,
                Slot.starts_at >= now,
                Slot.starts_at < now + SLOT_HORIZON,
                Slot.closed_at.is_(None),
            )
            .scalar_subquery()
        )
        for name, places in db.session.execute(select(Zone.name, remaining)).all():
            slots.add_metric([name], int(places or 0))
        return [messages, oldest, slots]

    def _queue_length(self) -> GaugeMetricFamily:
        # Short timeouts: a scrape must not wait long on a Redis that hangs.
        connection = redis_client(current_app.config["REDIS_URL"], connect_timeout=1, timeout=1)
        length = Queue(current_app.config["RQ_QUEUE"], connection=connection).count
        return GaugeMetricFamily(
            "lastmile_rq_queue_length",
            "Jobs (of up to 50 outbox rows each) waiting in the RQ queue for a worker.",
            value=length,
        )


def exposition(*, with_state: bool = True) -> bytes:
    """The text Prometheus reads: every process's counters (this one's without a multiprocess
    directory) and, in the web tier, the state gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        scrape.register(_MultiProcess(path))
    else:
        scrape.register(_Forward())
    if with_state:
        scrape.register(StateCollector())
    return generate_latest(scrape)


def bearer_matches(header: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
