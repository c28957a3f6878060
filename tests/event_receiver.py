"""A receiver of outbound events over real HTTP on loopback, for the tests: it keeps what it
got, can fail its first requests (an answer or a slow one) and verifies nothing itself."""

import dataclasses
import http.server
import json
import threading
import time
from typing import Any

from standardwebhooks.webhooks import Webhook

#: The Standard Webhooks secret of the tests (`whsec_` + base64 of 24 bytes).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    def verified(self, secret: str = SECRET) -> dict[str, Any]:
        """The event, after the spec's reference library checked its signature."""
        return Webhook(secret).verify(self.body, self.headers)  # type: ignore[no-any-return]


class Receiver:
    """Answers `status` to its first `fail` requests, then 200; keeps the 200 ones."""

    def __init__(self, *, fail: int = 0, status: int = 500, delay: float = 0.0) -> None:
        self.fail, self.status, self.delay = fail, status, delay
        self.attempts = 0
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail
                    if not failing:
                        receiver.received.append(Received(dict(self.headers), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def unique(self) -> dict[str, Received]:
        """What it got, once per `webhook-id` (the receiver's dedupe)."""
        with self.lock:
            return {r.headers["webhook-id"]: r for r in self.received}
