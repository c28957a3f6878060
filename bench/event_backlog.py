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

from bench import harness
from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.events import EventRules, Subscription
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

SECRET = "whsec_" + base64.b64encode(b"b" * 24).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    with harness.redis_server() as server:
        client = server.client()
        store = CampaignStore(client, keys=Keys("bc"), stale_after=60.0)
        campaign = Campaign(
            id=new_campaign_id(), name="bench", channel="waba", sender="w", text="Halo {name}"
        )
        contacts = (
            Contact(line=i + 2, phone=f"6281{i:09d}", variables={"name": f"N{i}"})
            for i in range(args.n)
        )
        campaign = store.create(campaign, contacts, window=args.n)
        sub = Subscription("http://127.0.0.1:9/down", SECRET)
        store.subscribe(campaign.id, [sub], EventRules(backlog=args.n + 10))
        store.start(campaign.id)
        for i in range(args.n):
            ticket = store.prepare(campaign.id, i)
            until = store.clock() + 60
            store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
            wamid = "wamid." + base64.b64encode(os.urandom(40)).decode()
            store.finish(campaign.id, i, RecipientStatus.SENT, message_id=wamid,
                         phone=ticket.phone, lease_until=until)  # fmt: skip
        stream = store.keys.hook_events(sub.id)
        events = client.xlen(stream)
        used = client.memory_usage(stream, samples=0)
        print(f"events waiting: {events}")
        print(f"stream bytes: {used:,} ({used / events:.0f} B per event)")
        cap = EventRules().backlog
        print(f"default cap {cap:,} events: {used / events * cap / 1e6:.1f} MB per subscription")


if __name__ == "__main__":
    main()
