"""The suppression list in the store: every opt-out with its source and time, what a resume
lifts, operators' entries, the list of older versions, and the claim's check."""

import itertools

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.optouts import OptOutSource
from broadcaster.webhook_changes import OptIn, OptOut, WebhookChanges
from tests import factories

S = RecipientStatus
K, B, UP, F50 = (OptOutSource.KEYWORD, OptOutSource.BUTTON, OptOutSource.USER_PREFERENCES,
                 OptOutSource.FAILED_131050)  # fmt: skip
PHONE = "6281234567890"
T0 = 1_750_000_000


@pytest.fixture
def store(redis):
    return factories.store(redis, clock=lambda: float(T0))


def apply(store, *events):
    changes = WebhookChanges(
        "",
        opt_outs=[e for e in events if isinstance(e, OptOut)],
        opt_ins=[e for e in events if isinstance(e, OptIn)],
    )
    return store.apply_webhook(changes, factories.rules())


def entry(store, phone=PHONE):
    found = {e.phone: (e.source, e.at) for e in store.suppression_entries()}
    return found.get(phone)


@pytest.mark.parametrize("source", [K, B, UP, F50])
def test_each_opt_out_is_recorded_with_its_source_and_time(store, source):
    assert apply(store, OptOut(PHONE, source, T0 - 10)).opted_out == 1
    assert entry(store) == (str(source), T0 - 10)
    assert store.is_suppressed(PHONE)


def test_an_opt_out_without_a_time_takes_the_stores(store):
    apply(store, OptOut(PHONE, K, None))
    assert entry(store) == ("keyword", T0)


def test_a_resume_lifts_only_what_metas_setting_made_and_only_when_newer(store):
    apply(store, OptOut("6281100000001", UP, T0 - 30), OptOut("6281100000002", F50, T0 - 30),
          OptOut("6281100000003", K, T0 - 30), OptOut("6281100000004", B, T0 - 30),
          OptOut("6281100000005", UP, T0 + 30))  # fmt: skip
    resumes = [OptIn(f"628110000000{i}", UP, T0) for i in range(1, 6)]
    assert apply(store, *resumes).lifted == 2
    assert store.suppressed() == {"6281100000003", "6281100000004", "6281100000005"}


def test_a_persons_own_opt_out_outranks_metas_and_a_resume_leaves_it(store):
    apply(store, OptOut(PHONE, K, T0 - 50))
    apply(store, OptOut(PHONE, UP, T0 - 10))  # newer, but Meta's: the keyword stays
    assert entry(store) == ("keyword", T0 - 50)
    apply(store, OptIn(PHONE, UP, T0))
    assert entry(store) == ("keyword", T0 - 50)


def test_a_stop_older_than_a_known_resume_is_not_recorded(store):
    apply(store, OptIn(PHONE, UP, T0))
    assert apply(store, OptOut(PHONE, UP, T0 - 5)).opted_out == 0  # arrived late
    assert not store.is_suppressed(PHONE)
    assert apply(store, OptOut(PHONE, K, T0 - 5)).opted_out == 1  # a typed STOP is not lifted
    assert entry(store) == ("keyword", T0 - 5)


STREAM = [OptOut(PHONE, UP, T0 + 1), OptIn(PHONE, UP, T0 + 2), OptOut(PHONE, F50, T0 + 3),
          OptIn(PHONE, UP, T0 + 4), OptOut(PHONE, UP, T0 + 4)]  # fmt: skip


@pytest.mark.parametrize("size", [2, 3, 5])
def test_stops_and_resumes_end_the_same_in_any_order(store, size):
    outcomes = set()
    for order in itertools.permutations(STREAM[:size]):
        store.redis.delete(store.keys.suppression(), store.keys.resumes())
        for event in order:
            apply(store, event)
        outcomes.add(entry(store))
    # 2: lifted; 3: the 131050 after the resume stays; 5: a stop and a resume at the same
    # second: the stop wins
    expected = {2: None, 3: ("failed_131050", T0 + 3), 5: ("user_preferences", T0 + 4)}
    assert outcomes == {expected[size]}


def test_an_operators_entry_outranks_metas_and_keeps_a_persons(store):
    apply(store, OptOut("6281100000001", UP, T0 - 9), OptOut("6281100000002", K, T0 - 9))
    added = store.suppress(["6281100000001", "6281100000002", "6281100000003"])
    assert added == 1  # two were listed already
    assert entry(store, "6281100000001") == ("manual", T0)  # a resume can no longer lift it
    assert entry(store, "6281100000002") == ("keyword", T0 - 9)
    assert entry(store, "6281100000003") == ("manual", T0)
    apply(store, OptIn("6281100000001", UP, T0 + 1))
    assert store.is_suppressed("6281100000001")
    assert store.unsuppress(["6281100000001", "6281100000009"]) == 1


def test_the_list_of_older_versions_is_moved_once(store, redis):
    redis.sadd("bc:suppressed", "6281100000001", "6281100000002")
    apply(store, OptOut("6281100000002", K, T0 - 1))
    assert store.migrate_suppression() == 1
    assert entry(store, "6281100000001") == ("legacy", 0)
    assert entry(store, "6281100000002") == ("keyword", T0 - 1)
    assert not redis.exists("bc:suppressed")
    assert store.migrate_suppression() == 0


def test_a_running_campaign_skips_a_number_the_moment_it_opts_out(store):
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    phone = factories.phone(1)
    apply(store, OptOut(phone, UP, T0))
    assert factories.take(store, c.id, 1).code == 4  # skipped: never sent
    assert factories.take(store, c.id, 0).ok
    assert store.counts(c.id)["skipped"] == 1
