"""A sender pool end to end: enqueue_broadcast -> Redis -> a real Celery worker -> the sandbox
over HTTP. The pool's recipients go out through their own senders, each once, and a sender
that disconnects mid-campaign (419) has its recipients moved to the others."""

import pytest

from broadcaster import enqueue
from broadcaster.campaigns import CampaignState
from broadcaster.pools import assign
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.test_pipeline import wait_for

pytestmark = pytest.mark.slow

POOL = ["62811000001", "62811000002", "62811000003"]
N = 60
RATE = 1200.0  # a minute: 20 a second, the campaign lasts about 3 s


def test_a_pool_spreads_over_its_senders_and_reroutes_one_that_disconnects(
    redis, sandbox, workers, broker
):
    store = factories.store(redis, stale_after=WORKER_STALE_AFTER)
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=8)
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(N)]
    assigned = [POOL[assign(row["phone"], POOL)] for row in rows]
    for sender in POOL:  # rendezvous spreads them: about a third each
        assert 12 <= assigned.count(sender) <= 28, assigned.count(sender)
    result = enqueue.enqueue_broadcast(
        rows, sender=POOL[0], senders=POOL[1:], text="Halo {name}", rate_per_minute=RATE,
        store=store, dispatch=broker.dispatch(),
    )  # fmt: skip
    cid = result.campaign.id
    wait_for(lambda: sandbox.sends(summary=1)["count"] >= 10, timeout=30, interval=0.05)
    sandbox.http.post("/_sandbox/disconnect", json={"sender": POOL[1]}).raise_for_status()
    wait_for(lambda: store.get(cid).state == CampaignState.COMPLETED, timeout=60)

    assert store.counts(cid)["sent"] == N
    report = sandbox.sends()
    assert report["duplicates"] == 0 and report["count"] == N
    seen = {m["phone"]: m["sender"] for m in report["sends"]}
    assert len(seen) == N
    moved = 0
    for row, sender in zip(rows, assigned, strict=True):
        got = seen[row["phone"]]
        if got != sender:  # only the disconnected sender's, to the one rendezvous gives them
            assert sender == POOL[1], (row, sender, got)
            assert got == POOL[assign(row["phone"], POOL, out=[POOL[1]])]
            moved += 1
    by_sender = {s: sum(1 for v in seen.values() if v == s) for s in POOL}
    assert by_sender[POOL[1]] >= 1 and moved >= 1, (by_sender, moved)  # before; after
    assert by_sender[POOL[1]] + moved == assigned.count(POOL[1])
    out = store.senders_out(cid)
    assert list(out) == [POOL[1]] and "not connected" in out[POOL[1]].lower()
    assert store.sent_per_sender(cid, POOL) == by_sender
