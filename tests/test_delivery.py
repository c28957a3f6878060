"""deliver() against a real Redis store, with Replai answers from httpx.MockTransport."""

import json
import time

import httpx
import pytest
import redis as redis_lib

from broadcaster.campaigns import CampaignState, RecipientStatus
from broadcaster.replai import ReplaiClient
from tests import factories
from tests.factories import Clock
from workers.delivery import Resources, deliver, prepare_many, send_prepared
from workers.ratelimit import RateLimiter, RedisBackend

S = RecipientStatus


def ok(request: httpx.Request) -> httpx.Response:
    body = {"status": True, "message": "ok", "data": {"messages": [{"id": "wamid.OK"}]}}
    return httpx.Response(200, json=body)


def meta_error(code: int, status: int = 400):
    def answer(request: httpx.Request) -> httpx.Response:
        error = {"error": {"message": f"(#{code}) boom", "code": code}}
        return httpx.Response(status, json={"status": False, "message": "x", "data": error})

    return answer


@pytest.fixture
def world(redis):
    clock = Clock()
    store = factories.store(redis, clock=clock)
    calls: list[httpx.Request] = []

    def make(handler, *, rate=None, sleep=None):
        def transport(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            return handler(request)

        client = ReplaiClient(
            base_url="http://replai.test", token="t", transport=httpx.MockTransport(transport)
        )
        campaign = store.create(
            factories.campaign(rate_per_minute=rate), factories.contacts(3), window=3
        )
        store.start(campaign.id)
        res = Resources(
            store=store,
            client=client,
            limiter=RateLimiter(RedisBackend(redis), safety_margin=0.025),
            policy=factories.policy(backoff_base=1.0),
            sleep=sleep or (lambda s: None),
            clock=clock,
        )
        return res, campaign.id

    return make, calls


def row(store, cid, index):
    return next(r for r in store.iter_rows(cid) if r.index == index)


def test_success_records_the_message_id_and_sends_the_reference(world):
    make, calls = world
    res, cid = make(ok)
    deliver(res, cid, 0)
    assert row(res.store, cid, 0).message_id == "wamid.OK"
    assert calls[0].headers["X-Broadcaster-Ref"] == f"{cid}:0"
    assert json.loads(calls[0].content)["message"] == "Halo N0"


def test_a_second_delivery_of_the_same_task_sends_nothing(world):
    make, calls = world
    res, cid = make(ok)
    deliver(res, cid, 0)
    deliver(res, cid, 0)
    assert len(calls) == 1


def test_recipients_prepared_together_are_each_sent_once_and_the_turned_away_not_at_all(world):
    make, calls = world
    res, cid = make(ok)
    factories.take(res.store, cid, 1)  # another worker holds recipient 1
    prepared = prepare_many(res, cid, [0, 1, 2])
    assert [ticket.code for _, ticket in prepared] == [1, 0, 1]  # 1 is not queued
    for plan, ticket in prepared:
        send_prepared(res, plan, ticket)
    assert sorted(c.headers["X-Broadcaster-Ref"] for c in calls) == [f"{cid}:0", f"{cid}:2"]
    assert [row(res.store, cid, i).status for i in (0, 1, 2)] == ["sent", "sending", "sent"]
    for plan, ticket in prepared:  # the same tickets again (a task delivered twice)
        send_prepared(res, plan, ticket)
    again = prepare_many(res, cid, [0, 2])
    assert [ticket.code for _, ticket in again] == [0, 0] and len(calls) == 2


@pytest.mark.parametrize(
    ("handler", "status", "reason"),
    [
        (meta_error(131026), "failed", "131026"),
        (meta_error(132000), "failed", "132000"),
        (meta_error(131000, 500), "waiting", "131000"),
        (meta_error(131056), "waiting", "131056"),
        (lambda r: httpx.Response(503, text="<html>down</html>"), "waiting", "503"),
        (meta_error(131048), "waiting", "131048"),
    ],
)
def test_outcomes_are_classified(world, handler, status, reason):
    make, _ = world
    res, cid = make(handler)
    deliver(res, cid, 0)
    got = row(res.store, cid, 0)
    assert got.status == status and reason in (got.error or "")


def test_a_read_timeout_ends_unknown_and_is_not_retried(world):
    def timeout(request):
        raise httpx.ReadTimeout("no answer", request=request)

    make, _ = world
    res, cid = make(timeout)
    deliver(res, cid, 0)
    assert row(res.store, cid, 0).status == "unknown"


@pytest.mark.parametrize("status", [401, 419])
def test_sender_errors_pause_the_campaign_and_keep_the_recipient(world, status):
    make, _ = world
    res, cid = make(lambda r: httpx.Response(status, json={"message": "nope"}))
    deliver(res, cid, 0)
    campaign = res.store.get(cid)
    assert campaign.state == CampaignState.PAUSED and str(status) in (campaign.reason or "")
    assert row(res.store, cid, 0).status == "pending"


def test_throttled_answer_slows_the_whole_account(world):
    make, _ = world
    res, cid = make(lambda r: httpx.Response(429, headers={"Retry-After": "30"}, json={}))
    deliver(res, cid, 0)
    assert row(res.store, cid, 0).status == "waiting"
    # every later slot of this account is held back by the 30 s Retry-After
    deliver(res, cid, 1)  # nothing wrong with this one: it waits for a slot, no attempt spent
    assert row(res.store, cid, 1).status == "paced" and row(res.store, cid, 1).attempts == 0
    # Replai throttles the account, not the number: another sender on it waits too
    other = res.store.create(
        factories.campaign(sender="waba-2"), factories.contacts(1, start=10), window=1
    )
    res.store.start(other.id)
    deliver(res, other.id, 0)
    assert row(res.store, other.id, 0).status == "paced"
    account = res.store.keys.rate("account:default:waba")
    assert int(res.store.redis.get(account)) > 0


def test_a_pause_during_a_second_wait_after_a_late_wake_up_sends_nothing(world):
    make, calls = world
    holder, sleeps = {}, []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(seconds)
        if len(sleeps) == 2:  # 1: recipient 0's slot (now); 2: recipient 1's slot
            time.sleep(0.03)  # woke 30 ms after the slot: the thread takes another one
        elif len(sleeps) == 3:
            holder["res"].store.pause(holder["cid"], "operator")

    res, cid = make(ok, rate=600, sleep=sleep)
    holder.update(res=res, cid=cid)
    deliver(res, cid, 0)  # first slot: no wait
    deliver(res, cid, 1)  # 100 ms to its slot, late, 200 ms to the next; paused meanwhile
    assert len(calls) == 1
    assert row(res.store, cid, 1).status == "pending"
    assert res.store.counts(cid)["sending"] == 0


def test_a_send_that_keeps_waking_late_goes_back_to_wait_instead_of_leaving_late(world):
    make, calls = world

    def sleep(seconds):
        time.sleep(seconds + 0.015)  # every wake-up is 15 ms late (a starved process)

    res, cid = make(ok, rate=600, sleep=sleep)
    deliver(res, cid, 0)
    assert calls == [] and row(res.store, cid, 0).status == "paced"
    assert row(res.store, cid, 0).attempts == 0


def test_pause_during_the_wait_for_a_slot_sends_nothing(world):
    make, calls = world
    holder = {}

    def sleep(seconds):
        if seconds > 0 and not holder.get("paused"):  # the wait may come in two steps
            holder["paused"] = True
            holder["res"].store.pause(holder["cid"], "operator")

    res, cid = make(ok, rate=60, sleep=sleep)
    holder.update(res=res, cid=cid)
    deliver(res, cid, 0)  # first slot: no wait
    deliver(res, cid, 1)  # waits ~1 s for its slot; the campaign is paused meanwhile
    assert len(calls) == 1
    assert row(res.store, cid, 1).status == "pending"
    assert res.store.counts(cid)["sent"] == 1


# -- nothing stands between a claim and its request ------------------------------------------


class Died(BaseException):
    """A worker thread stopping dead (as SIGKILL would), not an error deliver() handles."""


def test_a_worker_that_dies_waiting_for_its_slot_leaves_the_recipient_queued(world):
    make, calls = world

    def sleep(seconds):
        if seconds > 0:
            raise Died

    res, cid = make(ok, rate=60, sleep=sleep)
    deliver(res, cid, 0)  # first slot: no wait
    with pytest.raises(Died):
        deliver(res, cid, 1)  # dies during its ~1 s wait
    assert res.store.counts(cid)["queued"] == 2 and res.store.counts(cid)["sending"] == 0
    res.store.clock.t += res.policy.lease + res.store.stale_after + 1
    assert 1 in res.store.tick(cid)  # published again, not declared unknown
    assert res.store.counts(cid)["unknown"] == 0 and len(calls) == 1


def test_a_claim_whose_answer_was_lost_is_given_back_and_nothing_is_sent(world):
    make, calls = world
    res, cid = make(ok)
    real = res.store.claim

    def claim_then_lose_the_answer(*args, **kwargs):
        real(*args, **kwargs)
        raise redis_lib.TimeoutError("Timeout reading from socket")

    res.store.claim = claim_then_lose_the_answer
    with pytest.raises(redis_lib.TimeoutError):
        deliver(res, cid, 0)
    assert calls == []
    assert row(res.store, cid, 0).status == "queued" and row(res.store, cid, 0).attempts == 0
    res.store.claim = real
    res.store.clock.t += 1
    deliver(res, cid, 0)  # the redelivery (or the ticker's republish) sends it, once
    assert len(calls) == 1 and row(res.store, cid, 0).status == "sent"


def test_a_claim_given_back_before_it_reached_redis_is_refused_when_it_does(world):
    make, calls = world
    res, cid = make(ok)
    real, sent_later = res.store.claim, []

    def claim_stuck_on_the_way(*args, **kwargs):
        sent_later.append((args, kwargs))  # it will reach Redis after the give-back
        raise redis_lib.ConnectionError("Connection reset by peer")

    res.store.claim = claim_stuck_on_the_way
    with pytest.raises(redis_lib.ConnectionError):
        deliver(res, cid, 0)
    ((args, kwargs),) = sent_later
    assert real(*args, **kwargs).code == 0  # arrives now: refused
    assert calls == [] and row(res.store, cid, 0).status == "queued"


def test_an_outcome_is_recorded_once_redis_answers_again(world):
    make, calls = world
    res, cid = make(ok)
    real, failures = res.store.finish, [redis_lib.ConnectionError("refused")] * 2

    def finish_while_redis_restarts(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    res.store.finish = finish_while_redis_restarts
    deliver(res, cid, 0)
    assert len(calls) == 1 and row(res.store, cid, 0).status == "sent"


def test_a_claim_that_took_too_long_is_given_back_and_made_again_on_a_later_slot(world):
    make, calls = world
    res, cid = make(ok, rate=600, sleep=time.sleep)
    real, slow = res.store.claim, [0.03]

    def slow_claim(*args, **kwargs):
        if slow:
            time.sleep(slow.pop())  # Redis slow to answer: the request would leave late
        return real(*args, **kwargs)

    res.store.claim = slow_claim
    deliver(res, cid, 0)
    assert len(calls) == 1
    got = row(res.store, cid, 0)
    assert got.status == "sent" and got.attempts == 1
