"""The forms that take photos take them from one client at a time (PHOTO_UPLOADS_PER_IP)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, render_template, request
from flask_babel import gettext as _

from portal.complaints import upload_slots
from portal.extensions import limiter
from portal.security import no_store

# Photos usually take a second or two to check; asking to wait this long is plenty.
RETRY_AFTER_SECONDS = 5


def one_upload_at_a_time(view: Callable) -> Callable:
    """A POST to `view` takes an upload slot for the client's IP before its body is read,
    and gives it back once the response is made; a client over its slots gets a 429 page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        try:
            slot = upload_slots.take(request.remote_addr or "unknown")
        except upload_slots.TooManyUploads:
            return _busy()
        try:
            return view(*args, **kwargs)
        finally:
            upload_slots.give_back(slot)

    return wrapper


def _busy():
    html = render_template(
        "errors/error.html",
        title=_("Still working on your photos"),
        text=_(
            "We're still checking photos you sent a moment ago. Please wait a few seconds, "
            "then go back and send the form again."
        ),
        code=429,
    )
    response = no_store(current_app.make_response((html, 429)))
    # Kept past Flask-Limiter, which would put its own window's reset there (portal/errors.py).
    g.own_retry_after = response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Not the page's rate limit that was hit: none of its X-RateLimit-* headers either.
    limiter.context.view_rate_limit = None
    return response
