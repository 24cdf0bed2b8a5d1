"""A real HTTP receiver on loopback for webhook tests: records each request, answers the
status the test sets, and verifies signatures with the `standardwebhooks` package."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def verified_with(self, secret: str) -> dict[str, Any] | None:
        try:
            payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return None
        return payload


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    location: str | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def payloads(self, secret: str) -> list[dict[str, Any]]:
        """Every request's payload, asserting each one is signed with ``secret``."""
        found = []
        for request in self.requests:
            payload = request.verified_with(secret)
            assert payload is not None, request.headers
            found.append(payload)
        return found


def serve() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(Received(dict(self.headers.items()), body))
                status, location = receiver.status, receiver.location
            self.send_response(status)
            if location:
                self.send_header("location", location)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
