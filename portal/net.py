"""Who a client is, for counting what it does (rate limits, uploads in flight)."""

from __future__ import annotations

import ipaddress

from flask import request


def client_network(address: str) -> str:
    """The client that `address` belongs to. An IPv6 client is its /64: that is the block one
    subscriber's line is given (RFC 6177), and any host in it may pick a new address from 2**64
    for every connection (privacy addresses), so counting by the address would give it as many
    tries as it likes. An IPv4 client is its address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown" (no peer address) or a unix socket's path: as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)  # an IPv4 client as a dual-stack socket reports it
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def remote_client() -> str:
    """The current request's client (see client_network): the key of every per-IP limit."""
    return client_network(request.remote_addr or "unknown")
