"""Real-protocol stand-ins for the providers: Twilio's HTTP API, an SMTP server, a webhook sink."""

from __future__ import annotations

import contextvars
import json
import logging
import socket
import ssl
import threading
import uuid
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM = "+46700000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TwilioRecorder(HttpClient):
    """Records every request the twilio SDK makes and answers as Twilio's Messages API does.

    `answers` is a list of status codes (or exceptions) used in order; 201 once it runs out.
    """

    def __init__(self) -> None:
        super().__init__(logging.getLogger("tests.twilio"), is_async=False)
        self.requests: list[dict] = []
        self.answers: list = []

    @property
    def sent(self) -> list[dict]:
        return [r for r in self.requests if r["status"] == 201]

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        answer = self.answers.pop(0) if self.answers else 201
        record = {
            "method": method,
            "url": url,
            "data": dict(data or {}),
            "auth": auth,
            "status": answer,
        }
        self.requests.append(record)
        if isinstance(answer, Exception):
            raise answer
        if answer == 201:
            sid = "SM" + uuid.uuid4().hex
            record["sid"] = sid
            body = {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "status": "queued",
                "to": data["To"],
                "from": data["From"],
                "body": data["Body"],
                "num_segments": "1",
                "direction": "outbound-api",
                "date_created": "Wed, 25 Nov 2026 08:00:00 +0000",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            }
        else:
            code = 21211 if answer < 500 else 20500
            body = {
                "code": code,
                "message": "The 'To' number is not a valid phone number."
                if answer < 500
                else "Internal Server Error",
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": answer,
            }
        return Response(answer, json.dumps(body))


class SmtpSink:
    """aiosmtpd handler keeping every message; addresses starting with `refuse` get a 550."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


def start_smtp() -> tuple[Controller, SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, sink


class WebhookSink:
    """A loopback HTTP server standing in for a merchant's webhook endpoint: on `address` (any
    of 127.0.0.0/8) and `port` (a free one by default), over TLS with `tls` (a server context)."""

    def __init__(
        self,
        status: int = 200,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.received: list[dict] = []
        self.status = status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                sink.received.append(
                    {"headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{address}:{self.port}/hooks/lastmile"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_post(
    client,
    path: str,
    params: dict,
    *,
    base: str = "http://portal.test",
    token: str = AUTH_TOKEN,
    signature: str | None = None,
):
    """POST form params to a Twilio webhook with the signature Twilio would send."""
    sig = (
        signature
        if signature is not None
        else RequestValidator(token).compute_signature(base + path, params)
    )
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def run_worker(app) -> None:
    """A real RQ worker in burst mode, in a context of its own (as its own process would be),
    once this process has handed its committed rows over (that happens off the request)."""
    from rq.worker import SimpleWorker

    from portal.extensions import db
    from portal.notifications.handoff import drain, queue, redis_connection

    drain()

    def work():
        with app.app_context():
            SimpleWorker([queue()], connection=redis_connection()).work(burst=True)

    contextvars.Context().run(work)
    db.session.rollback()  # the test reads what the worker committed


def sweep_and_work(app, now) -> int:
    """The clock moved to `now`; the sweeper runs, then the worker: what a running
    `flask worker` does over time."""
    import time_machine

    from portal.notifications.handoff import sweep

    def do_sweep():
        with app.app_context():
            return sweep()

    with time_machine.travel(now, tick=False):
        count = contextvars.Context().run(do_sweep)
        run_worker(app)
    return count
