"""/metrics: parsed with prometheus-client's own parser after a real campaign sent by two
worker processes (their counts add up in Redis), and the recorder's and collector's parts."""

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from broadcaster import enqueue, metrics
from broadcaster.errors import ReplaiThrottled
from broadcaster.replai import ReplaiClient
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.event_receiver import SECRET, Receiver
from tests.web.conftest import AUTH, TestClient, build_app
from workers.instruments import MeasuredClient, outcome_of


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def total(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name
               and all(s.labels.get(k) == v for k, v in labels.items()))  # fmt: skip


@pytest.mark.slow
def test_metrics_after_a_campaign_sent_by_two_worker_processes(redis, broker, sandbox, workers):
    sandbox.configure(latency_ms=20)
    env = {"BROADCASTER_EVENTS_BACKOFF_BASE": "0.05"}
    workers.start("w1", concurrency=4, **env)
    workers.start("w2", concurrency=4, **env)
    n = 60
    with Receiver() as receiver, TestClient(build_app(), headers=AUTH) as web:
        rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(n)]
        cid = enqueue.enqueue_broadcast(
            rows, sender="waba-1", text="Halo {name}", rate_per_minute=60_000.0,
            store=factories.store(redis, stale_after=WORKER_STALE_AFTER),
            dispatch=broker.dispatch(), events_url=receiver.url, events_secret=SECRET,
        ).campaign.id  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = scrape(web)
            sends = total(found.get("broadcaster_sends", []), "broadcaster_sends_total",
                          outcome="sent")  # fmt: skip
            delivered = total(found.get("broadcaster_event_deliveries", []),
                              "broadcaster_event_deliveries_total")  # fmt: skip
            if sends >= n and delivered >= n + 2:
                break
            time.sleep(0.3)
        assert web.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 401
    # each of the two processes added its own sends: together, every one of them once
    assert sends == n and delivered == n + 2
    [labels] = {tuple(sorted(s.labels.items())) for s in found["broadcaster_sends"]
                if s.name == "broadcaster_sends_total"}  # fmt: skip
    assert dict(labels) == {"outcome": "sent", "channel": "waba", "sender": "waba-1",
                            "account": "default"}  # fmt: skip
    latency = found["broadcaster_replai_request_seconds"]
    assert total(latency, "broadcaster_replai_request_seconds_count", channel="waba") == n
    assert total(latency, "broadcaster_replai_request_seconds_bucket", le="0.01") == 0  # 20 ms
    assert total(latency, "broadcaster_replai_request_seconds_bucket", le="+Inf") == n
    assert (
        total(found["broadcaster_slot_wait_seconds"], "broadcaster_slot_wait_seconds_count")
        >= n  # a send published twice is prepared twice, claimed once
    )
    assert total(found["broadcaster_window_recipients"], "broadcaster_window_recipients") == 0
    assert total(found["broadcaster_event_backlog"], "broadcaster_event_backlog") == 0
    assert total(found["broadcaster_redis_used_memory_bytes"],
                 "broadcaster_redis_used_memory_bytes") > 0  # fmt: skip
    assert "broadcaster_broker_queue_messages" in found
    text = str(found)
    assert cid not in text and factories.phone(0) not in text and "6281" not in text


def test_a_429_is_counted_with_its_retry_after_and_the_outcome():
    def throttled(request):
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"})

    client = ReplaiClient(base_url="http://replai.test", token="t",
                          transport=httpx.MockTransport(throttled))  # fmt: skip
    record = metrics.Recorder(None, "unused", interval=None)
    measured = MeasuredClient(client, record, lambda cid: "brand-a" if cid == "c1" else None)
    with pytest.raises(ReplaiThrottled) as raised:
        measured.send(channel="waba", sender="s1", phone="6281234567890", text="hi", ref="c1:0")
    assert outcome_of(raised.value) == "throttled"
    labels = {"account": "brand-a", "channel": "waba", "sender": "s1"}
    counted = record._pending
    assert counted[metrics.field("replai_throttled_total", labels)] == 1
    assert counted[metrics.field("sends_total", labels | {"outcome": "throttled"})] == 1
    assert counted[metrics.field("replai_retry_after_seconds_sum", labels)] == 7.0
    assert (
        counted[metrics.field("replai_retry_after_seconds_bucket", labels | {"le": "15.0"})] == 1
    )


def test_fields_round_trip_and_bound_label_values():
    raw = metrics.field("sends_total", {"sender": "x\x1fy" * 50, "channel": "waba"})
    name, labels = metrics.parse_field(raw)
    assert name == "sends_total" and labels["channel"] == "waba"
    assert len(labels["sender"]) == 100


@pytest.mark.parametrize(
    ("value", "le"),
    [(0.0, "0.005"), (0.005, "0.005"), (0.0051, "0.01"), (10.0, "10.0"), (10.5, "+Inf")],
)
def test_a_histogram_worked_out_once_counts_like_observe(value, le):
    labels = {"channel": "waba"}
    once = metrics.histogram("replai_request_seconds", labels)
    kept = metrics.Recorder(None, "unused", interval=None)
    kept.add(*once.counts(value))
    assert kept._pending == {
        metrics.field("replai_request_seconds_bucket", labels | {"le": le}): 1.0,
        metrics.field("replai_request_seconds_sum", labels): value,
        metrics.field("replai_request_seconds_count", labels): 1.0,
    }
    observed = metrics.Recorder(None, "unused", interval=None)
    observed.observe("replai_request_seconds", labels, value)
    assert observed._pending == kept._pending
