"""One handler per status: HTML pages for people, the spec's JSON shape under /api."""

from __future__ import annotations

import contextlib
import sqlite3

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
)

from portal.api.auth import challenge
from portal.api.errors import json_error
from portal.extensions import db
from portal.i18n import lazy_gettext as _l

PAGE_TEXT = {
    400: (_l("Something in that request was wrong"), _l("Please go back and try again.")),
    403: (_l("Not allowed"), _l("You don't have access to this page.")),
    404: (_l("Page not found"), _l("We couldn't find that page.")),
    405: (_l("Not allowed"), _l("That action isn't possible here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (
        _l("Too many tries"),
        _l("You have tried too often in a short time. Please wait a few minutes and try again."),
    ),
    500: (_l("Something went wrong"), _l("It's our fault. Please try again in a moment.")),
    503: (_l("Busy right now"), _l("Please try again in a moment.")),
}


# How long a client should wait after a 503 for a database that restarted or failed over: a
# PostgreSQL restart takes a few seconds (bench/faults.py, BENCHMARKS.md "Fault drills").
OUTAGE_RETRY_AFTER = 5


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def database_unavailable(exc: BaseException) -> bool:
    """Whether the database could not be reached or went away during the request (a restart,
    a failover, a dropped connection, a deadlock): the client may send the same request again.
    On SQLite, OperationalError also means mistakes in the SQL itself, so there only "database
    is locked" counts (another writer)."""
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return isinstance(exc, OperationalError) and "database is locked" in str(exc)
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def _protocol_headers(exc: HTTPException) -> dict[str, str]:
    """The headers HTTP asks of the error besides its body: `Allow` on a 405 (the route's
    methods as Werkzeug's routing found them, HEAD and OPTIONS included), `WWW-Authenticate`
    on a 401, `Retry-After` where the exception carries one. Our own body replaces Werkzeug's,
    so only its Content-Type is left behind."""
    return {
        name: value
        for name, value in exc.get_headers()
        if name.lower() not in ("content-type", "content-length")
    }


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if _wants_json():
            return json_error(400, "csrf", exc.description)
        title = _l("This form has expired")
        text = _l("Please reload the page and send the form again.")
        return render_template("errors/error.html", title=title, text=text, code=400), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        headers = _protocol_headers(exc)
        if _wants_json():
            names = {
                401: "unauthorized",
                404: "not_found",
                405: "method_not_allowed",
                413: "too_large",
                429: "rate_limited",
                503: "busy",
            }
            if code == 401:
                headers.setdefault("WWW-Authenticate", challenge(token_sent=False))
            body, _status = json_error(
                code, names.get(code, "http_error"), exc.description or exc.name
            )
            return body, code, headers
        title, text = PAGE_TEXT.get(code, (exc.name, exc.description))
        page = render_template("errors/error.html", title=title, text=text, code=code)
        return page, code, headers

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        # Pages take more than 4 MB only where photos are sent, so the page speaks of photos.
        if _wants_json():
            return json_error(413, "too_large", "The request body is too large.")
        title = _l("Too large to send")
        text = _l(
            "Each photo can be at most %(mb)d MB, and you can send at most %(count)d photos at "
            "a time. Please go back and choose fewer or smaller photos.",
            mb=app.config["PHOTO_MAX_BYTES"] // (1024 * 1024),
            count=app.config["PHOTO_MAX_COUNT"],
        )
        return render_template("errors/error.html", title=title, text=text, code=413), 413

    def unavailable(exc: DBAPIError):
        """503 with Retry-After, never a 500: a carrier's batch or a person's form can be sent
        again as it was (the API's Idempotency-Key and event ids make a repeat harmless)."""
        # A dead connection cannot roll back; the pool then opens a new one (connections.py).
        with contextlib.suppress(DBAPIError):
            db.session.rollback()
        if isinstance(exc.orig, sqlite3.Error):
            # SQLite (the embedded default) with two writers at once: nothing was written.
            retry_after, code = 1, "busy"
        else:
            rule = request.url_rule.rule if request.url_rule else "(no route)"
            app.logger.warning(
                "database unavailable on %s %s: %s", request.method, rule, type(exc.orig).__name__
            )
            retry_after, code = OUTAGE_RETRY_AFTER, "unavailable"
        if _wants_json():
            response = app.make_response(
                json_error(503, code, "The service is unavailable for a moment. Try again.")
            )
        else:
            # Pages answer with (html, status).
            response = app.make_response(http_error(ServiceUnavailable()))
        g.own_retry_after = response.headers["Retry-After"] = str(retry_after)
        return response

    def keep_own_retry_after(response):
        # Flask-Limiter (headers on) sets Retry-After on every limited response to when its
        # window resets, up to a minute; after an outage's 503 or a busy upload's 429 the
        # client should come back in seconds, not wait for that. Views that choose their own
        # Retry-After put it in g.own_retry_after.
        retry_after = g.pop("own_retry_after", None)
        if retry_after is not None and response.status_code in (429, 503):
            response.headers["Retry-After"] = retry_after
        return response

    # after_request functions run last-registered first: this one runs after the limiter's.
    app.after_request_funcs.setdefault(None, []).insert(0, keep_own_retry_after)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if database_unavailable(exc):
            return unavailable(exc)
        # The route pattern, not the path: paths such as /l/<token> carry secrets.
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        app.logger.exception("unhandled error on %s %s", request.method, rule)
        db.session.rollback()
        return http_error(InternalServerError())
