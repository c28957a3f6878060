"""Retention: the ticker archives finished campaigns older than BROADCASTER_RETENTION_DAYS,
in a unit run of the ticker and in a real worker with a short setting."""

import gzip

from broadcaster import enqueue
from broadcaster.campaigns import RecipientStatus
from broadcaster.reports import iter_csv
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.test_pipeline import wait_for
from workers.retention import Retention
from workers.ticker import Ticker

S = RecipientStatus


def test_the_ticker_archives_what_retention_makes_due(redis, tmp_path):
    store = factories.store(redis)
    c = store.create(factories.campaign(), factories.contacts(5), window=5)
    store.start(c.id)
    for i in range(5):
        factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{i}")
    live = "".join(iter_csv(store, c.id))
    retention = Retention(store, tmp_path, retention=3600.0, check=0.0)
    ticker = Ticker(store, factories.Published(), retention=retention)
    ticker.tick_once()
    retention.join(10)
    assert store.get(c.id).archived_at is None  # finished just now: not due
    store.clock = lambda: c.created_at + 7200.0
    ticker.tick_once()
    retention.join(10)
    assert store.get(c.id).archived_at is not None
    assert gzip.decompress((tmp_path / f"{c.id}.csv.gz").read_bytes()).decode() == live


def test_a_worker_archives_a_finished_campaign_with_a_short_retention(
    redis, sandbox, workers, redis_broker, tmp_path
):
    store = factories.store(redis, stale_after=WORKER_STALE_AFTER)
    env = {
        "BROADCASTER_RETENTION_DAYS": str(1.0 / 86400),  # one second
        "BROADCASTER_RETENTION_CHECK": "0.5",
        "BROADCASTER_ARCHIVE_DIR": str(tmp_path),
    }
    workers.start("w1", concurrency=4, **env)
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(20)]
    result = enqueue.enqueue_broadcast(
        rows, sender="waba-1", text="Halo {name}", rate_per_minute=60_000.0, store=store,
        dispatch=redis_broker.dispatch(),
    )  # fmt: skip
    cid = result.campaign.id
    wait_for(lambda: store.get(cid).archived_at, timeout=60)
    campaign = store.get(cid)
    assert campaign.archive == str(tmp_path / f"{cid}.csv.gz")
    assert store.counts(cid)["sent"] == 20
    assert not store.redis.keys(f"bc:c:{cid}:r:*") and not store.redis.keys(f"bc:c:{cid}:st")
    report = "".join(iter_csv(store, cid))
    assert report.count("\r\n") == 21 and factories.phone(19) in report
