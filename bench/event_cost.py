"""Client CPU per event delivered by EventSender, to a keep-alive receiver in another process.

    python -m bench.event_cost [--n 2000] [--pipeline 8]

A campaign of `--n` recipients with one subscription, every recipient sent through the store
(so `--n` + 2 events wait), then EventSender delivers them all; prints this process's CPU per
event (signing, Redis, HTTP). On a redis-server of its own.
"""

import argparse
import base64
import subprocess
import sys
import time
from typing import Any

from bench import harness
from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.events import EventRules, Subscription
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore
from workers.event_http import EventConnections
from workers.events import EventSender

SECRET = "whsec_" + base64.b64encode(b"c" * 24).decode()
_RECEIVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def cpu_per_event(client: Any, n: int, pipeline: int = EventRules().pipeline) -> dict[str, Any]:
    """`n` + 2 events waiting for one subscription, delivered by EventSender in this process
    to a receiver in another: this process's CPU per event (signing, Redis, HTTP)."""
    port = harness.free_port()
    receiver = subprocess.Popen([sys.executable, "-c", _RECEIVER, str(port)])
    try:
        harness.wait_port(port)
        store = CampaignStore(client, keys=Keys("bc"), stale_after=60.0)
        campaign = store.create(
            Campaign(id=new_campaign_id(), name="b", channel="waba", sender="w", text="Hi"),
            (Contact(line=i + 2, phone=f"6281{i:09d}", variables={}) for i in range(n)),
            window=n,
        )
        sub = Subscription(f"http://127.0.0.1:{port}/events", SECRET)
        store.subscribe(campaign.id, [sub], EventRules())
        store.start(campaign.id)
        for i in range(n):
            ticket = store.prepare(campaign.id, i)
            until = store.clock() + 60
            store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
            store.finish(campaign.id, i, RecipientStatus.SENT, message_id=f"wamid.{i}",
                         phone=ticket.phone, lease_until=until)  # fmt: skip
        http = EventConnections(5.0)
        sender = EventSender(store, http, EventRules(pipeline=pipeline))
        cpu, delivered = time.process_time(), 0
        while done := sender.run(sub.id, "bench", budget=60.0):
            delivered += done
        per_event = (time.process_time() - cpu) / max(1, delivered) * 1000
        http.close()
        return {"events": delivered, "pipeline": pipeline,
                "client_cpu_ms_per_event": round(per_event, 3)}  # fmt: skip
    finally:
        receiver.kill()
        receiver.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pipeline", type=int, default=EventRules().pipeline,
                        help="events written at once (1: one at a time)")  # fmt: skip
    args = parser.parse_args()
    with harness.redis_server() as server:
        result = cpu_per_event(server.client(), args.n, args.pipeline)
    print(f"{result['events']} events delivered {args.pipeline} at a time, "
          f"{result['client_cpu_ms_per_event']:.3f} ms CPU per event")  # fmt: skip


if __name__ == "__main__":
    main()
