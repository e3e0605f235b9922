"""Jinja filters and globals: the shared formatting functions, and labels, for templates."""

from __future__ import annotations

from flask import Flask
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


def register(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(distance, "distance")
    app.add_template_global(format_day, "format_day")
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(money, "money")
    app.add_template_filter(listing, "listing")
    app.add_template_global(eta_window, "eta_window")
    app.add_template_global(lambda: str(get_locale() or "en"), "current_locale")
    app.add_template_global(status_label, "status_label")
    app.add_template_global(language_choices, "language_choices")
    app.add_template_global(language_name, "language_name")
