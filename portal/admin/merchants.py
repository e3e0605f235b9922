"""`/admin/merchants`: supervisors manage merchants (details, branding, return policy, API keys,
webhooks); and `/brand/…`, the public stylesheet and logo that brand a merchant's pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal.admin import agent, bp, supervisor_only
from portal.admin.merchant_forms import (
    METHOD_LABELS,
    ActionForm,
    BrandingForm,
    DetailsForm,
    LogoForm,
    NewMerchantForm,
    PolicyForm,
    SlotShareForm,
    WebhookForm,
)
from portal.admin.services import merchants
from portal.extensions import get_by_id
from portal.forms import page_write, refuse
from portal.models import Merchant
from portal.security import no_store
from portal.services.delivery import merchant_slot_limit
from portal.services.errors import DomainError, NotFound
from portal.storage import EXTENSIONS, StoredFileMissing, get_storage

# --- the console ------------------------------------------------------------------------------


@bp.route("/merchants", methods=["GET", "POST"], endpoint="merchants")
@supervisor_only
@page_write
def merchant_list():
    form = NewMerchantForm() if request.method == "POST" else NewMerchantForm(formdata=None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                merchant = merchants.create_merchant(agent(), form.name.data)
            except DomainError as exc:
                refuse(form, exc)
            else:
                flash(_("Added %(name)s.", name=merchant.name), "success")
                return redirect(url_for(".merchant", merchant_id=merchant.id), 303)
    html = render_template("admin/merchants.html", rows=merchants.list_merchants(), form=form)
    return no_store(current_app.make_response((html, status)))


@bp.get("/merchants/<int:merchant_id>")
@supervisor_only
def merchant(merchant_id: int):
    return _page(_merchant(merchant_id))


@bp.post("/merchants/<int:merchant_id>/details")
@supervisor_only
@page_write
def merchant_details(merchant_id: int):
    m = _merchant(merchant_id)
    form = DetailsForm()
    return _submit(
        m,
        "details",
        form,
        lambda: merchants.update_details(agent(), m, form.details()),
        _("Saved the merchant's details."),
        "details",
    )


@bp.post("/merchants/<int:merchant_id>/slot-share")
@supervisor_only
@page_write
def merchant_slot_share(merchant_id: int):
    m = _merchant(merchant_id)
    form = SlotShareForm()
    return _submit(
        m,
        "slot_share",
        form,
        lambda: merchants.update_slot_share(agent(), m, form.api_slot_share.data),
        _("Saved the share of each slot for API bookings."),
        "slot-share",
    )


@bp.post("/merchants/<int:merchant_id>/branding")
@supervisor_only
@page_write
def merchant_branding(merchant_id: int):
    m = _merchant(merchant_id)
    form = BrandingForm()
    return _submit(
        m,
        "branding",
        form,
        lambda: merchants.update_branding(agent(), m, form.brand_colour.data),
        _("Saved the brand colour."),
        "branding",
    )


@bp.post("/merchants/<int:merchant_id>/logo")
@supervisor_only
@page_write
def merchant_logo(merchant_id: int):
    m = _merchant(merchant_id)
    form = LogoForm()

    def upload() -> bool:
        merchants.set_logo(agent(), m, form.upload())
        return True

    return _submit(m, "logo", form, upload, _("Saved the logo."), "branding")


@bp.post("/merchants/<int:merchant_id>/logo/remove")
@supervisor_only
@page_write
def merchant_logo_remove(merchant_id: int):
    m = _merchant(merchant_id)
    return _submit(
        m,
        "action",
        ActionForm(),
        lambda: merchants.remove_logo(agent(), m),
        _("Removed the logo."),
        "branding",
    )


@bp.post("/merchants/<int:merchant_id>/policy")
@supervisor_only
@page_write
def merchant_policy(merchant_id: int):
    m = _merchant(merchant_id)
    form = PolicyForm()
    return _submit(
        m,
        "policy",
        form,
        lambda: merchants.update_policy(agent(), m, form.values()),
        _("Saved the return policy."),
        "policy",
    )


@bp.post("/merchants/<int:merchant_id>/keys")
@supervisor_only
@page_write
def merchant_key_create(merchant_id: int):
    """The plaintext is in this answer only: not in a flash, the session or a later page."""
    m = _merchant(merchant_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return _page(m, 422, action=form)
    key, plaintext = merchants.create_key(agent(), m)
    return _page(m, 200, new_key=NewSecret(key.prefix, plaintext))


@bp.post("/merchants/<int:merchant_id>/keys/<int:key_id>/revoke")
@supervisor_only
@page_write
def merchant_key_revoke(merchant_id: int, key_id: int):
    m = _merchant(merchant_id)
    return _submit(
        m,
        "action",
        ActionForm(),
        lambda: merchants.revoke_key(agent(), m, key_id),
        _("Revoked the key: it stops working at once."),
        "keys",
    )


@bp.post("/merchants/<int:merchant_id>/webhooks")
@supervisor_only
@page_write
def merchant_webhook_create(merchant_id: int):
    """Like a key, the signing secret is shown in this answer only."""
    m = _merchant(merchant_id)
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            endpoint = merchants.add_webhook(
                agent(),
                m,
                form.url.data,
                allow_insecure=bool(current_app.config.get("WEBHOOK_ALLOW_INSECURE")),
            )
        except DomainError as exc:
            refuse(form, exc)
        else:
            secret = NewSecret(endpoint.url, endpoint.secret)
            return _page(m, 200, new_webhook=secret)
    return _page(m, 422, webhook=form)


@bp.post("/merchants/<int:merchant_id>/webhooks/<int:endpoint_id>/delete")
@supervisor_only
@page_write
def merchant_webhook_delete(merchant_id: int, endpoint_id: int):
    m = _merchant(merchant_id)
    return _submit(
        m,
        "action",
        ActionForm(),
        lambda: merchants.remove_webhook(agent(), m, endpoint_id),
        _("Removed the webhook endpoint."),
        "webhooks",
    )


@dataclass(frozen=True)
class NewSecret:
    """A key or signing secret to show once, with what tells it apart (prefix or URL)."""

    label: str
    value: str


def _merchant(merchant_id: int) -> Merchant:
    try:
        return merchants.find_merchant(merchant_id)
    except NotFound:
        abort(404)


def _submit(
    m: Merchant, name: str, form: FlaskForm, apply: Callable[[], object], done: str, anchor: str
) -> Response:
    """Validate, apply and come back to the page next to `anchor` (Post/Redirect/Get, which
    `page_write` commits); or show the page again with the form's errors in place (422) and
    nothing saved."""
    if form.validate_on_submit():
        try:
            changed = apply()
        except NotFound:
            abort(404)
        except DomainError as exc:
            refuse(form, exc)
        else:
            flash(done if changed else _("Nothing changed."), "success")
            return redirect(url_for(".merchant", merchant_id=m.id, _anchor=anchor), 303)
    return _page(m, 422, **{name: form})


def _page(m: Merchant, status: int = 200, **overrides) -> Response:
    """The merchant page; `overrides` replace a form (with its errors) or add a new secret."""
    forms = {
        "details": DetailsForm(formdata=None, obj=merchants.details_of(m)),
        "slot_share": SlotShareForm(formdata=None, api_slot_share=m.api_slot_share),
        "branding": BrandingForm(formdata=None, brand_colour=m.brand_colour or ""),
        "logo": LogoForm(formdata=None),
        "policy": PolicyForm.for_policy(merchants.policy_values(m)),
        "action": ActionForm(formdata=None),
        "webhook": WebhookForm(formdata=None),
        "new_key": None,
        "new_webhook": None,
    }
    forms.update(overrides)
    html = render_template(
        "admin/merchant.html",
        merchant=m,
        brand=merchants.Brand.of(m),
        contrast=merchants.contrast_with_white(m.brand_colour) if m.brand_colour else None,
        keys=merchants.list_keys(m),
        webhooks=merchants.list_webhooks(m),
        method_labels=METHOD_LABELS,
        # What the share means in places, rounding included.
        share_examples=[(c, merchant_slot_limit(c, m.api_slot_share)) for c in (10, 3)],
        **forms,
    )
    return no_store(current_app.make_response((html, status)))


# --- the public side: what brands a merchant's tracking pages ---------------------------------

brand_bp = Blueprint("brand", __name__)

# A URL carrying the current version never changes content; without it, or with an old one,
# browsers check again after a few minutes.
CACHE_VERSIONED = "public, max-age=31536000, immutable"
CACHE_UNVERSIONED = "public, max-age=300"
CONTENT_TYPES = {ext: content_type for content_type, ext in EXTENSIONS.items()}


@dataclass(frozen=True)
class BrandLinks:
    name: str
    colour: str | None
    stylesheet: str | None
    logo: str | None


@brand_bp.app_template_global()
def merchant_brand(parcel: object, external: bool = False) -> BrandLinks | None:
    """The branding of a parcel's merchant for a page (or, `external`, an e-mail: absolute
    URLs on PUBLIC_BASE_URL); None when the merchant has none."""
    brand = merchants.brand_of(parcel)
    if brand is None:
        return None
    mid = brand.merchant_id
    if external:
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        css = f"{base}/brand/{mid}.css?v={brand.colour_version}"
        logo = f"{base}/brand/{mid}/logo?v={brand.logo_version}"
    else:
        css = url_for("brand.stylesheet", merchant_id=mid, v=brand.colour_version)
        logo = url_for("brand.logo", merchant_id=mid, v=brand.logo_version)
    return BrandLinks(
        name=brand.name,
        colour=brand.colour,
        stylesheet=css if brand.colour else None,
        logo=logo if brand.logo_key else None,
    )


@brand_bp.get("/brand/<int:merchant_id>.css")
def stylesheet(merchant_id: int):
    m = get_by_id(Merchant, merchant_id)
    if m is None or not m.brand_colour:
        abort(404)
    response = current_app.response_class(merchants.brand_css(m.brand_colour), mimetype="text/css")
    return _cacheable(response, merchants.Brand.of(m).colour_version)


@brand_bp.get("/brand/<int:merchant_id>/logo")
def logo(merchant_id: int):
    m = get_by_id(Merchant, merchant_id)
    if m is None or not m.logo_key:
        abort(404)
    try:
        data = get_storage().open(m.logo_key)
    except StoredFileMissing:
        current_app.logger.error("the logo of merchant %s is missing from storage", m.id)
        abort(404)
    extension = "." + m.logo_key.rsplit(".", 1)[-1]
    response = current_app.response_class(data, mimetype=CONTENT_TYPES[extension])
    return _cacheable(response, merchants.Brand.of(m).logo_version)


def _cacheable(response: Response, version: str) -> Response:
    versioned = request.args.get("v") == version
    response.headers["Cache-Control"] = CACHE_VERSIONED if versioned else CACHE_UNVERSIONED
    response.set_etag(version)
    return response.make_conditional(request)
