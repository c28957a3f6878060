import pytest

from broadcaster.errors import RateLimitExceeded
from tests.factories import Clock
from workers.ratelimit import MemoryBackend, RateLimiter, RedisBackend


@pytest.fixture(params=["memory", "redis"])
def limiter(request, redis):
    if request.param == "memory":
        return RateLimiter(MemoryBackend(Clock()), safety_margin=0)
    return RateLimiter(RedisBackend(redis), safety_margin=0)


def test_slots_are_spaced_by_the_interval(limiter):
    waits = [limiter.reserve("k", per_minute=600, max_wait=5.0) for _ in range(5)]
    # 600/min is one slot per 100 ms; Redis's clock moves a little between calls
    for i, wait in enumerate(waits):
        assert i * 0.1 - 0.02 <= wait <= i * 0.1 + 0.001


def test_a_slot_beyond_max_wait_is_refused_and_not_reserved(limiter):
    for _ in range(3):
        limiter.reserve("k", per_minute=60, max_wait=5.0)
    with pytest.raises(RateLimitExceeded) as info:
        limiter.reserve("k", per_minute=60, max_wait=1.5)
    assert 2.9 <= info.value.retry_after <= 3.0
    # the refusal reserved nothing: the next slot is still 3 s away
    assert 2.9 <= limiter.reserve("k", per_minute=60, max_wait=5.0) <= 3.0


def test_keys_are_independent(limiter):
    limiter.reserve("a", per_minute=1, max_wait=1.0)
    assert limiter.reserve("b", per_minute=1, max_wait=1.0) == 0


def test_penalize_holds_back_every_slot(limiter):
    limiter.penalize("k", 2.0)
    assert 1.9 <= limiter.reserve("k", per_minute=6000, max_wait=5.0) <= 2.0


def test_margin_widens_the_interval():
    limiter = RateLimiter(MemoryBackend(Clock()), safety_margin=0.03)
    assert limiter.interval_us(1200) == 51_500  # 50 ms + 3 %, not rounded to whole ms


def test_spacing_is_kept_in_microseconds_not_rounded_to_milliseconds(redis):
    limiter = RateLimiter(MemoryBackend(Clock()), safety_margin=0.03)
    waits = [limiter.reserve("k", per_minute=1200, max_wait=1.0) for _ in range(3)]
    assert waits == [0.0, 0.0515, 0.103]
    # and in Redis: the next slot is stored as Redis's clock + 51,500 us
    limiter = RateLimiter(RedisBackend(redis), safety_margin=0.03)
    before = _micros(redis.time())
    limiter.reserve("k", per_minute=1200, max_wait=1.0)
    after = _micros(redis.time())
    assert before + 51_500 <= int(redis.get("k")) <= after + 51_500


def _micros(time_reply):
    seconds, micros = time_reply
    return seconds * 1_000_000 + micros


@pytest.mark.parametrize("delay", [1e13, float("inf")])
def test_an_absurd_retry_after_holds_the_sender_back_a_day_not_forever_or_never(redis, delay):
    limiter = RateLimiter(RedisBackend(redis), safety_margin=0)
    limiter.penalize("k", delay)
    with pytest.raises(RateLimitExceeded) as info:
        limiter.reserve("k", per_minute=60, max_wait=5.0)
    assert 86_000 < info.value.retry_after <= 86_400


def test_memory_backend_frees_slots_as_time_passes():
    clock = Clock()
    limiter = RateLimiter(MemoryBackend(clock), safety_margin=0)
    limiter.reserve("k", per_minute=60, max_wait=0)
    with pytest.raises(RateLimitExceeded):
        limiter.reserve("k", per_minute=60, max_wait=0.5)
    clock.t += 1.0
    assert limiter.reserve("k", per_minute=60, max_wait=0) == 0


@pytest.mark.parametrize("bad", [0, -1])
def test_rate_must_be_positive(bad):
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimiter(MemoryBackend(), safety_margin=0).interval_us(bad)


# --- nested limits: the inner keys at one common slot, the outer just in time --------------

# Redis's own clock moves between the calls (by a few ms on a busy machine): the checks allow
# 12 ms, well below the 50 ms that tells one slot from the next.
INNER = [("campaign:c1", 600.0), ("sender:waba:s1", 6000.0)]  # 100 ms and 10 ms apart
OUTER = ("account:default:waba", 1200.0)  # 50 ms apart


def test_nested_takes_every_slot_at_once_when_the_inner_slot_is_now(limiter):
    first = limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    assert first.complete and first.wait == pytest.approx(0, abs=0.012)
    # the account was taken: a send of another campaign on the account waits 50 ms for it
    other = limiter.reserve_nested([("sender:waba:s2", 6000.0)], OUTER, max_wait=2.0)
    assert other.complete and other.wait == pytest.approx(0.05, abs=0.012)


def test_nested_gives_no_slot_sooner_than_the_lead_and_takes_all_at_it(limiter):
    # a worker 20 ms from Redis (a round trip of 40 ms) hears of a slot 20 ms after Redis's
    # now at the earliest: the slot is placed there, every limit taken in the one step
    keys = [key for key, _ in INNER] + [OUTER[0]]
    us = [limiter.interval_us(rate) for _, rate in [*INNER, OUTER]]
    first = limiter.reserve_intervals(keys, us, max_wait=2.0, lead=0.02)
    assert first.complete and first.wait == pytest.approx(0.02, abs=0.012)
    assert first.wait >= 0.02 - 0.001
    # the account's next slot is 50 ms after that one, not after Redis's now
    nxt = limiter.reserve_intervals(["sender:waba:s2", OUTER[0]], us[1:], max_wait=2.0, lead=0.02)
    assert nxt.complete and nxt.wait == pytest.approx(0.07, abs=0.012)


def test_nested_holds_no_account_slot_while_the_inner_one_is_ahead(limiter):
    limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    second = limiter.reserve_nested(INNER, OUTER, max_wait=2.0)  # the campaign's next: 100 ms
    assert not second.complete and second.wait == pytest.approx(0.1, abs=0.012)
    assert second.binding == "campaign:c1"
    # the account's next slot is still 50 ms from the first: not pushed out to 100 ms
    assert limiter.reserve(OUTER[0], per_minute=OUTER[1], max_wait=2.0) == pytest.approx(
        0.05, abs=0.012
    )


def test_an_outer_refusal_gives_the_inner_slot_back(limiter):
    limiter.penalize(OUTER[0], 5.0)  # the account is held back (a 429)
    with pytest.raises(RateLimitExceeded) as info:
        limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    assert info.value.key == OUTER[0] and 4.9 <= info.value.retry_after <= 5.0
    # the campaign's and the sender's slots were given back: the next one is now
    assert limiter.reserve(INNER[0][0], per_minute=600, max_wait=2.0) == pytest.approx(
        0, abs=0.012
    )


def test_an_inner_refusal_names_the_binding_limit_and_takes_nothing(limiter):
    limiter.penalize("sender:waba:s1", 3.0)
    with pytest.raises(RateLimitExceeded) as info:
        limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    assert info.value.key == "sender:waba:s1"
    assert limiter.reserve(OUTER[0], per_minute=1200, max_wait=2.0) == pytest.approx(0, abs=0.012)


def test_refund_gives_back_the_inner_slot_only_if_nobody_took_a_later_one(limiter):
    limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    held = limiter.reserve_nested(INNER, OUTER, max_wait=2.0)  # inner only, 100 ms ahead
    limiter.refund(held)
    again = limiter.reserve_nested(INNER, OUTER, max_wait=2.0)
    assert again.wait == pytest.approx(0.1, abs=0.012)  # the same slot, not 200 ms
    later = limiter.reserve_nested(INNER, OUTER, max_wait=2.0)  # 200 ms
    limiter.refund(again)  # someone reserved after it: nothing to give back
    assert limiter.reserve_nested(INNER, OUTER, max_wait=2.0).wait == pytest.approx(
        later.wait + 0.1, abs=0.012
    )
