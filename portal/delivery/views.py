"""`/t/<tn>/delivery`: see every option with its CO2e and choose one, with or without JS."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block

from portal.delivery import bp
from portal.delivery.forms import FORMS, ChoiceForm, blank_forms, error_field
from portal.forms import page_write, refuse
from portal.models import Parcel
from portal.models.types import utcnow
from portal.security import allow_map_tiles, no_store
from portal.services import delivery, delivery_options
from portal.services.errors import DomainError
from portal.services.network.pickup import choice_hours
from portal.tracking.urls import parcel_url
from portal.tracking.views import lookup, recipient_parcel

SORTS = ("time", "co2e")


def _page(
    parcel: Parcel,
    forms: dict[str, ChoiceForm],
    *,
    confirmation: str | None = None,
    status: int = 200,
):
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "time"
    current = delivery.current_choice(parcel)
    context = {
        "parcel": parcel,
        "options": delivery_options.for_parcel(parcel),
        "current": current,
        "current_text": delivery.describe(current, parcel.time_zone) if current else None,
        "current_hours": choice_hours(current, utcnow()),
        "forms": forms,
        "sort": sort,
        "confirmation": confirmation,
        # Green by default: the recipient's page (not the console's) pre-selects it.
        "green_preselect": True,
    }
    if request.htmx and request.htmx.target == "delivery-options":
        body = render_block("delivery/options.html", "options", **context)
    else:
        body = render_template("delivery/options.html", **context)
    # The page shows its pickup points on a map, whose tiles come from MAP_TILE_URL's host.
    return allow_map_tiles(no_store(current_app.make_response((body, status))))


@bp.route("/t/<tn>/delivery", methods=["GET", "POST"])
@lookup
@page_write
def choose(tn: str):
    parcel = recipient_parcel(tn)
    if not isinstance(parcel, Parcel):
        return parcel
    if request.method == "GET":
        return _page(parcel, blank_forms())

    kind = request.form.get("choice", "")
    if kind not in FORMS:
        abort(400)
    form = FORMS[kind]()
    forms = {**blank_forms(), kind: form}
    status = 422
    if form.validate_on_submit():
        try:
            choice = delivery.choose(parcel, form.request())
        except DomainError as exc:
            status = refuse(form, exc, error_field(kind, exc))
        else:
            text = _(
                "Done: %(choice)s. We've sent you a confirmation.",
                choice=delivery.describe(choice, parcel.time_zone),
            )
            if request.htmx:
                response = _page(parcel, blank_forms(), confirmation=text)
                # The confirmation is at the top; the button pressed may be far below it.
                response.headers["HX-Reswap"] = "outerHTML show:#delivery-options:top"
                return response
            flash(text, "success")
            return redirect(parcel_url(".choose", parcel, sort=request.args.get("sort")), code=303)
    return _page(parcel, forms, status=status)
