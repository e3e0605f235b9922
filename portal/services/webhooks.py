"""Merchants' webhook endpoints, and what a merchant may see of the messages sent."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, select

from portal.extensions import db, get_by_id
from portal.models import Channel, Merchant, Notification, Parcel, WebhookEndpoint
from portal.models.types import utcnow
from portal.services.errors import DomainError, NotFound

MAX_ENDPOINTS = 10


class NotPublic(DomainError):
    code = "not_public"
    # A DNS server that didn't answer (EAI_AGAIN): the delivery is tried again later.
    temporary = False


# IPv6 prefixes that carry an IPv4 address a gateway may forward to: NAT64 (RFC 6052 and
# RFC 8215's local-use prefix) and 6to4. `is_global` calls them public whatever IPv4 address
# they carry, so 64:ff9b::a9fe:a9fe would reach 169.254.169.254 behind a DNS64/NAT64 gateway.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local use: never a public endpoint
_6TO4 = ipaddress.ip_network("2002::/16")


def is_public_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_global
        if ip in _NAT64_LOCAL:
            return False
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF).is_global
        if ip in _6TO4:
            return bool(ip.sixtofour and ip.sixtofour.is_global)
    return ip.is_global


def delivery_addresses(url: str, *, public_only: bool = True) -> list[str]:
    """The addresses a request to `url` may connect to, in the resolver's order (an AAAA
    answer a host can't reach falls back to the next, as an HTTP client would): its host name
    resolved once, here. With `public_only` (anything but a development setup) every answer
    must be a public address, or none is used: no SSRF into our own network through a merchant's
    endpoint. The caller connects to these addresses (portal.net.PinnedAddress) rather than let
    its HTTP client resolve the name again, as a DNS answer may have changed in between."""
    host = urlsplit(url).hostname or ""
    try:
        # `socket.getaddrinfo`, looked up at each call: tests put a resolver of their own there.
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        refused = NotPublic("The webhook host does not resolve.", field="url")
        refused.temporary = getattr(exc, "errno", None) == socket.EAI_AGAIN
        raise refused from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))  # in order, once each
    if not addresses or (public_only and not all(map(is_public_ip, addresses))):
        raise NotPublic("The webhook host must resolve to a public address.", field="url")
    return addresses


def public_address(url: str) -> bool:
    """Whether every address the URL's host resolves to is a public one: checked when an
    endpoint is added (each delivery checks again, see delivery_addresses)."""
    try:
        delivery_addresses(url)
    except NotPublic:
        return False
    return True


def create_endpoint(merchant: Merchant, url: str, *, allow_insecure: bool = False):
    """A new endpoint with a fresh signing secret (returned once, in the API's answer)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_insecure and parts.scheme == "http"):
        raise DomainError(
            "The webhook URL must start with https://.", field="url", code="not_https"
        )
    if not parts.hostname or parts.username or parts.password:
        raise DomainError("Give a URL with a host name and no credentials.", field="url")
    if not allow_insecure and not public_address(url):
        raise DomainError(
            "The webhook host must resolve to a public address.", field="url", code="not_public"
        )
    count = db.session.execute(
        select(func.count(WebhookEndpoint.id)).where(
            WebhookEndpoint.merchant_id == merchant.id, WebhookEndpoint.deleted_at.is_(None)
        )
    ).scalar_one()
    if count >= MAX_ENDPOINTS:
        raise DomainError(
            f"A merchant can have at most {MAX_ENDPOINTS} webhooks.", field="url", code="too_many"
        )
    endpoint = WebhookEndpoint(merchant=merchant, url=url, secret="whsec_" + secrets.token_hex(24))
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def list_endpoints(merchant: Merchant) -> list[WebhookEndpoint]:
    return list(
        db.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == merchant.id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        ).scalars()
    )


def delete_endpoint(merchant: Merchant, endpoint_id: int) -> None:
    endpoint = get_by_id(WebhookEndpoint, endpoint_id)  # ids past 32 bits: none, not a 500
    if endpoint is None or endpoint.merchant_id != merchant.id or endpoint.deleted_at:
        raise NotFound("No webhook of yours has this id.", field="id", code="webhook_not_found")
    endpoint.deleted_at = utcnow()


def recipient_messages(parcel: Parcel) -> list[Notification]:
    """SMS and e-mails to the parcel's recipient, oldest first."""
    return list(db.session.execute(_RECIPIENT_MESSAGES, {"parcel_id": parcel.id}).scalars())


# Built once: the API's parcel reads it (issue 17).
_RECIPIENT_MESSAGES = (
    select(Notification)
    .where(
        Notification.parcel_id == bindparam("parcel_id"), Notification.channel != Channel.WEBHOOK
    )
    .order_by(Notification.id)
)
