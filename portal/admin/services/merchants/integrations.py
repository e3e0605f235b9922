"""How a merchant's systems reach us and we reach them: API keys and webhook endpoints, each
change audited without the key's plaintext or the endpoint's signing secret."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal.admin.services.merchants.fields import subject
from portal.extensions import db, get_by_id
from portal.models import Account, ApiKey, Merchant, WebhookEndpoint
from portal.services import webhooks
from portal.services.api_keys import create_api_key, revoke_api_key
from portal.services.audit import record
from portal.services.errors import DomainError, NotFound

WEBHOOK_URL_MAX = 500  # WebhookEndpoint.url


# --- API keys --------------------------------------------------------------------------------


def list_keys(merchant: Merchant) -> list[ApiKey]:
    """The merchant's keys, live ones first, newest first within each."""
    return list(
        db.session.execute(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant.id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
        ).scalars()
    )


def create_key(actor: Account, merchant: Merchant) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned to show once and is never stored nor logged."""
    key, plaintext = create_api_key(merchant=merchant)
    record(
        actor,
        "api_key.create",
        subject=subject(merchant),
        before=None,
        after={"id": key.id, "prefix": key.prefix},
    )
    return key, plaintext


def revoke_key(actor: Account, merchant: Merchant, key_id: int) -> bool:
    """Revoke the merchant's key; False when it was revoked already (nothing logged)."""
    key = get_by_id(ApiKey, key_id)
    if key is None or key.merchant_id != merchant.id:
        raise NotFound(_("This merchant has no key with this id."), code="api_key_not_found")
    if not revoke_api_key(key):
        return False
    record(
        actor,
        "api_key.revoke",
        subject=subject(merchant),
        before={"id": key.id, "prefix": key.prefix, "revoked_at": None},
        after={"id": key.id, "prefix": key.prefix, "revoked_at": key.revoked_at},
    )
    return True


# --- webhooks --------------------------------------------------------------------------------


def list_webhooks(merchant: Merchant) -> list[WebhookEndpoint]:
    return webhooks.list_endpoints(merchant)


def add_webhook(
    actor: Account, merchant: Merchant, url: str, *, allow_insecure: bool = False
) -> WebhookEndpoint:
    """A new endpoint; its signing secret is on the row (shown once), never in the log."""
    url = (url or "").strip()
    if not url:
        raise DomainError(_("Give the endpoint's URL."), field="url")
    if len(url) > WEBHOOK_URL_MAX:
        raise DomainError(
            _("Keep the URL to %(max)s characters.", max=WEBHOOK_URL_MAX), field="url"
        )
    endpoint = webhooks.create_endpoint(merchant, url, allow_insecure=allow_insecure)
    record(
        actor,
        "webhook.create",
        subject=subject(merchant),
        before=None,
        after={"id": endpoint.id, "url": endpoint.url},
    )
    return endpoint


def remove_webhook(actor: Account, merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_by_id(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("This merchant has no webhook with this id."), code="webhook_not_found")
    webhooks.delete_endpoint(merchant, endpoint.id)  # NotFound unless it is live and theirs
    record(
        actor,
        "webhook.delete",
        subject=subject(merchant),
        before={"id": endpoint.id, "url": endpoint.url},
        after=None,
    )
    return endpoint
