"""An event webhooks receiver for the bench rows (small, events, overhead), and the numbers
their campaigns send to."""

import base64
import datetime
import http.server
import json
import threading
import time

#: The signing secret of the rows' subscriptions.
SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()


class Arrivals:
    """An events receiver: keeps (arrival time, event timestamp) per event id."""

    def __init__(self) -> None:
        self.got: dict[str, tuple[float, float]] = {}
        arrivals = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                stamp = _parse_stamp(body["timestamp"])
                arrivals.got.setdefault(self.headers["webhook-id"], (now, stamp))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _parse_stamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def event_phone(i: int) -> str:
    """The i-th test recipient's number of the small-campaign and event rows."""
    return f"6282{i // 4000:05d}{5000 + i % 4000:04d}"
