"""Archiving: the report written is the live one, byte for byte; the recipients leave Redis
and a summary stays; late callbacks are counted and ignored; retention runs by itself."""

import gzip
import json

import pytest

from broadcaster import operations
from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import CampaignStateError
from broadcaster.reports import build_report, iter_csv, recipient_rows
from tests import factories
from tests.test_callbacks import handle, meta_status
from tests.test_deletion import index_refs

S = RecipientStatus


@pytest.fixture
def store(redis):
    return factories.store(redis, erasure_secret=b"archive-test-secret")


def finished(store, n=250):
    """A completed campaign of `n`: most sent, every 7th failed, a reply on recipient 3."""
    c = store.create(factories.campaign(), factories.contacts(n), window=n)
    store.start(c.id)
    for i in range(n):
        if i % 7 == 6:
            factories.settle(store, c.id, i, S.FAILED, error="131026: undeliverable")
        else:
            factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{c.id}.{i}")
    value = {"messages": [{"from": factories.phone(3), "id": "wamid.in", "type": "text",
                           "text": {"body": "=thanks"}}]}  # fmt: skip
    body = {"entry": [{"changes": [{"field": "messages", "value": value}]}]}
    handle(store, json.dumps(body).encode())
    assert store.get(c.id).state == "completed"
    return c


def test_archive_keeps_the_report_and_a_summary_and_empties_redis(store, tmp_path):
    c = finished(store)
    live_csv = "".join(iter_csv(store, c.id))
    live = build_report(store, c.id)
    live_rows = list(store.iter_rows(c.id))

    removal = operations.archive_campaign(store, c.id, tmp_path)
    assert removal.recipients == 250 and removal.index_entries > 0
    path = tmp_path / f"{c.id}.csv.gz"
    assert gzip.decompress(path.read_bytes()).decode() == live_csv
    assert "".join(iter_csv(store, c.id)) == live_csv  # the download now comes from the file
    archived = build_report(store, c.id)
    assert archived.counts == live.counts and archived.failures == live.failures
    assert archived.replies == live.replies == [(factories.phone(3), "=thanks")]
    assert len(list(recipient_rows(store, store.get(c.id)))) == len(live_rows)
    summary = store.get(c.id)
    assert summary.archive == str(path) and summary.archived_at and summary.total == 250
    assert [x.id for x in store.list_campaigns()] == [c.id]
    left = sorted(k.decode() for k in store.redis.scan_iter(match=f"bc:c:{c.id}*"))
    assert left == [f"bc:c:{c.id}", f"bc:c:{c.id}:ev", f"bc:c:{c.id}:n"]
    assert index_refs(store, c.id) == []
    # deleting it later takes the summary; the file is the operator's
    operations.delete_campaign(store, c.id)
    assert not store.redis.keys(f"bc:c:{c.id}*") and path.exists()


def test_archived_rows_are_the_live_rows(store, tmp_path):
    c = finished(store, 30)
    live_rows = list(store.iter_rows(c.id))
    operations.archive_campaign(store, c.id, tmp_path)
    rows = list(recipient_rows(store, store.get(c.id)))
    assert [r.phone for r in rows] == [r.phone for r in live_rows]
    assert [(r.status, r.attempts, r.updated_at, r.message_id, r.error, r.variables)
            for r in rows] == [(r.status, r.attempts, r.updated_at, r.message_id, r.error,
                                r.variables) for r in live_rows]  # fmt: skip
    failed = list(recipient_rows(store, store.get(c.id), status="failed"))
    assert [r.index for r in failed] == [6, 13, 20, 27]


def test_only_a_finished_campaign_is_archived(store, tmp_path):
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    with pytest.raises(CampaignStateError, match="only a completed or cancelled"):
        operations.archive_campaign(store, c.id, tmp_path)
    assert not list(tmp_path.iterdir())


def test_late_callbacks_for_an_archived_campaign_are_counted_and_ignored(store, tmp_path):
    c = finished(store, 10)
    store.begin_archive(c.id)  # frozen: from here callbacks change nothing
    before = store.counts(c.id)
    assert handle(store, meta_status(f"wamid.{c.id}.0", "read")).statuses == 0
    assert store.counts(c.id) == before
    operations.archive_campaign(store, c.id, tmp_path)
    assert store.webhook_stats(factories.rules()).late == 1
    assert not store.redis.keys(f"bc:c:{c.id}:st")


def test_archive_due_takes_only_campaigns_finished_long_enough_ago(store, tmp_path):
    old = finished(store, 5)
    recent = finished(store, 5)
    store.redis.hset(store.keys.campaign(old.id), "finished_at", store.clock() - 3 * 86400)
    store.redis.zadd(store.keys.campaigns(), {old.id: store.clock() - 4 * 86400})
    assert operations.archive_due(store, tmp_path, retention=2 * 86400) == [old.id]
    assert store.get(old.id).archived_at and not store.get(recent.id).archived_at
    assert operations.archive_due(store, tmp_path, retention=2 * 86400) == []


def test_erasure_rewrites_the_archive(store, tmp_path):
    c = finished(store, 10)
    operations.archive_campaign(store, c.id, tmp_path)
    [done] = operations.forget(store, [factories.phone(3)])
    assert done.archived == {c.id: 1}
    text = "".join(iter_csv(store, c.id))
    assert factories.phone(3) not in text and "thanks" not in text
    assert factories.phone(4) in text
    assert operations.contact_data(store, factories.phone(3))["recipients"] == []
    assert [
        r["index"] for r in operations.contact_data(store, factories.phone(4))["recipients"]
    ] == ["4"]


def test_a_campaign_being_archived_is_not_deleted_until_the_archive_is_done(store, tmp_path):
    c = finished(store, 5)
    store.begin_archive(c.id)  # an archive cut short
    with pytest.raises(CampaignStateError, match="is being archived"):
        operations.delete_campaign(store, c.id)
    operations.archive_campaign(store, c.id, tmp_path)  # finishes it
    operations.delete_campaign(store, c.id)
    assert not store.redis.keys(f"bc:c:{c.id}*")
