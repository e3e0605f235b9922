"""Return pages: start a return, follow it with its label, and accept it at a service point."""

from __future__ import annotations

import hmac

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import role_required
from portal.extensions import db, limiter
from portal.forms import page_write, refuse
from portal.models import Parcel, Return, ReturnMethod, ReturnStatus, Role
from portal.returns import bp, labels
from portal.returns.dropoff_forms import DropoffForm
from portal.returns.forms import (
    METHOD_HINTS,
    REASON_LABELS,
    return_error_field,
    return_form,
)
from portal.security import allow_map_tiles, no_store
from portal.services import returns as service
from portal.services.errors import DomainError, NotFound
from portal.services.label_keys import label_key
from portal.tracking.verification import is_verified
from portal.tracking.views import lookup, recipient_parcel, verify_on_own_url

# --- starting a return -------------------------------------------------------------------------


@bp.route("/t/<tn>/return", methods=["GET", "POST"])
@lookup
@page_write
def start(tn: str):
    parcel = recipient_parcel(tn)
    if not isinstance(parcel, Parcel):
        return parcel
    available = service.returnable(parcel)
    slots = (
        service.pickup_slots(parcel) if ReturnMethod.HOME_PICKUP in available.policy.methods else []
    )
    form = return_form(available, slots)
    hand_in = service.hand_in_near(parcel, available.policy.methods) if available.open else []
    status = 200
    if request.method == "POST" and available.open:
        if form.validate_on_submit():
            request_ = form.request()
            try:
                ret = service.open_return(parcel, request_)
            except DomainError as exc:
                status = refuse(form, exc, return_error_field(exc, request_))
            else:
                return redirect(url_for(".show", rma=ret.rma), 303)
        else:
            status = 422
        if form.csrf_token.errors:
            form.form_errors.append(_("This page was open too long. Please try again."))
    response = current_app.make_response(
        (
            render_template(
                "returns/start.html",
                parcel=parcel,
                available=available,
                returns=service.returns_for(parcel.id),
                form=form,
                slots=slots,
                reasons=REASON_LABELS,
                hints=METHOD_HINTS,
                hand_in=hand_in,
            ),
            status,
        )
    )
    # Map tiles only where there is a map: the places it can be handed in.
    return allow_map_tiles(no_store(response)) if hand_in else no_store(response)


# --- the return page and its label ------------------------------------------------------------


def _find(rma: str) -> Return:
    try:
        return service.find_return(rma)
    except NotFound:
        abort(404)


def _may_see(ret: Return) -> bool:
    key = request.args.get("k", "")
    return is_verified(ret.parcel_id) or (
        # As bytes: compare_digest refuses non-ASCII text (a TypeError, a 500) in `k`.
        bool(key) and hmac.compare_digest(key.encode(), label_key(ret).encode())
    )


@bp.get("/r/<rma>")
@lookup
def show(rma: str):
    ret = _find(rma)
    if ret.rma != rma:
        return redirect(url_for(".show", rma=ret.rma), 301)
    g.recipient_language = ret.parcel.language
    if not is_verified(ret.parcel_id):
        return _ask_to_verify(ret, url_for(".show", rma=ret.rma))
    hand_in = service.hand_in_points(ret)
    response = current_app.make_response(
        render_template(
            "returns/show.html",
            ret=ret,
            parcel=ret.parcel,
            events=service.return_events(ret),
            refund_due=service.refund_due(ret),
            reasons=REASON_LABELS,
            has_label=ret.status not in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED),
            label_key=label_key(ret),
            hand_in=hand_in,
        )
    )
    # Map tiles only where there is a map: the places it can be handed in.
    return allow_map_tiles(no_store(response)) if hand_in else no_store(response)


def _ask_to_verify(ret: Return, here: str):
    # On the return's own URL: the RMA must not lead anyone to the parcel's tracking number.
    return redirect(url_for(".verify", rma=ret.rma, next=here), code=303)


@bp.route("/r/<rma>/verify", methods=["GET", "POST"])
@lookup
def verify(rma: str):
    """The postcode check for a return: the postcode of its parcel opens the return (and the
    parcel) for this session."""
    ret = _find(rma)
    if ret.rma != rma:
        return redirect(url_for(".verify", rma=ret.rma, next=request.args.get("next")), 301)
    return verify_on_own_url(
        ret.parcel,
        about=_("Return %(rma)s", rma=ret.rma),
        default_next=url_for(".show", rma=ret.rma),
    )


@bp.get("/r/<rma>/<any('label.svg', 'label.png', 'label'):kind>")
@lookup
def label_file(rma: str, kind: str):
    ret = _find(rma)
    g.recipient_language = ret.parcel.language
    if not _may_see(ret):
        if kind == "label":
            return _ask_to_verify(ret, url_for(".label_file", rma=ret.rma, kind=kind))
        abort(404)
    if ret.status in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED):
        abort(404)
    if kind == "label":
        response = current_app.make_response(
            render_template("returns/label.html", ret=ret, key=label_key(ret))
        )
    elif kind == "label.svg":
        response = current_app.response_class(labels.svg(ret), mimetype="image/svg+xml")
        # Our own drawing, but an SVG opened directly is a document: let it run nothing.
        response.headers["Content-Security-Policy"] = "default-src 'none'"
    else:
        response = current_app.response_class(labels.png(ret), mimetype="image/png")
        response.headers["Content-Disposition"] = (
            f'inline; filename="return-{ret.return_tracking_number}.png"'
        )
    return no_store(response)


# --- drop-off at a service point ---------------------------------------------------------------


@bp.route("/dropoff", methods=["GET", "POST"])
@role_required(Role.DROPOFF, Role.SUPERVISOR, login="accounts.dropoff_login")
@limiter.limit("120 per minute", methods=["POST"])
@page_write
def dropoff():
    form = DropoffForm()
    status = 200
    already = None
    if form.validate_on_submit():
        try:
            ret = service.accept_dropoff(form.code.data, current_user)
        except service.AlreadyDroppedOff as exc:
            refuse(form, exc, "code")
            already = exc.return_
            status = 409
        except DomainError as exc:
            status = refuse(form, exc, "code")
        else:
            session["dropoff_last"] = ret.rma
            flash(_("Accepted. The customer gets a receipt."), "success")
            return redirect(url_for(".dropoff"), 303)
    elif request.method == "POST":
        status = 422
    last = None
    if request.method == "GET" and (rma := session.pop("dropoff_last", None)):
        last = db.session.execute(db.select(Return).where(Return.rma == rma)).scalar_one_or_none()
    response = current_app.make_response(
        (render_template("returns/dropoff.html", form=form, last=last, already=already), status)
    )
    # The camera is used here and nowhere else.
    response.headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
    return no_store(response)
