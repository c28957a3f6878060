"""Deleting a campaign: refused while it runs or sends, then no key of it and no index entry
pointing at it is left."""

import pytest

from broadcaster import operations
from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import CampaignNotFound, CampaignStateError
from tests import factories

S = RecipientStatus


@pytest.fixture
def store(redis):
    return factories.store(redis)


def sent_campaign(store, n=250, *, start=0):
    """A campaign of `n` whose recipients were all sent (message ids wamid.<cid>.<i>)."""
    c = store.create(factories.campaign(), factories.contacts(n, start=start), window=n)
    store.start(c.id)
    for i in range(n):
        factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{c.id}.{i}")
    return c


def index_refs(store, cid):
    """Index entries (message id and phone) that point at campaign `cid`."""
    found = []
    for pattern in ("bc:msg:*", "bc:ph:*"):
        for name in store.redis.scan_iter(match=pattern, count=1000):
            found += [v for v in store.redis.hvals(name) if v.startswith(f"{cid}:".encode())]
    return found


def test_delete_is_refused_while_running_and_allowed_after_cancel(store):
    c = store.create(factories.campaign(), factories.contacts(20), window=4)
    store.start(c.id)
    with pytest.raises(CampaignStateError, match="pause or cancel it first"):
        operations.delete_campaign(store, c.id)
    assert factories.take(store, c.id, 0).ok  # claimed: its request may be on its way
    store.pause(c.id)
    with pytest.raises(CampaignStateError, match=r"sends in flight \(4\)"):
        operations.delete_campaign(store, c.id)
    operations.cancel(store, c.id)  # the queued ones are cancelled, the claimed one is not
    with pytest.raises(CampaignStateError, match=r"sends in flight \(1\)"):
        operations.delete_campaign(store, c.id)
    store.clock = lambda: 10**10  # its lease has run out: nothing is in flight any more
    removal = operations.delete_campaign(store, c.id)
    assert removal.recipients == 20
    assert not list(store.redis.scan_iter(match=f"bc:c:{c.id}*"))
    with pytest.raises(CampaignNotFound):
        store.get(c.id)
    assert store.list_campaigns() == []


def test_delete_removes_every_key_and_index_entry_and_keeps_other_campaigns(store):
    gone = sent_campaign(store, 250)
    kept = sent_campaign(store, 30, start=1000)
    store.suppress([factories.phone(3)])
    assert len(index_refs(store, gone.id)) == 500
    removal = operations.delete_campaign(store, gone.id)
    assert removal.index_entries == 500 and removal.keys > 0
    assert not list(store.redis.scan_iter(match=f"bc:c:{gone.id}*"))
    assert index_refs(store, gone.id) == []
    assert [c.id for c in store.list_campaigns()] == [kept.id]
    assert len(index_refs(store, kept.id)) == 60
    assert store.find_message(f"wamid.{kept.id}.5") == (kept.id, 5)
    assert store.is_suppressed(factories.phone(3))  # the numbers' list is not the campaign's


def test_a_newer_campaign_keeps_its_phone_index_entry(store):
    old = sent_campaign(store, 5)
    new = sent_campaign(store, 5)  # the same numbers: the phone index now points at `new`
    operations.delete_campaign(store, old.id)
    assert store.find_phone(factories.phone(2)) == (new.id, 2)


def test_deleting_again_finishes_a_deletion_cut_short(store):
    c = sent_campaign(store, 120)
    store.retire(c.id, "delete")  # the first step ran, then the process died
    assert store.list_campaigns() == []
    removal = operations.delete_campaign(store, c.id)
    assert removal.recipients == 120
    assert not list(store.redis.scan_iter(match=f"bc:c:{c.id}*"))
    assert index_refs(store, c.id) == []


def test_a_draft_and_a_completed_campaign_can_be_deleted(store):
    draft = store.create(factories.campaign(), factories.contacts(3), window=3)
    done = sent_campaign(store, 3)
    assert store.get(done.id).state == "completed"
    operations.delete_campaign(store, draft.id)
    operations.delete_campaign(store, done.id)
    assert store.redis.keys("bc:c:*") == []
