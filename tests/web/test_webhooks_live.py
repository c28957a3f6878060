"""Webhooks as Meta and Replai send them, end to end: a campaign uploaded to the app under
uvicorn, sent by a real Celery worker through the sandbox, then the bodies of
tests/data/webhooks posted to the app's webhook with the campaign's real message ids and
numbers in them (Meta's own forms of the numbers where it rewrites them).

Also: the sandbox's own callbacks for a Mexican number (reported as `521...`), and the race
in which every status reaches the app before the worker has recorded its send.
"""

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.web.conftest import AUTH, WEBHOOK_SECRET, LiveServer, build_app
from tests.web.test_live import upload, wait_for

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).parents[1] / "data" / "webhooks"
HOOK = f"/webhooks/replai/{WEBHOOK_SECRET}"
SHEENA = "16505551234"  # the user in Meta's samples
# the message ids of Meta's samples that name one of the business's messages
SENT_ID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
FAILED_ID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
CONTEXT = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
PRODUCT = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"
BUTTON_CONTEXT = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"
PREFERENCES_TIME = "1731705721"

MEXICO, ARGENTINA, BRAZIL = "525512345678", "5491123456789", "5511987654321"
INDONESIA = "6281234567890"


@dataclass
class Case:
    """A sample body posted for one recipient: which strings become its message id and
    number, and what the app must then show."""

    sample: str
    ids: tuple[str, ...] = ()  # the sample's ids of our message -> the recipient's
    phones: tuple[str, ...] = (SHEENA,)  # the sample's user -> `reported` (or the recipient)
    reported: str | None = None  # the number as Meta reports it, when it differs
    status: str = "sent"
    error: str | None = None
    updated_at: str | None = None
    reply: tuple[str, str] | None = None  # (text, kind)
    source: str | None = None  # the suppression list's source for the number
    ack: dict[str, int] = field(default_factory=dict)


CASES = {
    "sent": Case("meta_status_sent.json", (SENT_ID,), ack={"statuses": 0, "ignored": 1}),
    "sent_v24": Case("meta_status_sent_v24.json", (SENT_ID,)),
    "failed": Case(
        "meta_status_failed.json", (FAILED_ID,), status="failed",
        error="131049: This message was not delivered to maintain healthy ecosystem engagement.",
        updated_at="2025-06-28T20:34:48Z", ack={"statuses": 1},
    ),
    "batch_failed": Case("composed_status_batch.json", (FAILED_ID, SENT_ID), status="failed"),
    "pywa_sent": Case("pywa_status_sent_with_callback_data.json", ("wamid.xyzxyz",),
                      phones=("972987654321",)),
    "pywa_failed": Case(
        "pywa_status_failed_130472.json", ("wamid.xyzxyz",), phones=("972987654321",),
        status="failed", error="130472: User's number is part of an experiment",
    ),
    "text": Case("meta_text.json", reply=("Does it come in another color?", "text"),
                 ack={"replies": 1}),
    "product": Case("meta_text_message_business_button.json", (PRODUCT,),
                    reply=("Is this still available?", "text")),
    "button": Case("meta_button.json", (CONTEXT,), reply=("Unsubscribe", "button"),
                   source="button", ack={"replies": 1, "opted_out": 1}),
    "list": Case("meta_interactive_list_reply.json", (CONTEXT,),
                 reply=("Priority Mail Express", "interactive")),
    "interactive": Case("meta_interactive_button_reply.json", (BUTTON_CONTEXT,),
                        reply=("Cancel", "interactive")),
    "reaction": Case("meta_reaction.json", (CONTEXT,), reply=("\N{THUMBS UP SIGN}", "reaction")),
    "unsupported": Case("meta_unsupported.json", reply=("[unsupported]", "unsupported")),
    "image": Case("meta_image.json", reply=("Taj Mahal", "image")),
    "mexico": Case("derived_mexico_stop_text.json", phones=("5215512345678",),
                   reported="5215512345678", reply=("STOP", "text"), source="keyword"),
    "argentina": Case("derived_argentina_stop_button.json", (CONTEXT,),
                      phones=(ARGENTINA,), reported="541123456789",  # without the 9
                      reply=("Stop promotions", "button"), source="button"),
    "brazil": Case("derived_brazil_failed_131050.json", (FAILED_ID,), phones=("551187654321",),
                   reported="551187654321",  # an account from before the ninth digit
                   status="failed", error="131050: failed", source="failed_131050"),
    "indonesia": Case("derived_indonesia_stop_button.json", (CONTEXT,), phones=(INDONESIA,),
                      reply=("Berhenti promosi", "button"), source="button"),
    "device": Case("replai_device_incoming.json", phones=(INDONESIA,),
                   reply=("Berhenti", "text"), source="keyword"),
    "waba": Case("replai_waba_incoming.json", phones=(INDONESIA,),
                 reply=("Halo, masih ada promo?", "text")),
    "flat": Case("replai_flat_status.json", ("3EB0A1B2C3D4E5F6",), phones=(INDONESIA,),
                 status="delivered", updated_at="2025-06-15T23:28:00Z"),
    "stop_then_resume": Case("meta_user_preferences_stop.json"),
    "resume_then_late_stop": Case("meta_user_preferences_resume.json"),
    "removed_reaction": Case("meta_reaction_removed.json", (CONTEXT,),
                             ack={"ignored": 1, "replies": 0}),
    "changed_number": Case("meta_system_user_changed_number.json", ack={"ignored": 1}),
}  # fmt: skip
NUMBERS = {"mexico": MEXICO, "argentina": ARGENTINA, "brazil": BRAZIL, "indonesia": INDONESIA}


def body_for(case: Case, message_id: str, phone: str, **replace: str) -> bytes:
    text = (SAMPLES / case.sample).read_text()
    for old in case.ids:
        text = text.replace(old, message_id)
    for old in case.phones:
        text = text.replace(f'"{old}"', f'"{case.reported or phone}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.encode()


def recipients(http: httpx.Client, cid: str) -> dict[str, dict]:
    page = http.get(f"/campaigns/{cid}/recipients", params={"limit": 1000}).json()
    return {r["phone"]: r for r in page["items"]}


def suppressed(http: httpx.Client) -> dict[str, dict]:
    return {
        i["phone"]: i for i in http.get("/suppression", params={"limit": 1000}).json()["items"]
    }


def run_campaign(http: httpx.Client, phones: list[str], name: str) -> str:
    created = upload(http, ["+" + p for p in phones], name)  # + : not all are Indonesian
    assert created["summary"]["valid"] == len(phones), created["summary"]
    cid = created["id"]
    wait_for(lambda: http.get(f"/campaigns/{cid}").json()["state"] == "completed", timeout=90)
    return cid


def test_meta_and_replai_bodies_land_on_a_real_campaign(redis, sandbox, workers):
    sandbox.configure(rate_limit_per_minute=0)  # no webhook URL: only the samples arrive
    numbers = {name: NUMBERS.get(name, factories.phone(i)) for i, name in enumerate(CASES)}
    with LiveServer(build_app(replai_base_url=sandbox.url)) as server:
        workers.start("w1", concurrency=4)
        http = server.client(headers=AUTH)
        cid = run_campaign(http, list(numbers.values()), "samples")
        sent = recipients(http, cid)
        assert {r["status"] for r in sent.values()} == {"sent"}
        for name, case in CASES.items():
            phone = numbers[name]
            body = body_for(case, sent[phone]["message_id"], phone)
            response = http.post(HOOK, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200, (name, response.text)
            ack = response.json()
            assert {k: ack[k] for k in case.ack} == case.ack, (name, ack)
            if name in ("stop_then_resume", "resume_then_late_stop"):
                _then(http, name, phone)
        _check(http, cid, numbers)
        health = http.get("/healthz").json()["webhooks"]
        assert health["errors"] == 0
        response = http.post(HOOK, content=(SAMPLES / "meta_errors.json").read_bytes())
        assert response.status_code == 200
        assert http.get("/healthz").json()["webhooks"]["errors"] == 1
        assert health["waiting"] == 0 and health["expired"] == 0  # every id was ours
        http.close()


def _then(http: httpx.Client, name: str, phone: str) -> None:
    """The second body of the user_preferences pairs."""
    if name == "stop_then_resume":
        assert suppressed(http)[phone]["source"] == "user_preferences"
        later = str(int(PREFERENCES_TIME) + 60)
        case = Case("meta_user_preferences_resume.json")
        body = body_for(case, "", phone, **{PREFERENCES_TIME: later})
        assert http.post(HOOK, content=body).json()["resumed"] == 1
    else:
        earlier = str(int(PREFERENCES_TIME) - 60)
        case = Case("meta_user_preferences_stop.json")
        body = body_for(case, "", phone, **{PREFERENCES_TIME: earlier})
        assert http.post(HOOK, content=body).json()["opted_out"] == 0  # the resume is newer


def _check(http: httpx.Client, cid: str, numbers: dict[str, str]) -> None:
    rows, listed = recipients(http, cid), suppressed(http)
    for name, case in CASES.items():
        phone = numbers[name]
        row = rows[phone]
        assert row["status"] == case.status, (name, row)
        if case.error is not None:
            assert row["error"] == case.error, (name, row)
        if case.updated_at is not None:
            assert row["updated_at"] == case.updated_at, (name, row)
        if case.reply is not None:
            assert (row["reply"], row["reply_kind"]) == case.reply, (name, row)
            assert row["reply_at"] is not None
        else:
            assert row["reply"] is None, (name, row)
        assert (listed[phone]["source"] if phone in listed else None) == case.source, name
    assert listed[numbers["brazil"]]["opted_out_at"] == "2025-06-28T20:34:48Z"
    detail = http.get(f"/campaigns/{cid}").json()
    replies = sum(1 for c in CASES.values() if c.reply is not None)
    assert detail["replies"] == replies
    stops = sum(1 for c in CASES.values() if c.reply is not None and c.source)
    assert detail["opted_out"] == stops


def test_a_stop_from_metas_mexican_form_lands_on_the_number_sent_to(redis, sandbox, workers):
    # the sandbox reports a Mexican number as WhatsApp does, 521 + 10 digits: statuses find
    # the message by id, the STOP finds the recipient and suppresses the number sent to
    mexican, plain = "525512340009", "525512345670"  # 0009: replies STOP after read
    sandbox.configure(rate_limit_per_minute=0, callback_delay_ms=100)
    with LiveServer(build_app(replai_base_url=sandbox.url)) as server:
        sandbox.configure(webhook_url=f"{server.url}{HOOK}")
        workers.start("w1", concurrency=2)
        http = server.client(headers=AUTH)
        cid = run_campaign(http, [mexican, plain], "mexico")
        wait_for(lambda: recipients(http, cid)[mexican]["reply"] == "STOP")
        rows = recipients(http, cid)
        assert rows[mexican]["status"] == "read" and rows[plain]["status"] == "read"
        entry = suppressed(http)[mexican]
        assert entry["source"] == "keyword" and entry["opted_out_at"]
        assert "5215512340009" not in suppressed(http)
        assert http.get(f"/campaigns/{cid}").json()["opted_out"] == 1
        http.close()


def test_every_status_before_its_send_is_recorded_still_lands(redis, sandbox, workers):
    # the sandbox posts each send's statuses to the app, and waits for the app's answers,
    # before it answers the send: every one of them beats the worker's record of the id
    n = 1000
    plans: dict[str, str] = {}
    for i in range(n):
        suffix = {0: 10, 1: 13}.get(i % 10)  # 0010: failed after sent; 0013: never read
        phone = factories.phone(i, suffix=suffix) if suffix else factories.phone(i)
        plans[phone] = {10: "failed", 13: "delivered"}.get(suffix or 0, "read")
    sandbox.configure(rate_limit_per_minute=0, callbacks_first=True)
    with LiveServer(build_app(replai_base_url=sandbox.url)) as server:
        sandbox.configure(webhook_url=f"{server.url}{HOOK}")
        workers.start("w1", concurrency=8)
        http = server.client(headers=AUTH)
        cid = run_campaign(http, list(plans), "race")

        def health() -> dict:
            return http.get("/healthz").json()["webhooks"]

        callbacks = sum(2 if p == "failed" else 3 if p == "read" else 2 for p in plans.values())
        wait_for(lambda: health()["released"] >= callbacks, timeout=30)
        rows = recipients(http, cid)
        wrong = {p: r["status"] for p, r in rows.items() if r["status"] != plans[p]}
        assert wrong == {}
        failed = [r for r in rows.values() if r["status"] == "failed"]
        assert {r["error"] for r in failed} == {"131026: Message undeliverable"}
        counters = health()
        assert counters["held"] == counters["released"] == callbacks
        assert (counters["waiting"], counters["expired"], counters["dropped"]) == (0, 0, 0)
        posted = sandbox.sends(summary=1)
        assert posted["callbacks_posted"] == callbacks and posted["callbacks_failed"] == 0
        http.close()
