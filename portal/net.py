"""Who a client is, for counting what it does (rate limits, uploads in flight); and an HTTP
transport that connects to an address resolved and checked beforehand."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import request
from requests.adapters import HTTPAdapter


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


class PinnedAddress(HTTPAdapter):
    """Connects to `address`, whatever the URL's host name resolves to by then, while TLS (SNI and
    the certificate's name) and the `Host` header keep that name. What was checked is what is
    dialled: letting the HTTP client resolve the name again would let a DNS answer that changed in
    between (rebinding) take the request somewhere else."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = str(ipaddress.ip_address(address))  # an address, never a name to resolve

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        host_params["host"] = self.address
        # The name goes on as the TLS server name: urllib3 sends it as SNI and the ssl module
        # checks the certificate against it. Not as `assert_hostname` too: urllib3 would then turn
        # `check_hostname` off on the SSL context, which some requests versions share between all
        # sessions.
        pool_kwargs["server_hostname"] = name
        return host_params, pool_kwargs

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        # Never through a proxy: the proxy would resolve the name itself.
        return super().get_connection_with_tls_context(request, verify, None, cert)

    def request_url(self, request, proxies):
        return super().request_url(request, None)

    def add_headers(self, request, **kwargs) -> None:
        # Without it http.client would name the address it connects to.
        request.headers.setdefault("Host", host_header(request.url))


def host_header(url: str) -> str:
    """`Host` for a request to `url`, as http.client would write it: the port only when it is
    not the scheme's own, an IPv6 address in brackets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def pinned_session(address: str) -> requests.Session:
    """A session whose every request connects to `address` (see PinnedAddress)."""
    session = requests.Session()
    adapter = PinnedAddress(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
