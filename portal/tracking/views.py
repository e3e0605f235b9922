"""Views of the tracking pages: parse the form, call a service, render or redirect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
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
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal import s10
from portal.extensions import limiter
from portal.forms import page_write
from portal.i18n import safe_next
from portal.localtime import zone_of
from portal.models import Parcel
from portal.models.types import utcnow
from portal.security import no_store
from portal.services import complaints, delivery, tracking
from portal.services.edd import predict_parcel
from portal.services.errors import InvalidTrackingNumber, ParcelNotFound
from portal.services.links import LinkExpired, LinkUnknown, open_link
from portal.services.network.pickup import point_hours
from portal.services.parcels import (
    AmbiguousTrackingNumber,
    find_parcels,
    parse_tracking_number,
    pick_parcel,
    set_channels,
    unlocked_parcels,
)
from portal.services.returns import returns_for
from portal.tracking import bp
from portal.tracking.forms import TrackForm, UpdatesForm, VerifyForm
from portal.tracking.parcel_page import load_events, load_parcel_page
from portal.tracking.urls import note_parcels_of_number, number_is_shared, parcel_url
from portal.tracking.validators import VARY, not_modified, poll_etag, poll_headers
from portal.tracking.verification import (
    ask_to_verify,
    is_verified,
    mark_verified,
    note_proven_address,
    postcode_lockout,
    postcode_tries_left,
    record_wrong_postcode,
    unlocked,
)
from portal.transactions import read_only


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
        parcels = find_parcels(form.tn.data)
        parcel = pick_parcel(parcels, unlocked())
    except AmbiguousTrackingNumber:
        parcel = None  # several merchants' parcels: the postcode says which one is theirs
    except (InvalidTrackingNumber, ParcelNotFound) as exc:
        form.tn.errors.append(_not_found_message(exc))
        status = 404 if isinstance(exc, ParcelNotFound) else 422
        return render_template("tracking/home.html", form=form), status
    number = parcels[0].tracking_number
    note_parcels_of_number(number, len(parcels))
    # Under a shared number a postcode is always checked: it may pick another of them.
    if form.postcode.data and (len(parcels) > 1 or not is_verified(parcels[0].id)):
        if postcode_tries_left(number) <= 0:
            # The parcel's own postcode page says it is locked, and until when (a 429 there).
            return redirect(url_for(".verify", tn=number), code=303)
        matching = _unlock_matching(parcels, form.postcode.data)
        if not matching:
            record_wrong_postcode(number)
            flash(_("That postcode doesn't match this parcel. Check it and try again."), "error")
            return redirect(url_for(".verify", tn=number), code=303)
        if len(matching) > 1:
            return redirect(url_for(".choose_parcel", tn=number), code=303)
    elif parcel is None:
        return redirect(url_for(".verify", tn=number), code=303)
    return redirect(url_for(".parcel", tn=number), code=303)


def _unlock_matching(parcels: Sequence[Parcel], postcode: str) -> list[Parcel]:
    """Unlock the parcels (of those sharing a number) addressed to this postcode, and return
    them. Every one of them: the visitor passed the same check for each. Where that is more
    than one, the visitor chooses which to see (choose_parcel); nothing picks one for them."""
    matching = [p for p in parcels if tracking.postcode_matches(p, postcode)]
    for p in matching:
        mark_verified(p.id)
    return matching


def _named_id() -> int | None:
    """The parcel id in `?id=`, if it is one at all."""
    raw = request.args.get("id", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        return None
    return int(raw)


def _take_choice() -> None:
    """`?id=` on a page under a number: the parcel a visitor chose on the choice page, or the
    one a page's links, forms and poll name (parcel_url), becomes the one every page under the
    number acts on for this session (as if unlocked last). Only a parcel the session has
    unlocked can be chosen; any other id is ignored, so an id says nothing to anyone who
    hasn't proved the postcode."""
    named = _named_id()
    if named is None:
        return
    seen = unlocked()
    if named in seen and seen[-1] != named:
        mark_verified(named)


def _not_found_page(tn: str, exc: InvalidTrackingNumber | ParcelNotFound):
    form = TrackForm(formdata=None, tn=tn)
    form.tn.errors = [_not_found_message(exc)]
    return render_template("tracking/home.html", form=form), 404


def _canonical_url(tn: str) -> str | None:
    """This page's URL with the number in its canonical form, when it was typed in another
    (still naming the parcel, where it did)."""
    number = s10.normalise(tn)
    if number != tn and s10.is_valid(number):
        return url_for(request.endpoint, tn=number, id=_named_id())
    return None


def _page_number(tn: str) -> str | Response:
    """The number of a page under /t/<tn> in its canonical form, else the answer instead: a
    redirect to the canonical URL for a number typed another way, the not-found page for one
    that isn't a number at all."""
    if canonical := _canonical_url(tn):
        return redirect(canonical, code=301)
    try:
        return parse_tracking_number(tn)
    except InvalidTrackingNumber as exc:
        return current_app.make_response(_not_found_page(tn, exc))


def _visitors_parcel(tn: str, *, then: str | None = None) -> Parcel | Response:
    """The parcel /t/<tn>/… acts on for this visitor (the one `?id=` names, if this session
    unlocked it), else the answer to give instead: a redirect to the number in its canonical
    form, the not-found page, or the postcode check (going on to `then`) for a number more
    than one parcel has and none of them unlocked here, or for a form naming a parcel this
    session hasn't unlocked."""
    if canonical := _canonical_url(tn):
        return redirect(canonical, code=308 if request.method == "POST" else 301)
    _take_choice()
    try:
        parcels = find_parcels(tn)
        parcel = pick_parcel(parcels, unlocked())
    except AmbiguousTrackingNumber as exc:
        return ask_to_verify(exc.parcels[0].tracking_number, then)
    except (InvalidTrackingNumber, ParcelNotFound) as exc:
        return current_app.make_response(_not_found_page(tn, exc))
    note_parcels_of_number(parcel.tracking_number, len(parcels))
    if request.method == "POST" and "id" in request.args and _named_id() != parcel.id:
        # The form names the parcel it was built for, and this session no longer has that
        # one unlocked (or never had): change nothing, rather than another parcel.
        return ask_to_verify(parcel.tracking_number, then)
    return parcel


def _this_page(tn: str) -> str:
    """Where the postcode check goes back to: this page, for the parcel it names, if any."""
    return url_for(request.endpoint, tn=tn, id=_named_id())


def recipient_parcel(tn: str) -> Parcel | Response:
    """The opening of every recipient page under /t/<tn>/…: the parcel for a verified visitor,
    else the answer to give instead: a redirect to the number in its canonical form, the
    not-found page, or the postcode check (which comes back here)."""
    parcel = _visitors_parcel(tn, then=_this_page(tn))
    if not isinstance(parcel, Parcel):
        return parcel
    g.recipient_language = parcel.language
    if not is_verified(parcel.id):
        return ask_to_verify(parcel.tracking_number, _this_page(parcel.tracking_number))
    return parcel


@bp.get("/t/<tn>")
@lookup
@read_only
def parcel(tn: str):
    number = _page_number(tn)
    if not isinstance(number, str):
        return number
    _take_choice()
    seen = unlocked()
    # The 30-second poll renders the live block alone: it reads nothing else, and answers 304
    # (validators.py) when the block would be the same, before reading the events.
    poll = bool(request.htmx and request.htmx.target == "live")
    try:
        page = load_parcel_page(
            number, unlocked=seen, items=not poll, events=not poll, versions=poll
        )
    except AmbiguousTrackingNumber:
        # More than one parcel has this number: no data of either until a postcode picks one.
        return redirect(url_for(".verify", tn=number), code=303)
    if page is None:
        return _not_found_page(tn, ParcelNotFound(""))
    verified = page.id in seen
    full = verified and not poll  # what only the whole verified page shows
    # The page's poll, forms and links name the parcel where the number is shared (parcel_url).
    note_parcels_of_number(number, page.parcels_with_number)
    g.recipient_language = page.language
    # The carrier's window (or a booked day), once there is one, says more than any prediction.
    prediction = None if page.eta_from else predict_parcel(page, page.time_zone)
    etag = None
    if poll:
        etag = poll_etag(page, verified=verified, prediction=prediction)
        if request.if_none_match.contains_weak(etag):
            return not_modified(etag)
        load_events(page)
    events, choice_now, pickup_hours = page.events, None, None
    if verified and page.has_choices:
        # What the recipient chose sits in the timeline with what the carrier did.
        choices = delivery.choice_entries(page.id, page.time_zone)
        if choices:
            events = sorted([*events, *choices], key=lambda e: e.occurred_at, reverse=True)
            # The newest is the one in force, unless a closure withdrew it.
            if choices[-1].current and not poll:
                choice_now = choices[-1].text
                pickup_hours = point_hours(choices[-1].pickup_point, utcnow())
    context_returns = returns_for(page.id) if full and page.has_returns else []
    context = {
        "parcel": page,
        "verified": verified,
        "events": events,
        "choice_now": choice_now,
        "pickup_hours": pickup_hours,
        "complaints": complaints.cases_for(page.id) if full and page.has_cases else [],
        "returns": context_returns,
        "can_return": verified and page.status == "delivered",
        "steps": tracking.progress(page.status),
        "status_label": tracking.status_label(page.status),
        "status_explanation": tracking.status_explanation(page.status),
        "trouble": page.status in tracking.TROUBLE,
        "prediction": prediction,
        "late": prediction is not None
        and prediction.late_on(datetime.now(zone_of(page.time_zone)).date()),
        # Only an unverified page shows the form; building it would mint a CSRF token and
        # rewrite the session cookie on every verified page view.
        # Nor the poll, whose block has no form.
        "verify_form": None if verified or poll else VerifyForm(formdata=None),
        "updates_form": (
            UpdatesForm(formdata=None, sms=page.notify_sms, email=page.notify_email)
            if verified
            else None
        ),
    }
    if poll:
        html = render_block("tracking/parcel.html", "live", **context)
    else:
        # A way back to the choice where the visitor unlocked more than one parcel of the
        # number (only asked of a session that unlocked several parcels, and not on polls).
        context["others"] = (
            verified
            and len(seen) > 1
            and number_is_shared(number)
            and len(unlocked_parcels(number, seen)) > 1
        )
        html = render_template("tracking/parcel.html", **context)
    response = current_app.make_response(html)
    if etag is not None:
        return poll_headers(response, etag)
    # The whole page has no validator (it shows more than the poll's inputs cover, and the
    # unverified one a CSRF token): never kept by any cache, the browser's included, and
    # never taken for the poll's block (same URL).
    response.vary.update(VARY)
    return no_store(response)


def postcode_check(
    parcels: Sequence[Parcel],
    *,
    done: str,
    about: str | None,
    welcome: str,
    back: str | None = None,
    brand: Parcel | None = None,
):
    """The postcode check: a postcode of one of `parcels` (one, or those sharing a number)
    unlocks it for this session and goes on to `done`. Wrong postcodes count against the
    parcels' number, wherever they are typed (its own page, its return's or case's)."""
    number = parcels[0].tracking_number
    form = VerifyForm()
    context = {"form": form, "about": about, "back": back, "parcel": brand}
    if postcode_tries_left(number) <= 0:
        page = render_template("tracking/verify.html", locked=True, **context)
        return postcode_lockout(current_app.make_response((page, 429)), number)
    if form.validate_on_submit():
        matching = _unlock_matching(parcels, form.postcode.data)
        if len(matching) > 1:
            # Two shops' parcels to one address (or neighbours with one postcode): the visitor
            # chooses, rather than being shown the newest without a word about the other.
            return redirect(url_for("tracking.choose_parcel", tn=number, next=done), 303)
        if matching:
            flash(welcome, "success")
            return redirect(done, 303)
        tries_left = record_wrong_postcode(number)
        if tries_left <= 0:
            page = render_template("tracking/verify.html", locked=True, **context)
            return postcode_lockout(current_app.make_response((page, 429)), number)
        form.postcode.errors.append(
            _(
                "That postcode doesn't match this parcel. You have %(n)d more tries.",
                n=tries_left,
            )
        )
    status = 422 if form.errors else 200
    return render_template("tracking/verify.html", locked=False, **context), status


@bp.route("/t/<tn>/verify", methods=["GET", "POST"])
@lookup
def verify(tn: str):
    if canonical := _canonical_url(tn):
        return redirect(canonical, code=301)
    try:
        parcels = find_parcels(tn)
    except InvalidTrackingNumber as exc:
        return _not_found_page(tn, exc)
    if not parcels:
        return _not_found_page(tn, ParcelNotFound(""))
    number = parcels[0].tracking_number
    done = safe_next(request.args.get("next"), url_for(".parcel", tn=number))
    welcome = _("Thanks, that's the right postcode. Here is your parcel.")
    if len(parcels) > 1:
        # Two merchants' parcels share the number: the page shows nothing of either (not even
        # a city or a shop's colours), and the postcode picks the visitor's own.
        about = _(
            "More than one parcel has the tracking number %(tn)s. Enter the postcode of the "
            "delivery address to see yours.",
            tn=number,
        )
        return postcode_check(parcels, done=done, about=about, welcome=welcome)
    p = parcels[0]
    g.recipient_language = p.language
    if is_verified(p.id):
        return redirect(url_for(".parcel", tn=number), code=303)
    return postcode_check(
        parcels,
        done=done,
        about=_("Parcel %(tn)s to %(city)s.", tn=number, city=p.city),
        welcome=welcome,
        back=url_for(".parcel", tn=number),
        brand=p,
    )


def verify_on_own_url(parcel: Parcel, *, about: str, default_next: str):
    """The postcode check on a return's or a case's own URL (its number, which a customer may
    share, must not lead anyone to the parcel's tracking number): the postcode of its parcel
    opens it, and the parcel, for this session, then goes on to `next` or `default_next`."""
    g.recipient_language = parcel.language
    done = safe_next(request.args.get("next"), default_next)
    if is_verified(parcel.id):
        return redirect(done, code=303)
    return postcode_check(
        [parcel],
        done=done,
        about=about,
        welcome=_("Thanks, that's the right postcode."),
        brand=parcel,
    )


def _choice_url(done: str, number: str, parcel_id: int) -> str:
    """Where the choice page's link for one parcel goes: `done`, the page under the number
    the visitor set out for, with `?id=` (every such page takes the choice); else the parcel
    page."""
    parts = urlsplit(done)
    path = parts.path.removeprefix(request.script_root)
    try:
        endpoint, args = current_app.url_map.bind_to_environ(request.environ).match(
            path, method="GET"
        )
    except HTTPException:
        endpoint, args = None, {}
    if args.get("tn") != number or endpoint in ("tracking.verify", "tracking.choose_parcel"):
        return url_for(".parcel", tn=number, id=parcel_id)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "id"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("id", parcel_id)])))


@bp.get("/t/<tn>/choose")
@lookup
def choose_parcel(tn: str):
    """The parcels of a number this visitor unlocked, to choose from: a postcode that fits
    more than one parcel of the number unlocks them all, and the visitor says which they
    mean. Lists nothing the visitor hasn't proved the postcode of."""
    number = _page_number(tn)
    if not isinstance(number, str):
        return number
    parcels = unlocked_parcels(number, unlocked())
    done = safe_next(request.args.get("next"), url_for(".parcel", tn=number))
    if len(parcels) < 2:
        # Nothing to choose (any more): the one parcel, or the postcode check.
        if parcels:
            return redirect(done, code=303)
        return redirect(url_for(".verify", tn=number, next=request.args.get("next")), code=303)
    choices = [
        (p, tracking.status_label(p.status), _choice_url(done, number, p.id)) for p in parcels
    ]
    html = render_template("tracking/choose.html", number=number, choices=choices)
    # Merchants' names of this visitor's parcels: never in a shared cache.
    return no_store(current_app.make_response(html))


@bp.get("/l/<token>")
@lookup
@page_write
def signed_link(token: str):
    try:
        link = open_link(token)
    except (LinkExpired, LinkUnknown) as exc:
        expired = isinstance(exc, LinkExpired)
        return render_template(
            "tracking/link_invalid.html", form=TrackForm(formdata=None), expired=expired
        ), (410 if expired else 404)
    # The link's own parcel, whatever else shares its number: it is the one opened here now.
    mark_verified(link.parcel.id)
    note_proven_address(link, utcnow())
    target = safe_next(link.target, url_for(".parcel", tn=link.parcel.tracking_number))
    return redirect(target, code=303)


@bp.post("/t/<tn>/updates")
@page_write
def updates(tn: str):
    """A verified recipient chooses SMS, e-mail or both."""
    found = _visitors_parcel(tn, then=url_for(".parcel", tn=tn, id=_named_id()))
    if not isinstance(found, Parcel):
        return found
    p = found
    if not is_verified(p.id):
        return redirect(url_for(".verify", tn=p.tracking_number), code=303)
    form = UpdatesForm()
    if form.validate_on_submit():
        set_channels(p, sms=form.sms.data, email=form.email.data)
        flash(_("Saved: we'll keep you posted the way you chose."), "success")
    return redirect(parcel_url(".parcel", p, _anchor="updates"), code=303)
