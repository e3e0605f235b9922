"""Agents' pages: the search box, the parcel console and its actions, the queues, the audit log.

Actions are small forms (console_forms.py, CSRF-checked) that call one function in
portal/admin/services/console.py each, then redirect back to the console (Post/Redirect/Get); a
refusal re-renders the console with the error next to the form that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.admin import agent, bp, console_forms
from portal.admin.audit_labels import action_labels
from portal.admin.console_forms import drawn
from portal.admin.labels import label
from portal.admin.services import console, queues
from portal.admin.services.parcel_console import parcel_console
from portal.admin.services.search import search
from portal.csvexport import download
from portal.delivery.forms import FORMS as CHOICE_FORMS
from portal.delivery.forms import blank_forms, error_field
from portal.extensions import db, get_by_id
from portal.forms import (
    Form,
    discard_writes,
    has_control_characters,
    page_write,
    refuse,
    status_of,
)
from portal.models import (
    Account,
    Channel,
    Complaint,
    InboundMessage,
    Parcel,
    Return,
    ReturnMethod,
    Role,
)
from portal.returns.forms import METHOD_HINTS, return_error_field, return_form
from portal.services import delivery, delivery_options
from portal.services import returns as return_rules
from portal.services.accounts import EMAIL_MAX
from portal.services.audit import ACTIONS, CSV_COLUMNS, AuditFilter, csv_rows, entries
from portal.services.errors import DomainError
from portal.services.parcels import AmbiguousTrackingNumber, find_parcel
from portal.services.returns import returns_for


@bp.get("/")
def home():
    query = request.args.get("q", "")
    if has_control_characters(query):
        query = ""
    result = search(query) if query.strip() else None
    if result is not None and result.exact and request.args.get("go") != "list":
        return redirect(url_for(".parcel", tn=result.exact))
    return render_template("admin/home.html", query=query, result=result)


def _chosen() -> list[int]:
    """The parcel an agent picked with `?id=` where more than one parcel has the number."""
    raw = request.args.get("id", "")
    return [int(raw)] if raw.isascii() and raw.isdigit() and len(raw) < 10 else []


def _parcel(tn: str) -> Parcel:
    """The parcel an agent opened by its number; where two merchants' parcels share it, the
    one `?id=` names, else a page to choose from (nothing is done to either meanwhile)."""
    try:
        p = find_parcel(tn, chosen=_chosen())
    except AmbiguousTrackingNumber as exc:
        html = render_template("admin/parcel_choice.html", parcels=exc.parcels)
        abort(current_app.make_response((html, 200 if request.method == "GET" else 409)))
    except DomainError:
        abort(404)
    g.console_parcel = p
    return p


@bp.url_defaults
def _keep_the_choice(endpoint: str, values: dict) -> None:
    """Links and forms of a console opened with `?id=` keep it, so every action under a shared
    number acts on the parcel the agent chose."""
    p = g.get("console_parcel")
    if p is None or not _chosen():
        return
    if p.tracking_number in (values.get("tn"), values.get("parcel")):
        values.setdefault("id", p.id)


def _console(
    parcel: Parcel,
    *,
    errors: dict | None = None,
    status: int = 200,
    refused: Form | None = None,
):
    """The console; after a refusal (`errors` by section, `refused` the form posted) that
    form is drawn again with what was typed, the others afresh."""
    context = parcel_console(parcel)
    for case in context["cases"]:  # the next statuses by name; the values stay their codes
        case["status_choices"] = [
            (code, label("complaint_status", code)) for code in case["transitions"]
        ]
    staff = (
        db.session.execute(
            select(Account)
            .where(Account.role.in_((Role.AGENT, Role.SUPERVISOR)), Account.active.is_(True))
            .order_by(Account.name)
        )
        .scalars()
        .all()
    )
    errors = errors or {}

    def draw(form_class: type[Form], key: str, row: int | None = None, **data) -> Form:
        # A form of hidden ids only (Resend, Mark read: one per row under one error key) has
        # nothing typed to keep: refilled from the post, every row's button would repeat it.
        typed = refused is not None and any(
            f.type != "HiddenField" for f in refused if f.name != "csrf_token"
        )
        again = typed and type(refused) is form_class and key in errors
        return drawn(form_class, row, posted=request.form if again else None, **data)

    html = render_template(
        "admin/parcel.html",
        **context,
        staff=staff,
        assignees=[
            SelectChoice("", _("Nobody")),
            *(SelectChoice(str(a.id), f"{a.name} ({a.email})") for a in staff),
        ],
        errors=errors,
        draw=draw,
        forms=console_forms,
        actions=action_labels(),
        photos_asked=_in_customer_language(parcel, console_forms.PHOTOS_ASKED),
    )
    return current_app.make_response((html, status))


def _in_customer_language(parcel: Parcel, text) -> str:
    """Text the agent sends on to the customer, pre-filled in the parcel's language (where the
    console's catalogue has it; English otherwise), not the agent's."""
    with force_locale(parcel.language):
        return str(text)


@bp.get("/parcels/<tn>")
def parcel(tn: str):
    p = _parcel(tn)
    if p.tracking_number != tn:
        return redirect(url_for(".parcel", tn=p.tracking_number), 301)
    return _console(p)


def _act(tn: str, key: str, form: Form, do: Callable[[Parcel], str], anchor: str):
    """Run one console action: go back with its confirmation (`page_write` commits), or show
    why not on the console as it is, next to the form that caused it."""
    p = _parcel(tn)
    if not form.validate_on_submit():  # only special characters fail here; the rules are below
        message = next(e for errs in form.errors.values() for e in errs)
        return _console(p, errors={key: message}, status=422, refused=form)
    try:
        done = do(p)
    except DomainError as exc:
        discard_writes()
        p = _parcel(tn)
        return _console(p, errors={key: exc.message}, status=status_of(exc), refused=form)
    flash(done, "success")
    return redirect(url_for(".parcel", tn=p.tracking_number, _anchor=anchor), 303)


def _int(value: str | None, field: str) -> int:
    if value and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    raise DomainError(_("Choose one."), field=field)


def _return(p: Parcel, raw_id: str | None, form_key: str) -> Return:
    ret = get_by_id(Return, _int(raw_id, form_key))
    if ret is None or ret.id not in {r.id for r in returns_for(p.id)}:
        raise DomainError(_("This parcel has no such return."), field=form_key)
    return ret


def _complaint(p: Parcel, raw_id: str | None) -> Complaint:
    complaint = get_by_id(Complaint, _int(raw_id, "complaint"))
    if complaint is None or complaint.parcel_id != p.id:
        raise DomainError(_("This parcel has no such case."), field="complaint")
    return complaint


@bp.post("/parcels/<tn>/notifications/resend")
@page_write
def resend(tn: str):
    form = console_forms.ResendForm()

    def do(p: Parcel) -> str:
        nid = _int(form.notification_id.data, "notification")
        row = console.resend_notification(agent(), p, nid)
        if row.channel is Channel.SMS:
            return _("The SMS message is queued again.")
        return _("The e-mail message is queued again.")

    return _act(tn, "notifications", form, do, "notifications")


@bp.post("/parcels/<tn>/inbound/read")
@page_write
def inbound_read(tn: str):
    form = console_forms.InboundReadForm()

    def do(p: Parcel) -> str:
        message = get_by_id(InboundMessage, _int(form.inbound_id.data, "inbound"))
        if message is None or not console.reply_is_about(message, p):
            raise DomainError(_("This parcel has no such reply."), field="inbound")
        console.mark_inbound_read(agent(), message)
        return _("Marked read.")

    return _act(tn, "inbound", form, do, "replies")


@bp.post("/parcels/<tn>/hold")
@page_write
def hold(tn: str):
    form = console_forms.HoldForm()

    def do(p: Parcel) -> str:
        if form.release.data:
            console.release(agent(), p)
            return _("The hold is released.")
        console.hold(agent(), p, form.reason.data or "")
        return _("The parcel is on hold.")

    return _act(tn, "hold", form, do, "actions")


@bp.post("/parcels/<tn>/returns/decide")
@page_write
def decide_return(tn: str):
    form = console_forms.DecideReturnForm()

    def do(p: Parcel) -> str:
        ret = _return(p, form.return_id.data, "return")
        approve = form.decision.data == "approve"
        if form.decision.data not in ("approve", "reject"):
            raise DomainError(_("Approve or reject."), field="decision")
        console.decide_return(agent(), ret, approve=approve, reason=form.reason.data)
        if approve:
            return _("Return %(rma)s approved; the customer is told.", rma=ret.rma)
        return _("Return %(rma)s rejected; the customer is told.", rma=ret.rma)

    return _act(tn, f"return-{form.return_id.data or ''}", form, do, "returns")


@bp.post("/parcels/<tn>/returns/refund")
@page_write
def refund_return(tn: str):
    form = console_forms.RefundForm()

    def do(p: Parcel) -> str:
        ret = _return(p, form.return_id.data, "return")
        console.refund_return(agent(), ret, form.amount.data or "")
        return _("Return %(rma)s marked refunded; the customer is told.", rma=ret.rma)

    return _act(tn, f"return-{form.return_id.data or ''}", form, do, "returns")


@bp.post("/parcels/<tn>/complaints/<action>")
@page_write
def complaint_action(tn: str, action: str):
    if action not in console_forms.COMPLAINT_FORMS:
        abort(404)
    form = console_forms.COMPLAINT_FORMS[action]()

    def do(p: Parcel) -> str:
        complaint = _complaint(p, form.complaint_id.data)
        if isinstance(form, console_forms.AssignForm):
            raw = form.assignee.data or ""
            console.assign_complaint(agent(), complaint, _int(raw, "assignee") if raw else None)
            return _("Case %(case)s assigned.", case=complaint.case_number)
        if isinstance(form, console_forms.ComplaintStatusForm):
            console.complaint_status(
                agent(),
                complaint,
                form.status.data or "",
                message=form.message.data,
                resolution=form.resolution.data or None,
                amount=form.amount.data or None,
            )
            return _(
                "Case %(case)s is now %(status)s; the customer is told.",
                case=complaint.case_number,
                status=label("complaint_status", complaint.status),
            )
        if isinstance(form, console_forms.ComplaintMessageForm):
            console.message_customer(agent(), complaint, form.message.data or "")
            return _("Message sent to the customer.")
        console.ask_for_photos(agent(), complaint, form.message.data or "")
        return _("Asked the customer for photos.")

    return _act(tn, f"complaint-{form.complaint_id.data or ''}", form, do, "complaints")


@bp.post("/parcels/<tn>/notes")
@page_write
def add_note(tn: str):
    form = console_forms.NoteForm()

    def do(p: Parcel) -> str:
        console.add_note(agent(), p, form.body.data or "")
        return _("Note added.")

    return _act(tn, "note", form, do, "notes")


# --- a return on the recipient's behalf ------------------------------------------------------


@bp.route("/parcels/<tn>/return", methods=["GET", "POST"])
@page_write
def start_return(tn: str):
    p = _parcel(tn)
    available = return_rules.returnable(p)
    slots = (
        return_rules.pickup_slots(p) if ReturnMethod.HOME_PICKUP in available.policy.methods else []
    )
    form = return_form(available, slots)
    status = 200
    if request.method == "POST" and available.open:
        if form.validate_on_submit():
            wanted = form.request()
            try:
                ret = console.open_return_for(agent(), p, wanted)
            except DomainError as exc:
                status = refuse(form, exc, return_error_field(exc, wanted))
            else:
                flash(
                    _(
                        "Return %(rma)s started (%(status)s); the customer is told.",
                        rma=ret.rma,
                        status=label("return_status", ret.status),
                    ),
                    "success",
                )
                return redirect(url_for(".parcel", tn=p.tracking_number, _anchor="returns"), 303)
        else:
            status = 422
    html = render_template(
        "admin/return.html",
        parcel=p,
        available=available,
        form=form,
        slots=slots,
        hints=METHOD_HINTS,
    )
    return current_app.make_response((html, status))


# --- delivery on the recipient's behalf ------------------------------------------------------


@bp.route("/parcels/<tn>/delivery", methods=["GET", "POST"])
@page_write
def change_delivery(tn: str):
    """The recipient's delivery choices (the customer page's forms) made on their behalf."""
    p = _parcel(tn)
    forms = blank_forms()
    status = 200
    error, kind = None, ""
    if request.method == "POST":
        kind = request.form.get("choice", "")
        if kind not in CHOICE_FORMS:
            abort(400)
        form = CHOICE_FORMS[kind]()
        forms = {**forms, kind: form}
        status = 422
        if form.validate_on_submit():
            try:
                choice = console.change_delivery(agent(), p, form.request())
            except DomainError as exc:
                status = refuse(form, exc, error_field(kind, exc))
                p = _parcel(tn)
            else:
                flash(
                    _(
                        "Delivery changed to %(choice)s; the recipient is told.",
                        choice=delivery.describe(choice, p.time_zone),
                    ),
                    "success",
                )
                return redirect(url_for(".parcel", tn=p.tracking_number, _anchor="delivery"), 303)
        error = next(iter(e for errs in form.errors.values() for e in errs), _("Check the form."))
    supervisor = agent().role is Role.SUPERVISOR
    now = datetime.now(UTC)
    window = delivery.change_window(p, now)
    options = delivery_options.for_parcel(p, now, past_cutoff=supervisor)
    current = delivery.current_choice(p)
    # A refusal shows at the form it is about; when that form is no longer drawn (the last
    # slot or point gone meanwhile), above the choices, so the reason is never lost.
    refused_drawn = bool(
        error and options and options.window.open and _section(kind) in options.sections()
    )
    html = render_template(
        "admin/delivery.html",
        parcel=p,
        window=window,
        options=options,
        current=current,
        current_text=delivery.describe(current, p.time_zone) if current else None,
        forms=forms,
        error=error,
        error_above=error is not None and not refused_drawn,
        supervisor=supervisor,
    )
    return current_app.make_response((html, status))


def _section(kind: str) -> str:
    """The section of the delivery page that draws the form of this kind of choice."""
    return {"slot": "slots", "pickup_point": "pickup_points"}.get(kind, kind)


# --- queues ----------------------------------------------------------------------------------


@bp.get("/queues", endpoint="queues")
def queues_page():
    now = datetime.now(UTC)
    return render_template("admin/queues.html", queues=queues.all_queues(now), now=now)


# --- audit log -------------------------------------------------------------------------------


def _audit_filter() -> tuple[AuditFilter, dict[str, str]]:
    """The log's filters from the query string; errors by field for what doesn't parse."""
    args, errors = request.args, {}
    f = AuditFilter(action=args.get("action") if args.get("action") in ACTIONS else None)
    if args.get("agent"):
        email = args["agent"].strip().lower()
        # An address no account can have is no match, without asking the database.
        account = (
            db.session.execute(select(Account).where(Account.email == email)).scalar_one_or_none()
            if len(email) <= EMAIL_MAX and not has_control_characters(email)
            else None
        )
        if account is None:
            errors["agent"] = _("No account has this e-mail.")
        else:
            f.account_id = account.id
    if args.get("parcel"):
        try:
            f.parcel_id = find_parcel(args["parcel"], chosen=_chosen()).id
        except AmbiguousTrackingNumber:
            errors["parcel"] = _(
                "More than one parcel has this number: open the log from the parcel's page."
            )
        except DomainError as exc:
            errors["parcel"] = exc.message
    for name in ("from", "to"):
        raw = args.get(name, "")
        if not raw:
            continue
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            errors[name] = _("Give the date as YYYY-MM-DD.")
            continue
        if not 2000 <= day.year <= 2099:
            errors[name] = _("Give a date between 2000 and 2099.")
            continue
        if name == "from":
            f.since = day
        else:
            f.until = day + timedelta(days=1)
    return f, errors


@bp.get("/audit")
def audit():
    f, errors = _audit_filter()
    rows = [] if errors else entries(f, limit=200)
    accounts = db.session.execute(select(Account).order_by(Account.email)).scalars().all()
    html = render_template(
        "admin/audit.html",
        rows=rows,
        errors=errors,
        args=request.args,
        actions=action_labels(),
        accounts=accounts,
    )
    return current_app.make_response((html, 422 if errors else 200))


@bp.get("/audit.csv")
def audit_csv():
    f, errors = _audit_filter()
    if errors:
        abort(422)
    return download("audit-log.csv", CSV_COLUMNS, csv_rows(f))
