"""Providers that can misbehave on demand, for the fault drills (bench/faults.py).

`Twilio`: an HTTP server answering POST /2010-04-01/Accounts/<sid>/Messages.json as Twilio does
(201 with a SID), or with 500, 429 + Retry-After, or no answer at all (the request hangs until
the client gives up), as `mode` says. `Smtp`: an aiosmtpd server that can be stopped, so that
connections are refused, and started again on the same port. Both count what they accepted per
recipient: a drill's messages go one per recipient and channel, so a count above one is a
message sent twice.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections import Counter
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from dispatch import FakeTwilio

MODES = ("ok", "500", "429", "hang")
HANG_SECONDS = 30  # longer than the app's 10-s Twilio timeout: the client always gives up first


class _Handler(FakeTwilio):
    stand_in: Twilio

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        stand_in = self.stand_in
        mode = stand_in.mode
        with stand_in.lock:
            stand_in.answers[mode] += 1
        if mode == "hang":
            # Nothing comes back; the connection closes once the client has long gone.
            stand_in.released.wait(HANG_SECONDS)
            self.close_connection = True
            return
        if mode in ("500", "429"):
            error = json.dumps(
                {
                    "code": 20429 if mode == "429" else 20500,
                    "status": int(mode),
                    "message": "Too Many Requests" if mode == "429" else "Error",
                    "more_info": "https://www.twilio.com/docs/errors",
                }
            ).encode()
            self.send_response(int(mode))
            if mode == "429":
                self.send_header("Retry-After", "10")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        with stand_in.lock:
            stand_in.delivered[form["To"]] += 1
        answer = json.dumps(
            {
                "sid": "SM" + uuid.uuid4().hex,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "account_sid": "AC" + "0" * 32,
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A worker killed with -9 leaves its kept-alive connection behind: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Twilio:
    """The Messages API on 127.0.0.1:<port>, switchable between answering and failing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: Counter[str] = Counter()  # To -> messages created
        self.answers: Counter[str] = Counter()  # mode -> requests answered that way
        self.mode = "ok"
        self.released = threading.Event()
        handler = type("Handler", (_Handler,), {"stand_in": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_mode(self, mode: str) -> None:
        assert mode in MODES, mode
        self.mode = mode
        if mode == "hang":
            self.released.clear()
        else:
            self.released.set()  # hung requests end now (their clients gave up long ago)

    def reset(self) -> None:
        with self.lock:
            self.delivered.clear()
            self.answers.clear()
        self.set_mode("ok")

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class _Sink:
    def __init__(self, owner: Smtp) -> None:
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):
        with self.owner.lock:
            for rcpt in envelope.rcpt_tos:
                self.owner.delivered[rcpt] += 1
        return "250 OK"


class Smtp:
    """An SMTP server on a fixed loopback port that can refuse connections for a while."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.delivered: Counter[str] = Counter()  # recipient -> messages taken
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(_Sink(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Close the port: every connection is refused until start()."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def reset(self) -> None:
        with self.lock:
            self.delivered.clear()
        if self.controller is None:
            self.start()
