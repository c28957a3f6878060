"""A receiver of outbound events over real HTTP on loopback, for the tests: it keeps what it
got, can fail its first requests (an answer or a slow one) and verifies nothing itself."""

import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Callable
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
    """Answers `status` to its first `fail` requests (and to those `fail_if` picks), then 200;
    keeps the 200 ones. HTTP/1.0 (a connection per request, pipelined requests after the
    first dropped, as `http.server` does), or with `keep_alive` HTTP/1.1 (kept connections,
    pipelined requests answered in order)."""

    def __init__(
        self, *, fail: int = 0, status: int = 500, delay: float = 0.0,
        fail_if: Callable[[Received], bool] | None = None, keep_alive: bool = False,
    ) -> None:  # fmt: skip
        self.fail, self.status, self.delay, self.fail_if = fail, status, delay, fail_if
        self.attempts = 0
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                got = Received(dict(self.headers), body)
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail or bool(
                        receiver.fail_if and receiver.fail_if(got)
                    )
                    if not failing:
                        receiver.received.append(got)
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
