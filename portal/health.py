"""`/healthz`: liveness, 200 when the database answers. `/readyz`: readiness, 200 only when the
database and (with REDIS_URL) Redis answer, 503 naming the one that did not."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db, limiter
from portal.redis_clients import redis_client
from portal.transactions import reading_connection

bp = Blueprint("health", __name__)

# A readiness probe that hangs is worse than one that fails: Redis gets a second to answer.
REDIS_TIMEOUT_SECONDS = 1.0
# Probed every few seconds by every orchestrator and load balancer: the answer is made once.
_OK = json.dumps({"database": "ok", "status": "ok"}, separators=(",", ":")) + "\n"


@bp.get("/healthz")
@limiter.exempt
def healthz():
    if not _database_answers():
        current_app.logger.warning("health check: database unreachable")
        return jsonify(status="unavailable", database="unreachable"), 503
    return current_app.response_class(_OK, mimetype="application/json")


def _database_answers() -> bool:
    try:
        # Without a transaction (no BEGIN, no ROLLBACK) and without the ORM's execution path:
        # SELECT 1 has no rows to load into anything. A database that cannot be reached is
        # tried once, here.
        reading_connection().exec_driver_sql("SELECT 1")
        return True
    except SQLAlchemyError:
        db.session.rollback()
        return False


def _redis_answers(url: str) -> bool:
    # The process's pooled client: a probe every few seconds reuses its connection, and one
    # that Redis dropped (a restart) is replaced and the PING retried on a new one.
    client = redis_client(url, connect_timeout=REDIS_TIMEOUT_SECONDS, timeout=REDIS_TIMEOUT_SECONDS)
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = {"database": "ok" if _database_answers() else "unreachable"}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = "ok" if _redis_answers(redis_url) else "unreachable"
    else:
        checks["redis"] = "not configured"
    failed = sorted(name for name, state in checks.items() if state == "unreachable")
    if failed:
        current_app.logger.warning("readiness check: %s unreachable", ", ".join(failed))
        return jsonify(status="unavailable", **checks), 503
    return jsonify(status="ok", **checks)
