"""Views of the tracking pages: parse the form, call a service, render or redirect."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response

from portal import s10
from portal.extensions import db, limiter
from portal.i18n import safe_next
from portal.models import Parcel
from portal.models.types import utcnow
from portal.security import no_store
from portal.services import complaints, delivery, tracking
from portal.services.errors import InvalidTrackingNumber, ParcelNotFound
from portal.services.links import LinkExpired, LinkUnknown, open_link
from portal.services.network.pickup import point_hours
from portal.services.parcel_page import load_parcel_page
from portal.services.parcels import find_parcel, parse_tracking_number, set_channels
from portal.tracking import bp
from portal.tracking.forms import TrackForm, UpdatesForm, VerifyForm
from portal.tracking.verification import (
    ask_to_verify,
    is_verified,
    mark_verified,
    postcode_tries_left,
    record_wrong_postcode,
)


def lookup_limit() -> str:
    return current_app.config["RATELIMIT_LOOKUP"]


# One budget per IP shared by every way of looking a parcel up, so switching pages doesn't
# multiply how many tracking numbers one client can probe.
lookup = limiter.shared_limit(lookup_limit, scope="lookup")


def _not_found_message(exc: InvalidTrackingNumber | ParcelNotFound) -> str:
    if isinstance(exc, InvalidTrackingNumber):
        if exc.bad_check_digit:
            return _("Check the number: the last digit doesn't match the others.")
        return _(
            "That doesn't look like a tracking number. It has 13 characters, like RR123456785SE."
        )
    return _(
        "We can't find this parcel yet. If you only just ordered, the shop may not have sent "
        "it: try again later."
    )


@bp.get("/")
def home():
    return render_template("tracking/home.html", form=TrackForm(formdata=None))


@bp.get("/track")
@lookup
def track():
    form = TrackForm(request.args)
    if not form.validate():
        return render_template("tracking/home.html", form=form), 422
    try:
        parcel = find_parcel(form.tn.data)
    except (InvalidTrackingNumber, ParcelNotFound) as exc:
        form.tn.errors.append(_not_found_message(exc))
        status = 404 if isinstance(exc, ParcelNotFound) else 422
        return render_template("tracking/home.html", form=form), status
    number = parcel.tracking_number
    if form.postcode.data and not is_verified(number):
        if postcode_tries_left(number) <= 0:
            abort(429)
        if tracking.postcode_matches(parcel, form.postcode.data):
            mark_verified(number)
        else:
            record_wrong_postcode(number)
            flash(_("That postcode doesn't match this parcel. Check it and try again."), "error")
            return redirect(url_for(".verify", tn=number), code=303)
    return redirect(url_for(".parcel", tn=number), code=303)


def _not_found_page(tn: str, exc: InvalidTrackingNumber | ParcelNotFound):
    form = TrackForm(formdata=None, tn=tn)
    form.tn.errors = [_not_found_message(exc)]
    return render_template("tracking/home.html", form=form), 404


def _canonical_url(tn: str) -> str | None:
    """This page's URL with the number in its canonical form, when it was typed in another."""
    number = s10.normalise(tn)
    if number != tn and s10.is_valid(number):
        return url_for(request.endpoint, tn=number)
    return None


def _parcel_or_404(tn: str) -> Parcel | str:
    """The parcel, or a redirect target when the number was typed in another form."""
    if canonical := _canonical_url(tn):
        return canonical
    try:
        return find_parcel(tn)
    except (InvalidTrackingNumber, ParcelNotFound) as exc:
        abort(current_app.make_response(_not_found_page(tn, exc)))


def recipient_parcel(tn: str) -> Parcel | Response:
    """The opening of every recipient page under /t/<tn>/…: the parcel for a verified visitor,
    else the answer to give instead: a redirect to the number in its canonical form, the
    not-found page, or the postcode check (which comes back here)."""
    parcel = _parcel_or_404(tn)
    if isinstance(parcel, str):
        return redirect(parcel, code=308 if request.method == "POST" else 301)
    g.recipient_language = parcel.language
    if not is_verified(parcel.tracking_number):
        here = url_for(request.endpoint, tn=parcel.tracking_number)
        return ask_to_verify(parcel.tracking_number, here)
    return parcel


@bp.get("/t/<tn>")
@lookup
def parcel(tn: str):
    if canonical := _canonical_url(tn):
        return redirect(canonical, code=301)
    try:
        number = parse_tracking_number(tn)
    except InvalidTrackingNumber as exc:
        return _not_found_page(tn, exc)
    verified = is_verified(number)
    page = load_parcel_page(number, with_items=verified)
    if page is None:
        return _not_found_page(tn, ParcelNotFound(""))
    g.recipient_language = page.language
    events, choice_now, pickup_hours = page.events, None, None
    if verified:
        # What the recipient chose sits in the timeline with what the carrier did.
        choices = delivery.choice_entries(page.id, page.time_zone)
        if choices:
            events = sorted([*events, *choices], key=lambda e: e.occurred_at, reverse=True)
            # The newest is the one in force, unless a closure withdrew it.
            if choices[-1].current:
                choice_now = choices[-1].text
                pickup_hours = point_hours(choices[-1].pickup_point, utcnow())
    from portal.services.returns import returns_for

    context_returns = returns_for(page.id) if verified else []
    context = {
        "parcel": page,
        "verified": verified,
        "events": events,
        "choice_now": choice_now,
        "pickup_hours": pickup_hours,
        "complaints": complaints.cases_for(page.id) if verified else [],
        "returns": context_returns,
        "can_return": verified and page.status == "delivered",
        "steps": tracking.progress(page.status),
        "status_label": tracking.status_label(page.status),
        "status_explanation": tracking.status_explanation(page.status),
        "trouble": page.status in tracking.TROUBLE,
        # Only an unverified page shows the form; building it would mint a CSRF token and
        # rewrite the session cookie on every verified page view.
        "verify_form": None if verified else VerifyForm(formdata=None),
        "updates_form": (
            UpdatesForm(formdata=None, sms=page.notify_sms, email=page.notify_email)
            if verified
            else None
        ),
    }
    if request.htmx and request.htmx.target == "live":
        html = render_block("tracking/parcel.html", "live", **context)
    else:
        html = render_template("tracking/parcel.html", **context)
    response = current_app.make_response(html)
    if verified:
        # The page now shows a name and address: never keep it in a shared cache.
        no_store(response)
    return response


@bp.route("/t/<tn>/verify", methods=["GET", "POST"])
@lookup
def verify(tn: str):
    found = _parcel_or_404(tn)
    if isinstance(found, str):
        return redirect(found, code=301)
    p = found
    g.recipient_language = p.language
    number = p.tracking_number
    if is_verified(number):
        return redirect(url_for(".parcel", tn=number), code=303)
    form = VerifyForm()
    tries_left = postcode_tries_left(number)
    if tries_left <= 0:
        return render_template("tracking/verify.html", parcel=p, form=form, locked=True), 429
    if form.validate_on_submit():
        if tracking.postcode_matches(p, form.postcode.data):
            mark_verified(number)
            flash(_("Thanks, that's the right postcode. Here is your parcel."), "success")
            return redirect(safe_next(request.args.get("next"), url_for(".parcel", tn=number)), 303)
        tries_left = record_wrong_postcode(number)
        if tries_left <= 0:
            return render_template("tracking/verify.html", parcel=p, form=form, locked=True), 429
        form.postcode.errors.append(
            _(
                "That postcode doesn't match this parcel. You have %(n)d more tries.",
                n=tries_left,
            )
        )
    status = 422 if form.errors else 200
    return render_template("tracking/verify.html", parcel=p, form=form, locked=False), status


@bp.get("/l/<token>")
@lookup
def signed_link(token: str):
    try:
        link = open_link(token)
    except (LinkExpired, LinkUnknown) as exc:
        expired = isinstance(exc, LinkExpired)
        return render_template(
            "tracking/link_invalid.html", form=TrackForm(formdata=None), expired=expired
        ), (410 if expired else 404)
    mark_verified(link.parcel.tracking_number)
    target = safe_next(link.target, url_for(".parcel", tn=link.parcel.tracking_number))
    db.session.commit()
    return redirect(target, code=303)


@bp.post("/t/<tn>/updates")
def updates(tn: str):
    """A verified recipient chooses SMS, e-mail or both."""
    found = _parcel_or_404(tn)
    if isinstance(found, str):
        return redirect(found, code=308)
    p = found
    if not is_verified(p.tracking_number):
        return redirect(url_for(".verify", tn=p.tracking_number), code=303)
    form = UpdatesForm()
    if form.validate_on_submit():
        set_channels(p, sms=form.sms.data, email=form.email.data)
        db.session.commit()
        flash(_("Saved: we'll keep you posted the way you chose."), "success")
    return redirect(url_for(".parcel", tn=p.tracking_number) + "#updates", code=303)
