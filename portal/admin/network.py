"""`/admin/network`: supervisors run the delivery network: zones (prefixes, closed days), slot
templates and dated slots, pickup points and lockers, carriers, file imports and exports.

Views only parse forms and show what services/network/console/ decides: a closure with
bookings first lists them for confirmation (ConfirmationNeeded), a save based on an old version
is refused with what changed (EditConflict). Every successful form redirects (Post/Redirect/Get).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from portal.admin import agent, bp, supervisor_only
from portal.admin.network_forms import (
    KIND_LABELS,
    ActionForm,
    CarrierForm,
    ClosedDayForm,
    ImportForm,
    PointCloseForm,
    PointForm,
    PrefixForm,
    SlotCloseForm,
    TemplateEditForm,
    TemplateForm,
    VersionForm,
    ZoneForm,
)
from portal.admin.text import lazy_gettext as _l
from portal.extensions import MAX_ID
from portal.forms import ABOVE, Form, discard_writes, page_write, refuse
from portal.localtime import zone_of
from portal.models.types import utcnow
from portal.models.zone import DEFAULT_CUTOFF
from portal.security import no_store
from portal.services.errors import DomainError, NotFound
from portal.services.network import console, imports
from portal.services.network.console import (
    ConfirmationNeeded,
    EditConflict,
    points,
    slots,
    uploads,
    zones,
)
from portal.transactions import after_commit


def _day(day: date) -> str:
    """`Monday 2026-11-30`, the weekday in the console's language."""
    return format_date(day, "EEEE yyyy-MM-dd")


def _short_day(day: date) -> str:
    """`Mon 2026-11-30`, the weekday in the console's language."""
    return format_date(day, "EEE yyyy-MM-dd")


# The session key of the file waiting between preview and apply.
STAGED = "network_import"
SLOT_DAYS_MAX = 60
# An import's counts, as its flash names them.
COUNT_WORDS = {
    "created": _l("created"),
    "updated": _l("updated"),
    "unchanged": _l("unchanged"),
    "closed": _l("closed"),
}


def _page(page: str, status: int = 200, **context) -> Response:
    html = render_template(f"admin/network_{page}.html", **context)
    return no_store(current_app.make_response((html, status)))


def _found(find: Callable[[int], Any], ident: int) -> Any:
    try:
        return find(ident)
    except NotFound:
        abort(404)


@dataclass(frozen=True)
class Confirm:
    """How the confirmation step reads: its heading, the button, and where Cancel goes."""

    title: str
    button: str
    back: str


def _submit(
    form: Form,
    apply: Callable[[], Any],
    *,
    done: Callable[[Any], str],
    to: Callable[[Any], str],
    again: Callable[[], Response],
    confirm: Confirm | None = None,
) -> Response:
    """Validate, apply and redirect (303, which `page_write` commits) with `done(result)`
    flashed; or draw the page again (`again`, 422) with the refusal in place and nothing
    saved. A closure with bookings answers with the list to confirm instead; a conflict keeps
    the supervisor's values and takes the row's version now, so saving again is a decision
    made knowing what changed."""
    status = 422
    if form.validate_on_submit():
        try:
            result = apply()
        except NotFound:
            abort(404)
        except ConfirmationNeeded as exc:
            discard_writes()  # the confirmation step is a page (200): nothing may be saved
            assert confirm is not None, "a closure needs its confirmation step"
            return _confirmation(form, exc, confirm)
        except EditConflict as exc:
            refuse(form, exc, ABOVE)
            version = getattr(form, "version", None)
            if version is not None:
                version.data, version.raw_data = exc.version, [str(exc.version)]
            status = 409
        except DomainError as exc:
            refuse(form, exc)  # 422 whatever its kind: the form is what to change
        else:
            flash(str(done(result)), "success")
            return redirect(to(result), 303)
    response = again()
    response.status_code = status
    return response


def _confirmation(form: Form, exc: ConfirmationNeeded, confirm: Confirm) -> Response:
    """The affected parcels, and the same form again as hidden fields with what was seen."""
    form.confirmed.data = ",".join(str(b.choice_id) for b in exc.affected)
    hidden = [
        (f.name, f._value())
        for f in form
        if f.name not in ("csrf_token", "confirmed") and f._value() not in (None, "")
    ]
    return _page(
        "confirm",
        confirm=confirm,
        message=exc.message,
        reason=form.reason.data if hasattr(form, "reason") else None,
        affected=exc.affected,
        form=form,
        hidden=hidden,
        action=request.path,
    )


def _today() -> date:
    return datetime.now(zone_of(None)).date()


# --- zones -----------------------------------------------------------------------------------


@bp.get("/network", endpoint="network")
@supervisor_only
def network_zones():
    return _page("zones", rows=zones.list_zones(utcnow()))


@bp.route("/network/zones/new", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_zone_new():
    if request.method == "GET":
        form = ZoneForm(
            formdata=None, country="SE", time_zone="Europe/Stockholm", cutoff=DEFAULT_CUTOFF
        )
        return _page("zone_new", form=form)
    form = ZoneForm()
    return _submit(
        form,
        lambda: zones.create_zone(agent(), form.values()),
        done=lambda z: _("Added the zone %(zone)s: now give it postcode prefixes.", zone=z.name),
        to=lambda z: url_for(".network_zone", zone_id=z.id, _anchor="prefixes"),
        again=lambda: _page("zone_new", form=form),
    )


@bp.route("/network/zones/<int:zone_id>", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_zone(zone_id: int):
    zone = _found(zones.find_zone, zone_id)
    if request.method == "GET":
        return _zone_page(zone)
    form = ZoneForm()
    return _submit(
        form,
        lambda: zones.update_zone(agent(), zone, form.version.data, form.values()),
        done=lambda changed: _("Saved the zone.") if changed else _("Nothing changed."),
        to=lambda _result: url_for(".network_zone", zone_id=zone.id),
        again=lambda: _zone_page(zone, details=form),
    )


def _zone_page(zone, **overrides) -> Response:
    today = console.zone_today(zone)
    forms = {
        "details": ZoneForm.of(zones.zone_values(zone), zone.version),
        "prefix": PrefixForm(formdata=None),
        "closed_day": ClosedDayForm(formdata=None),
        "action": ActionForm(formdata=None),
    }
    forms.update(overrides)
    return _page(
        "zone",
        zone=zone,
        prefixes=sorted(zone.prefixes, key=lambda p: p.prefix),
        closed_days=zones.closed_days_of(zone, today),
        holidays=zones.holidays_ahead(zone, today),
        **forms,
    )


@bp.post("/network/zones/<int:zone_id>/prefixes")
@supervisor_only
@page_write
def network_prefix_add(zone_id: int):
    zone = _found(zones.find_zone, zone_id)
    form = PrefixForm()
    return _submit(
        form,
        lambda: zones.add_prefix(
            agent(), zone, form.prefix.data, form.latitude.data, form.longitude.data
        ),
        done=lambda p: _("Added %(prefix)s to %(zone)s.", prefix=p.prefix, zone=zone.name),
        to=lambda _result: url_for(".network_zone", zone_id=zone.id, _anchor="prefixes"),
        again=lambda: _zone_page(zone, prefix=form),
    )


@bp.post("/network/zones/<int:zone_id>/prefixes/<int:prefix_id>/remove")
@supervisor_only
@page_write
def network_prefix_remove(zone_id: int, prefix_id: int):
    zone = _found(zones.find_zone, zone_id)
    form = ActionForm()
    return _submit(
        form,
        lambda: zones.remove_prefix(agent(), zone, prefix_id),
        done=lambda code: _(
            "Removed %(prefix)s from %(zone)s. Parcels already created keep their zone.",
            prefix=code,
            zone=zone.name,
        ),
        to=lambda _result: url_for(".network_zone", zone_id=zone.id, _anchor="prefixes"),
        again=lambda: _zone_page(zone, action=form),
    )


@bp.post("/network/zones/<int:zone_id>/closed-days")
@supervisor_only
@page_write
def network_day_close(zone_id: int):
    zone = _found(zones.find_zone, zone_id)
    form = ClosedDayForm()
    day = form.day.data
    return _submit(
        form,
        lambda: zones.close_day(
            agent(), zone, form.day.data, form.reason.data, confirmed=form.confirmed_ids()
        ),
        done=lambda booked: (
            _("Closed %(zone)s on %(day)s.", zone=zone.name, day=_day(form.day.data))
            + _told(booked)
        ),
        to=lambda _result: url_for(".network_zone", zone_id=zone.id, _anchor="closed-days"),
        again=lambda: _zone_page(zone, closed_day=form),
        confirm=Confirm(
            _("Close %(zone)s on %(day)s?", zone=zone.name, day=_day(day))
            if day
            else _("Close %(zone)s?", zone=zone.name),
            _("Close the day and tell the recipients"),
            url_for(".network_zone", zone_id=zone.id, _anchor="closed-days"),
        ),
    )


def _told(booked: list) -> str:
    return _told_count(len(booked))


def _told_count(n: int) -> str:
    if not n:
        return ""
    return " " + ngettext(
        "%(num)d booking was withdrawn and the recipients told.",
        "%(num)d bookings were withdrawn and the recipients told.",
        n,
    )


@bp.post("/network/zones/<int:zone_id>/closed-days/<int:day_id>/remove")
@supervisor_only
@page_write
def network_day_reopen(zone_id: int, day_id: int):
    zone = _found(zones.find_zone, zone_id)
    form = ActionForm()
    return _submit(
        form,
        lambda: zones.reopen_day(agent(), zone, day_id),
        done=lambda day: _("%(zone)s delivers on %(day)s again.", zone=zone.name, day=_day(day)),
        to=lambda _result: url_for(".network_zone", zone_id=zone.id, _anchor="closed-days"),
        again=lambda: _zone_page(zone, action=form),
    )


# --- slot templates --------------------------------------------------------------------------


@bp.route("/network/zones/<int:zone_id>/templates", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_templates(zone_id: int):
    zone = _found(zones.find_zone, zone_id)
    if request.method == "GET":
        return _templates_page(zone, TemplateForm(formdata=None))
    form = TemplateForm()
    return _submit(
        form,
        lambda: slots.add_template(agent(), zone, form.values()),
        done=lambda t: _(
            "Added %(weekday)s %(window)s; its slots for the next %(days)s days are made.",
            weekday=console.WEEKDAYS[t.weekday],
            window=f"{t.start_time:%H:%M}-{t.end_time:%H:%M}",
            days=current_app.config["DELIVERY_DAYS_AHEAD"],
        ),
        to=lambda _result: url_for(".network_templates", zone_id=zone.id),
        again=lambda: _templates_page(zone, form),
    )


def _templates_page(zone, form: TemplateForm) -> Response:
    return _page("templates", zone=zone, templates=slots.templates_of(zone), form=form)


@bp.route("/network/templates/<int:template_id>", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_template(template_id: int):
    template = _found(slots.find_template, template_id)
    if request.method == "GET":
        return _template_page(template)
    form = TemplateEditForm()
    return _submit(
        form,
        lambda: slots.update_template(
            agent(), template, form.version.data, form.end_time.data, form.capacity.data
        ),
        done=_template_saved,
        to=lambda _result: url_for(".network_template", template_id=template.id),
        again=lambda: _template_page(template, form=form),
    )


def _template_saved(saved: slots.TemplateSaved) -> str:
    if not saved.changed:
        return _("Nothing changed.")
    text = _("Saved. %(n)s future slots follow the template.", n=saved.slots_changed)
    if saved.over:
        days = ", ".join(_("%(day)s (%(n)s booked)", day=_short_day(d), n=n) for d, n in saved.over)
        text += " " + _(
            "These keep all their bookings, more than the new capacity: %(days)s.", days=days
        )
    return text


def _template_page(template, **overrides) -> Response:
    forms = {
        "form": TemplateEditForm.of(template.end_time, template.capacity, template.version),
        "remove": VersionForm(formdata=None, version=template.version),
    }
    forms.update(overrides)
    return _page(
        "template",
        template=template,
        zone=template.zone,
        slots=slots.future_slots_of(template),
        **forms,
    )


@bp.post("/network/templates/<int:template_id>/remove")
@supervisor_only
@page_write
def network_template_remove(template_id: int):
    template = _found(slots.find_template, template_id)
    zone_id = template.zone_id
    form = VersionForm()
    return _submit(
        form,
        lambda: slots.remove_template(agent(), template, form.version.data),
        done=lambda r: _(
            "Removed the template: %(removed)s future slots nobody booked are gone; "
            "%(kept)s booked ones stay with their bookings.",
            removed=r.slots_removed,
            kept=r.slots_kept,
        ),
        to=lambda _result: url_for(".network_templates", zone_id=zone_id),
        again=lambda: _template_page(template, remove=form),
    )


# --- dated slots -----------------------------------------------------------------------------


@bp.get("/network/zones/<int:zone_id>/slots")
@supervisor_only
def network_slots(zone_id: int):
    zone = _found(zones.find_zone, zone_id)
    return _slots_page(zone)


def _days_shown() -> int:
    days = request.args.get("days", type=int) or current_app.config["DELIVERY_DAYS_AHEAD"]
    return min(max(days, 1), SLOT_DAYS_MAX)


def _slots_page(zone, **overrides) -> Response:
    days = _days_shown()
    forms = {"close": SlotCloseForm(formdata=None), "action": ActionForm(formdata=None)}
    forms.update(overrides)
    return _page(
        "slots",
        zone=zone,
        days=days,
        slot_days=slots.zone_slots(zone, console.zone_today(zone), days),
        vehicles=console.VEHICLES,
        tz=zone_of(zone.time_zone),
        **forms,
    )


def _slot(slot_id: int):
    return _found(slots.find_slot, slot_id)


@bp.post("/network/slots/<int:slot_id>/close")
@supervisor_only
@page_write
def network_slot_close(slot_id: int):
    slot = _slot(slot_id)
    zone = slot.zone
    form = SlotCloseForm()
    back = url_for(".network_slots", zone_id=zone.id, _anchor=f"slot-{slot.id}")
    text = slots.slot_text(slot, shown=True)
    return _submit(
        form,
        lambda: slots.close_slot(agent(), slot, form.reason.data, confirmed=form.confirmed_ids()),
        done=lambda booked: _("Closed %(slot)s.", slot=text) + _told(booked),
        to=lambda _result: back,
        again=lambda: _slots_page(zone, close=form, failed=slot.id),
        confirm=Confirm(
            _("Close %(slot)s?", slot=text), _("Close the slot and tell the recipients"), back
        ),
    )


@bp.post("/network/slots/<int:slot_id>/reopen")
@supervisor_only
@page_write
def network_slot_reopen(slot_id: int):
    slot = _slot(slot_id)
    zone = slot.zone
    form = ActionForm()
    return _submit(
        form,
        lambda: slots.reopen_slot(agent(), slot),
        done=lambda _result: _("Reopened %(slot)s.", slot=slots.slot_text(slot, shown=True)),
        to=lambda _result: url_for(".network_slots", zone_id=zone.id, _anchor=f"slot-{slot.id}"),
        again=lambda: _slots_page(zone, action=form),
    )


# --- pickup points ---------------------------------------------------------------------------


def _arg_id(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 1 <= value <= MAX_ID else None


@bp.get("/network/points")
@supervisor_only
def network_points():
    state = request.args.get("state", "")
    f = points.PointFilter(
        carrier_id=_arg_id("carrier"),
        zone_id=_arg_id("zone"),
        state=state if state in ("open", "closed") else "",
        q=request.args.get("q", "")[:120],
    )
    page = points.list_points(f, _today(), page=request.args.get("page", 1, type=int))
    now = utcnow()
    args = {k: v for k, v in request.args.items() if k in ("carrier", "zone", "state", "q") and v}
    return _page(
        "points",
        f=f,
        result=page,
        summaries={p.id: points.hours_summary(p, now) for p in page.points},
        carriers=points.all_carriers(),
        zones=zones.all_zones(),
        args=args,
        today=_today(),
    )


@bp.route("/network/points/new", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_point_new():
    carriers = points.all_carriers()
    if request.method == "GET":
        form = PointForm(formdata=None, country="SE").with_carriers(carriers)
        return _page("point_new", form=form)
    form = PointForm().with_carriers(carriers)
    return _submit(
        form,
        lambda: points.create_point(agent(), form.values()),
        done=lambda p: (
            _("Added %(name)s.", name=p.name)
            + (
                ""
                if p.zone_id
                else " " + _("Its postcode is in no zone yet: no parcel is offered it.")
            )
        ),
        to=lambda p: url_for(".network_point", point_id=p.id),
        again=lambda: _page("point_new", form=form),
    )


@bp.route("/network/points/<int:point_id>", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_point(point_id: int):
    point = _found(points.find_point, point_id)
    if request.method == "GET":
        return _point_page(point)
    form = PointForm().with_carriers(points.all_carriers())
    return _submit(
        form,
        lambda: points.update_point(agent(), point, form.version.data, form.values()),
        done=lambda changed: _("Saved the point.") if changed else _("Nothing changed."),
        to=lambda _result: url_for(".network_point", point_id=point.id),
        again=lambda: _point_page(point, form=form),
    )


def _point_page(point, **overrides) -> Response:
    forms = {
        "form": PointForm.of(points.point_values(point), point.version).with_carriers(
            points.all_carriers()
        ),
        "close": PointCloseForm(formdata=None, closed_from=_today()),
        "action": ActionForm(formdata=None),
    }
    forms.update(overrides)
    return _page(
        "point",
        point=point,
        summary=points.hours_summary(point, utcnow()),
        today=_today(),
        **forms,
    )


@bp.post("/network/points/<int:point_id>/close")
@supervisor_only
@page_write
def network_point_close(point_id: int):
    point = _found(points.find_point, point_id)
    form = PointCloseForm()
    start, end = form.closed_from.data, form.closed_until.data
    if not start:
        period = ""
    elif end:
        period = _("from %(start)s to %(end)s", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")
    else:
        period = _("from %(start)s for good", start=f"{start:%Y-%m-%d}")
    back = url_for(".network_point", point_id=point.id)
    return _submit(
        form,
        lambda: points.close_point(
            agent(),
            point,
            form.closed_from.data,
            form.closed_until.data,
            form.reason.data,
            confirmed=form.confirmed_ids(),
        ),
        done=lambda booked: (
            _("Closed %(point)s %(period)s.", point=point.name, period=period) + _told(booked)
        ),
        to=lambda _result: back,
        again=lambda: _point_page(point, close=form),
        confirm=Confirm(
            _("Close %(point)s %(period)s?", point=point.name, period=period),
            _("Close it and tell the recipients"),
            back,
        ),
    )


@bp.post("/network/points/<int:point_id>/reopen")
@supervisor_only
@page_write
def network_point_reopen(point_id: int):
    point = _found(points.find_point, point_id)
    form = ActionForm()
    return _submit(
        form,
        lambda: points.reopen_point(agent(), point),
        done=lambda _result: _("%(point)s is open again.", point=point.name),
        to=lambda _result: url_for(".network_point", point_id=point.id),
        again=lambda: _point_page(point, action=form),
    )


# --- carriers --------------------------------------------------------------------------------


@bp.route("/network/carriers", methods=["GET", "POST"])
@supervisor_only
@page_write
def network_carriers():
    if request.method == "GET":
        return _page("carriers", rows=points.list_carriers(), form=CarrierForm(formdata=None))
    form = CarrierForm()
    return _submit(
        form,
        lambda: points.add_carrier(agent(), form.name.data),
        done=lambda c: _("Added the carrier %(carrier)s.", carrier=c.name),
        to=lambda _result: url_for(".network_carriers"),
        again=lambda: _page("carriers", rows=points.list_carriers(), form=form),
    )


# --- import and export -----------------------------------------------------------------------


@bp.route("/network/import", methods=["GET", "POST"])
@supervisor_only
def network_import():
    """Upload → preview (nothing written). The file waits on the server under a random key
    kept in this supervisor's signed session, so Apply imports exactly the previewed bytes."""
    if request.method == "GET":
        return _import_page(ImportForm(formdata=None))
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form, status=422)
    upload: FileStorage = form.file.data
    data, filename = upload.read(), upload.filename or ""
    kind, close_missing = form.kind.data, bool(form.close_missing.data)
    if kind not in uploads.KINDS:
        form.kind.errors = [_("Choose what the file holds.")]
        return _import_page(form, status=422)
    preview = uploads.preview_import(kind, data, filename, close_missing)
    discard_writes()  # the preview wrote nothing; end its read transaction
    _unstage()
    if not preview.ok:
        return _import_page(form, preview=preview, status=422)
    session[STAGED] = {
        "key": uploads.stage(data),
        "kind": kind,
        "filename": filename[:100],
        "close_missing": preview.close_missing,
        "signature": preview.signature,
    }
    return _import_page(form, preview=preview)


def _import_page(form: ImportForm, preview=None, status: int = 200) -> Response:
    return _page(
        "import",
        status,
        form=form,
        preview=preview,
        action=ActionForm(formdata=None),
        kinds=KIND_LABELS,
    )


def _unstage() -> None:
    staged = session.pop(STAGED, None)
    if isinstance(staged, dict):
        uploads.unstage(staged.get("key"))


@bp.post("/network/import/apply")
@supervisor_only
@page_write
def network_import_apply():
    form = ActionForm()
    staged = session.get(STAGED)
    data = uploads.staged(staged.get("key")) if isinstance(staged, dict) else None
    if not form.validate_on_submit() or data is None:
        flash(_("There is no previewed file to apply: upload it again."), "error")
        return redirect(url_for(".network_import"), 303)
    try:
        result = uploads.apply_import(
            agent(),
            staged["kind"],
            data,
            staged["filename"],
            staged["close_missing"],
            staged["signature"],
        )
    except uploads.PreviewOutdated as exc:
        discard_writes()
        return _apply_refused(staged, exc.message, exc.preview)
    except uploads.ImportRaced as exc:
        discard_writes()
        # Nothing was written: preview the file against the network as it is now.
        preview = uploads.preview_import(
            staged["kind"], data, staged["filename"], staged["close_missing"]
        )
        discard_writes()
        return _apply_refused(staged, exc.message, preview)
    # The file goes once the import is saved; should the commit fail, Apply can run again.
    after_commit(_unstage)
    counts = ", ".join(f"{n} {COUNT_WORDS.get(what, what)}" for what, n in result.counts.items())
    flash(
        _(
            "Imported %(file)s (%(kind)s): %(counts)s.",
            file=staged["filename"] or _("the file"),
            kind=KIND_LABELS[staged["kind"]],
            counts=counts,
        )
        + _told_count(result.affected_count),
        "success",
    )
    return redirect(url_for(".network_import"), 303)


def _apply_refused(staged: dict, message: str, preview: uploads.ImportPreview) -> Response:
    """The import page again (409) with why Apply did nothing and the file's preview now;
    Apply stands for that preview, or the file is dropped when it no longer reads."""
    if preview.ok:
        staged["signature"] = preview.signature
        session[STAGED] = staged
    else:
        _unstage()
    upload = ImportForm(formdata=None, kind=staged["kind"])
    upload.form_errors.append(message)
    return _import_page(upload, preview=preview, status=409)


@bp.post("/network/import/discard")
@supervisor_only
def network_import_discard():
    if ActionForm().validate_on_submit():
        _unstage()
        flash(_("Discarded the previewed file: nothing was imported."), "success")
    return redirect(url_for(".network_import"), 303)


EXPORT_NAMES = {"zones": "zones", "slots": "slot_templates", "pickup-points": "pickup_points"}


@bp.get('/network/export/<any(zones, slots, "pickup-points"):kind>.csv')
@supervisor_only
def network_export(kind: str):
    return _download(imports.export(kind), f"{EXPORT_NAMES[kind]}.csv", "text/csv")


@bp.get("/network/export/pickup-points.geojson")
@supervisor_only
def network_export_geojson():
    return _download(
        imports.export("pickup-points", "geojson"), "pickup_points.geojson", "application/geo+json"
    )


def _download(text: str, filename: str, mimetype: str) -> Response:
    response = current_app.response_class(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return no_store(response)
