"""Redis bytes per event waiting for a subscriber that is down, and what the cap holds.

    python -m bench.event_backlog [--n 100000]

A campaign of `--n` recipients with one subscription whose receiver never answers: every
recipient is sent through the store's claim and finish (as the workers do), so each leaves a
`recipient.sent` event (with a Meta-like message id) in the subscription's stream. Prints the
stream's MEMORY USAGE per event, and the campaign's own bytes per recipient for comparison.
On a redis-server of its own.
"""

import argparse
import base64
import os
from typing import Any

from bench import harness
from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.events import EventRules, Subscription
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

SECRET = "whsec_" + base64.b64encode(b"b" * 24).decode()


def bytes_per_event(client: Any, n: int) -> dict[str, Any]:
    """`n` events waiting for a subscriber that is down: the stream's bytes per event, and
    what the default cap of a subscription's backlog holds."""
    store = CampaignStore(client, keys=Keys("bc"), stale_after=60.0)
    campaign = Campaign(
        id=new_campaign_id(), name="bench", channel="waba", sender="w", text="Halo {name}"
    )
    contacts = (
        Contact(line=i + 2, phone=f"6281{i:09d}", variables={"name": f"N{i}"}) for i in range(n)
    )
    campaign = store.create(campaign, contacts, window=n)
    sub = Subscription("http://127.0.0.1:9/down", SECRET)
    store.subscribe(campaign.id, [sub], EventRules(backlog=n + 10))
    store.start(campaign.id)
    for i in range(n):
        ticket = store.prepare(campaign.id, i)
        until = store.clock() + 60
        store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
        wamid = "wamid." + base64.b64encode(os.urandom(40)).decode()
        store.finish(campaign.id, i, RecipientStatus.SENT, message_id=wamid,
                     phone=ticket.phone, lease_until=until)  # fmt: skip
    stream = store.keys.hook_events(sub.id)
    events = int(client.xlen(stream))
    used = int(client.memory_usage(stream, samples=0) or 0)
    cap = EventRules().backlog
    return {
        "events_waiting": events, "stream_bytes": used,
        "bytes_per_event": round(used / max(1, events), 1), "default_cap": cap,
        "cap_mb_per_subscription": round(used / max(1, events) * cap / 1e6, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    with harness.redis_server() as server:
        r = bytes_per_event(server.client(), args.n)
    print(f"events waiting: {r['events_waiting']}")
    print(f"stream bytes: {r['stream_bytes']:,} ({r['bytes_per_event']:.0f} B per event)")
    print(f"default cap {r['default_cap']:,} events: {r['cap_mb_per_subscription']:.1f} MB "
          "per subscription")  # fmt: skip


if __name__ == "__main__":
    main()
