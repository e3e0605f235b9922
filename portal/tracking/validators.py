"""The validator (ETag) of the parcel page's 30-second htmx poll, and its cache headers.

The poll (`HX-Request: true`, `HX-Target: live`) renders the live block of
tracking/parcel.html alone. Its ETag is a hash of every input of that block, read in the one
statement that finds the parcel (parcel_page._VERSIONS), so an unchanged parcel is answered
304 before its events are read or anything is rendered. The inputs:

- which response: the poll's live block (never the whole page, which has no ETag at all: it
  reads items, returns, cases, the pickup point's hours against the clock, flashed messages
  and, unverified, a CSRF token);
- the release: one hash per process of the package's files (code, templates, translations)
  and of the settings the block reads (TRACKING_POLL_SECONDS, DEFAULT_TIMEZONE);
- the parcel: its id and number, how many parcels share the number (the poll URL names the
  parcel then, parcel_url), status (label, explanation, progress, trouble, whether it polls
  at all), ETA window, its zone's time zone (every time is written in it);
- its events: added only, never edited: their count and newest id (the descriptions are
  shown to a verified viewer alone, which the next input covers);
- whether this session has verified this parcel: only a verified viewer sees the events'
  free text and the delivery choices;
- the delivery choices: added only (a newer one supersedes, a closure withdraws, neither
  changes the words): count and newest id; the words also read the chosen slot's window and
  the pickup point's name and address: the slots' windows themselves and the sum of the
  points' versions (bumped by every edit);
- the parcel's returns (count, last change): not in the block, but part of the parcel;
- the language the block is written in (the resolved locale: the switcher's choice, the
  recipient's language, Accept-Language);
- today's date where the parcel is: the timeline writes the year only when it is not this
  one, so the words can change with the date and nothing else; and a predicted day that has
  passed turns into "later than expected";
- the predicted delivery (services/edd): worked out from the parcel's row, the estimates of
  the last fit and the zone's closed days (each worker reads those again every few minutes),
  so whatever changes the predicted words changes the ETag.

Nothing per session other than the verification is in the block: no form, no CSRF token, no
flashed message. The hash covers values, not timestamps of writes, so a write that changes
what the block shows always changes the ETag, and two different blocks never share one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from datetime import datetime
from importlib import metadata

from flask import Flask, current_app
from flask_babel import get_locale
from werkzeug.wrappers import Response

from portal.localtime import zone_of
from portal.services.edd import Prediction
from portal.tracking.parcel_page import ParcelPage

# A poll shows a verified recipient's timeline (who signed, choices at a neighbour's): kept
# by the browser alone, and always asked again (the ETag makes that a 304).
POLL_CACHE_CONTROL = "private, no-cache"
# The same URL answers the whole page and the poll, by the htmx headers; per session and
# language. Without `HX-Request` here a browser could show a cached block as the page.
VARY = ("HX-Request", "HX-Target", "Cookie", "Accept-Language")


def _release(app: Flask) -> str:
    """Once per process: the package's files (size and modification time) and the settings
    the block reads. A new release (or an edited template) gives every poll a new ETag."""
    known = app.extensions.get("tracking_release")
    if known is None:
        digest = hashlib.sha256()
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(metadata.version("lastmile-portal").encode())
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for root, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "static"))
            for name in sorted(files):
                if name.endswith((".py", ".html", ".mo", ".txt")):
                    st = os.stat(os.path.join(root, name))
                    digest.update(f"{root}/{name}:{st.st_size}:{st.st_mtime_ns};".encode())
        for key in ("TRACKING_POLL_SECONDS", "DEFAULT_TIMEZONE"):
            digest.update(f"{key}={app.config.get(key)!r};".encode())
        known = app.extensions["tracking_release"] = digest.hexdigest()[:16]
    return known


def poll_etag(page: ParcelPage, *, verified: bool, prediction: Prediction | None = None) -> str:
    """The poll's ETag (unquoted) for this viewer, from `load_parcel_page(versions=True)`."""
    today = datetime.now(zone_of(page.time_zone)).date()
    inputs = (
        "live",
        _release(current_app._get_current_object()),
        page.id,
        page.tracking_number,
        page.parcels_with_number,
        str(page.status),
        page.eta_from and page.eta_from.isoformat(),
        page.eta_to and page.eta_to.isoformat(),
        page.time_zone,
        verified,
        str(get_locale()),
        today.isoformat(),
        prediction,
        # Choices only show to a verified viewer; an unverified one's block ignores them.
        page.versions if verified else (page.versions[:2], page.versions[-2:]),
    )
    return hashlib.sha256(repr(inputs).encode()).hexdigest()[:32]


def poll_headers(response: Response, etag: str) -> Response:
    """What the poll's 200 and 304 both carry."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = POLL_CACHE_CONTROL
    response.vary.update(VARY)
    return response


def not_modified(etag: str) -> Response:
    return poll_headers(Response(status=304), etag)
