"""Nested rate limits end to end: real Redis, real Celery workers, the sandbox throttling per
account (per token, fixed windows, as Replai's Laravel throttle).

The windows are compressed to keep the tests short: an account of 20 sends a second against
the sandbox's 20 per one-second bucket stands for Replai's 120 per one-minute bucket; the
limiter and the throttle do the same at either scale. Utilisation is measured by
`bench/nested.py` (`make bench`), not asserted here.
"""

import json

import pytest
from typer.testing import CliRunner

from broadcaster import enqueue
from broadcaster.campaigns import CampaignState
from broadcaster.cli import app
from broadcaster.errors import CampaignInvalid
from broadcaster.settings import get_settings
from broadcaster.store import Slot
from tests import factories
from tests.conftest import SECOND_TOKEN, WORKER_STALE_AFTER
from tests.test_pipeline import assert_accounted, wait_for
from workers import pacing

pytestmark = pytest.mark.slow

#: The default account's throttle (per second), and brand-b's, on the WABA routes.
FAST, SLOW = 20, 10


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


@pytest.fixture
def accounts(monkeypatch, sandbox):
    """Two Replai accounts in the settings of this process and of the workers: `default`
    (the tests' token) at FAST/s and `brand-b` (the second token) at SLOW/s; senders at
    Meta's 80/s. The sandbox throttles each token at the same rates."""
    env = {
        "BROADCASTER_RATE_WABA_PER_MINUTE": str(FAST * 60),
        "BROADCASTER_SENDER_RATE": "80/s",
        "BROADCASTER_ACCOUNTS": json.dumps(
            {"brand-b": {"token": SECOND_TOKEN, "rates": {"waba": f"{SLOW}/s"}}}
        ),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    sandbox.configure(rate_limit=f"{FAST}/s", token_rate_limits={SECOND_TOKEN: f"{SLOW}/s"})
    yield env
    get_settings.cache_clear()


def launch(store, dispatch, n, *, start, **fields):
    rows = [{"phone": factories.phone(start + i), "name": f"N{i}"} for i in range(n)]
    result = enqueue.enqueue_broadcast(
        rows, text="Halo {name}", store=store, dispatch=dispatch, **fields
    )
    return result.campaign.id


def busiest(times, period=1.0):
    """The most sends in any window of `period` seconds (sliding: stricter than buckets)."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + period) for i, t in enumerate(times))


def overlap_shares(sends, cids):
    """Sends of each campaign from the last one's first send to the first one's last send."""
    times = {c: [s["t"] for s in sends if s["ref"].startswith(c)] for c in cids}
    start, end = max(min(t) for t in times.values()), min(max(t) for t in times.values())
    return [sum(1 for u in times[c] if start <= u <= end) for c in cids]


def run(store, workers, env, cids):
    workers.start("w1", concurrency=6, **env)
    workers.start("w2", concurrency=6, **env)
    for cid in cids:
        wait_for(lambda cid=cid: store.get(cid).state == CampaignState.COMPLETED, timeout=60)
        assert_accounted(store, cid)


def test_two_senders_on_one_account_share_its_throttle(store, sandbox, workers, broker, accounts):
    dispatch = broker.dispatch()
    a = launch(store, dispatch, 80, start=0, sender="waba-1")
    b = launch(store, dispatch, 80, start=100, sender="waba-2")
    run(store, workers, accounts, [a, b])
    report = sandbox.sends()
    sends = report["sends"]
    assert report["throttled"] == 0  # no 429
    assert report["duplicates"] == 0 and len(sends) == 160
    times = [s["t"] for s in sends]
    assert busiest(times) <= FAST  # no one-second window over the account's limit
    # each sender alone would go at 80/s: together they went at the account's pace, and
    # fairly: while both campaigns were sending, each had half of the account
    shares = overlap_shares(sends, [a, b])
    equal = sum(shares) / 2
    assert all(abs(share - equal) <= 0.1 * equal for share in shares), shares


def test_two_accounts_each_go_at_their_own_throttle(store, sandbox, workers, broker, accounts):
    dispatch = broker.dispatch()
    fast = launch(store, dispatch, 60, start=0, sender="waba-1")
    slow = launch(store, dispatch, 30, start=100, sender="waba-2", account="brand-b")
    assert store.get(slow).limited_by == f"account 'brand-b' (waba routes): {SLOW}/s"
    run(store, workers, accounts, [fast, slow])
    report = sandbox.sends()
    assert report["throttled"] == 0
    assert report["duplicates"] == 0 and len(report["sends"]) == 90
    for cid, token, limit in ((fast, "sandbox-test-token", FAST), (slow, SECOND_TOKEN, SLOW)):
        times = [s["t"] for s in report["sends"] if s["ref"].startswith(cid)]
        assert {s["token"] for s in report["sends"] if s["ref"].startswith(cid)} == {token}
        assert busiest(times) <= limit


def test_a_campaign_asking_more_than_its_account_allows_is_refused(store, accounts):
    with pytest.raises(CampaignInvalid, match="more than account 'brand-b'"):
        launch(store, factories.Published(), 3, start=0, sender="w", account="brand-b",
               rate_per_minute=SLOW * 60 + 1)  # fmt: skip
    result = CliRunner().invoke(app, [
        "launch", "-", "--sender", "w", "--account", "brand-b", "--text", "Halo",
        "--rate", f"{SLOW * 2}/s",
    ], input="phone\n081234567801\n")  # fmt: skip
    assert result.exit_code != 0
    assert f"more than account 'brand-b' (waba routes): {SLOW}/s allows" in result.output
    assert store.list_campaigns() == []


# -- fair shares, in the prepare step alone ---------------------------------------------------

ACCOUNT = "account:x:waba"


def running(store, n=3, **fields):
    campaign = store.create(factories.campaign(**fields), factories.contacts(n), window=n)
    store.start(campaign.id)
    return campaign.id


def share_slot(store, cid, own_us=0):
    k = store.keys
    return Slot(
        (k.share(ACCOUNT, cid), k.rate(ACCOUNT)), (0, 100_000), max_wait=5.0,
        sharing=(k.sharing(ACCOUNT), k.share_caps(ACCOUNT)), own_interval_us=own_us,
    )  # fmt: skip


def test_campaigns_on_one_account_share_it_max_min_fairly(store):
    a, b, c = running(store), running(store), running(store)
    assert store.prepare(a, 0, slot=share_slot(store, a)).share_us == 100_000  # alone: all
    assert store.prepare(b, 0, slot=share_slot(store, b)).share_us == 200_000  # half each
    # c asks for one send per 400 ms (1/4 of the account): it keeps that (its own rate holds
    # it, its share is no tighter), a and b share the rest equally: 3/8 each
    assert store.prepare(c, 0, slot=share_slot(store, c, own_us=400_000)).share_us == 266_667
    assert store.prepare(a, 1, slot=share_slot(store, a)).share_us == 266_667
    store.pause(b)  # b's share is a's at a's next reservation, before b prepares again
    assert store.prepare(a, 2, slot=share_slot(store, a)).share_us == 133_334  # 3/4 at once
    assert store.prepare(b, 1, slot=share_slot(store, b)).code == 2  # put back
    store.resume(b)  # back among the account's campaigns at its next send
    assert store.prepare(b, 1, slot=share_slot(store, b)).share_us == 266_667


def test_a_campaign_alone_on_its_account_reserves_its_share_only_where_it_binds(store, redis):
    # alone, its share is the whole account; with its own rate slower than the account, the
    # share adds nothing and is not reserved (one key less per send) ...
    k = store.keys
    slow = running(store)
    own = share_slot(store, slow)._replace(
        keys=(k.rate(f"campaign:{slow}"), k.share(ACCOUNT, slow), k.rate(ACCOUNT)),
        intervals_us=(250_000, 0, 100_000),
    )
    alone = store.prepare(slow, 0, slot=own)
    assert alone.ok and alone.complete and alone.share_us == 100_000
    assert not redis.exists(k.share(ACCOUNT, slow))
    assert pacing.resolved(own, alone).keys == (k.rate(f"campaign:{slow}"), k.rate(ACCOUNT))
    store.cancel(slow)
    # ... but where the account binds it is kept, so the account's slots are taken just in
    # time, not held ahead by this campaign (one that starts later gets its share soon)
    a = running(store)
    first = store.prepare(a, 0, slot=share_slot(store, a))
    assert first.share_us == 100_000 and redis.exists(k.share(ACCOUNT, a))
    assert pacing.resolved(share_slot(store, a), first).intervals_us == (100_000, 100_000)
    assert not store.prepare(a, 1, slot=share_slot(store, a)).complete  # its share is ahead


def test_a_paused_campaigns_share_goes_to_the_other_at_its_next_send(store):
    # a holds slots of its half share (and so of its sender) up to 0.8 s ahead; once b is
    # paused, a's next send is not queued behind them: its share and its sender's limit are
    # free from now on (the account's own limit still spaces every send)
    a, b = running(store, n=8), running(store)
    k = store.keys

    def slot(cid):
        sender = k.rate(f"sender:waba:{cid}")
        return share_slot(store, cid)._replace(
            keys=(sender, k.share(ACCOUNT, cid), k.rate(ACCOUNT)),
            intervals_us=(10_000, 0, 100_000),
        )

    assert store.prepare(b, 0, slot=slot(b)).ok
    held = [store.prepare(a, i, slot=slot(a)) for i in range(5)]
    assert [t.share_us for t in held] == [200_000] * 5 and held[-1].wait > 0.75
    store.pause(b)
    after = store.prepare(a, 5, slot=slot(a))
    assert after.ok and after.share_us == 100_000 and after.wait < 0.25  # the account: 0.2


def test_an_account_without_credentials_pauses_its_campaign_with_the_reason(
    store, sandbox, workers, broker, accounts, monkeypatch
):
    # brand-c is configured (its rate) but has no token: the worker starts (the default
    # account is usable) and pauses brand-c's campaign, saying why, instead of failing its
    # send tasks over and over; the default account's campaign is sent as usual
    env = dict(accounts)
    env["BROADCASTER_ACCOUNTS"] = json.dumps(
        {**json.loads(accounts["BROADCASTER_ACCOUNTS"]), "brand-c": {"rates": {"waba": "5/s"}}}
    )
    monkeypatch.setenv("BROADCASTER_ACCOUNTS", env["BROADCASTER_ACCOUNTS"])
    get_settings.cache_clear()
    dispatch = broker.dispatch()
    fine = launch(store, dispatch, 10, start=0, sender="waba-1")
    stuck = launch(store, dispatch, 10, start=100, sender="waba-3", account="brand-c")
    workers.start("w1", concurrency=4, **env)
    wait_for(lambda: store.get(fine).state == CampaignState.COMPLETED, timeout=60)
    paused = wait_for(lambda: store.get(stuck).state == CampaignState.PAUSED and store.get(stuck))
    assert "brand-c" in paused.reason and "token" in paused.reason, paused.reason
    wait_for(lambda: store.counts(stuck)["pending"] == 10)  # none sent, none failed
    assert not any(s["ref"].startswith(stuck) for s in sandbox.sends()["sends"])
    assert store.counts(fine)["sent"] == 10
