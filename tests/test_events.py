"""Outbound events: the Lua steps append them with the change they report, and EventSender
delivers them signed (checked with the Standard Webhooks reference library) to a real HTTP
receiver on loopback, in order, retried, dead-lettered, replayed."""

import dataclasses

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.events import EventRules, Subscription, backoff
from broadcaster.webhook_changes import Reply, StatusChange, WebhookChanges
from tests import factories
from tests.event_receiver import SECRET, Receiver
from workers.event_http import EventConnections
from workers.events import EventSender, windows

S = RecipientStatus
T0 = 1_750_000_000.0
RULES = EventRules()


@pytest.fixture
def clock():
    return factories.Clock(T0)


@pytest.fixture
def store(redis, clock):
    return factories.store(redis, clock=clock)


def subscribed(store, n: int, *subs: Subscription, rules: EventRules = RULES) -> str:
    c = store.create(factories.campaign(), factories.contacts(n), window=n)
    store.subscribe(c.id, list(subs) or [Subscription("http://127.0.0.1:9/e", SECRET)], rules)
    store.start(c.id)
    return c.id


def queued(store, sub: Subscription) -> list[dict[str, str]]:
    return [fields for _, fields in store.waiting_events(sub.id, 1000)]


def types(store, sub: Subscription) -> list[tuple[str, str | None]]:
    return [(f["type"], f.get("r")) for f in queued(store, sub)]


def send(store, cid, index, mid):
    held = factories.take(store, cid, index)
    store.finish(cid, index, S.SENT, message_id=mid, phone=held.phone,
                 lease_until=held.lease_until)  # fmt: skip


def three_sent(store, receiver) -> Subscription:
    """A campaign of 3 subscribed to `receiver`, every recipient sent: 5 events wait."""
    sub = Subscription(receiver.url, SECRET)
    cid = subscribed(store, 3, sub)
    for i in range(3):
        send(store, cid, i, f"wamid.{i}")
    return sub


def test_every_transition_is_queued_in_the_step_that_made_it(store, clock):
    sub = Subscription("http://127.0.0.1:9/e", SECRET)
    cid = subscribed(store, 3, sub)
    send(store, cid, 0, "wamid.a")
    held = factories.take(store, cid, 1)
    store.finish(cid, 1, S.FAILED, error="131026: undeliverable", lease_until=held.lease_until)
    changes = WebhookChanges(
        "", statuses=[StatusChange("wamid.a", S.DELIVERED, T0 + 1),
                      StatusChange("wamid.a", S.READ, T0 + 2)],
        replies=[Reply(factories.phone(0), "STOP", T0 + 3, context_id="wamid.a", opt_out=True)],
    )  # fmt: skip
    store.apply_webhook(changes, factories.rules())
    factories.take(store, cid, 2, lease=5.0)
    store.pause(cid, "by hand")
    store.resume(cid)
    clock.t += 10
    store.tick(cid)  # recipient 2's worker is gone: unknown, and the campaign completes
    assert types(store, sub) == [
        ("campaign.started", None), ("recipient.sent", "0"), ("recipient.failed", "1"),
        ("recipient.delivered", "0"), ("recipient.read", "0"), ("recipient.replied", "0"),
        ("recipient.opted_out", "0"), ("campaign.paused", None), ("campaign.resumed", None),
        ("recipient.unknown", "2"), ("campaign.completed", None),
    ]  # fmt: skip
    fields = queued(store, sub)
    assert fields[1]["message_id"] == "wamid.a"
    assert fields[2]["error"] == "131026: undeliverable"
    assert fields[5]["text"] == "STOP"
    assert fields[7]["reason"] == "by hand"


def test_cancel_is_an_event_and_a_campaign_without_subscription_queues_nothing(store):
    sub = Subscription("http://127.0.0.1:9/e", SECRET)
    cid = subscribed(store, 2, sub)
    store.cancel(cid)
    assert types(store, sub)[-1] == ("campaign.cancelled", None)
    other = store.create(factories.campaign(), factories.contacts(2), window=2)
    store.start(other.id)
    send(store, other.id, 0, "wamid.b")
    assert len(queued(store, sub)) == 2
    assert store.redis.keys("bc:hook:*:q") == [store.keys.hook_events(sub.id).encode()]


def test_expiry_is_an_event_per_released_recipient_and_one_for_the_rest(store, clock):
    sub = Subscription("http://127.0.0.1:9/e", SECRET)
    c = store.create(factories.campaign(expires_at=T0 + 60), factories.contacts(5), window=2)
    store.subscribe(c.id, [sub], RULES)
    store.start(c.id)  # recipients 0 and 1 released to the workers
    send(store, c.id, 0, "wamid.x")  # and 2 in its place
    clock.t = T0 + 61
    store.tick(c.id)
    got = types(store, sub)
    assert got[:2] == [("campaign.started", None), ("recipient.sent", "0")]
    assert sorted(r for t, r in got if t == "recipient.expired") == ["1", "2"]
    rest = [f for f in queued(store, sub) if f["type"] == "campaign.expired"]
    assert [(f["count"], f["from"], f["to"]) for f in rest] == [("2", "3", "4")]
    assert got[-1] == ("campaign.completed", None) and len(got) == 6
    assert store.counts(c.id)["expired"] == 4


def test_two_subscribers_get_one_event_id_and_a_full_queue_drops_counted(store):
    one = Subscription("http://127.0.0.1:9/a", SECRET)
    two = Subscription("http://127.0.0.1:9/b", SECRET)
    cid = subscribed(store, 5, one, two, rules=EventRules(backlog=3))
    for i in range(4):
        send(store, cid, i, f"wamid.{i}")
    a, b = store.waiting_events(one.id, 10), store.waiting_events(two.id, 10)
    assert len(a) == len(b) == 3  # started, sent 0, sent 1; the rest dropped
    assert [eid for eid, _ in a] == [f["id"] for _, f in b]
    assert int(store.redis.hget(store.keys.hook_stats(), "dropped")) == 4


def test_an_api_subscription_deleted_during_a_launch_is_not_attached_nor_brought_back(store):
    # launch reads the API's subscriptions, stores the campaign, then subscribes it: a DELETE
    # in between must not leave the campaign adding events to, nor recreate, the deleted one
    kept = Subscription("http://127.0.0.1:9/kept", SECRET)
    gone = Subscription("http://127.0.0.1:9/gone", SECRET)
    own = Subscription("http://127.0.0.1:9/own", SECRET)
    assert store.add_global_hook(kept) is None and store.add_global_hook(gone) is None
    api = store.global_hooks()
    c = store.create(factories.campaign(), factories.contacts(2), window=2)
    assert store.remove_global_hook(gone.id)
    store.subscribe(c.id, [own], RULES, api=api)
    store.start(c.id)
    hooks = store.redis.hget(store.keys.campaign(c.id), "hooks").decode().split()
    assert sorted(hooks[2:]) == sorted(store.keys.hook_events(s.id) for s in (kept, own))
    assert store.hook_ids() == sorted([kept.id, own.id])
    assert not store.redis.exists(store.keys.hook(gone.id), store.keys.hook_events(gone.id))
    assert types(store, kept) == types(store, own) == [("campaign.started", None)]
    assert store.hook_secret(own.id) == (own.url, SECRET)


def test_an_api_subscription_deleted_after_the_launch_attached_it_is_taken_off(store):
    gone = Subscription("http://127.0.0.1:9/gone", SECRET)
    store.add_global_hook(gone)
    c = store.create(factories.campaign(), factories.contacts(2), window=2)
    store.subscribe(c.id, [], RULES, api=store.global_hooks())
    assert store.hook_ids() == [gone.id]
    assert store.remove_global_hook(gone.id)
    store.start(c.id)  # would emit campaign.started to every attached subscription
    assert store.redis.hget(store.keys.campaign(c.id), "hooks") is None
    assert store.hook_ids() == []
    assert not store.redis.exists(store.keys.hook(gone.id), store.keys.hook_events(gone.id))


def test_a_campaign_whose_only_subscription_was_deleted_gets_none(store):
    gone = Subscription("http://127.0.0.1:9/gone", SECRET)
    store.add_global_hook(gone)
    api = store.global_hooks()
    c = store.create(factories.campaign(), factories.contacts(1), window=1)
    store.remove_global_hook(gone.id)
    store.subscribe(c.id, [], RULES, api=api)
    assert store.redis.hget(store.keys.campaign(c.id), "hooks") is None
    assert store.hook_ids() == []


_clients: list[EventConnections] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _clients:  # connections kept alive by HTTP/1.1 receivers
        _clients.pop().close()


def sender(store, rules=RULES, timeout=2.0):
    http = EventConnections(timeout)
    _clients.append(http)
    return EventSender(store, http, dataclasses.replace(rules, timeout=timeout),
                       clock=store.clock)  # fmt: skip


def test_events_arrive_signed_in_order_with_the_recipients_number(redis):
    store = factories.store(redis)  # real time: the signature's timestamp is checked
    with Receiver() as receiver:
        sub = Subscription(receiver.url, SECRET)
        cid = subscribed(store, 2, sub)
        send(store, cid, 0, "wamid.a")
        send(store, cid, 1, "wamid.b")
        assert sender(store).run(sub.id, "t") == 4
    events = [r.verified() for r in receiver.received]
    assert [e["type"] for e in events] == [
        "campaign.started",
        "recipient.sent",
        "recipient.sent",
        "campaign.completed",
    ]
    assert events[1]["data"] == {
        "campaign_id": cid,
        "recipient": 0,
        "phone": factories.phone(0),
        "message_id": "wamid.a",
    }
    assert store.waiting_events(sub.id, 10) == []
    with pytest.raises(Exception, match="signature"):
        receiver.received[0].verified("whsec_" + "A" * 32)


def test_a_receiver_failing_five_times_gets_every_event_once_per_id(redis):
    store = factories.store(redis)
    with Receiver(fail=5, status=503) as receiver:
        sub = three_sent(store, receiver)
        deliver = sender(store)
        for attempt in range(5):
            assert deliver.run(sub.id, "t") == 0
            state = store.hook_state(sub.id)
            assert (state.attempts, state.last_error) == (attempt + 1, "HTTP 503")
            assert state.next_at > store.clock()
        assert deliver.run(sub.id, "t") == 5
    assert receiver.attempts == 10
    got = receiver.unique()
    assert len(got) == len(receiver.received) == 5
    assert [r.verified()["type"] for r in got.values()].count("recipient.sent") == 3
    state = store.hook_state(sub.id)
    assert (state.backlog, state.attempts, state.delivered, state.failed) == (0, 0, 5, 5)


def failing_once(*recipients: int):
    """A `fail_if` for the receiver: the first `recipient.sent` of each of `recipients` fails."""
    tried: list[int] = []

    def fail_if(got) -> bool:
        event = got.event
        who = event["data"].get("recipient")
        if event["type"] != "recipient.sent" or who not in recipients or who in tried:
            return False
        tried.append(who)
        return True

    return fail_if


def arrived(receiver) -> list[tuple[str, int | None]]:
    events = [r.verified() for r in receiver.received]
    return [(e["type"], e["data"].get("recipient")) for e in events]


def test_a_failing_event_holds_its_recipient_and_what_follows_its_window(redis):
    store = factories.store(redis)
    with Receiver(keep_alive=True, fail_if=failing_once(1), status=503) as receiver:
        sub = three_sent(store, receiver)
        deliver = sender(store)
        # windows: [started] [sent 0, sent 1, sent 2] [completed]; sent 1 fails, 0 and 2 do not
        assert deliver.run(sub.id, "t") == 3
        assert types(store, sub) == [("recipient.sent", "1"), ("campaign.completed", None)]
        state = store.hook_state(sub.id)
        assert (state.attempts, state.last_error, state.delivered, state.failed) == (
            1, "HTTP 503", 3, 1,
        )  # fmt: skip
        assert deliver.run(sub.id, "t") == 2
    assert arrived(receiver) == [
        ("campaign.started", None),
        ("recipient.sent", 0),
        ("recipient.sent", 2),
        ("recipient.sent", 1),
        ("campaign.completed", None),
    ]


def test_every_failed_post_of_a_window_is_counted_and_goes_again_in_order(redis):
    store = factories.store(redis)
    with Receiver(keep_alive=True, fail_if=failing_once(0, 2), status=502) as receiver:
        sub = three_sent(store, receiver)
        deliver = sender(store)
        assert deliver.run(sub.id, "t") == 2  # started, sent 1
        assert types(store, sub) == [
            ("recipient.sent", "0"), ("recipient.sent", "2"), ("campaign.completed", None),
        ]  # fmt: skip
        state = store.hook_state(sub.id)
        assert (state.attempts, state.failed, state.delivered) == (1, 2, 2)
        assert deliver.run(sub.id, "t") == 3
    assert arrived(receiver)[-3:] == [
        ("recipient.sent", 0), ("recipient.sent", 2), ("campaign.completed", None),
    ]  # fmt: skip


def test_one_at_a_time_a_failing_event_holds_every_event_behind_it(redis):
    store = factories.store(redis)
    with Receiver(keep_alive=True, fail_if=failing_once(1), status=503) as receiver:
        sub = three_sent(store, receiver)
        deliver = sender(store, dataclasses.replace(RULES, pipeline=1))
        assert deliver.run(sub.id, "t") == 2
        assert deliver.run(sub.id, "t") == 3
    assert arrived(receiver) == [
        ("campaign.started", None),
        ("recipient.sent", 0),
        ("recipient.sent", 1),
        ("recipient.sent", 2),
        ("campaign.completed", None),
    ]


def test_later_events_of_a_recipient_wait_for_the_next_window(redis):
    store = factories.store(redis)
    delivered = WebhookChanges("", statuses=[StatusChange("wamid.0", S.DELIVERED, None)])
    with Receiver(keep_alive=True, fail_if=failing_once(0), status=503) as receiver:
        sub = Subscription(receiver.url, SECRET)
        cid = subscribed(store, 2, sub)
        send(store, cid, 0, "wamid.0")
        store.apply_webhook(delivered, factories.rules())
        send(store, cid, 1, "wamid.1")
        deliver = sender(store)
        # windows: [started] [sent 0] [delivered 0, sent 1] [completed]: sent 0 fails first
        assert deliver.run(sub.id, "t") == 1
        assert [t for t, _ in types(store, sub)][:2] == ["recipient.sent", "recipient.delivered"]
        assert deliver.run(sub.id, "t") == 4
    assert arrived(receiver) == [
        ("campaign.started", None),
        ("recipient.sent", 0),
        ("recipient.delivered", 0),
        ("recipient.sent", 1),
        ("campaign.completed", None),
    ]


def event(kind: str, recipient: int | None = None, campaign: str = "c1"):
    fields = {"type": kind, "c": campaign}
    if recipient is not None:
        fields["r"] = str(recipient)
    return (f"{kind}-{recipient}-{campaign}", fields, None)


@pytest.mark.parametrize(
    "size,expected",
    [
        (8, [["started"], ["sent-0", "sent-1"], ["delivered-0", "sent-2", "sent-0-c2"],
             ["completed"]]),
        (2, [["started"], ["sent-0", "sent-1"], ["delivered-0", "sent-2"], ["sent-0-c2"],
             ["completed"]]),
        (1, [["started"], ["sent-0"], ["sent-1"], ["delivered-0"], ["sent-2"], ["sent-0-c2"],
             ["completed"]]),
    ],
)  # fmt: skip
def test_windows_never_hold_two_events_of_a_recipient_and_keep_campaign_events_alone(
    size, expected
):
    batch = [
        event("campaign.started"),
        event("recipient.sent", 0),
        event("recipient.sent", 1),
        event("recipient.delivered", 0),
        event("recipient.sent", 2),
        event("recipient.sent", 0, "c2"),  # another campaign's recipient 0: another person
        event("campaign.completed"),
    ]

    def name(e) -> str:
        kind = e[1]["type"].partition(".")[2]
        who = "" if "r" not in e[1] else f"-{e[1]['r']}"
        return kind + who + ("" if e[1]["c"] == "c1" else f"-{e[1]['c']}")

    assert [[name(e) for e in w] for w in windows(batch, size)] == expected


def test_a_timeout_and_a_refused_connection_are_retried(redis):
    store = factories.store(redis)
    with Receiver(fail=1, delay=1.5) as receiver:
        sub = Subscription(receiver.url, SECRET)
        subscribed(store, 1, sub)
        assert sender(store, timeout=0.5).run(sub.id, "t") == 0
        assert store.hook_state(sub.id).last_error.startswith("timeout")
    dead_port = Subscription("http://127.0.0.1:9/none", SECRET)
    subscribed(store, 1, dead_port)
    assert sender(store).run(dead_port.id, "t") == 0
    assert store.hook_state(dead_port.id).last_error.startswith("connection error")


def test_events_past_the_max_age_go_to_the_dead_letters_and_replay(redis):
    store = factories.store(redis)
    with Receiver(fail=1) as receiver:
        sub = Subscription(receiver.url, SECRET)
        subscribed(store, 1, sub)  # started, later completed when sent
        first = store.waiting_events(sub.id, 1)[0][0]
        gone = sender(store, EventRules(max_age=0.0))
        assert gone.run(sub.id, "t") == 0
        state = store.hook_state(sub.id)
        assert (state.dead, state.backlog) == (1, 0)
        assert store.dead_events(sub.id)[0]["error"] == "HTTP 500"
        assert store.replay_dead(sub.id) == 1
        assert sender(store).run(sub.id, "t") == 1
    [event] = receiver.received
    assert event.headers["webhook-id"] == "evt_" + first.replace("-", "_")
    assert event.verified()["type"] == "campaign.started"


def test_410_disables_the_subscription(redis):
    store = factories.store(redis)
    with Receiver(fail=1, status=410) as receiver:
        sub = Subscription(receiver.url, SECRET)
        subscribed(store, 1, sub)
        assert sender(store).run(sub.id, "t") == 0
    state = store.hook_state(sub.id)
    assert (state.disabled, state.backlog) == (True, 1)
    assert sub.id not in store.due_hooks()


def test_one_task_at_a_time_holds_a_subscription(store):
    sub = Subscription("http://127.0.0.1:9/e", SECRET)
    subscribed(store, 1, sub)
    assert store.due_hooks() == [sub.id]
    assert store.lock_hook(sub.id, "a", 5.0)
    assert store.due_hooks() == []
    assert not store.lock_hook(sub.id, "b", 5.0)
    assert sender(store).run(sub.id, "b") == 0
    store.unlock_hook(sub.id, "a")
    assert store.due_hooks() == [sub.id]


@pytest.mark.parametrize("attempts,low,high", [(1, 4.0, 6.0), (3, 16.0, 24.0), (20, 2880, 4320)])
def test_backoff_doubles_with_jitter_up_to_an_hour(attempts, low, high):
    assert all(low <= backoff(attempts, 5.0) <= high for _ in range(50))


def test_a_subscription_needs_an_http_url_and_a_valid_secret():
    with pytest.raises(ValueError, match="http"):
        Subscription("ftp://x", SECRET)
    with pytest.raises(Exception):  # noqa: B017  # the library's own error
        Subscription("http://x", "")


@pytest.mark.parametrize("pipeline", [1, 8])
def test_the_event_cost_bench_delivers_every_event(redis, pipeline):
    from bench import event_cost  # the script behind row 9's CPU per event

    got = event_cost.cpu_per_event(redis, 30, pipeline)
    assert (got["events"], got["pipeline"]) == (32, pipeline)  # 30 sent, started, completed
    assert got["client_cpu_ms_per_event"] > 0
