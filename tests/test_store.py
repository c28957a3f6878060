import pytest

from broadcaster.campaigns import CampaignState, RecipientStatus
from broadcaster.errors import CampaignNotFound, CampaignStateError
from tests import factories

S = RecipientStatus


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(redis, clock):
    return factories.store(redis, prefix="bctest", clock=clock)


def make(store, n=10, window=4, **fields):
    return store.create(factories.campaign(**fields), factories.contacts(n), window=window)


def assert_counts_add_up(store, cid, total):
    counts = store.counts(cid)
    assert sum(counts.values()) == total, counts
    assert all(v >= 0 for v in counts.values()), counts


def test_create_stores_recipients_and_lists_campaign(store):
    c = make(store, n=250)
    assert c.total == 250
    got = store.get(c.id)
    assert got.state == CampaignState.DRAFT and got.total == 250 and got.text == "Halo {name}"
    assert store.counts(c.id)["pending"] == 250
    assert [x.id for x in store.list_campaigns()] == [c.id]
    rows = list(store.iter_rows(c.id))
    assert [r.index for r in rows] == list(range(250))
    assert rows[123].phone == factories.phone(123)
    assert rows[123].variables == {"name": "N123"}
    assert rows[0].status == "pending"


def test_get_unknown_campaign_raises(store):
    with pytest.raises(CampaignNotFound, match="nope"):
        store.get("nope")


def test_start_releases_at_most_the_window(store):
    c = make(store, n=10, window=4)
    released = store.start(c.id)
    assert released == [0, 1, 2, 3]
    assert store.counts(c.id)["queued"] == 4
    assert store.get(c.id).state == CampaignState.RUNNING
    assert_counts_add_up(store, c.id, 10)


def test_claim_is_granted_once(store):
    c = make(store)
    store.start(c.id)
    first = store.claim(c.id, 0, lease=30)
    second = store.claim(c.id, 0, lease=30)
    assert first.ok and first.phone == factories.phone(0) and first.variables == {"name": "N0"}
    assert not second.ok and second.code == 0
    assert store.counts(c.id)["sending"] == 1


def test_finish_records_outcome_and_refills(store):
    c = make(store, n=5, window=2)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    released = store.finish(c.id, 0, S.SENT, message_id="wamid.X")
    assert released == [2]
    store.claim(c.id, 1, lease=30)
    assert store.finish(c.id, 1, S.FAILED, error="131026: undeliverable") == [3]
    rows = {r.index: r for r in store.iter_rows(c.id)}
    assert rows[0].status == "sent" and rows[0].message_id == "wamid.X" and rows[0].attempts == 1
    assert rows[1].status == "failed" and rows[1].error == "131026: undeliverable"
    assert store.find_message("wamid.X") == (c.id, 0)
    assert store.find_message("wamid.Y") is None
    assert_counts_add_up(store, c.id, 5)


def test_a_second_finish_is_ignored(store):
    c = make(store, n=3, window=3)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    store.finish(c.id, 0, S.SENT)
    store.finish(c.id, 0, S.FAILED, error="late")
    assert store.counts(c.id)["sent"] == 1 and store.counts(c.id)["failed"] == 0


def test_campaign_completes_when_every_recipient_is_done(store):
    c = make(store, n=3, window=10)
    store.start(c.id)
    for i in range(3):
        assert store.claim(c.id, i, lease=30).ok
        store.finish(c.id, i, S.SENT)
    got = store.get(c.id)
    assert got.state == CampaignState.COMPLETED and got.finished_at is not None
    assert [e["event"] for e in store.events(c.id)] == [
        "created",
        "started",
        "completed",
    ]


def test_paused_campaign_puts_claims_back_and_resume_releases_them(store):
    c = make(store, n=6, window=3)
    store.start(c.id)
    store.pause(c.id, "operator")
    assert store.get(c.id).state == CampaignState.PAUSED
    assert store.claim(c.id, 0, lease=30).code == 2
    assert store.counts(c.id)["pending"] == 4
    released = store.resume(c.id)
    assert released == [0]  # the window still holds 1 and 2; 0 was put back first
    assert_counts_add_up(store, c.id, 6)


def test_cancel_leaves_every_remaining_recipient_cancelled(store):
    c = make(store, n=8, window=3)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    store.finish(c.id, 0, S.SENT)  # releases 3
    store.claim(c.id, 1, lease=30)  # in flight while cancelling
    assert store.cancel(c.id) == 6
    assert store.claim(c.id, 2, lease=30).code == 0
    store.finish(c.id, 1, S.SENT)
    counts = store.counts(c.id)
    assert counts["sent"] == 2 and counts["cancelled"] == 6
    assert_counts_add_up(store, c.id, 8)
    with pytest.raises(CampaignStateError):
        store.resume(c.id)


def test_requeue_failed_only_touches_failed(store):
    c = make(store, n=4, window=4)
    store.start(c.id)
    for i, outcome in enumerate([S.SENT, S.FAILED, S.SENT, S.FAILED]):
        store.claim(c.id, i, lease=30)
        store.finish(c.id, i, outcome)
    assert store.get(c.id).state == CampaignState.COMPLETED
    released, n = store.requeue(c.id, S.FAILED)
    assert n == 2 and released == [1, 3]
    assert store.get(c.id).state == CampaignState.RUNNING
    assert store.counts(c.id)["sent"] == 2 and store.counts(c.id)["queued"] == 2


def test_tick_marks_expired_leases_unknown_and_republishes_stale(store, clock):
    c = make(store, n=4, window=2)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    clock.t += 31
    assert store.tick(c.id) == [2]  # 0 turned unknown, which frees its slot
    clock.t += 30  # queued 1 is now stale (60 s): published again
    assert store.tick(c.id) == [1]
    rows = {r.index: r for r in store.iter_rows(c.id)}
    assert rows[0].status == "unknown" and "unknown" in (rows[0].error or "")


def test_waiting_is_released_by_tick_when_due(store, clock):
    c = make(store, n=2, window=2)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    store.finish(c.id, 0, S.WAITING, due=clock.t + 5, error="HTTP 500: boom")
    assert store.claim(c.id, 0, lease=30).code == 0  # a stale duplicate cannot jump the wait
    assert store.tick(c.id) == []
    clock.t += 6
    assert store.tick(c.id) == [0]
    claim = store.claim(c.id, 0, lease=30)
    assert claim.ok and claim.attempts == 1


def test_recipients_deferred_for_long_do_not_hold_the_window(store, clock, redis):
    # a 131049 defers one recipient for an hour: the rest of the campaign must go on
    c = make(store, n=6, window=2)
    assert store.start(c.id) == [0, 1]
    for i, nxt in ((0, [2]), (1, [3])):
        store.claim(c.id, i, lease=30)
        released = store.finish(c.id, i, S.WAITING, due=clock.t + 3600, error="131049")
        assert released == nxt
    assert store.counts(c.id)["waiting"] == 2
    # a short wait (a retry in 5 s) still holds its place in the window
    store.claim(c.id, 2, lease=30)
    assert store.finish(c.id, 2, S.WAITING, due=clock.t + 5, error="HTTP 500") == []
    # an hour later the deferred ones come back through the window, ahead of new recipients
    store.claim(c.id, 3, lease=30)
    assert store.finish(c.id, 3, S.SENT) == [4]
    clock.t += 3601
    # the short wait is released, 4 republished (it sat queued past stale_after); the deferred
    # two wait for room in the window, first in line
    assert store.tick(c.id) == [2, 4]
    store.claim(c.id, 2, lease=30)
    assert store.finish(c.id, 2, S.SENT) == [0]
    store.claim(c.id, 0, lease=30)
    assert store.finish(c.id, 0, S.SENT) == [1]
    assert not redis.exists(store.keys.parked(c.id))
    assert_counts_add_up(store, c.id, 6)


def test_cancel_reaches_recipients_deferred_for_long(store, clock, redis):
    c = make(store, n=3, window=1)
    store.start(c.id)
    store.claim(c.id, 0, lease=30)
    store.finish(c.id, 0, S.WAITING, due=clock.t + 3600, error="131049")
    assert store.cancel(c.id) == 3
    assert store.counts(c.id)["cancelled"] == 3
    assert not redis.exists(store.keys.parked(c.id))


def test_suppressed_number_is_skipped_at_its_turn(store):
    c = make(store, n=3, window=1)
    store.start(c.id)
    store.suppress([factories.phone(0)])
    claim = store.claim(c.id, 0, lease=30)
    assert claim.code == 4 and claim.released == [1]
    assert store.counts(c.id)["skipped"] == 1


def test_scheduled_campaign_waits_for_send_at(store, clock):
    c = make(store, n=2, send_at=clock.t + 100)
    assert store.start(c.id) == []
    assert store.get(c.id).state == CampaignState.SCHEDULED
    assert store.due_scheduled() == []
    clock.t += 101
    assert store.due_scheduled() == [c.id]
    assert store.start(c.id) == [0, 1]


def test_redis_memory_per_recipient_is_small(store):
    n = 20_000
    c = make(store, n=n, window=200)
    store.start(c.id)
    used = sum(
        store.redis.memory_usage(k) or 0 for k in store.redis.scan_iter(f"bctest:c:{c.id}*")
    )
    assert used / n < 60, used / n
