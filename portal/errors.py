"""One handler per status: HTML pages for people, the spec's JSON shape under /api."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
)

from portal.api.errors import json_error

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


def _wants_json() -> bool:
    return request.path.startswith("/api/")


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
        if _wants_json():
            names = {
                404: "not_found",
                405: "method_not_allowed",
                413: "too_large",
                429: "rate_limited",
                503: "busy",
            }
            return json_error(code, names.get(code, "http_error"), exc.description or exc.name)
        title, text = PAGE_TEXT.get(code, (exc.name, exc.description))
        return render_template("errors/error.html", title=title, text=text, code=code), code

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

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if isinstance(exc, OperationalError) and "database is locked" in str(exc):
            # SQLite (the embedded default) with two writers at once: nothing was written.
            from portal.extensions import db

            db.session.rollback()
            # Pages answer with (html, status), the API with (Response, status).
            response = app.make_response(http_error(ServiceUnavailable()))
            response.headers["Retry-After"] = "1"
            return response
        # The route pattern, not the path: paths such as /l/<token> carry secrets.
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        app.logger.exception("unhandled error on %s %s", request.method, rule)
        from portal.extensions import db

        db.session.rollback()
        return http_error(InternalServerError())
