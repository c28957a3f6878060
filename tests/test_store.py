import time

import pytest

from broadcaster.campaigns import CampaignState, RecipientStatus
from broadcaster.errors import CampaignNotFound, CampaignStateError, StoreFull
from broadcaster.store import DailyLimit, Slot
from tests import factories

S = RecipientStatus


@pytest.fixture
def clock():
    return factories.Clock(1_000_000.0)


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
    first = factories.take(store, c.id, 0)
    second = factories.take(store, c.id, 0)
    assert first.ok and first.phone == factories.phone(0) and first.variables == {"name": "N0"}
    assert not second.ok and second.code == 0
    assert store.counts(c.id)["sending"] == 1


def test_prepare_holds_nothing_and_claim_takes_the_recipient(store):
    c = make(store)
    store.start(c.id)
    ticket = store.prepare(c.id, 0)
    assert ticket.ok and ticket.phone == factories.phone(0) and ticket.attempts == 0
    assert store.counts(c.id)["queued"] == 4  # prepared, still queued: nothing to lose
    claim = store.claim(c.id, 0, lease_until=store.clock() + 30, phone=ticket.phone)
    assert claim.ok and store.counts(c.id)["sending"] == 1


def test_a_repeated_claim_finds_itself_and_no_other(store, clock):
    c = make(store)
    store.start(c.id)
    until = clock.t + 30
    phone = factories.phone(0)
    assert store.claim(c.id, 0, lease_until=until, phone=phone).ok
    # the reply was lost and the client sent the same call again: still this claim
    assert store.claim(c.id, 0, lease_until=until, phone=phone).ok
    # another worker (another lease) does not get it
    assert store.claim(c.id, 0, lease_until=until + 1, phone=phone).code == 0


def test_only_the_claim_named_by_its_lease_can_be_finished(store, clock):
    c = make(store, n=3, window=3)
    store.start(c.id)
    held = factories.take(store, c.id, 0)
    assert store.finish(c.id, 0, S.SENT, lease_until=held.lease_until + 1) == []
    assert store.counts(c.id)["sending"] == 1
    store.finish(c.id, 0, S.SENT, lease_until=held.lease_until)
    assert store.counts(c.id)["sent"] == 1


def test_a_claim_given_back_is_queued_again_with_no_attempt(store, clock):
    c = make(store, n=3, window=3)
    store.start(c.id)
    held = factories.take(store, c.id, 0)
    back = store.give_back(c.id, 0, lease_until=held.lease_until)
    assert back.code == 1
    assert store.counts(c.id)["queued"] == 3 and store.counts(c.id)["sending"] == 0
    assert store.finish(c.id, 0, S.SENT, lease_until=held.lease_until) == []  # stale now
    clock.t += 1
    again = factories.take(store, c.id, 0)
    assert again.ok and again.attempts == 0
    assert store.give_back(c.id, 0, lease_until=held.lease_until).code == 0  # not its claim


def test_a_claim_given_back_before_it_arrived_is_refused_when_it_does(store, clock):
    # Redis paused: the claim timed out at the client but is still in Redis's socket buffer;
    # the give-back, on another connection, may be served first
    c = make(store, n=3, window=3)
    store.start(c.id)
    until = clock.t + 30
    assert store.give_back(c.id, 0, lease_until=until).code == 2
    assert store.claim(c.id, 0, lease_until=until, phone=factories.phone(0)).code == 0
    assert store.counts(c.id)["queued"] == 3
    clock.t += 1
    assert factories.take(store, c.id, 0).ok  # a new claim (new lease) goes through


def test_prepare_reserves_a_slot_and_paces_beyond_reach(store, redis):
    c = make(store, n=4, window=4)
    store.start(c.id)
    slot = Slot.single(store.keys.rate("waba:x"), 1_000_000, max_wait=1.5)
    waits = [store.prepare(c.id, i, slot=slot) for i in range(3)]
    assert [t.code for t in waits] == [1, 1, 5]
    assert waits[0].wait < 0.1 and 0.9 < waits[1].wait <= 1.0
    assert 1.9 < waits[2].wait <= 2.0  # no slot within 1.5 s: paced for as long, none taken
    assert store.counts(c.id)["paced"] == 1
    assert store.prepare(c.id, 3, slot=slot).code == 5  # still no slot in reach


def test_prepare_many_is_prepare_for_each_in_turn_in_one_step(store, redis):
    c = make(store, n=6, window=5)
    store.start(c.id)
    store.finish(c.id, 4, S.SENT, lease_until=factories.take(store, c.id, 4).lease_until)
    slot = Slot.single(store.keys.rate("waba:many"), 1_000_000, max_wait=1.5)
    tickets = store.prepare_many(c.id, [(i, slot, None, None) for i in (0, 1, 2, 4)])
    assert [t.code for t in tickets] == [1, 1, 5, 0]  # ready, ready, paced, not queued
    assert tickets[0].wait < 0.1 and 0.9 < tickets[1].wait <= 1.0  # one slot after the other
    assert (tickets[1].phone, tickets[1].variables) == (factories.phone(1), {"name": "N1"})
    assert store.counts(c.id)["paced"] == 1 and store.counts(c.id)["queued"] == 4  # 5 refilled
    assert store.prepare_many(c.id, []) == []


def test_a_late_claim_takes_fresh_slots_when_its_limits_are_idle_else_is_refused(store, redis):
    c = make(store, n=4, window=4)
    store.start(c.id)
    busy = Slot((store.keys.rate("late:a"), store.keys.rate("late:b")), (1_000_000, 1_000), 5)
    assert store.prepare(c.id, 0, slot=busy).ok  # the next slot of late:a is 1 s away
    until, phone = store.clock() + 30, factories.phone(0)
    refused = store.claim(c.id, 0, lease_until=until, phone=phone, slot=busy, late=True)
    assert refused.code == 6 and store.counts(c.id)["sending"] == 0  # nothing to give back
    on_time = store.claim(c.id, 0, lease_until=until, phone=phone, slot=busy)
    assert on_time.ok and not on_time.fresh  # on its slot: claimed as it was prepared
    idle = Slot((store.keys.rate("late:c"), store.keys.rate("late:d")), (2_000, 2_000), 5)
    assert store.prepare(c.id, 1, slot=idle).ok
    prepared = [int(redis.get(key)) for key in idle.keys]
    time.sleep(0.01)  # both slots have come: the limits are idle
    claim = store.claim(c.id, 1, lease_until=until, phone=factories.phone(1), slot=idle,
                        late=True)  # fmt: skip
    assert claim.ok and claim.fresh
    assert all(int(redis.get(k)) >= p + 10_000 for k, p in zip(idle.keys, prepared, strict=True))


def test_a_fresh_slot_is_placed_back_by_half_the_callers_round_trip(store, redis):
    # its request leaves half a round trip after Redis's now, a prepared one's a round trip
    # after its slot: placed back by half of one, both leave as long after their slots
    c = make(store, n=2, window=2)
    store.start(c.id)
    idle = Slot((store.keys.rate("back:a"), store.keys.rate("back:b")), (2_000, 3_000), 5)
    assert store.prepare(c.id, 0, slot=idle).ok
    time.sleep(0.06)  # idle even 20 ms back
    sec, us = redis.time()
    before = sec * 1_000_000 + us
    claim = store.claim(c.id, 0, lease_until=store.clock() + 30, phone=factories.phone(0),
                        slot=idle, late=True, back=0.02)  # fmt: skip
    sec, us = redis.time()
    after = sec * 1_000_000 + us
    assert claim.ok and claim.fresh
    for key, interval in zip(idle.keys, idle.intervals_us, strict=True):
        assert before - 20_000 + interval <= int(redis.get(key)) <= after - 20_000 + interval


def test_prepare_spends_no_slot_on_a_recipient_it_will_not_send(store, redis):
    c = make(store, n=4, window=4)
    store.start(c.id)
    slot = Slot.single(store.keys.rate("waba:y"), 1_000_000, max_wait=5)
    factories.settle(store, c.id, 0, S.SENT)
    store.suppress([factories.phone(1)])
    assert store.prepare(c.id, 0, slot=slot).code == 0  # a stale delivery
    assert store.prepare(c.id, 1, slot=slot).code == 4  # suppressed: skipped
    store.pause(c.id)
    assert store.prepare(c.id, 2, slot=slot).code == 2  # paused: put back
    assert not redis.exists(slot.key)


def test_daily_cap_admits_known_recipients_and_paces_new_ones_over_it(store, clock):
    c = make(store, n=4, window=4)
    store.start(c.id)
    day = DailyLimit(store.keys.daily("waba:x", "20261130"), cap=2, due=clock.t + 600)
    assert store.prepare(c.id, 0, daily=day).ok and store.prepare(c.id, 1, daily=day).ok
    paced = store.prepare(c.id, 2, daily=day)
    assert paced.code == 5
    row = next(r for r in store.iter_rows(c.id) if r.index == 2)
    assert row.status == "paced" and "daily cap" in (row.error or "")
    assert store.prepare(c.id, 0, daily=day).ok  # reached today already: always admitted
    assert store.redis.scard(day.key) == 2
    assert store.prepare(c.id, 3, daily=DailyLimit(day.key, 0, 0)).ok  # cap 0: none


def test_pace_puts_a_queued_recipient_back_unclaimed(store, clock):
    c = make(store, n=2, window=2)
    store.start(c.id)
    assert store.pace(c.id, 0, due=clock.t + 1)
    assert store.counts(c.id)["paced"] == 1
    assert not store.pace(c.id, 0, due=clock.t + 1)  # not queued any more
    clock.t += 2
    assert store.tick(c.id) == [0]


def test_finish_records_outcome_and_refills(store):
    c = make(store, n=5, window=2)
    store.start(c.id)
    released = factories.settle(store, c.id, 0, S.SENT, message_id="wamid.X")
    assert released == [2]
    assert factories.settle(store, c.id, 1, S.FAILED, error="131026: undeliverable") == [3]
    rows = {r.index: r for r in store.iter_rows(c.id)}
    assert rows[0].status == "sent" and rows[0].message_id == "wamid.X" and rows[0].attempts == 1
    assert rows[1].status == "failed" and rows[1].error == "131026: undeliverable"
    assert store.find_message("wamid.X") == (c.id, 0)
    assert store.find_message("wamid.Y") is None
    assert_counts_add_up(store, c.id, 5)


def test_a_second_finish_is_ignored(store):
    c = make(store, n=3, window=3)
    store.start(c.id)
    held = factories.take(store, c.id, 0)
    store.finish(c.id, 0, S.SENT, lease_until=held.lease_until)
    store.finish(c.id, 0, S.FAILED, error="late", lease_until=held.lease_until)
    assert store.counts(c.id)["sent"] == 1 and store.counts(c.id)["failed"] == 0


def test_campaign_completes_when_every_recipient_is_done(store):
    c = make(store, n=3, window=10)
    store.start(c.id)
    for i in range(3):
        factories.settle(store, c.id, i, S.SENT)
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
    assert factories.take(store, c.id, 0).code == 2
    assert store.counts(c.id)["pending"] == 4
    released = store.resume(c.id)
    assert released == [0]  # the window still holds 1 and 2; 0 was put back first
    assert_counts_add_up(store, c.id, 6)


def test_cancel_leaves_every_remaining_recipient_cancelled(store):
    c = make(store, n=8, window=3)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.SENT)  # releases 3
    held = factories.take(store, c.id, 1)  # in flight while cancelling
    assert store.cancel(c.id) == 6
    assert factories.take(store, c.id, 2).code == 0
    store.finish(c.id, 1, S.SENT, lease_until=held.lease_until)
    counts = store.counts(c.id)
    assert counts["sent"] == 2 and counts["cancelled"] == 6
    assert_counts_add_up(store, c.id, 8)
    with pytest.raises(CampaignStateError):
        store.resume(c.id)


def test_requeue_failed_only_touches_failed(store):
    c = make(store, n=4, window=4)
    store.start(c.id)
    for i, outcome in enumerate([S.SENT, S.FAILED, S.SENT, S.FAILED]):
        factories.settle(store, c.id, i, outcome)
    assert store.get(c.id).state == CampaignState.COMPLETED
    released, n = store.requeue(c.id, S.FAILED)
    assert n == 2 and released == [1, 3]
    assert store.get(c.id).state == CampaignState.RUNNING
    assert store.counts(c.id)["sent"] == 2 and store.counts(c.id)["queued"] == 2


def test_tick_marks_expired_leases_unknown_and_republishes_stale(store, clock):
    c = make(store, n=4, window=2)
    store.start(c.id)
    factories.take(store, c.id, 0)
    clock.t += 31
    assert store.tick(c.id) == [2]  # 0 turned unknown, which frees its slot
    lost_at = int(clock.t)
    clock.t += 30  # queued 1 is now stale (60 s): published again
    assert store.tick(c.id) == [1]
    rows = {r.index: r for r in store.iter_rows(c.id)}
    assert rows[0].status == "unknown" and "unknown" in (rows[0].error or "")
    assert rows[0].updated_at == lost_at  # when it turned unknown, not when it was claimed


def test_a_late_outcome_replaces_unknown(store, clock):
    c = make(store, n=3, window=3)
    store.start(c.id)
    held = factories.take(store, c.id, 0)
    clock.t += 31
    store.tick(c.id)
    assert store.counts(c.id)["unknown"] == 1
    # the request answered 503 after all: not sent, so it is retried
    store.finish(c.id, 0, S.WAITING, due=clock.t + 1, lease_until=held.lease_until)
    assert store.counts(c.id)["unknown"] == 0 and store.counts(c.id)["waiting"] == 1


def test_waiting_is_released_by_tick_when_due(store, clock):
    c = make(store, n=2, window=2)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.WAITING, due=clock.t + 5, error="HTTP 500: boom")
    assert factories.take(store, c.id, 0).code == 0  # a stale duplicate cannot jump the wait
    assert store.tick(c.id) == []
    clock.t += 6
    assert store.tick(c.id) == [0]
    claim = factories.take(store, c.id, 0)
    assert claim.ok and claim.attempts == 1


def test_recipients_deferred_for_long_do_not_hold_the_window(store, clock, redis):
    # a 131049 defers one recipient for an hour: the rest of the campaign must go on
    c = make(store, n=6, window=2)
    assert store.start(c.id) == [0, 1]
    for i, nxt in ((0, [2]), (1, [3])):
        released = factories.settle(store, c.id, i, S.WAITING, due=clock.t + 3600, error="131049")
        assert released == nxt
    assert store.counts(c.id)["waiting"] == 2
    # a short wait (a retry in 5 s) still holds its place in the window
    assert factories.settle(store, c.id, 2, S.WAITING, due=clock.t + 5, error="HTTP 500") == []
    # an hour later the deferred ones come back through the window, ahead of new recipients
    assert factories.settle(store, c.id, 3, S.SENT) == [4]
    clock.t += 3601
    # the short wait is released, 4 republished (it sat queued past stale_after); the deferred
    # two wait for room in the window, first in line
    assert store.tick(c.id) == [2, 4]
    assert factories.settle(store, c.id, 2, S.SENT) == [0]
    assert factories.settle(store, c.id, 0, S.SENT) == [1]
    assert not redis.exists(store.keys.parked(c.id))
    assert_counts_add_up(store, c.id, 6)


def test_cancel_reaches_recipients_deferred_for_long(store, clock, redis):
    c = make(store, n=3, window=1)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.WAITING, due=clock.t + 3600, error="131049")
    assert store.cancel(c.id) == 3
    assert store.counts(c.id)["cancelled"] == 3
    assert not redis.exists(store.keys.parked(c.id))


def test_suppressed_number_is_skipped_at_its_turn(store):
    c = make(store, n=3, window=1)
    store.start(c.id)
    store.suppress([factories.phone(0)])
    claim = factories.take(store, c.id, 0)
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


def test_an_import_that_fills_redis_is_undone_and_says_so(store, redis, maxmemory):
    maxmemory(free=50_000)
    with pytest.raises(StoreFull, match="Redis ran out of memory after 5,000 recipients"):
        store.create(factories.campaign(), factories.contacts(12_000), window=10)
    assert list(redis.scan_iter("bctest:c:*")) == [] and store.list_campaigns() == []


def test_check_room_counts_300_bytes_a_recipient_and_keeps_the_headroom(store, redis, maxmemory):
    store.check_room(10**9, min_headroom=0.1)  # no maxmemory: no limit to check against
    used = int(redis.info("memory")["used_memory"])
    maxmemory(int((used + 300_000) / 0.9))  # 300 KB usable above what is used
    store.check_room(900, min_headroom=0.1)
    with pytest.raises(StoreFull, match="no room for a campaign of 1,100 recipients"):
        store.check_room(1_100, min_headroom=0.1)
    assert 0.1 < store.memory().headroom < 0.4
