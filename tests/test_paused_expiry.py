"""Validity while paused: a paused campaign whose expires_at passes expires then (not when it is
resumed), through the ticker, as a running one does. Real Redis and Lua, the store's clock
injected (no sleeping)."""

import time

import pytest

from broadcaster.campaigns import CampaignState, RecipientStatus
from broadcaster.errors import CampaignStateError
from broadcaster.events import EventRules, Subscription
from broadcaster.progress import campaign_progress
from broadcaster.store import lifecycle
from tests import factories
from tests.event_receiver import SECRET
from workers.ticker import Ticker

S = RecipientStatus
T0 = 1_750_000_000.0


@pytest.fixture
def clock():
    return factories.Clock(T0)


@pytest.fixture
def store(redis, clock):
    return factories.store(redis, clock=clock)


def paused_campaign(store, n: int = 6, *, expires: float = T0 + 60):
    """A campaign of `n` (window 2) with a subscriber: 0 sent, 1 in flight (claimed), 2
    queued, the rest never released; then paused."""
    sub = Subscription("http://127.0.0.1:9/e", SECRET)
    c = store.create(factories.campaign(expires_at=expires), factories.contacts(n), window=2)
    store.subscribe(c.id, [sub], EventRules())
    store.start(c.id)
    factories.settle(store, c.id, 0, S.SENT, message_id="wamid.0")
    held = factories.take(store, c.id, 1, lease=300.0)
    assert held.ok
    store.pause(c.id, "operator")
    return c.id, sub, held


def events(store, sub) -> list[dict[str, str]]:
    return [fields for _, fields in store.waiting_events(sub.id, 1000)]


def test_a_paused_campaign_expires_at_its_expires_at_and_completes(store, clock):
    cid, sub, held = paused_campaign(store)
    ticker = Ticker(store, factories.Published())
    clock.t = T0 + 59
    ticker.tick_once()
    assert store.state(cid) == CampaignState.PAUSED and store.counts(cid)["expired"] == 0
    clock.t = T0 + 61
    ticker.tick_once()
    counts = store.counts(cid)
    assert counts["expired"] == 4 and counts["sent"] == 1 and counts["sending"] == 1
    assert counts["pending"] == counts["queued"] == 0
    # the send in flight when it was paused still lands, and its outcome completes it
    store.finish(cid, 1, S.SENT, message_id="wamid.1", phone=held.phone,
                 lease_until=held.lease_until)  # fmt: skip
    campaign = store.get(cid)
    assert campaign.state == CampaignState.COMPLETED
    assert campaign.reason == "expired while paused (paused: operator)"
    progress = campaign_progress(store, cid)
    assert progress.describe() == "completed: 4 expired (not sent by its expires_at)"
    statuses = [r.status for r in store.iter_rows(cid)]
    assert statuses == ["sent", "sent", "expired", "expired", "expired", "expired"]
    got = [(f["type"], f.get("r")) for f in events(store, sub)]
    assert got[-4:] == [
        ("campaign.expired", None), ("recipient.expired", "2"),
        ("recipient.sent", "1"), ("campaign.completed", None),
    ]  # fmt: skip
    rest = next(f for f in events(store, sub) if f["type"] == "campaign.expired")
    assert (rest["count"], rest["from"], rest["to"]) == ("3", "3", "5")
    assert any(e["event"] == "expired" for e in store.events(cid))
    assert store.redis.zcard(store.keys.expiring()) == 0
    with pytest.raises(CampaignStateError):
        store.resume(cid)


def test_a_send_lost_in_flight_does_not_hold_an_expired_campaign_open(store, clock):
    cid, _, held = paused_campaign(store)
    ticker = Ticker(store, factories.Published())
    clock.t = T0 + 61
    ticker.tick_once()
    assert store.state(cid) == CampaignState.RUNNING  # only the send in flight is left
    clock.t = held.lease_until + 1  # its worker died: the lease runs out
    ticker.tick_once()
    assert store.state(cid) == CampaignState.COMPLETED
    counts = store.counts(cid)
    assert (counts["sent"], counts["unknown"], counts["expired"]) == (1, 1, 4)


def test_resumed_or_cancelled_before_it_the_paused_expiry_leaves_it_alone(store, clock):
    resumed, _, _ = paused_campaign(store)
    cancelled, _, _ = paused_campaign(store)
    later, _, held = paused_campaign(store, expires=T0 + 600)
    assert store.redis.zcard(store.keys.expiring()) == 3
    store.resume(resumed)
    store.cancel(cancelled)
    assert store.redis.zrange(store.keys.expiring(), 0, -1) == [later.encode()]
    clock.t = T0 + 61
    Ticker(store, factories.Published()).tick_once()
    assert store.state(later) == CampaignState.PAUSED and store.counts(later)["expired"] == 0
    assert store.state(cancelled) == CampaignState.CANCELLED
    assert store.counts(cancelled)["expired"] == 0
    assert store.counts(resumed)["expired"] == 4  # running: expired in its own tick
    store.finish(later, 1, S.SENT, message_id="wamid.1", phone=held.phone,
                 lease_until=held.lease_until)  # fmt: skip
    store.delete_campaign(later)
    assert store.redis.zcard(store.keys.expiring()) == 0


def test_a_campaign_paused_by_an_earlier_version_is_indexed_and_expires_while_paused(store, clock):
    # paused before the expiring set existed: the set does not hold it
    cid, _, _ = paused_campaign(store)
    other = store.create(factories.campaign(), factories.contacts(2), window=2)  # no expires_at
    store.start(other.id)
    store.pause(other.id, "operator")
    store.redis.zrem(store.keys.expiring(), cid)
    ticker = Ticker(store, factories.Published())
    clock.t = T0 + 61
    ticker.tick_once()
    assert store.state(cid) == CampaignState.PAUSED and store.counts(cid)["expired"] == 0
    assert store.index_paused_expiries() == 1  # the one without expires_at left out
    assert store.index_paused_expiries() == 0  # once per deployment
    assert store.redis.zscore(store.keys.expiring(), cid) == T0 + 60
    assert store.redis.zscore(store.keys.expiring(), other.id) is None
    ticker.tick_once()
    assert store.counts(cid)["expired"] == 4


def test_the_ticker_indexes_them_once_it_leads(redis):
    store = factories.store(redis)  # the real clock: the ticker thread runs on its own
    c = store.create(factories.campaign(expires_at=4_000_000_000.0), factories.contacts(2),
                     window=2)  # fmt: skip
    store.start(c.id)
    store.pause(c.id, "operator")
    store.redis.zrem(store.keys.expiring(), c.id)
    ticker = Ticker(store, factories.Published(), interval=0.05)
    ticker._thread.start()
    try:
        deadline = time.monotonic() + 10
        while store.redis.zscore(store.keys.expiring(), c.id) is None:
            assert time.monotonic() < deadline, "the ticker did not index the paused campaign"
            time.sleep(0.05)
    finally:
        ticker._stop.set()
        ticker._thread.join(5)
    assert store.state(c.id) == CampaignState.PAUSED


def test_the_index_goes_through_the_campaigns_in_steps(store, monkeypatch):
    monkeypatch.setattr(lifecycle, "_INDEX_BATCH", 2)
    ids = []
    for _ in range(5):
        cid, _, _ = paused_campaign(store, n=3, expires=T0 + 60)
        store.redis.zrem(store.keys.expiring(), cid)
        ids.append(cid)
    assert store.index_paused_expiries() == 5
    assert all(store.redis.zscore(store.keys.expiring(), cid) == T0 + 60 for cid in ids)
