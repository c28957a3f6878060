"""The store's webhook step (callback.lua, receipts.lua, finish.lua) against a real Redis:
callbacks held until their send is recorded, statuses ranked whatever their order, replies
routed by context id or by phone within the window, value-level errors counted."""

import itertools
import random

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.optouts import OptOutSource
from broadcaster.replai import ErrorReport
from broadcaster.webhook_changes import OptOut, Reply, StatusChange, WebhookChanges
from tests import factories

S = RecipientStatus
T0 = 1_750_000_000


@pytest.fixture
def clock():
    return factories.Clock(float(T0))


@pytest.fixture
def store(redis, clock):
    return factories.store(redis, clock=clock)


RULES = factories.rules()


def running(store, n: int) -> str:
    c = store.create(factories.campaign(), factories.contacts(n), window=n)
    store.start(c.id)
    return c.id


def send(store, cid: str, index: int, message_id: str) -> None:
    claim = factories.take(store, cid, index)
    assert claim.ok
    store.finish(
        cid, index, S.SENT, message_id=message_id, phone=claim.phone, lease_until=claim.lease_until
    )


def apply(store, *, rules=RULES, **lists):
    return store.apply_webhook(WebhookChanges("", **lists), rules)


def status(mid: str, s: RecipientStatus, t: float | None = None, **extra) -> StatusChange:
    if s is S.FAILED:
        extra.setdefault("error", "131026: Message undeliverable")
    return StatusChange(mid, s, t, **extra)


def rows(store, cid):
    return list(store.iter_rows(cid))


def test_a_status_before_its_send_is_held_then_applied_in_the_workers_step(store):
    cid = running(store, 2)
    claim = factories.take(store, cid, 0)  # the worker is mid-send
    early = apply(store, statuses=[status("wamid.a", S.DELIVERED, T0 + 5)])
    assert (early.statuses, early.held) == (0, 1)
    assert rows(store, cid)[0].status == "sending"
    stats = store.webhook_stats(RULES)
    assert (stats.waiting, stats.held, stats.released) == (1, 1, 0)
    store.finish(
        cid, 0, S.SENT, message_id="wamid.a", phone=claim.phone, lease_until=claim.lease_until
    )
    row = rows(store, cid)[0]
    assert (row.status, row.updated_at) == ("delivered", T0 + 5)
    assert store.counts(cid)["delivered"] == 1 and store.counts(cid)["sent"] == 0
    stats = store.webhook_stats(RULES)
    assert (stats.waiting, stats.held, stats.released, stats.expired) == (0, 1, 1, 0)
    assert not store.redis.exists(store.keys.held(), store.keys.held_since())


def test_several_held_callbacks_of_one_message_end_at_the_furthest(store):
    cid = running(store, 1)
    claim = factories.take(store, cid, 0)
    failed = status("wamid.a", S.FAILED, T0 + 1, error="131026: Undeliverable")
    apply(store, statuses=[status("wamid.a", S.READ, T0 + 9), failed])
    apply(store, statuses=[status("wamid.a", S.SENT, T0), status("wamid.a", S.DELIVERED, T0 + 4)])
    store.finish(
        cid, 0, S.SENT, message_id="wamid.a", phone=claim.phone, lease_until=claim.lease_until
    )
    row = rows(store, cid)[0]
    assert (row.status, row.error, row.updated_at) == ("read", None, T0 + 9)
    assert store.webhook_stats(RULES).released == 4


def test_a_held_reply_follows_its_message_and_a_held_stop_counts(store):
    cid = running(store, 1)
    claim = factories.take(store, cid, 0)
    tap = Reply(claim.phone, "Stop promotions", T0 + 30, "wamid.a", "button", "wamid.in", True)
    result = apply(
        store, replies=[tap], opt_outs=[OptOut(claim.phone, OptOutSource.BUTTON, T0 + 30)]
    )
    assert (result.replies, result.held, result.opted_out) == (0, 1, 1)
    assert store.is_suppressed(claim.phone)  # the opt-out needs no campaign: at once
    store.finish(
        cid, 0, S.SENT, message_id="wamid.a", phone=claim.phone, lease_until=claim.lease_until
    )
    row = rows(store, cid)[0]
    assert (row.reply, row.reply_at, row.reply_kind) == ("Stop promotions", T0 + 30, "button")
    campaign = store.get(cid)
    assert (campaign.replies, campaign.opted_out) == (1, 1)


def test_a_held_callback_expires_counted_and_a_held_reply_then_goes_by_phone(store, clock):
    rules = factories.rules(hold_seconds=60)
    cid = running(store, 2)
    send(store, cid, 1, "wamid.1")
    phone = rows(store, cid)[1].phone
    apply(store, rules=rules, statuses=[status("wamid.lost", S.READ)])
    apply(store, rules=rules, replies=[Reply(phone, "Halo", T0 + 1, "wamid.other", "text")])
    clock.t += 61
    stats = store.webhook_stats(rules)
    assert (stats.waiting, stats.overdue, stats.expired) == (0, 2, 0)
    store.expire_held(rules)  # what the next webhook body does
    stats = store.webhook_stats(rules)
    assert (stats.waiting, stats.overdue, stats.held, stats.expired) == (0, 0, 2, 2)
    assert rows(store, cid)[1].reply == "Halo"  # the reply found the campaign by its number
    claim = factories.take(store, cid, 0)
    store.finish(
        cid, 0, S.SENT, message_id="wamid.lost", phone=claim.phone, lease_until=claim.lease_until
    )
    assert rows(store, cid)[0].status == "sent"  # the status had expired: not applied late


def test_the_hold_is_bounded_and_what_does_not_fit_is_counted(store):
    rules = factories.rules(hold_max=2)
    for i in range(3):
        apply(store, rules=rules, statuses=[status(f"wamid.{i}", S.DELIVERED)])
    many = [status("wamid.0", S.READ) for _ in range(20)]  # 16 callbacks per message at most
    apply(store, rules=rules, statuses=many)
    stats = store.webhook_stats(rules)
    assert (stats.waiting, stats.held, stats.dropped) == (2, 17, 1 + 5)


STATUSES = (S.SENT, S.FAILED, S.DELIVERED, S.READ)
RANK = {S.SENT: 1, S.FAILED: 2, S.DELIVERED: 3, S.READ: 4}


def test_every_order_of_every_set_of_statuses_ends_at_the_same_one(store):
    # all 64 orders of all non-empty subsets of {sent, failed, delivered, read}, each for one
    # recipient, with the send recorded at a different point of the stream each time
    streams = [
        order
        for size in range(1, 5)
        for subset in itertools.combinations(STATUSES, size)
        for order in itertools.permutations(subset)
    ]
    cid = running(store, len(streams))
    rng = random.Random(14)
    claims = {i: factories.take(store, cid, i) for i in range(len(streams))}
    for i, order in enumerate(streams):
        recorded_after = rng.randrange(len(order) + 1)
        for n, s in enumerate(order):
            if n == recorded_after:
                store.finish(
                    cid,
                    i,
                    S.SENT,
                    message_id=f"wamid.{i}",
                    phone=claims[i].phone,
                    lease_until=claims[i].lease_until,
                )
            apply(store, statuses=[status(f"wamid.{i}", s, T0 + rng.randrange(100))])
        if recorded_after == len(order):
            store.finish(
                cid,
                i,
                S.SENT,
                message_id=f"wamid.{i}",
                phone=claims[i].phone,
                lease_until=claims[i].lease_until,
            )
    final = [r.status for r in rows(store, cid)]
    expected = [max(order, key=RANK.__getitem__).label for order in streams]
    assert final == expected
    counts = store.counts(cid)
    assert sum(counts.values()) == len(streams)
    assert counts["failed"] == sum(1 for s in expected if s == "failed")


def test_a_status_keeps_its_own_time(store):
    cid = running(store, 1)
    send(store, cid, 0, "wamid.a")
    apply(store, statuses=[status("wamid.a", S.READ, T0 - 50)])
    assert rows(store, cid)[0].updated_at == T0 - 50
    apply(store, statuses=[status("wamid.a", S.DELIVERED, T0 - 60)])  # behind: changes nothing
    assert rows(store, cid)[0].updated_at == T0 - 50


def test_callbacks_held_for_an_unknown_send_apply_when_its_late_answer_is_recorded(store):
    cid = running(store, 1)
    claim = factories.take(store, cid, 0)
    store.finish(cid, 0, S.UNKNOWN, error="unknown: timeout", lease_until=claim.lease_until)
    assert apply(store, statuses=[status("wamid.u", S.READ, T0 + 2)]).held == 1
    store.finish(
        cid, 0, S.SENT, message_id="wamid.u", phone=claim.phone, lease_until=claim.lease_until
    )  # the late answer
    assert rows(store, cid)[0].status == "read"
    assert store.counts(cid)["unknown"] == 0


def test_a_reply_goes_to_the_message_it_answers_else_to_the_last_campaign_in_the_window(
    store, clock
):
    first, second = running(store, 1), running(store, 1)
    send(store, first, 0, "wamid.first")
    clock.t += 100
    send(store, second, 0, "wamid.second")
    phone = rows(store, first)[0].phone
    answer = Reply(phone, "Yes please", clock.t + 5, "wamid.first", "interactive")
    typed = Reply(phone, "Halo", clock.t + 6)
    assert apply(store, replies=[answer, typed]).replies == 2
    assert rows(store, first)[0].reply == "Yes please"
    assert rows(store, second)[0].reply == "Halo"
    late = Reply(phone, "masih ada?", clock.t + RULES.reply_window + 1)
    assert apply(store, replies=[late]).replies == 0  # outside the window: no campaign
    assert store.get(second).replies == 1


def test_the_newest_reply_is_kept_and_every_reply_is_counted(store):
    cid = running(store, 1)
    send(store, cid, 0, "wamid.a")
    phone = rows(store, cid)[0].phone
    newer = Reply(phone, "\N{THUMBS UP SIGN}", T0 + 20, "wamid.a", "reaction")
    older = Reply(phone, "Halo", T0 + 10, None, "text")
    apply(store, replies=[newer])
    apply(store, replies=[older])
    row = rows(store, cid)[0]
    assert (row.reply, row.reply_kind, row.reply_at) == ("\N{THUMBS UP SIGN}", "reaction", T0 + 20)
    assert store.get(cid).replies == 2
    photo = Reply(phone, "", T0 + 30, None, "image")
    apply(store, replies=[photo])
    assert rows(store, cid)[0].reply == "[image]"


def test_a_131050_without_a_number_suppresses_the_messages_recipient(store):
    cid = running(store, 1)
    send(store, cid, 0, "wamid.a")
    failed = status("wamid.a", S.FAILED, T0 + 3, error="131050: -", error_code=131050)
    opt_out = OptOut(None, OptOutSource.FAILED_131050, T0 + 3, "wamid.a")
    result = apply(store, statuses=[failed], opt_outs=[opt_out])
    assert (result.statuses, result.opted_out) == (1, 1)
    (entry,) = store.suppression_entries()
    assert (entry.phone, entry.source, entry.at) == (rows(store, cid)[0].phone, "failed_131050",
                                                     T0 + 3)  # fmt: skip


def test_value_level_errors_and_skipped_events_are_counted(store):
    error = ErrorReport(130429, "Rate limit hit", "", "1065")
    store.apply_webhook(WebhookChanges("", errors=[error, error], ignored=3), RULES)
    stats = store.webhook_stats(RULES)
    assert (stats.errors, stats.skipped) == (2, 3)
    assert store.redis.hget(store.keys.webhook_stats(), "error:130429") == b"2"


def test_a_duplicate_body_changes_nothing(store):
    cid = running(store, 1)
    send(store, cid, 0, "wamid.a")
    changes = WebhookChanges("d1", statuses=[status("wamid.a", S.DELIVERED)])
    assert store.apply_webhook(changes, RULES).statuses == 1
    again = store.apply_webhook(changes, RULES)
    assert again.duplicate and again.statuses == 0
