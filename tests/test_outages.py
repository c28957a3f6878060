"""Redis faults, for real: a redis-server of the test's own is paused (SIGSTOP) or filled up
(`maxmemory` with `noeviction`) while sends go through it. Nothing is sent twice, nothing
that did not leave ends `unknown`, every outcome that did leave is kept, and the worker lives.
"""

import contextlib
import functools
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import redis as redis_lib

from broadcaster import enqueue
from broadcaster.campaigns import CampaignState
from broadcaster.replai import ReplaiClient
from broadcaster.settings import Settings
from tests import factories
from tests.conftest import WORKER_STALE_AFTER, Workers, free_port
from workers.delivery import Resources, deliver
from workers.ratelimit import RateLimiter, RedisBackend

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


class OwnRedis:
    """A redis-server for one test: its URL per database, pause/resume, fill up/make room."""

    def __init__(self) -> None:
        self.port, self.dir = free_port(), tempfile.mkdtemp(prefix="bc-outage-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        with contextlib.closing(self.client()) as admin:
            deadline = time.monotonic() + 10
            while True:
                try:
                    admin.ping()
                    break
                except redis_lib.ConnectionError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.02)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0, **options) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.url(db), **options)

    def pause(self, seconds: float) -> threading.Timer:
        """SIGSTOP now, SIGCONT after `seconds` (from a timer thread)."""
        self.proc.send_signal(signal.SIGSTOP)
        timer = threading.Timer(seconds, self.proc.send_signal, (signal.SIGCONT,))
        timer.start()
        return timer

    def fill(self) -> None:
        """maxmemory just under what is used: every write that needs memory is refused."""
        with contextlib.closing(self.client()) as admin:
            used = int(admin.info("memory")["used_memory"])
            admin.config_set("maxmemory", str(used - 256 * 1024))

    def make_room(self) -> None:
        with contextlib.closing(self.client()) as admin:
            admin.config_set("maxmemory", "0")

    def crash(self) -> None:
        """SIGKILL: every connection to it is reset."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    yield server
    server.stop()


def ok(request: httpx.Request) -> httpx.Response:
    body = {"status": True, "message": "ok", "data": {"messages": [{"id": "wamid.OK"}]}}
    return httpx.Response(200, json=body)


def resources(client: redis_lib.Redis, handler, sleep=time.sleep) -> tuple[Resources, str]:
    store = factories.store(client)
    replai = ReplaiClient(
        base_url="http://r.test", token="t", transport=httpx.MockTransport(handler)
    )
    campaign = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(campaign.id)
    res = Resources(
        store=store,
        client=replai,
        limiter=RateLimiter(RedisBackend(client), safety_margin=0.025),
        policy=factories.policy(lease=10.0),
        sleep=sleep,
    )
    return res, campaign.id


def status(store, cid, index) -> str:
    return next(r.status for r in store.iter_rows(cid) if r.index == index)


def test_a_claim_caught_in_a_paused_redis_is_given_back_and_nothing_is_sent(own_redis):
    # a short socket timeout and no client retries: the claim's answer is lost for sure
    settings = Settings(redis_url=own_redis.url(0), redis_socket_timeout=0.3, redis_retries=0)
    client = settings.redis_client()
    calls, paused = [], []

    def sleep(seconds):  # the first sleep is the one before the claim: Redis stops there
        if not paused:
            paused.append(own_redis.pause(1.5))
        time.sleep(seconds)

    res, cid = resources(client, lambda r: calls.append(r) or ok(r), sleep)
    with pytest.raises(redis_lib.TimeoutError):
        deliver(res, cid, 0)
    paused[0].join()
    assert calls == []
    assert status(res.store, cid, 0) == "queued"  # not sending: no lease to run out
    assert res.store.counts(cid)["sending"] == 0
    deliver(res, cid, 0)  # the task's next try, or the ticker's republish
    assert len(calls) == 1 and status(res.store, cid, 0) == "sent"


def test_a_full_redis_refuses_new_sends_and_keeps_the_outcome_of_those_in_flight(own_redis):
    client = Settings(redis_url=own_redis.url(0)).redis_client()
    calls = []

    def fill_during_the_request(request):
        calls.append(request)
        own_redis.fill()  # Redis is full by the time the answer comes
        return ok(request)

    res, cid = resources(client, fill_during_the_request)
    deliver(res, cid, 0)
    assert status(res.store, cid, 0) == "sent"  # recorded although Redis is full
    with pytest.raises(redis_lib.exceptions.OutOfMemoryError):
        deliver(res, cid, 1)  # not started: nothing claimed, nothing sent
    assert len(calls) == 1 and status(res.store, cid, 1) == "queued"
    own_redis.make_room()
    deliver(res, cid, 1)
    assert len(calls) == 2 and status(res.store, cid, 1) == "sent"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_worker_rides_out_a_full_then_a_paused_redis(own_redis, sandbox, redis):
    """Redis is the store and the broker, as in the default deployment."""
    from workers.app import create_app
    from workers.dispatch import CeleryDispatch

    sandbox.configure(rate_limit_per_minute=0, latency_ms=20)
    store = factories.store(own_redis.client(), stale_after=WORKER_STALE_AFTER)
    pool = Workers(own_redis.client(), sandbox, own_redis.url(1))
    worker = pool.start("w1", concurrency=8, BROADCASTER_REDIS_URL=own_redis.url(0))
    app = create_app(Settings(broker_url=own_redis.url(1)))
    try:
        phones = [factories.phone(i) for i in range(400)]
        result = enqueue.enqueue_broadcast(
            [{"phone": p, "name": "x"} for p in phones], sender="waba-1", text="Halo {name}",
            rate_per_minute=3000, store=store, dispatch=CeleryDispatch(app),
        )  # fmt: skip
        cid = result.campaign.id
        wait_for(lambda: store.counts(cid)["sent"] >= 60)
        own_redis.fill()
        time.sleep(4)
        own_redis.make_room()
        wait_for(lambda: store.counts(cid)["sent"] >= 200)
        own_redis.pause(4).join()
        wait_for(lambda: store.get(cid).state == CampaignState.COMPLETED, timeout=80)
        assert worker.poll() is None, "the worker exited"
        counts = store.counts(cid)
        assert counts["sent"] == 400 and counts["unknown"] == 0, counts
        sends = sandbox.sends(summary=1)
        assert sends["count"] == 400 and sends["duplicates"] == 0
    finally:
        pool.stop_all()
        app.close()


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s")


# -- acks on a Redis broker ----------------------------------------------------------------


def received(url: str, transport):
    """A message taken from a queue of the broker at `url`, not acked yet."""
    from kombu import Connection, Exchange, Producer, Queue

    connection = Connection(url, transport=transport)
    channel = connection.default_channel
    queue = Queue("q", Exchange("q"), "q")
    Producer(channel).publish({"task": 1}, exchange=queue.exchange, routing_key="q",
                              declare=[queue])  # fmt: skip
    return connection, queue(channel).get(no_ack=False)


@pytest.mark.parametrize(("transport", "survives"), [("workers.broker:RedisTransport", True),
                                                     ("redis", False)])  # fmt: skip
def test_an_ack_refused_by_a_full_redis_is_left_for_redelivery(own_redis, transport, survives):
    import logging

    connection, message = received(own_redis.url(1), transport)
    own_redis.fill()  # Redis 7 refuses every command queued in MULTI, deletions included
    ack = functools.partial(
        message.ack_log_error, logging.getLogger(), connection.connection_errors
    )
    if survives:
        ack()  # logged ("Couldn't ack"), not raised: Celery keeps the worker
        with contextlib.closing(own_redis.client(1)) as broker:
            assert broker.hlen("unacked") == 1  # back after the visibility timeout
    else:
        with pytest.raises(redis_lib.exceptions.OutOfMemoryError):
            ack()  # kombu's own transport: Celery's "Unrecoverable error"
    connection.release()


@pytest.mark.parametrize(("transport", "survives"), [("workers.broker:RedisTransport", True),
                                                     ("redis", False)])  # fmt: skip
def test_a_connection_lost_to_a_redis_crash_closes_and_its_acks_are_left_for_redelivery(
    own_redis, transport, survives
):
    """What ended a worker in `make chaos` (exit code 1): Redis killed while the consumer
    holds an unacked message and waits on BRPOP, then Celery's clean-up of the connection.

    Collecting the connection, the channel's close fails on the BRPOP's read (ignored), the
    control channel's on deleting its auto-delete queue (ends the loop over the channels),
    and the transport is dropped; the close that follows finishes the channel's close, whose
    restore of the unacked message needs a client of the dropped transport."""
    import logging

    from kombu import Exchange, Queue
    from kombu.common import ignore_errors

    connection, message = received(own_redis.url(1), transport)
    channel = message.channel
    channel.basic_consume("q", False, lambda m: None, "ctag")
    # Celery's remote control (pidbox): a channel of its own, an auto-delete fanout queue
    control = Queue("ctl", Exchange("ctl", type="fanout"), auto_delete=True)(connection.channel())
    control.declare()
    control.consume("ctl-tag", callback=lambda m: None)
    for _ in range(5):  # the subscription's answer, then nothing: the consumer waits on BRPOP
        with contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=0.2)
    assert channel._in_poll
    own_redis.crash()
    # Celery's Consumer.on_connection_error_after_connected: collect (its errors ignored:
    # the first close of the channel fails on the BRPOP's read), then close for real
    with contextlib.suppress(Exception):
        connection.collect(socket_timeout=5.0)
    close = functools.partial(ignore_errors, connection, connection.close)
    ack = functools.partial(
        message.ack_log_error, logging.getLogger(), connection.connection_errors
    )
    if survives:
        close()  # a connection error, ignored: the consumer reconnects
        ack()  # logged ("Couldn't ack"): the message comes back after the visibility timeout
        assert channel.closed
    else:
        with pytest.raises(AttributeError, match="hostname"):
            close()  # kombu's own transport: Celery's "Unrecoverable error", exit code 1
