"""`/me`'s green mile and "my data" (download everything, delete the profile).

The green mile and the delete form reach /me's page (me/_green.html, me/_data.html) through
this blueprint's context processor, as functions the included templates call: nothing is
computed unless the signed-in page renders them.
"""

from __future__ import annotations

import json
from datetime import date

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from wtforms import BooleanField
from wtforms.validators import DataRequired

from portal.forms import Form, page_write
from portal.i18n import lazy_gettext as _l
from portal.me import bp
from portal.me.session import sign_out, signed_in_with_code
from portal.models import Recipient
from portal.models.types import utcnow
from portal.security import no_store
from portal.services.recipients import GreenMile, delete_profile, green_mile, my_data

# The chart's drawing box, in SVG user units.
CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 360, 140, 16


class DeleteProfileForm(Form):
    understand = BooleanField(
        _l("I understand that my profile is deleted for good"),
        validators=[DataRequired(_l("Tick the box to confirm that you want to delete it."))],
    )


def _chart_bars(mile: GreenMile) -> list[dict]:
    """Each month's bar: position and height in the SVG (negative months draw no bar)."""
    count = len(mile.months) or 1
    step = CHART_WIDTH / count
    top = mile.chart_max or 1
    bars = []
    for i, month in enumerate(mile.months):
        height = round(max(month.avoided_grams, 0) / top * (CHART_HEIGHT - CHART_TOP), 1)
        bars.append(
            {
                "month": month,
                "x": round(i * step + step * 0.15, 1),
                "width": round(step * 0.7, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "height": height,
                "label_x": round(i * step + step / 2, 1),
            }
        )
    return bars


@bp.context_processor
def _my_data_helpers():
    def my_green_mile(recipient: Recipient) -> dict:
        mile = green_mile(recipient, utcnow())
        return {
            "mile": mile,
            "bars": _chart_bars(mile),
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
        }

    def format_month(first_day: date, pattern: str = "LLLL yyyy") -> str:
        return format_date(first_day, pattern)

    return {
        "my_green_mile": my_green_mile,
        "delete_profile_form": DeleteProfileForm,
        "format_grams": format_decimal,
        "format_month": format_month,
    }


@bp.get("/me/data.json")
def data_json():
    # Everything about a person leaves only with a code: a forwarded message's link is not enough.
    recipient = signed_in_with_code()
    if recipient is None:
        return redirect(url_for(".index"), code=303)
    now = utcnow()
    body = json.dumps(my_data(recipient, now), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="my-data-{now.date().isoformat()}.json"'
    )
    return no_store(response)


@bp.route("/me/delete", methods=["GET", "POST"])
@page_write
def delete():
    recipient = signed_in_with_code()
    if recipient is None:
        return redirect(url_for(".index"), code=303)
    form = DeleteProfileForm()
    if form.validate_on_submit():
        delete_profile(recipient)
        sign_out()
        flash(
            _(
                "Your profile is deleted and you are signed out. The shops' records of your "
                "parcels remain with them."
            ),
            "success",
        )
        return redirect(url_for(".index"), code=303)
    status = 422 if form.errors else 200
    return no_store(
        current_app.make_response((render_template("me/delete.html", form=form), status))
    )
