"""`/t/<tn>/complaint` files a case; `/c/<case>` shows it and takes the customer's replies;
`/c/<case>/photos/<id>` serves a photo to the verified customer and to agents only."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.complaints import bp
from portal.complaints.forms import ComplaintForm, ReplyForm, uploads
from portal.complaints.uploads import one_upload_at_a_time
from portal.extensions import csrf
from portal.forms import page_write, refuse
from portal.models import ComplaintStatus, Parcel
from portal.security import no_store
from portal.services import complaints
from portal.services.errors import DomainError, NotFound
from portal.storage import EXTENSIONS, StoredFileMissing, get_storage
from portal.tracking.verification import is_verified
from portal.tracking.views import lookup, recipient_parcel, verify_on_own_url

# Room for the text fields and the multipart framing around the photos.
FORM_ROOM = 1024 * 1024


def upload_limit() -> int:
    """The largest request the photo forms take: every photo at its largest, plus the text."""
    config = current_app.config
    return config["PHOTO_MAX_COUNT"] * config["PHOTO_MAX_BYTES"] + FORM_ROOM


def _accept_photos() -> None:
    """Raise this request's size limit before anything reads the body, then check CSRF (the
    app-wide check would read the form first, under the 4 MB limit meant for JSON)."""
    request.max_content_length = upload_limit()
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()


@bp.route("/t/<tn>/complaint", methods=["GET", "POST"])
@lookup
@csrf.exempt  # checked in _accept_photos, once the larger limit is in place
@one_upload_at_a_time
@page_write
def new(tn: str):
    parcel = recipient_parcel(tn)
    if not isinstance(parcel, Parcel):
        return parcel
    if request.method == "POST":
        _accept_photos()
    form = ComplaintForm().for_parcel(parcel)
    status = 200
    if form.validate_on_submit():
        try:
            complaint = complaints.open_complaint(parcel, form.request())
        except DomainError as exc:
            # 503 when the photos could not be stored (the form, text kept, can be sent again
            # as it is), 409 when something changed meanwhile.
            status = refuse(form, exc)
        else:
            flash(
                _(
                    "Thank you, we've got your complaint. We'll answer by %(day)s.",
                    day=complaints.due_day(complaint),
                ),
                "success",
            )
            return redirect(url_for(".case", case=complaint.case_number), code=303)
    elif form.is_submitted():
        status = 422
    _ask_for_photos_again(form)
    html = render_template(
        "complaints/new.html",
        parcel=parcel,
        form=form,
        type_hints={kind.value: hint for kind, (_label, hint) in complaints.TYPE_TEXT.items()},
        due_days=parcel.merchant.complaint_due_days,
    )
    return no_store(current_app.make_response((html, status)))


@bp.route("/c/<case>", methods=["GET", "POST"])
@lookup
@csrf.exempt  # checked in _accept_photos, once the larger limit is in place
@one_upload_at_a_time
@page_write
def case(case: str):
    number = complaints.normalise_case_number(case)
    if number is None:
        abort(404)
    if number != case:
        return redirect(
            url_for(".case", case=number), code=308 if request.method == "POST" else 301
        )
    try:
        complaint = complaints.find_complaint(number)
    except NotFound:
        abort(404)
    parcel = complaint.parcel
    g.recipient_language = parcel.language
    if not is_verified(parcel.id):
        # On the case's own URL: the case number must not lead anyone to the tracking number.
        return redirect(url_for(".verify", case=number, next=url_for(".case", case=number)), 303)
    form, status = None, 200
    if request.method == "POST":
        _accept_photos()
        form = ReplyForm()
        status = 422
        if form.validate_on_submit():
            try:
                complaints.reply(complaint, form.body.data, uploads(form.photos.data))
            except DomainError as exc:
                status = refuse(form, exc)  # 409 when the case moved on meanwhile
            else:
                flash(_("Thank you. We've got your answer and will be back to you."), "success")
                return redirect(url_for(".case", case=number), code=303)
        _ask_for_photos_again(form)
    elif complaint.status is ComplaintStatus.AWAITING_CUSTOMER:
        form = ReplyForm(formdata=None)
    first_photos, reply_photos = complaints.photos_in_thread(complaint)
    html = render_template(
        "complaints/case.html",
        complaint=complaint,
        parcel=parcel,
        form=form,
        first_photos=first_photos,
        reply_photos=reply_photos,
        entry_text=complaints.entry_text,
        status_of=complaints.status_of,
        status_label=complaints.status_label(complaint.status),
        status_explanation=complaints.status_explanation(complaint.status),
        type_label=complaints.type_label(complaint.type),
        resolution=complaints.resolution_text(complaint),
        # Our promise while the case is with us; not while we wait for the customer.
        due_day=complaints.due_day(complaint) if complaint.status in complaints.WITH_US else None,
        closed=complaint.status in complaints.CLOSED,
    )
    return no_store(current_app.make_response((html, status)))


@bp.route("/c/<case>/verify", methods=["GET", "POST"])
@lookup
def verify(case: str):
    """The postcode check for a case: the postcode of its parcel opens the case (and the
    parcel) for this session."""
    number = complaints.normalise_case_number(case)
    if number is None:
        abort(404)
    if number != case:
        return redirect(url_for(".verify", case=number, next=request.args.get("next")), 301)
    try:
        complaint = complaints.find_complaint(number)
    except NotFound:
        abort(404)
    return verify_on_own_url(
        complaint.parcel,
        about=_("Case %(case)s", case=number),
        default_next=url_for(".case", case=number),
    )


@bp.get("/c/<case>/photos/<int:photo_id>")
def photo(case: str, photo_id: int):
    """The photo, to the customer who verified the parcel or a logged-in agent; anyone else
    gets the same 404 as for a photo that doesn't exist."""
    try:
        complaint = complaints.find_complaint(case)
        found = complaints.find_photo(complaint, photo_id)
    except NotFound:
        abort(404)
    allowed = is_verified(complaint.parcel_id) or complaints.is_agent(
        current_user._get_current_object()
    )
    if not allowed:
        abort(404)
    try:
        data = get_storage().open(found.storage_key)
    except StoredFileMissing:
        current_app.logger.error("photo %s of a case is missing from storage", found.id)
        abort(404)
    response = current_app.response_class(data, mimetype=found.content_type)
    no_store(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    name = f"{complaint.case_number}-{found.id}{EXTENSIONS.get(found.content_type, '')}"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _ask_for_photos_again(form: FlaskForm) -> None:
    # Browsers never fill a file input in again: say so when a refused form had photos.
    if form.errors and uploads_were_sent():
        form.photos.description = (
            _("Please choose your photos again.") + " " + str(form.photos.description)
        )


def uploads_were_sent() -> bool:
    return any(f.filename for f in request.files.getlist("photos"))
