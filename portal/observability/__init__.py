"""Seeing Lastmile work (issue 15): a request id on every request, its log lines and the jobs it
queues; request metrics; `/metrics` for Prometheus behind METRICS_TOKEN."""

from __future__ import annotations

import re
import time
import uuid

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from flask.logging import default_handler

from portal import logs
from portal.extensions import limiter
from portal.observability import metrics

REQUEST_ID_HEADER = "X-Request-ID"
# What we take from a proxy or client (nginx's $request_id is 32 hex digits, others send
# UUIDs); anything longer or stranger is replaced, so a log line never carries a client's text.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Scrapes every 15 s would be most of some endpoints' traffic; they are left out.
_NOT_COUNTED = frozenset({"observability.metrics"})
# Every label takes a bounded set of values: a client choosing one (`curl -X FOO1`, `FOO2`, …)
# would make a series per value in every worker and in Prometheus. Methods outside HTTP's
# usual ones read "other"; a path no route matches reads endpoint "none"; a status, its class.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

bp = Blueprint("observability", __name__)


@bp.get("/metrics", endpoint="metrics")
@limiter.exempt
def metrics_page() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    if not metrics.bearer_matches(request.headers.get("Authorization", ""), token):
        return Response(
            "a metrics token is needed\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    return Response(
        metrics.exposition(),
        headers={"Cache-Control": "no-store"},
        content_type=metrics.CONTENT_TYPE,
    )


def _start() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    rid = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_id = rid
    g.request_id_token = logs.request_id.set(rid)
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    endpoint = request.endpoint or "none"  # no route matched: one label for every such path
    started = g.get("request_started")
    if (
        started is not None
        and endpoint not in _NOT_COUNTED
        and current_app.config.get("METRICS_TOKEN")
    ):
        labels = (
            endpoint,
            request.method if request.method in _METHODS else "other",
            _STATUS_CLASSES.get(response.status_code // 100, "other"),
        )
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        metrics.HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
    return response


def _forget(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.request_id.reset(token)


def register(app: Flask) -> None:
    metrics.check_multiprocess_dir()
    app.register_blueprint(bp)
    # First of all hooks: the rate limiter's own may answer 429 before later ones run, and
    # that answer needs its id and its count too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_forget)
    if app.config.get("LOG_FORMAT") == "json":
        # The root logger's JSON handler takes the app's lines; Flask's own would print twice.
        app.logger.removeHandler(default_handler)
