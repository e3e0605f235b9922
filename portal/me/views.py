"""`/me`: sign in with a code, see every parcel addressed to me, sign out."""

from __future__ import annotations

import re
from datetime import datetime, time

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from limits import parse
from wtforms.fields.choices import SelectChoice

from portal.extensions import limiter
from portal.forms import keep_writes, page_write
from portal.i18n import language_choices
from portal.localtime import clock, zone_of
from portal.me import bp
from portal.me.forms import AddressForm, CodeForm, PreferencesForm, SignOutForm
from portal.me.session import (
    came_by_code,
    clear_pending,
    pending,
    session_link_address,
    set_pending,
    sign_in,
    sign_out,
    signed_in,
    signed_in_with_code,
)
from portal.models.recipient import new_session_key
from portal.models.types import utcnow
from portal.net import remote_client
from portal.security import no_store
from portal.services.delivery import SAFE_PLACE_TEXT, SAFE_PLACES
from portal.services.errors import DomainError
from portal.services.recipients import (
    QUIET_ENDS,
    QUIET_STARTS,
    CodeRefused,
    address_of,
    check_code,
    parcels_of,
    points_near_me,
    profile_for,
    remove_address_of,
    save_preferences,
    send_code,
)
from portal.tracking.verification import mark_verified, proven_address


def _over_limit(name: str, *keys: str) -> bool:
    """Count one more against the named limit for `keys`; whether it was already used up."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    limit = parse(current_app.config[name])
    return not limiter.limiter.hit(limit, "me", name, *keys)


def _send_code(kind: str, value: str, recipient=None) -> None:
    """A code to the address unless a limit (per address, per IP, wrong codes a day) holds
    it back, and the code page waiting for it either way."""
    if not _over_limit("RATELIMIT_ME_CODES_PER_ADDRESS", kind, value) and not _over_limit(
        "RATELIMIT_ME_CODES_PER_IP", remote_client()
    ):
        send_code(kind, value, now=utcnow(), recipient=recipient)
    set_pending(kind, value, recipient.id if recipient is not None else None)


def _link_address() -> str | None:
    """The address a message's link opened in this browser proved, while it still may."""
    address = proven_address(utcnow())
    if address is None:
        return None
    try:
        address_of(address)
    except DomainError:  # a number the phone library no longer takes: no shortcut then
        return None
    return address


@bp.route("/me", methods=["GET", "POST"])
@page_write
def index():
    recipient = signed_in()
    if recipient is not None:
        return _my_page(recipient)
    form = AddressForm()
    if form.validate_on_submit():
        try:
            kind, value = address_of(form.address.data)
        except DomainError as exc:
            form.address.errors.append(exc.message)
        else:
            # The same answer for every address, known or not, and whether or not a limit
            # held the message back: nothing here says who has parcels with us.
            _send_code(kind, value)
            return redirect(url_for(".code"), code=303)
    status = 422 if form.errors else 200
    proven = _link_address()
    return no_store(
        current_app.make_response(
            (
                render_template(
                    "me/sign_in.html",
                    form=form,
                    proven=_masked(*address_of(proven)) if proven else None,
                    continue_form=SignOutForm(),
                ),
                status,
            )
        )
    )


@bp.post("/me/continue")
@page_write
def continue_from_link():
    """Signed in by the link of one of our messages, opened in this browser in the last
    minutes: it proved its address. Not remembered, and not enough to add an address, take the
    data away or delete the profile (those ask for a code)."""
    proven = _link_address()
    form = SignOutForm()
    if proven is None or not form.validate_on_submit():
        return redirect(url_for(".index"), code=303)
    kind, value = address_of(proven)
    sign_in(
        profile_for(kind, value, now=utcnow()), remember=False, by_code=False, link_address=value
    )
    return redirect(url_for(".index"), code=303)


def _masked(kind: str, value: str) -> str:
    return value if kind == "email" else f"…{value[-4:]}"


@bp.route("/me/code", methods=["GET", "POST"])
@page_write
def code():
    waiting = pending()
    if waiting is None:
        return redirect(url_for(".index"), code=303)
    kind, value, adding_to = waiting
    if adding_to is not None:
        current = signed_in_with_code()
        if current is None or current.id != adding_to:
            clear_pending()  # asked for by a session that is no longer this profile's
            return redirect(url_for(".index"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        if _over_limit("RATELIMIT_ME_CODE_TRIES_PER_IP", remote_client()):
            form.code.errors.append(_("Too many tries from here. Please wait a few minutes."))
        else:
            try:
                recipient = check_code(
                    kind, value, form.code.data, now=utcnow(), adding_to=adding_to
                )
            except CodeRefused as exc:
                keep_writes()  # the try counts, even though the answer is a refusal
                form.code.errors.append(exc.message)
            else:
                clear_pending()
                if adding_to is not None:
                    # A second address proved: one recipient, whichever address is used.
                    flash(_("Added. Parcels to either address are yours here."), "success")
                else:
                    sign_in(recipient, remember=form.remember.data)
                return redirect(url_for(".index"), code=303)
    status = 422 if form.errors else 200
    shown = _masked(kind, value)
    return no_store(
        current_app.make_response(
            (render_template("me/code.html", form=form, kind=kind, shown=shown), status)
        )
    )


@bp.post("/me/addresses")
@page_write
def add_address():
    """Add another phone number or e-mail address to my profile, proved by its own code (a
    session a message's link signed in must sign in with a code first)."""
    recipient = signed_in_with_code()
    if recipient is None:
        return redirect(url_for(".index"), code=303)
    form = AddressForm(prefix="add")
    if form.validate_on_submit():
        try:
            kind, value = address_of(form.address.data)
        except DomainError as exc:
            form.address.errors.append(exc.message)
        else:
            if any(a.kind == kind and a.value == value for a in recipient.addresses):
                form.address.errors.append(_("That address is yours here already."))
            else:
                _send_code(kind, value, recipient)
                return redirect(url_for(".code"), code=303)
    return _my_page(recipient, add_form=form, status=422)


@bp.post("/me/addresses/<int:address_id>/remove")
@page_write
def remove_address(address_id: int):
    """Stop counting an address as mine (a number given up, an old e-mail): its parcels no
    longer show here, and it no longer signs in to this profile. The last one goes only with
    the whole profile (/me/delete). Needs a code-signed session, as adding does."""
    recipient = signed_in_with_code()
    form = SignOutForm()
    if recipient is None or not form.validate_on_submit():
        return redirect(url_for(".index"), code=303)
    try:
        remove_address_of(recipient, address_id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        # Sessions signed in with the removed address end; this one goes on with the new key.
        recipient.session_epoch = new_session_key()
        sign_in(recipient, remember=session.permanent)
        flash(_("Removed."), "success")
    return redirect(url_for(".index") + "#addresses-heading", code=303)


@bp.post("/me/sign-out-everywhere")
@page_write
def sign_out_everywhere():
    """Every session of this profile ends (a lost phone, a shared computer): a new key."""
    recipient = signed_in()
    form = SignOutForm()
    if recipient is not None and form.validate_on_submit():
        recipient.session_epoch = new_session_key()
        sign_out()
        flash(_("Signed out on every device."), "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/me/sign-out")
@page_write
def sign_out_view():
    form = SignOutForm()
    if form.validate_on_submit():
        sign_out()
    return redirect(url_for(".index"), code=303)


@bp.get("/me/start-again")
def start_again():
    clear_pending()
    return redirect(url_for(".index"), code=303)


@bp.post("/me/preferences")
@page_write
def preferences():
    # Where parcels go is for the person with a code to say, not a forwarded message's link.
    recipient = signed_in_with_code()
    if recipient is None:
        return redirect(url_for(".index"), code=303)
    points = points_near_me(recipient, utcnow())
    form = _preferences_form(recipient, points)
    if form.validate_on_submit():
        chosen = form.pickup_point.data
        try:
            save_preferences(
                recipient,
                delivery=form.delivery.data,
                pickup_point_id=_number(chosen),
                offered={p.id for p in points},
                safe_place=form.safe_place.data,
                safe_place_note=form.safe_place_note.data,
                neighbour_name=form.neighbour_name.data,
                neighbour_house=form.neighbour_house.data,
                notify_sms=form.notify_sms.data,
                notify_email=form.notify_email.data,
                language=form.language.data,
                languages=tuple(current_app.config["LANGUAGES"]),
                quiet_start=_number(form.quiet_start.data),
                quiet_end=_number(form.quiet_end.data),
            )
        except DomainError as exc:
            getattr(form, exc.field or "delivery").errors.append(exc.message)
        else:
            flash(_("Saved. Every new parcel to you follows these from now on."), "success")
            return redirect(url_for(".index") + "#preferences-heading", code=303)
    return _my_page(recipient, form=form, points=points, status=422)


def _number(value: object) -> int | None:
    """A plain ASCII whole number as typed into a form ("²" is a digit to str.isdigit)."""
    text = str(value or "")
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


def _preferences_form(recipient, points, *, filled: bool = False) -> PreferencesForm:
    form = PreferencesForm(obj=recipient if filled else None)
    form.language.choices = form.language.choices[:1] + [
        SelectChoice(code, name) for code, name in language_choices()
    ]
    if filled:
        form.delivery.data = recipient.delivery_preference
        form.pickup_point.data = str(recipient.preferred_point_id or "")
        form.language.data = recipient.language or ""
        form.quiet_start.data = str(recipient.quiet_start or "")
        form.quiet_end.data = str(recipient.quiet_end or "")
    locker = _("locker")  # outside the f-string, where extraction can't see it
    form.pickup_point.choices = [
        SelectChoice(
            str(p.id), f"{p.name}, {p.address_line}" + (f" ({locker})" if p.is_locker else "")
        )
        for p in points
    ]
    form.safe_place.choices = [SelectChoice(key, SAFE_PLACE_TEXT[key]) for key in SAFE_PLACES]
    usual_start = current_app.config["NOTIFY_QUIET_START"]
    usual_end = current_app.config["NOTIFY_QUIET_END"]
    # Hours as the language writes times: 21:00, 21.00 in Danish and Finnish.
    form.quiet_start.choices = [
        SelectChoice("", _("%(time)s (as usual)", time=clock(time(usual_start)))),
        *(SelectChoice(str(h), clock(time(h))) for h in QUIET_STARTS),
    ]
    form.quiet_end.choices = [
        SelectChoice("", _("%(time)s (as usual)", time=clock(time(usual_end)))),
        *(SelectChoice(str(h), clock(time(h))) for h in QUIET_ENDS),
    ]
    return form


def _my_page(recipient, *, form=None, points=None, add_form=None, status: int = 200):
    """The signed-in page of `recipient` (signed_in() has just checked the session)."""
    now = utcnow()
    by_code = came_by_code()
    if by_code:  # a session a link signed in gets no preferences form: none to fill
        if points is None:
            points = points_near_me(recipient, now)
        if form is None:
            form = _preferences_form(recipient, points, filled=True)
    # Signed in by a message's link: only the parcels of the address that link went to.
    only = None if by_code else session_link_address()
    parcels = parcels_of(recipient, now, only=only)
    # Opened from here, a parcel's page asks for no postcode: this session proved the address
    # it was sent to. The newest on the way are marked last, so they are kept if there are many.
    for parcel in reversed(parcels):
        mark_verified(parcel.id)
    today = {p.id: datetime.now(zone_of(p.time_zone)).date() for p in parcels}
    return no_store(
        current_app.make_response(
            (
                render_template(
                    "me/index.html",
                    recipient=recipient,
                    parcels=parcels,
                    today=today,
                    sign_out_form=SignOutForm(),
                    preferences_form=form,
                    points=points,
                    add_form=add_form or AddressForm(prefix="add", formdata=None),
                    by_code=by_code,
                ),
                status,
            )
        )
    )
