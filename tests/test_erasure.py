"""Erasing a number: gone from every campaign's records, replies and indexes, still blocked
by a keyed hash, refused at the next import; and the export of what is held about it."""

import io
import json

import pytest

from broadcaster import operations
from broadcaster.campaigns import RecipientStatus
from broadcaster.contacts import read_contacts
from broadcaster.errors import ConfigurationError
from tests import factories
from tests.test_callbacks import handle

S = RecipientStatus
SECRET = b"test-erasure-secret"


@pytest.fixture
def store(redis):
    return factories.store(redis, erasure_secret=SECRET)


def everything(store) -> bytes:
    """Every key name and value in Redis, as one blob to search for a number."""
    out = []
    for name in store.redis.scan_iter(count=1000):
        kind = store.redis.type(name)
        value = {
            b"hash": store.redis.hgetall, b"string": store.redis.get,
            b"list": lambda n: store.redis.lrange(n, 0, -1), b"set": store.redis.smembers,
            b"zset": lambda n: store.redis.zrange(n, 0, -1),
        }[kind](name)  # fmt: skip
        out.append(name + b"=" + repr(value).encode())
    return b"\n".join(out)


def reply(phone, text):
    value = {
        "messages": [{"from": phone, "id": "wamid.in", "type": "text", "text": {"body": text}}]
    }
    return json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]}).encode()


def test_forget_erases_a_number_everywhere_and_keeps_it_blocked(store):
    target = factories.phone(1)
    first = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(first.id)
    for i in range(3):
        factories.settle(store, first.id, i, S.SENT, message_id=f"wamid.a{i}")
    handle(store, reply(target, "STOP"))  # a reply, and an opt-out
    second = store.create(factories.campaign(), factories.contacts(3), window=3)
    assert store.row(first.id, 1).reply == "STOP" and store.is_suppressed(target)
    assert target.encode() in everything(store)

    [done] = operations.forget(store, [target])
    assert done.recipients == {first.id: 1, second.id: 1}
    assert done.suppressed_by == "keyword"
    assert target.encode() not in everything(store)
    row = store.row(first.id, 1)
    assert (row.phone, row.reply, row.message_id, row.status) == ("", None, None, "sent")
    assert store.find_message("wamid.a1") is None and store.find_phone(target) is None
    assert store.find_message("wamid.a0") == (first.id, 0)  # the others are untouched
    assert store.counts(first.id)["sent"] == 3
    # still blocked: at the next import, and in a campaign that was waiting to send to it
    with read_contacts(io.StringIO(f"phone\n{target}\n{factories.phone(7)}\n"),
                       suppressed=store.blocked()) as imported:  # fmt: skip
        assert [c.phone for c in imported] == [factories.phone(7)]
        assert imported.summary.suppressed == 1
    assert store.start(second.id) == [0, 1, 2]
    assert store.prepare(second.id, 1).code == 4  # skipped: its number is erased
    assert store.counts(second.id)["skipped"] == 1


def test_forget_without_a_secret_changes_nothing(redis):
    store = factories.store(redis)
    store.suppress([factories.phone(1)])
    with pytest.raises(ConfigurationError, match="BROADCASTER_ERASURE_SECRET"):
        operations.forget(store, [factories.phone(1)])
    assert store.is_suppressed(factories.phone(1))


def test_contact_data_exports_everything_held(store):
    target = factories.phone(2)
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    factories.settle(store, c.id, 2, S.SENT, message_id="wamid.x")
    store.suppress([target])
    data = operations.contact_data(store, target)
    assert data["phone"] == target and data["suppression"].startswith("manual ")
    assert data["last_messaged_by"] == f"{c.id}:2" and data["erased"] is False
    [row] = data["recipients"]
    assert row["campaign_id"] == c.id and row["message_id"] == "wamid.x"
    assert row["variables"] == {"name": "N2"}
    json.dumps(data)
    operations.forget(store, [target])
    after = operations.contact_data(store, target)
    assert after["erased"] is True and after["recipients"] == [] and after["suppression"] is None
