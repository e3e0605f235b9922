"""Jinja filters and globals: the shared formatting functions, and labels, for templates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g
from flask_babel import get_locale

from portal.formatting import (
    country_name,
    distance,
    eta_window,
    listing,
    local_datetime,
    local_time,
    money,
)
from portal.i18n import language_choices, language_name
from portal.localtime import format_day
from portal.services.tracking import status_label


def iso_datetime(value: datetime) -> str:
    """A `<time datetime>` value: ISO 8601 to the whole second, with its UTC offset (HTML allows
    at most three digits of a fraction; Python writes six)."""
    return value.isoformat(timespec="seconds")


def first_focus(wanted: bool) -> bool:
    """Whether an element that asks for `autofocus` gets it: only the first on the page does
    (the first is what a browser focuses; HTML allows one), so a form with several fields in
    error focuses the first of them, or the error summary above them."""
    if not wanted or g.get("_autofocus_given"):
        return False
    g._autofocus_given = True
    return True


def register(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(distance, "distance")
    app.add_template_global(format_day, "format_day")
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(iso_datetime, "iso")
    app.add_template_global(first_focus, "first_focus")
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(money, "money")
    app.add_template_filter(listing, "listing")
    app.add_template_global(eta_window, "eta_window")
    app.add_template_global(lambda: str(get_locale() or "en"), "current_locale")
    app.add_template_global(status_label, "status_label")
    app.add_template_global(language_choices, "language_choices")
    app.add_template_global(language_name, "language_name")
