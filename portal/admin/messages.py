"""`/admin/merchants/<id>/messages`: a merchant's own wording of each customer message, with a
live preview (htmx, or a Preview button without JavaScript) and a reset to the default.
Supervisors only."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from wtforms import StringField, TextAreaField

from portal.admin import agent, bp, supervisor_only
from portal.admin.text import lazy_gettext as _l
from portal.extensions import get_by_id
from portal.forms import discard_writes, page_write
from portal.models import Channel, Merchant
from portal.security import no_store
from portal.services.errors import NotFound
from portal.services.messages import TRIGGERS, context_keys
from portal.services.messages import overrides as templates

LANGUAGE_NAMES = {
    "en": _l("English"),
    "sv": _l("Swedish"),
    "nb": _l("Norwegian"),
    "da": _l("Danish"),
    "fi": _l("Finnish"),
}
CHANNEL_NAMES = {"sms": _l("SMS"), "email": _l("E-mail")}
# Each message by what it is about, in the console's language (the codes are TRIGGERS').
TRIGGER_NAMES = {
    "parcel_created": _l("Parcel created"),
    "out_for_delivery": _l("Out for delivery"),
    "delivery_failed": _l("Delivery failed"),
    "ready_for_pickup": _l("Ready for pickup"),
    "delayed": _l("Delayed"),
    "delivered": _l("Delivered"),
    "delivery_changed": _l("Delivery changed"),
    "choice_withdrawn": _l("Choice withdrawn"),
    "complaint_opened": _l("Complaint opened"),
    "complaint_updated": _l("Complaint updated"),
    "return_requested": _l("Return requested"),
    "return_approved": _l("Return approved"),
    "return_rejected": _l("Return rejected"),
    "return_dropped_off": _l("Return dropped off"),
    "return_received": _l("Return received"),
    "return_refunded": _l("Return refunded"),
}
PAGE = "admin/messages_edit.html"
# The HTML e-mail preview is a document of its own: its inline styles may apply, nothing runs,
# and only our own pages may frame it.
HTML_PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"), description=_l("One line; the e-mail's heading too."))
    body = TextAreaField(
        _l("Message"),
        description=_l("Text with variables such as {{ merchant }}; see the list below."),
    )


def trigger_name(trigger: str) -> str:
    known = TRIGGER_NAMES.get(trigger)
    return str(known) if known else trigger.replace("_", " ").capitalize()


def _merchant(merchant_id: int) -> Merchant:
    merchant = get_by_id(Merchant, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


def _target(merchant_id: int, trigger: str, channel: str, language: str):
    """The merchant and the current text of one message; 404 for a message that doesn't exist."""
    merchant = _merchant(merchant_id)
    try:
        source = templates.current_source(merchant, trigger, channel, language)
    except NotFound:
        abort(404)
    return merchant, source


def _urls(merchant: Merchant, trigger: str, channel: str, language: str) -> dict[str, str]:
    args = {"merchant_id": merchant.id, **_path(trigger, channel, language)}
    return {
        name: url_for(f".message_template{suffix}", **args)
        for name, suffix in (
            ("edit", ""),
            ("preview", "_preview"),
            ("reset", "_reset"),
            ("html", "_html"),
        )
    }


def _page(merchant, source, trigger, channel, language, form, result, *, block: str | None = None):
    # A failed check shows at its field as well as in the preview.
    for name, message in result.errors.items():
        field = getattr(form, name, None)
        if field is not None and message not in field.errors:
            field.errors = [*field.errors, message]
    context = {
        "merchant": merchant,
        "source": source,
        "trigger": trigger,
        "trigger_name": trigger_name(trigger),
        "channel": channel,
        "channel_name": str(CHANNEL_NAMES[channel]),
        "language": language,
        "language_name": str(LANGUAGE_NAMES.get(language, language)),
        "form": form,
        "result": result,
        "variables": sorted(context_keys(trigger, Channel(channel))),
        "urls": _urls(merchant, trigger, channel, language),
        "list_url": url_for(".message_templates", merchant_id=merchant.id),
    }
    if block:
        return render_block(PAGE, block, **context)
    return render_template(PAGE, **context)


def _draft(form: TemplateForm, channel: str) -> tuple[str | None, str]:
    subject = form.subject.data if channel == "email" else None
    return subject, form.body.data or ""


@bp.get("/merchants/<int:merchant_id>/messages")
@supervisor_only
def message_templates(merchant_id: int):
    merchant = _merchant(merchant_id)
    overrides = templates.overrides(merchant)
    languages = current_app.config["LANGUAGES"]
    rows = [
        (
            trigger,
            trigger_name(trigger),
            [
                (str(channel), language, overrides.get((trigger, str(channel), language)))
                for channel in templates.CHANNELS
                for language in languages
            ],
        )
        for trigger in TRIGGERS
    ]
    columns = [(str(c), language) for c in templates.CHANNELS for language in languages]
    page = render_template(
        "admin/messages.html",
        merchant=merchant,
        rows=rows,
        columns=columns,
        channel_names=CHANNEL_NAMES,
        language_names=LANGUAGE_NAMES,
        count=len(overrides),
    )
    return no_store(current_app.make_response(page))


@bp.route(
    "/merchants/<int:merchant_id>/messages/<trigger>/<channel>/<language>",
    methods=["GET", "POST"],
)
@supervisor_only
@page_write
def message_template(merchant_id: int, trigger: str, channel: str, language: str):
    merchant, source = _target(merchant_id, trigger, channel, language)
    if request.method == "GET":
        form = TemplateForm(data={"subject": source.subject, "body": source.body})
        result = templates.preview(merchant, trigger, channel, language, *_draft(form, channel))
        page = _page(merchant, source, trigger, channel, language, form, result)
        return no_store(current_app.make_response(page))

    form = TemplateForm()
    if not form.validate_on_submit():
        abort(400)  # only the CSRF token can fail: the service checks the text
    subject, body = _draft(form, channel)
    try:
        templates.save_override(merchant, trigger, channel, language, subject, body, agent())
    except templates.TemplateRefused as refused:
        discard_writes()  # the preview below shows the text as saved before
        result = templates.preview(merchant, trigger, channel, language, subject, body)
        result.errors = {**refused.errors, **result.errors}
        page = _page(merchant, source, trigger, channel, language, form, result)
        return no_store(current_app.make_response((page, 422)))
    flash(
        _(
            "Saved: %(merchant)s now sends its own %(message)s %(channel)s in %(language)s.",
            merchant=merchant.name,
            message=trigger_name(trigger).lower(),
            channel=CHANNEL_NAMES[channel],
            language=LANGUAGE_NAMES.get(language, language),
        ),
        "success",
    )
    return redirect(
        url_for(".message_template", merchant_id=merchant.id, **_path(trigger, channel, language)),
        303,
    )


def _path(trigger: str, channel: str, language: str) -> dict[str, str]:
    return {"trigger": trigger, "channel": channel, "language": language}


@bp.post("/merchants/<int:merchant_id>/messages/<trigger>/<channel>/<language>/preview")
@supervisor_only
def message_template_preview(merchant_id: int, trigger: str, channel: str, language: str):
    """The preview of the text as typed: the preview region for htmx, else the whole page."""
    merchant, source = _target(merchant_id, trigger, channel, language)
    form = TemplateForm()
    if not form.validate_on_submit():
        abort(400)
    result = templates.preview(merchant, trigger, channel, language, *_draft(form, channel))
    block = "preview" if request.htmx else None
    page = _page(merchant, source, trigger, channel, language, form, result, block=block)
    return no_store(current_app.make_response(page))


@bp.route(
    "/merchants/<int:merchant_id>/messages/<trigger>/<channel>/<language>/preview.html",
    methods=["GET", "POST"],
)
@supervisor_only
def message_template_html(merchant_id: int, trigger: str, channel: str, language: str):
    """The HTML e-mail on the sample parcel, for the editor's frame: the saved text (GET) or
    the text as typed (POST)."""
    merchant, source = _target(merchant_id, trigger, channel, language)
    if channel != "email":
        abort(404)
    subject, body = source.subject, source.body
    if request.method == "POST":
        form = TemplateForm()
        if not form.validate_on_submit():
            abort(400)
        subject, body = _draft(form, channel)
    result = templates.preview(merchant, trigger, channel, language, subject, body)
    html = result.html or Markup(
        '<!doctype html><html lang="en"><title>Preview</title><p>{}</p></html>'
    ).format(" ".join(result.errors.values()))
    response = current_app.response_class(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return no_store(response)


@bp.post("/merchants/<int:merchant_id>/messages/<trigger>/<channel>/<language>/reset")
@supervisor_only
@page_write
def message_template_reset(merchant_id: int, trigger: str, channel: str, language: str):
    merchant, _source = _target(merchant_id, trigger, channel, language)
    if templates.reset(merchant, trigger, channel, language, agent()):
        flash(_("Reset: the built-in message is used again."), "success")
    else:
        flash(_("This message already uses the built-in text."), "message")
    return redirect(
        url_for(".message_template", merchant_id=merchant.id, **_path(trigger, channel, language)),
        303,
    )
