"""Sender pools in the send path: real Redis, real Lua, deliver() against the sandbox over
HTTP; each recipient is sent by its own sender of the pool (`broadcaster.pools`)."""

from broadcaster.campaigns import CampaignState
from broadcaster.pools import assign
from tests import factories
from tests.test_calendar_sending import World, rows
from tests.test_calendar_sending import world as world

POOL = ["62811000001", "62811000002", "62811000003"]


def test_a_pool_of_three_spreads_recipients_evenly_and_each_keeps_its_sender(world, sandbox):
    w: World = world(1_900_000_000.0)
    cid = w.launch(rows(300), sender=POOL[0], senders=POOL[1:])
    stored = w.store.redis.get(w.store.keys.senders(cid))
    assert stored is not None and len(stored) == 300
    for sender in range(3):
        assert 90 <= stored.count(sender) <= 110, stored.count(sender)
    w.run(cid, 1_900_000_000.0 + 3600, step=1, per_step=300)
    assert w.store.state(cid) == CampaignState.COMPLETED
    assert w.store.counts(cid)["sent"] == 300
    for index in (0, 17, 299):
        phone = factories.phone(index)
        chosen = POOL[stored[index]]
        assert POOL[assign(phone, POOL)] == chosen
        # sticky across campaigns: a later pool in another order gives it the same sender
        later = list(reversed(POOL))
        assert later[assign(phone, later)] == chosen
    # the sandbox saw each recipient from the sender assigned to it, once
    report = sandbox.sends()
    assert report["duplicates"] == 0
    seen = {m["phone"]: m["sender"] for m in report["sends"]}
    assert len(seen) == 300
    for index in range(300):
        assert seen[factories.phone(index)] == POOL[stored[index]]


def test_assignment_is_sticky_and_removal_moves_only_that_senders_recipients():
    phones = [factories.phone(i) for i in range(500)]
    before = [POOL[assign(p, POOL)] for p in phones]
    after = [POOL[assign(p, POOL, out=[POOL[1]])] for p in phones]
    for b, a in zip(before, after, strict=True):
        assert a == b if b != POOL[1] else a != POOL[1]
    bigger = [*POOL, "62811000004"]
    again = [bigger[assign(p, bigger)] for p in phones]
    kept = sum(a == b for a, b in zip(before, again, strict=True))
    assert kept >= 0.65 * len(phones)  # ~3/4 keep their sender when one joins
