import dataclasses
import json
import time
from pathlib import Path

import pytest

from broadcaster.callbacks import handle_webhook, read_webhook
from broadcaster.campaigns import RecipientStatus
from broadcaster.contacts import Contact
from broadcaster.optouts import OptOutSource
from broadcaster.replai import ErrorReport
from broadcaster.webhook_changes import OptIn, OptOut, Reply, StatusChange, WebhookChanges
from tests import factories

S = RecipientStatus
KEYWORDS = ["STOP", "BERHENTI"]


@pytest.fixture
def store(redis):
    return factories.store(redis)


@pytest.fixture
def sent(store):
    """A campaign of 3 whose recipients were all sent, with message ids wamid.0..2."""
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    for i in range(3):
        factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{i}")
    return c


def meta_status(mid, status, **extra):
    stamp = str(int(time.time()))
    value = {"statuses": [{"id": mid, "status": status, "timestamp": stamp, **extra}]}
    return json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]}).encode()


def handle(store, body):
    return handle_webhook(store, body, rules=factories.rules(), opt_out_keywords=KEYWORDS)


def status_of(store, cid, index):
    return next(r for r in store.iter_rows(cid) if r.index == index).status


def test_statuses_move_forward_only(store, sent):
    assert handle(store, meta_status("wamid.0", "delivered")).statuses == 1
    assert handle(store, meta_status("wamid.0", "read")).statuses == 1
    late = handle(store, meta_status("wamid.0", "delivered", recipient_id="x"))
    assert late.statuses == 0 and late.ignored == 1
    assert status_of(store, sent.id, 0) == "read"
    counts = store.counts(sent.id)
    assert counts["read"] == 1 and counts["sent"] == 2 and sum(counts.values()) == 3


def test_failed_callback_records_the_reason(store, sent):
    body = meta_status("wamid.1", "failed", errors=[{"code": 131026, "title": "Undeliverable"}])
    assert handle(store, body).statuses == 1
    row = next(r for r in store.iter_rows(sent.id) if r.index == 1)
    assert row.status == "failed" and row.error == "131026: Undeliverable"


def test_flat_status_shape_and_unknown_ids(store, sent):
    flat = json.dumps({"message_id": "wamid.2", "status": "delivered", "phone": "62"}).encode()
    assert handle(store, flat).statuses == 1
    other = json.dumps({"message_id": "wamid.nope", "status": "read"}).encode()
    outcome = handle(store, other)  # not recorded (yet): it waits for its send
    assert (outcome.held, outcome.ignored) == (1, 0)


def test_duplicate_bodies_are_ignored(store, sent):
    body = meta_status("wamid.0", "delivered")
    assert not handle(store, body).duplicate
    assert handle(store, body).duplicate


def test_invalid_body_raises_and_changes_nothing(store, sent):
    with pytest.raises(ValueError, match="not JSON"):
        handle(store, b"{nope")
    with pytest.raises(ValueError):
        handle(store, b'{"hello": "world"}')
    assert store.counts(sent.id)["sent"] == 3


def test_stop_reply_suppresses_the_number_and_is_kept(store, sent):
    phone = factories.phone(1)
    body = json.dumps({"device_key": "d", "from": phone, "message": " stop ", "type": "single"})
    outcome = handle(store, body.encode())
    assert outcome.replies == 1 and outcome.opted_out == 1
    assert store.is_suppressed(phone)
    campaign = store.get(sent.id)
    assert campaign.replies == 1 and campaign.opted_out == 1
    row = next(r for r in store.iter_rows(sent.id) if r.index == 1)
    assert row.reply == "stop"


def test_reply_from_a_stranger_changes_no_campaign(store, sent):
    body = json.dumps({"from": "6281999999999", "message": "Halo", "type": "single"}).encode()
    outcome = handle(store, body)
    assert outcome.replies == 0 and outcome.opted_out == 0
    assert store.get(sent.id).replies == 0


def test_memory_per_recipient_with_indexes_stays_small(store):
    n = 5_000
    c = store.create(factories.campaign(), factories.contacts(n), window=n)
    store.start(c.id)
    for i in range(n):
        mid = f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjRBQkM{i:012d}AA=="
        factories.settle(store, c.id, i, S.SENT, message_id=mid)
    used = sum(store.redis.memory_usage(k) or 0 for k in store.redis.scan_iter("bc:*"))
    # the global indexes are bucketed over 65,536 hashes: at 5,000 their fixed cost dominates,
    # so this bound is loose; bench/store_memory.py measures the per-recipient figure at scale
    assert used / n < 1500, used / n


def test_one_body_with_several_statuses_and_replies_is_applied_at_once(store, sent):
    phone = factories.phone(2)
    value = {
        "statuses": [
            {"id": "wamid.0", "status": "read"},
            {"id": "wamid.1", "status": "failed", "errors": [{"code": 131049}]},
            {"id": "wamid.2", "status": "failed", "errors": [{"code": 131049}]},
            {"id": "wamid.2", "status": "delivered"},  # a receipt outranks a failure
            {"id": "wamid.0", "status": "sent"},  # behind read: changes nothing
            {"id": "wamid.nope", "status": "read"},  # held for its send
            {"id": "wamid.2", "status": "deleted"},  # no such status: skipped
        ],
        "messages": [{"from": phone, "type": "text", "text": {"body": "Berhenti"}}],
    }
    body = json.dumps({"entry": [{"changes": [{"value": value}]}]}).encode()
    outcome = handle(store, body)
    assert (outcome.statuses, outcome.held, outcome.ignored) == (4, 1, 2)
    assert (outcome.replies, outcome.opted_out) == (1, 1)
    assert [status_of(store, sent.id, i) for i in range(3)] == ["read", "failed", "delivered"]
    rows = list(store.iter_rows(sent.id))
    assert (rows[1].error, rows[2].error) == ("131049: failed", None)
    assert store.is_suppressed(phone) and store.get(sent.id).opted_out == 1
    assert handle(store, body).duplicate


def test_a_stop_from_a_stranger_is_suppressed_but_counted_nowhere(store, sent):
    body = json.dumps({"from": "6281999999999", "message": "STOP", "type": "single"}).encode()
    outcome = handle(store, body)
    assert (outcome.replies, outcome.opted_out) == (0, 1)
    assert store.is_suppressed("6281999999999")
    assert store.get(sent.id).opted_out == 0


def test_the_webhook_script_finds_keys_under_any_prefix(redis):
    store = factories.store(redis, prefix="other")
    c = store.create(factories.campaign(), factories.contacts(1), window=1)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.SENT, message_id="wamid.p")
    assert handle(store, meta_status("wamid.p", "delivered")).statuses == 1
    assert store.counts(c.id)["delivered"] == 1
    assert handle(
        store, json.dumps({"from": factories.phone(0), "message": "hi"}).encode()
    ).replies
    assert all(k.startswith(b"other:") for k in redis.keys("*"))


def test_apply_webhook_without_a_digest_does_not_deduplicate(store, sent):
    for status in (S.DELIVERED, S.READ):
        changes = WebhookChanges("", statuses=[StatusChange("wamid.0", status)])
        assert store.apply_webhook(changes, factories.rules()).statuses == 1
    assert not store.redis.keys("bc:wh:*")


def test_a_status_for_a_deleted_campaign_changes_nothing(store, sent):
    store.delete(sent.id)
    # its message ids left the index with it: the status waits like any unknown id, then
    # expires (counted), and no key of the campaign comes back
    assert handle(store, meta_status("wamid.0", "read")).held == 1
    assert not store.redis.keys(f"bc:c:{sent.id}*")


# --- read_webhook over the bodies Meta and Replai really send (tests/data/webhooks) ---------

SAMPLES = Path(__file__).parent / "data" / "webhooks"
SHEENA = "16505551234"
PNID = "106540352242922"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
WAMID_TEXT = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
WAMID_FAILED = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
CONTEXT = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
HEALTH = "This message was not delivered to maintain healthy ecosystem engagement."
K, B, UP, F50 = (OptOutSource.KEYWORD, OptOutSource.BUTTON, OptOutSource.USER_PREFERENCES,
                 OptOutSource.FAILED_131050)  # fmt: skip
SENT_STATUS = StatusChange(WAMID, S.SENT, 1750030073.0, phone=SHEENA)
FAILED_STATUS = StatusChange(
    WAMID_FAILED, S.FAILED, 1751142888.0, f"131049: {HEALTH}", 131049, SHEENA
)

EXPECTED = {
    "meta_status_sent.json": WebhookChanges("", statuses=[SENT_STATUS]),
    "meta_status_sent_v24.json": WebhookChanges("", statuses=[SENT_STATUS]),
    "meta_status_failed.json": WebhookChanges("", statuses=[FAILED_STATUS]),
    "composed_status_batch.json": WebhookChanges("", statuses=[SENT_STATUS, FAILED_STATUS]),
    "pywa_status_sent_with_callback_data.json": WebhookChanges("", statuses=[
        StatusChange("wamid.xyzxyz", S.SENT, 1698266945.0, phone="972987654321")]),
    "pywa_status_failed_130472.json": WebhookChanges("", statuses=[StatusChange(
        "wamid.xyzxyz", S.FAILED, 1689380458.0, "130472: User's number is part of an experiment",
        130472, "972987654321")]),
    "meta_text.json": WebhookChanges("", replies=[
        Reply(SHEENA, "Does it come in another color?", 1749416383.0, None, "text", WAMID_TEXT)]),
    "meta_text_message_business_button.json": WebhookChanges("", replies=[Reply(
        SHEENA, "Is this still available?", 1750016800.0,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA", "text",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTA2NTUwRkNEMDdFQjJCRUU0NQA=")]),
    "meta_button.json": WebhookChanges(
        "", replies=[Reply(SHEENA, "Unsubscribe", 1750091045.0, CONTEXT, "button", WAMID, True)],
        opt_outs=[OptOut(SHEENA, B, 1750091045.0, WAMID)]),
    "meta_interactive_list_reply.json": WebhookChanges("", replies=[Reply(
        SHEENA, "Priority Mail Express", 1749854575.0, CONTEXT, "interactive", WAMID)]),
    "meta_interactive_button_reply.json": WebhookChanges("", replies=[Reply(
        SHEENA, "Cancel", 1750025136.0,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA", "interactive",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=")]),
    "meta_reaction.json": WebhookChanges("", replies=[
        Reply(SHEENA, "\N{THUMBS UP SIGN}", 1749419544.0, CONTEXT, "reaction", WAMID)]),
    "meta_reaction_removed.json": WebhookChanges(
        "", ignored=1, skipped={"reaction removed": 1}),
    "meta_system_user_changed_number.json": WebhookChanges(
        "", ignored=1, skipped={"message:system": 1}),
    "meta_unsupported.json": WebhookChanges("", replies=[
        Reply(SHEENA, "", 1750090702.0, None, "unsupported", WAMID)]),
    "meta_image.json": WebhookChanges("", replies=[
        Reply(SHEENA, "Taj Mahal", 1744344496.0, None, "image", WAMID_TEXT)]),
    "meta_errors.json": WebhookChanges("", errors=[ErrorReport(
        130429, "Rate limit hit", "Message failed to send because there were too many messages "
        "sent from this phone number in a short period of time", PNID)]),
    "meta_user_preferences_stop.json": WebhookChanges(
        "", opt_outs=[OptOut(SHEENA, UP, 1731705721.0)]),
    "meta_user_preferences_resume.json": WebhookChanges(
        "", opt_ins=[OptIn(SHEENA, UP, 1731705721.0)]),
    # the numbers Meta rewrites: every key is the number the campaign sent to
    "derived_mexico_stop_text.json": WebhookChanges(
        "", replies=[Reply("525512345678", "STOP", 1749416383.0, None, "text", WAMID_TEXT, True)],
        opt_outs=[OptOut("525512345678", K, 1749416383.0, WAMID_TEXT)]),
    "derived_argentina_stop_button.json": WebhookChanges(
        "", replies=[Reply("5491123456789", "Stop promotions", 1750091045.0, CONTEXT, "button",
                           WAMID, True)],
        opt_outs=[OptOut("5491123456789", B, 1750091045.0, WAMID)]),
    "derived_indonesia_stop_button.json": WebhookChanges(
        "", replies=[Reply("6281234567890", "Berhenti promosi", 1750091045.0, CONTEXT, "button",
                           WAMID, True)],
        opt_outs=[OptOut("6281234567890", B, 1750091045.0, WAMID)]),
    "derived_brazil_failed_131050.json": WebhookChanges(
        "", statuses=[StatusChange(WAMID_FAILED, S.FAILED, 1751142888.0, "131050: failed", 131050,
                                   "5511987654321")],
        opt_outs=[OptOut("5511987654321", F50, 1751142888.0, WAMID_FAILED)]),
    "replai_device_incoming.json": WebhookChanges(
        "", replies=[Reply("6281234567890", "Berhenti", None, None, "text", None, True)],
        opt_outs=[OptOut("6281234567890", K, None, None)]),
    "replai_waba_incoming.json": WebhookChanges(
        "", replies=[Reply("6281234567890", "Halo, masih ada promo?")]),
    "replai_flat_status.json": WebhookChanges("", statuses=[
        StatusChange("3EB0A1B2C3D4E5F6", S.DELIVERED, 1750030080.0, phone="6281234567890")]),
}  # fmt: skip


def read_sample(name, **options):
    options.setdefault("opt_out_keywords", ["STOP", "BERHENTI", "UNSUBSCRIBE", "UNSUB"])
    return read_webhook((SAMPLES / name).read_bytes(), **options)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_webhook_extracts_what_each_real_body_holds(name):
    changes = read_sample(name)
    assert changes.digest and len(changes.digest) == 32
    assert dataclasses.replace(changes, digest="") == EXPECTED[name]


def test_every_sample_body_is_checked():
    assert {p.name for p in SAMPLES.glob("*.json")} == set(EXPECTED)


def test_a_button_opt_out_follows_the_configured_list():
    # "Cancel" opts out only when an operator lists it; typed text follows the keywords alone
    body = "meta_interactive_button_reply.json"
    assert not read_sample(body).opt_outs
    assert read_sample(body, opt_out_buttons=["cancel"]).opt_outs[0].source == B
    assert read_sample(body, opt_out_buttons=["CANCEL-BUTTON"]).opt_outs  # the payload
    assert not read_sample("derived_argentina_stop_button.json", opt_out_buttons=[],
                           opt_out_keywords=["BATAL"]).opt_outs  # fmt: skip
    assert not read_sample("meta_text.json", opt_out_buttons=[
        "Does it come in another color?"]).opt_outs  # fmt: skip


@pytest.mark.parametrize(
    "text,stop",
    [("STOP", True), (" stop! ", True), ("Stóp", True), ("BERHENTI.", True),
     ("berhenti  kirim", False), ("stop dekat mana?", False), ("Stop promotions", False)],
)  # fmt: skip
def test_a_typed_reply_opts_out_when_its_whole_text_is_a_keyword(text, stop):
    body = json.dumps({"from": factories.phone(1), "message": text, "type": "single"}).encode()
    changes = read_webhook(body, opt_out_keywords=KEYWORDS)
    assert changes.replies[0].opt_out is stop
    assert [o.source for o in changes.opt_outs] == ([K] if stop else [])


def test_user_preferences_of_other_categories_or_values_are_counted_not_applied():
    value = {"user_preferences": [
        {"wa_id": SHEENA, "category": "marketing_messages", "value": "pause", "timestamp": 1},
        {"wa_id": SHEENA, "category": "service_messages", "value": "stop", "timestamp": 2},
        {"category": "marketing_messages", "value": "stop"},
        {"wa_id": "5215512345678", "category": "marketing_messages", "value": "STOP"},
    ]}  # fmt: skip
    changes = read_webhook(json.dumps(value).encode(), opt_out_keywords=KEYWORDS)
    assert changes.opt_outs == [OptOut("525512345678", UP, None)]
    assert changes.ignored == 3
    assert changes.skipped == {
        "user_preferences:marketing_messages:pause": 1,
        "user_preferences:service_messages:stop": 1,
        "user_preferences without wa_id or value": 1,
    }


def test_other_fields_statuses_and_unusable_numbers_are_ignored_and_counted():
    body = {"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "account_update", "value": {"event": "ACCOUNT_UPDATE"}},
        {"field": "messages", "value": {
            "statuses": [{"id": "wamid.a", "status": "played", "recipient_id": SHEENA},
                         {"recipient_id": SHEENA, "status": "read"}],
            "messages": [{"from": "123", "type": "text", "text": {"body": "STOP"}}]}},
    ]}]}  # fmt: skip
    changes = read_webhook(json.dumps(body).encode(), opt_out_keywords=KEYWORDS)
    assert (changes.statuses, changes.replies, changes.opt_outs) == ([], [], [])
    assert changes.ignored == 4
    assert changes.skipped == {
        "field:account_update": 1, "status:played": 1, "status:no id": 1,
        "reply from an unusable number": 1,
    }  # fmt: skip


def test_a_national_number_from_a_device_webhook_still_gets_its_key():
    body = json.dumps({"from": "0812-3456-7890", "message": "stop", "type": "single"}).encode()
    assert read_webhook(body, opt_out_keywords=KEYWORDS).opt_outs[0].phone == "6281234567890"


def test_a_131050_without_a_usable_recipient_is_an_opt_out_by_message_id():
    value = {"statuses": [{"id": "wamid.x", "status": "failed", "timestamp": "5",
                           "errors": [{"code": 131050}]}]}  # fmt: skip
    changes = read_webhook(json.dumps(value).encode(), opt_out_keywords=KEYWORDS)
    assert changes.opt_outs == [OptOut(None, F50, 5.0, "wamid.x")]


def test_a_meta_stop_through_the_store_suppresses_the_sender(store, sent):
    # a Mexican STOP from 521... reaches the 52... recipient
    mexican = "525512345678"
    c = store.create(factories.campaign(), [Contact(2, mexican, {"name": "M"})], window=1)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.SENT, message_id="wamid.mx")
    outcome = handle(store, (SAMPLES / "derived_mexico_stop_text.json").read_bytes())
    assert (outcome.replies, outcome.opted_out) == (1, 1)
    assert store.is_suppressed(mexican)
    assert store.get(c.id).opted_out == 1
