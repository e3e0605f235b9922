"""A webhook goes to the address that was checked: its host name is resolved once per delivery,
and a DNS answer that changes a moment later (rebinding) cannot turn it into our own network."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import Channel, Notification, WebhookEndpoint
from portal.net import host_header
from portal.notifications.channels import MerchantWebhook, PermanentError, TemporaryError
from portal.services import webhooks
from tests.support import factories
from tests.support.messaging import WebhookSink, run_worker
from tests.support.tls import certificate_for

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.clock(DAY)

HOST = "hooks.example.test"
CHECKED = "127.0.0.2"  # stands in for the merchant's public address
OURS = "127.0.0.1"  # stands in for our own network


class Resolver:
    """DNS for made-up names: each name gives the answers of its list in turn, the last one for
    good (a rebinding attacker's name answers public first, then ours); an answer is an address
    or a tuple of them. Other names resolve as usual."""

    def __init__(self, monkeypatch, **answers: list[str | tuple[str, ...]]) -> None:
        self.answers = {name.replace("_", "."): list(ips) for name, ips in answers.items()}
        self.asked: list[str] = []
        self.real = socket.getaddrinfo
        # The whole process's resolver, so that a second look-up by the HTTP client would see
        # the changed answer too: that is the hole this file keeps shut.
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.asked.append(name)
        answers = self.answers[name]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        ips = answer if isinstance(answer, tuple) else (answer,)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)) for ip in ips]


@pytest.fixture
def checked_is_public(app, monkeypatch):
    """Production rules (public addresses only), with CHECKED counted as public."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_INSECURE", False)
    real = webhooks.is_public_ip
    monkeypatch.setattr(webhooks, "is_public_ip", lambda ip: ip == CHECKED or real(ip))


def sinks_on_one_port() -> tuple[WebhookSink, WebhookSink]:
    """The merchant's server on CHECKED and a trap on OURS, on the same port."""
    for _ in range(20):
        merchant = WebhookSink(address=CHECKED)
        try:
            return merchant, WebhookSink(address=OURS, port=merchant.port)
        except OSError:  # that port is taken on OURS: another try
            merchant.close()
    pytest.fail("no port free on both loopback addresses")


def endpoint_for(merchant, url: str) -> WebhookEndpoint:
    """Stored as registration would have stored it (registration's own check is not the point)."""
    endpoint = WebhookEndpoint(merchant=merchant, url=url, secret="whsec_test")
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def delivery_to(endpoint: WebhookEndpoint) -> Notification:
    n = Notification(
        channel=Channel.WEBHOOK,
        trigger="status_changed",
        recipient=endpoint.url,
        body='{"status": "delivered"}',
        webhook_endpoint_id=endpoint.id,
    )
    db.session.add(n)
    db.session.flush()
    return n


def test_a_name_that_rebinds_to_our_network_still_reaches_the_checked_address(
    app, messaging, carrier, clock, checked_is_public, monkeypatch
):
    resolver = Resolver(monkeypatch, hooks_example_test=[CHECKED, OURS])
    merchant_server, trap = sinks_on_one_port()
    try:
        merchant = factories.make_merchant()
        endpoint_for(merchant, f"http://{HOST}:{merchant_server.port}/hooks/lastmile")
        parcel = factories.make_parcel(merchant=merchant, carrier=carrier)
        factories.add_events(parcel, ("e1", "out_for_delivery", DAY))
        run_worker(app)

        assert trap.received == []
        assert resolver.asked == [HOST]  # once, for the check; nobody asked again
        [delivery] = merchant_server.received
        assert delivery["headers"]["Host"] == f"{HOST}:{merchant_server.port}"
        assert delivery["headers"]["X-Lastmile-Signature"].startswith("sha256=")
        assert json.loads(delivery["body"])["status"] == "out_for_delivery"
    finally:
        merchant_server.close()
        trap.close()


@pytest.mark.parametrize("answer", ["10.0.0.5", (CHECKED, "192.168.1.10"), "169.254.169.254"])
def test_a_name_with_any_private_answer_is_refused_without_a_connection(
    app, checked_is_public, monkeypatch, answer
):
    Resolver(monkeypatch, hooks_example_test=[answer])
    monkeypatch.setattr(
        "portal.notifications.channels.pinned_session",
        lambda address: pytest.fail(f"connected to {address}"),
    )
    endpoint = endpoint_for(factories.make_merchant(), f"https://{HOST}/hooks")
    with pytest.raises(PermanentError, match="public address"):
        MerchantWebhook().send(delivery_to(endpoint))


def test_a_name_server_that_does_not_answer_is_tried_again_later(
    app, checked_is_public, monkeypatch
):
    def unavailable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", unavailable)
    endpoint = endpoint_for(factories.make_merchant(), f"https://{HOST}/hooks")
    with pytest.raises(TemporaryError, match="name server"):
        MerchantWebhook().send(delivery_to(endpoint))


def test_tls_names_the_host_to_the_checked_address(app, checked_is_public, tmp_path, monkeypatch):
    Resolver(monkeypatch, hooks_example_test=[CHECKED, OURS], other_example_test=[CHECKED])
    certificate = certificate_for(tmp_path, HOST)
    server_names: list[str | None] = []
    tls = certificate.server_context()
    tls.sni_callback = lambda conn, name, context: server_names.append(name)
    server = WebhookSink(address=CHECKED, tls=tls)
    try:
        merchant = factories.make_merchant()
        good = endpoint_for(merchant, f"https://{HOST}:{server.port}/hooks/lastmile")
        n = delivery_to(good)
        assert MerchantWebhook(verify=str(certificate.authority)).send(n) == f"wh-{n.id}"
        [delivery] = server.received
        assert server_names == [HOST]
        assert delivery["headers"]["Host"] == f"{HOST}:{server.port}"
        assert delivery["body"] == b'{"status": "delivered"}'

        # The certificate is checked against the name, not the address: another name that
        # resolves to the same server does not pass for it.
        other = endpoint_for(merchant, f"https://other.example.test:{server.port}/hooks")
        with pytest.raises(TemporaryError, match="SSLError"):
            MerchantWebhook(verify=str(certificate.authority)).send(delivery_to(other))
        assert len(server.received) == 1
    finally:
        server.close()


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://hooks.example.test/x", "hooks.example.test"),
        ("https://hooks.example.test:443/x", "hooks.example.test"),
        ("https://hooks.example.test:8443/x", "hooks.example.test:8443"),
        ("http://[2001:db8::1]:8080/x", "[2001:db8::1]:8080"),
        ("https://[2001:db8::1]/x", "[2001:db8::1]"),
    ],
)
def test_the_host_header_names_the_url_host_not_the_address(url, host):
    assert host_header(url) == host


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254, the metadata service
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::a9fe:a9fe", False),  # NAT64's local-use prefix
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("2002:808:808::", True),
        ("::ffff:127.0.0.1", False),
        ("2001:4860:4860::8888", True),
        ("fe80::1%eth0", False),
    ],
)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_not_public(address, public):
    assert webhooks.is_public_ip(address) is public


def test_an_address_that_refuses_the_connection_falls_back_to_the_next_checked_one(
    app, checked_is_public, monkeypatch
):
    """A dual-stack name whose first answer we can't reach: the next checked answer gets it,
    and the name is still resolved only once."""
    unreachable = "127.0.0.3"  # nothing listens there on the sink's port
    real = webhooks.is_public_ip
    monkeypatch.setattr(
        webhooks, "is_public_ip", lambda ip: ip in (CHECKED, unreachable) or real(ip)
    )
    resolver = Resolver(monkeypatch, hooks_example_test=[(unreachable, CHECKED)])
    sink = WebhookSink(address=CHECKED)
    try:
        endpoint = endpoint_for(factories.make_merchant(), f"http://{HOST}:{sink.port}/hooks")
        assert MerchantWebhook().send(delivery_to(endpoint)).startswith("wh-")
        assert len(sink.received) == 1 and resolver.asked == [HOST]
    finally:
        sink.close()
