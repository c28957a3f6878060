"""POST /webhooks/replai/{secret}: statuses, replies, opt-outs, duplicates, secret, HMAC."""

import json
import logging
import random
import time

import pytest
from fastapi import FastAPI

from broadcaster.campaigns import RecipientStatus
from broadcaster.web.routes import webhooks
from broadcaster.web.routes.webhooks import sign
from broadcaster.webhook_changes import WebhookChanges
from tests import factories
from tests.conftest import free_port
from tests.web.conftest import WEBHOOK_SECRET, LiveServer, TestClient, build_app

S = RecipientStatus
URL = f"/webhooks/replai/{WEBHOOK_SECRET}"


@pytest.fixture
def sent(store):
    """A running campaign of 3, all sent, with message ids wamid.0..2."""
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    for i in range(3):
        factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{i}")
    return c.id


def meta_status(mid: str, status: str, **extra) -> bytes:
    stamp = str(int(time.time()))
    value = {"statuses": [{"id": mid, "status": status, "timestamp": stamp, **extra}]}
    return json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]}).encode()


def incoming(phone: str, message: str) -> bytes:
    return json.dumps(
        {"device_key": "k", "from": phone, "message": message, "type": "single"}
    ).encode()


def rows(store, cid):
    return {r.index: r for r in store.iter_rows(cid)}


def post(client, body: bytes, url: str = URL, **headers: str):
    return client.post(url, content=body, headers={"content-type": "application/json", **headers})


def test_statuses_move_recipients_to_delivered_then_read(anon, store, sent):
    response = post(anon, meta_status("wamid.0", "delivered"))
    assert response.status_code == 200
    assert response.json() == {
        "ok": True, "duplicate": False, "statuses": 1, "held": 0, "ignored": 0, "replies": 0,
        "opted_out": 0, "resumed": 0,
    }  # fmt: skip
    assert rows(store, sent)[0].status == "delivered"
    flat = json.dumps({"message_id": "wamid.0", "status": "read", "phone": "x"}).encode()
    assert post(anon, flat).json()["statuses"] == 1
    assert rows(store, sent)[0].status == "read"
    failed = meta_status("wamid.1", "failed", errors=[{"code": 131026, "title": "Undeliverable"}])
    post(anon, failed)
    assert (rows(store, sent)[1].status, rows(store, sent)[1].error) == (
        "failed", "131026: Undeliverable",
    )  # fmt: skip
    assert post(anon, meta_status("wamid.unknown", "read")).json()["held"] == 1


def test_a_duplicate_body_is_acknowledged_and_ignored(anon, store, sent):
    body = meta_status("wamid.0", "delivered")
    assert post(anon, body).json()["duplicate"] is False
    store.redis.hset("bc:c:" + sent + ":n", "delivered", 0)  # would be restored by a reapply
    response = post(anon, body)
    assert response.status_code == 200
    assert response.json()["duplicate"] is True and response.json()["statuses"] == 0
    assert store.counts(sent)["delivered"] == 0


def test_a_stop_reply_suppresses_the_number_and_is_kept(anon, store, sent):
    phone = factories.phone(1)
    response = post(anon, incoming(phone, " stop "))
    assert response.json()["replies"] == 1 and response.json()["opted_out"] == 1
    assert store.is_suppressed(phone)
    assert rows(store, sent)[1].reply == "stop"
    assert store.get(sent).opted_out == 1
    post(anon, incoming(factories.phone(2), "Halo, mau info"))
    assert not store.is_suppressed(factories.phone(2))
    assert store.get(sent).replies == 2


def test_opt_out_keywords_come_from_settings(redis, store, sent):
    with TestClient(build_app(opt_out_keywords=["BATAL"])) as client:
        assert post(client, incoming(factories.phone(0), "STOP")).json()["opted_out"] == 0
        assert post(client, incoming(factories.phone(0), "batal")).json()["opted_out"] == 1


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"hello": "world"}', "\xff".encode("latin-1")]
)
def test_a_body_that_is_no_webhook_is_422_and_changes_nothing(anon, store, sent, body):
    before = data_keys(store)
    response = post(anon, body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("not a Replai webhook")
    assert data_keys(store) == before


def data_keys(store) -> list[bytes]:
    """Every key but the metrics hash, which the app's recorder flushes in the background
    (counting the refused request is not a change to the data)."""
    metrics = store.keys.metrics().encode()
    return sorted(k for k in store.redis.keys("*") if k != metrics)


@pytest.mark.parametrize("secret", ["wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1], ""])
def test_a_wrong_secret_is_404_and_changes_nothing(anon, store, sent, secret):
    before = data_keys(store)
    response = post(anon, meta_status("wamid.0", "read"), url=f"/webhooks/replai/{secret}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert data_keys(store) == before
    assert rows(store, sent)[0].status == "sent"


def test_without_a_configured_secret_every_call_is_404(redis, store, sent):
    with TestClient(build_app(webhook_secret=None)) as client:
        for secret in ("", "None", "null", WEBHOOK_SECRET):
            response = post(
                client, meta_status("wamid.0", "read"), url=f"/webhooks/replai/{secret}"
            )
            assert response.status_code == 404
    assert rows(store, sent)[0].status == "sent"


def test_hmac_signature_is_required_when_configured(redis, store, sent):
    body = meta_status("wamid.0", "read")
    with TestClient(build_app(webhook_hmac_secret="sign-me")) as client:
        assert post(client, body).status_code == 401
        wrong = sign("other", body)
        response = post(client, body, **{"X-Signature-256": wrong})
        assert response.status_code == 401
        assert "X-Signature-256" in response.json()["detail"]
        assert rows(store, sent)[0].status == "sent"
        response = post(client, body, **{"X-Signature-256": sign("sign-me", body)})
        assert response.status_code == 200 and response.json()["statuses"] == 1
    assert rows(store, sent)[0].status == "read"


def test_meta_signature_is_accepted_with_the_app_secret(redis, store, sent):
    # Meta signs the raw body with the app secret: X-Hub-Signature-256: sha256=<hex>
    body = meta_status("wamid.0", "read")
    hub = {"X-Hub-Signature-256": sign("meta-app-secret", body)}
    with TestClient(build_app(meta_app_secret="meta-app-secret")) as client:
        response = post(client, body)
        assert response.status_code == 401
        assert "X-Hub-Signature-256" in response.json()["detail"]
        assert (
            post(client, body, **{"X-Hub-Signature-256": sign("other", body)}).status_code == 401
        )
        assert (
            post(client, body, **{"X-Signature-256": sign("meta-app-secret", body)}).status_code
            == 401
        )
        assert rows(store, sent)[0].status == "sent"
        assert post(client, body, **hub).json()["statuses"] == 1
    assert rows(store, sent)[0].status == "read"


def test_with_both_secrets_either_signature_is_enough(redis, store, sent):
    app = build_app(webhook_hmac_secret="sign-me", meta_app_secret="meta-app-secret")
    with TestClient(app) as client:
        body = meta_status("wamid.0", "delivered")
        response = post(client, body)
        assert response.status_code == 401
        assert response.json()["detail"] == (
            "missing or wrong X-Signature-256 or X-Hub-Signature-256 signature"
        )
        ours = post(client, body, **{"X-Signature-256": sign("sign-me", body)})
        assert ours.json()["statuses"] == 1
        body = meta_status("wamid.0", "read")
        meta = post(client, body, **{"X-Hub-Signature-256": sign("meta-app-secret", body)})
        assert meta.json()["statuses"] == 1
        wrong_ours = {"X-Signature-256": "sha256=00", "X-Hub-Signature-256": sign("x", body)}
        assert post(client, meta_status("wamid.1", "read"), **wrong_ours).status_code == 401
    assert rows(store, sent)[0].status == "read"


def test_a_stop_button_tap_suppresses_the_number(anon, store, sent):
    phone = factories.phone(2)
    value = {
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": phone}],
        "messages": [{
            "context": {"from": "15550783881", "id": "wamid.2"}, "from": phone,
            "id": "wamid.in", "timestamp": "1750091045", "type": "button",
            "button": {"payload": "STOP_PROMOTIONS", "text": "Berhenti promosi"},
        }],
    }  # fmt: skip
    body = json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]})
    response = post(anon, body.encode())
    assert (response.json()["replies"], response.json()["opted_out"]) == (1, 1)
    assert store.is_suppressed(phone)
    assert rows(store, sent)[2].reply == "Berhenti promosi"


def test_opt_out_buttons_come_from_settings(redis, store, sent):
    tap = {"entry": [{"changes": [{"value": {"messages": [{
        "from": factories.phone(0), "type": "button",
        "button": {"payload": "no-more", "text": "Tidak, terima kasih"}}]}}]}]}  # fmt: skip
    with TestClient(build_app(opt_out_buttons=["Tidak, terima kasih"])) as client:
        assert post(client, json.dumps(tap).encode()).json()["opted_out"] == 1
    assert store.is_suppressed(factories.phone(0))


def test_an_oversized_webhook_is_413(anon):
    response = post(anon, b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert response.status_code == 413


def test_a_stop_reply_removes_the_number_from_running_campaigns(anon, store, sent):
    phone = factories.phone(1)
    other = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(other.id)  # phone(1) is queued there, not sent yet
    post(anon, incoming(phone, "BERHENTI"))
    assert factories.take(store, other.id, 1).code == 4  # suppressed: not sent
    assert rows(store, other.id)[1].status == "skipped"
    assert factories.take(store, other.id, 0).ok


def test_an_oversized_chunked_webhook_is_stopped_at_the_limit(redis, store, sent):
    def chunks():
        yield b'{"message_id": "wamid.0", "status": "read", "pad": "'
        for _ in range(20):
            yield b"x" * 1000

    with TestClient(build_app(max_upload_bytes=10_000)) as client:
        response = client.post(URL, content=chunks())  # no Content-Length: chunked
    assert response.status_code == 413
    assert response.json() == {"detail": "webhook body larger than 10000 bytes", "limit": 10000}
    assert rows(store, sent)[0].status == "sent"


def test_other_methods_and_paths_are_left_to_the_app(anon):
    assert anon.get(URL).status_code == 405
    assert post(anon, meta_status("wamid.0", "read"), url=URL + "/extra").status_code == 404


def test_webhooks_without_a_lifespan_still_land(redis, store, sent):
    client = TestClient(build_app())  # outside `with`: no lifespan, a Redis client per call
    assert post(client, meta_status("wamid.0", "read")).json()["statuses"] == 1
    assert rows(store, sent)[0].status == "read"


def test_the_documented_route_answers_like_the_receiver(redis, store, sent):
    app = FastAPI()  # the router alone, without the receiver in front
    app.state.resources = build_app().state.resources
    app.include_router(webhooks.router)
    with TestClient(app) as client:
        assert post(client, meta_status("wamid.0", "read")).json()["statuses"] == 1
        assert post(client, meta_status("wamid.0", "read"), url=URL + "x").status_code == 404
        assert post(client, b"{").status_code == 422
    assert rows(store, sent)[0].status == "read"


def test_webhooks_over_a_real_server(redis, store, sent):
    with LiveServer(build_app()) as server, server.client() as client:
        for status in ("delivered", "read"):
            response = post(client, meta_status("wamid.1", status))
            assert response.status_code == 200 and response.json()["statuses"] == 1
        assert response.headers["content-type"] == "application/json"
    assert rows(store, sent)[1].status == "read"


def test_redis_down_is_503_and_the_secret_stays_out_of_the_logs(redis, caplog):
    caplog.set_level(logging.DEBUG)
    app = build_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(app) as client:
        response = post(client, meta_status("wamid.0", "read"))
    assert response.status_code == 503
    assert "Redis" in response.json()["detail"]
    server = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any("Redis error" in m for m in server)
    assert not any(WEBHOOK_SECRET in m for m in server)


def test_a_burst_of_callbacks_waits_for_redis_connections_instead_of_failing(redis, store):
    # Replai posts each callback once: one answered 503 for want of a Redis connection is lost
    import asyncio

    from broadcaster.web.deps import WEBHOOK_REDIS_CONNECTIONS, WebResources
    from tests.web.conftest import make_settings

    resources = WebResources(make_settings())
    calls = 5 * WEBHOOK_REDIS_CONNECTIONS

    async def burst():
        async with resources.serving():
            runs = [
                resources.run_webhook_script(
                    *store.webhook_call(WebhookChanges(f"digest-{i}"), factories.rules())
                )
                for i in range(calls)
            ]
            return await asyncio.gather(*runs, return_exceptions=True)

    try:
        results = asyncio.run(burst())
    finally:
        resources.close()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(results) == calls


def statuses_body(events: list[tuple[str, str, int]]) -> bytes:
    """One Meta body with several statuses: (message id, status, time) each."""
    failure = {"errors": [{"code": 131026, "title": "Undeliverable"}]}
    items = [
        {"id": mid, "status": status, "timestamp": str(t), "recipient_id": "x",
         **(failure if status == "failed" else {})}
        for mid, status, t in events
    ]  # fmt: skip
    value = {"messaging_product": "whatsapp", "statuses": items}
    return json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]}).encode()


#: What Meta may send for one message, in the order of the events' own times.
STREAMS = [
    ("sent", "delivered", "read"),
    ("sent", "delivered"),
    ("sent", "failed"),
    ("failed",),
    ("sent", "failed", "delivered"),  # a failure stamped before the receipt: delivered
]


def test_shuffled_status_streams_end_as_the_ordered_ones(anon, store):
    rng = random.Random(14)
    n = 200
    plans = [STREAMS[rng.randrange(len(STREAMS))] for _ in range(n)]
    ordered = store.create(factories.campaign(), factories.contacts(n), window=n)
    shuffled = store.create(factories.campaign(), factories.contacts(n, start=n), window=n)
    events: dict[str, list[tuple[str, str, int]]] = {ordered.id: [], shuffled.id: []}
    for c in (ordered, shuffled):
        store.start(c.id)
        for i, plan in enumerate(plans):
            t = 1_750_000_000 + 10 * i
            events[c.id] += [(f"{c.id}.{i}", s, t + k) for k, s in enumerate(plan)]
    claims = {}
    for c in (ordered, shuffled):
        for i in range(n):
            claims[c.id, i] = factories.take(store, c.id, i)

    def record(c, indexes):
        for i in indexes:
            store.finish(
                c.id,
                i,
                S.SENT,
                message_id=f"{c.id}.{i}",
                phone=claims[c.id, i].phone,
                lease_until=claims[c.id, i].lease_until,
            )

    record(ordered, range(n))
    todo = events[ordered.id]
    while todo:  # in order, in bodies of 1 to 6 statuses, as Meta batches them
        size = rng.randint(1, 6)
        assert post(anon, statuses_body(todo[:size])).status_code == 200
        todo = todo[size:]
    todo = events[shuffled.id]
    rng.shuffle(todo)
    early = set(rng.sample(range(n), n // 2))  # their callbacks come before the worker's write
    record(shuffled, sorted(set(range(n)) - early))
    while todo:
        size = rng.randint(1, 6)
        assert post(anon, statuses_body(todo[:size])).status_code == 200
        todo = todo[size:]
    record(shuffled, sorted(early))
    first = [r.status for r in store.iter_rows(ordered.id)]
    second = [r.status for r in store.iter_rows(shuffled.id)]
    assert first == second
    assert first == [plan[-1] for plan in plans]  # each stream's last in time is its furthest
    assert store.counts(ordered.id) == store.counts(shuffled.id)
