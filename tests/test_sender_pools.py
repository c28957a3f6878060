"""Sender pools in the send path: real Redis, real Lua, deliver() against the sandbox over
HTTP; each recipient is sent by its own sender of the pool (`broadcaster.pools`)."""

import io

from rich.console import Console

from broadcaster.campaigns import CampaignState
from broadcaster.cli.reports import print_report
from broadcaster.pools import assign
from broadcaster.progress import campaign_progress
from broadcaster.reports import build_report
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
    share = w.store.sent_per_sender(cid, POOL)
    assert share == {s: stored.count(i) for i, s in enumerate(POOL)}


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


def test_a_sender_that_answers_419_is_taken_out_and_the_others_send_its_recipients(world, sandbox):
    w: World = world(1_900_000_000.0)
    cid = w.launch(rows(120), sender=POOL[0], senders=POOL[1:])
    stored = w.store.redis.get(w.store.keys.senders(cid))
    mine = [i for i in range(120) if stored[i] == 1]
    sandbox.http.post("/_sandbox/disconnect", json={"sender": POOL[1]}).raise_for_status()
    w.run(cid, 1_900_000_000.0 + 3600, step=1, per_step=120)
    assert w.store.state(cid) == CampaignState.COMPLETED
    assert w.store.counts(cid)["sent"] == 120
    out = w.store.senders_out(cid)
    assert list(out) == [POOL[1]] and "not connected" in out[POOL[1]].lower()
    events = [e for e in w.store.events(cid) if e["event"] == "sender_out"]
    assert [e["sender"] for e in events] == [POOL[1]]
    report = sandbox.sends()
    assert report["duplicates"] == 0 and report["count"] == 120
    seen = {m["phone"]: m["sender"] for m in report["sends"]}
    assert POOL[1] not in seen.values()
    for index in mine:  # moved: to the one of the others rendezvous gives them
        phone = factories.phone(index)
        assert seen[phone] == POOL[assign(phone, POOL, out=[POOL[1]])]
    after = w.store.redis.get(w.store.keys.senders(cid))
    assert 1 not in after
    share = w.store.sent_per_sender(cid, POOL)
    assert share[POOL[1]] == 0 and sum(share.values()) == 120


def test_when_every_sender_is_out_the_campaign_pauses_with_the_reason(world, sandbox):
    w: World = world(1_900_000_000.0)
    cid = w.launch(rows(30), sender=POOL[0], senders=POOL[1:])
    for sender in POOL:
        sandbox.http.post("/_sandbox/disconnect", json={"sender": sender}).raise_for_status()
    w.run(cid, 1_900_000_000.0 + 600, step=1, per_step=30)
    campaign = w.store.get(cid)
    assert campaign.state == CampaignState.PAUSED
    assert "not connected" in (campaign.reason or "").lower()
    assert sandbox.sends()["count"] == 0
    assert w.store.senders_out(cid) == {}  # a resume tries every sender again


def test_each_recipient_keeps_its_sender_through_retries(world, sandbox):
    w: World = world(1_900_000_000.0)
    # numbers ending 0002: the sandbox answers 500 twice, then accepts (broadcaster/sandbox)
    people = [{"phone": f"62812{i:04d}0002", "name": "R"} for i in range(30)]
    cid = w.launch(people, sender=POOL[0], senders=POOL[1:])
    stored = w.store.redis.get(w.store.keys.senders(cid))
    assert len(set(stored)) == 3
    w.run(cid, 1_900_000_000.0 + 3600, step=5, per_step=30)
    assert w.store.counts(cid)["sent"] == 30
    assert w.store.redis.get(w.store.keys.senders(cid)) == stored
    report = sandbox.sends()
    assert report["duplicates"] == 0
    seen = {m["phone"]: m["sender"] for m in report["sends"]}
    for index, person in enumerate(people):
        assert w.store.row(cid, index).attempts == 3
        assert seen[person["phone"]] == POOL[stored[index]]


def test_progress_and_the_report_show_each_senders_share_and_who_is_out(world, sandbox):
    w: World = world(1_900_000_000.0)
    cid = w.launch(rows(60), sender=POOL[0], senders=POOL[1:])
    sandbox.http.post("/_sandbox/disconnect", json={"sender": POOL[2]}).raise_for_status()
    w.run(cid, 1_900_000_000.0 + 600, step=1, per_step=60)
    progress = campaign_progress(w.store, cid)
    assert sum(progress.per_sender.values()) == 60 and progress.per_sender[POOL[2]] == 0
    assert progress.per_sender[POOL[0]] > 0 and progress.per_sender[POOL[1]] > 0
    assert list(progress.senders_out) == [POOL[2]]
    report = build_report(w.store, cid)
    assert report.per_sender == dict(progress.per_sender)
    console = Console(file=io.StringIO(), width=200)
    print_report(report, out=console)
    text = console.file.getvalue()
    assert f"sent by {POOL[0]}" in text and f"sent by {POOL[2]} (out:" in text


def test_a_pools_rate_is_the_sum_of_its_senders_within_their_accounts():
    from broadcaster.campaigns import Campaign
    from broadcaster.limits import Limits

    limits = Limits(
        accounts={"default": {"waba": 10_000.0, "device": 100.0}, "b": {"waba": 50.0}},
        sender_per_minute=600.0,
        senders={"s3": {"account": "b"}},
    )
    one = Campaign(id="c", name="c", channel="waba", sender="s1", text="x")
    pool = Campaign(id="c", name="c", channel="waba", sender="s1", senders=("s1", "s2", "s3"),
                    text="x")  # fmt: skip
    assert limits.rate(one) == 600.0
    assert limits.rate(pool) == 600.0 + 600.0 + 50.0
