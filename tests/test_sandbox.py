"""The Replai sandbox, over real HTTP on loopback (see the `sandbox` fixture)."""

import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from broadcaster.sandbox.options import RateSpec, parse_rate_limit
from broadcaster.sandbox.posting import KeepAlivePoster, PostError
from broadcaster.sandbox.throttle import FixedWindowThrottle, SlidingWindowThrottle
from tests.conftest import SANDBOX_TOKEN, SECOND_TOKEN, Sandbox, free_port, wait_http

JSON = {"Accept": "application/json"}
AUTH = {**JSON, "Authorization": f"Bearer {SANDBOX_TOKEN}"}
PHONE = "6281234567890"


def waba_send(sandbox: Sandbox, phone: str = PHONE, **extra: Any) -> httpx.Response:
    headers = {**AUTH, **extra.pop("headers", {})}
    body = {"phone": phone, "message": "Halo", "waba_id": "waba-1", **extra}
    return sandbox.http.post("/api/waba/send", json=body, headers=headers)


def device_send(sandbox: Sandbox, phone: str = PHONE, **extra: Any) -> httpx.Response:
    body = {"phone": phone, "message": "Halo", "device_id": "dev-1", **extra}
    return sandbox.http.post("/api/wa/send", json=body, headers=AUTH)


def meta_code(response: httpx.Response) -> int:
    body = response.json()
    return int(body["data"]["error"]["code"])


# Every send route, with a valid body for `phone` (device routes need 62...).
SEND_ROUTES: dict[str, Callable[[str], tuple[dict[str, Any], dict[str, str]]]] = {
    "/api/waba/send": lambda p: ({"phone": p, "message": "Hi", "waba_id": "w"}, AUTH),
    "/api/waba/send-template": lambda p: (
        {"phone": p, "template_name": "welcome", "params": ["Budi"], "waba_id": "w"},
        AUTH,
    ),
    "/api/wa/send": lambda p: ({"phone": p, "message": "Hi", "device_id": "d"}, AUTH),
    "/api/wa/send-template": lambda p: (
        {"phone": p, "template_id": "tpl_otp", "variables": ["1234"], "device_id": "d"},
        AUTH,
    ),
    "/api-app/waba/messages/simple": lambda p: (
        {"api_key": "k", "device_key": "dk", "phone": p, "message": "Hi"},
        JSON,
    ),
    "/api-app/waba/messages/template": lambda p: (
        {
            "api_key": "k",
            "device_key": "dk",
            "phone": p,
            "template_id": "promo",
            "template_lang": "id",
            "body": ["Budi", "50%"],
        },
        JSON,
    ),
    "/api-app/whatsapp/send-message": lambda p: (
        {"api_key": "k", "device_key": "dk", "phone": p, "method": "text", "text": "Hi"},
        JSON,
    ),
}


def send_on(sandbox: Sandbox, route: str, phone: str, ref: str | None = None) -> httpx.Response:
    body, headers = SEND_ROUTES[route](phone)
    if ref is not None:
        headers = {**headers, "X-Broadcaster-Ref": ref}
    return sandbox.http.post(route, json=body, headers=headers)


# --- accounts and the happy path ---


def test_login_then_waba_send_returns_a_wamid(sandbox):
    login = sandbox.http.post(
        "/api/login", json={"email": "demo@example.com", "password": "password"}, headers=JSON
    )
    assert login.status_code == 200
    token = login.json()["data"]["token"]
    assert login.json()["data"]["user"]["email"] == "demo@example.com"

    response = sandbox.http.post(
        "/api/waba/send",
        json={"phone": "081234567890", "message": "Halo", "waba_id": "waba-1"},
        headers={**JSON, "Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] is True
    assert body["data"]["messaging_product"] == "whatsapp"
    assert body["data"]["contacts"] == [{"input": "081234567890", "wa_id": "6281234567890"}]
    assert body["data"]["messages"][0]["id"].startswith("wamid.")
    assert response.headers["X-RateLimit-Limit"] == "120"
    assert response.headers["X-RateLimit-Remaining"] == "119"


def test_device_send_answers_the_success_envelope_with_a_3eb0_id(sandbox):
    response = device_send(sandbox)

    body = response.json()
    assert response.status_code == 200
    assert body["success"] is True
    assert body["data"]["id"].startswith("3EB0") and len(body["data"]["id"]) == 20
    assert body["data"] == {"id": body["data"]["id"], "phone": PHONE, "status": "sent"}
    assert response.headers["X-RateLimit-Limit"] == "60"


def test_register_login_logout_and_bad_credentials(sandbox):
    user = {"name": "Ani", "email": "ani@example.com", "password": "secret123"}
    registered = sandbox.http.post("/api/register", json=user, headers=JSON)
    again = sandbox.http.post("/api/register", json=user, headers=JSON)
    wrong = sandbox.http.post(
        "/api/login", json={"email": "ani@example.com", "password": "nope"}, headers=JSON
    )
    token = registered.json()["data"]["token"]
    bearer = {**JSON, "Authorization": f"Bearer {token}"}
    before = waba_send(sandbox, headers=bearer)
    logout = sandbox.http.post("/api/logout", headers=bearer)
    after = waba_send(sandbox, headers=bearer)

    assert registered.status_code == 200 and registered.json()["status"] is True
    assert again.status_code == 422 and "email" in again.json()["errors"]
    assert wrong.status_code == 401 and wrong.json()["status"] is False
    assert before.status_code == 200
    assert logout.json() == {"status": True, "message": "Logged out", "data": None}
    assert after.status_code == 401
    assert after.json() == {"message": "Unauthenticated."}


@pytest.mark.parametrize("headers", [JSON, {**JSON, "Authorization": "Bearer nope"}])
def test_bearer_routes_refuse_a_missing_or_unknown_token(sandbox, headers):
    response = waba_send(
        sandbox, headers=headers | {"Authorization": headers.get("Authorization", "")}
    )

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_api_app_routes_take_any_api_key_but_invalid(sandbox):
    ok = send_on(sandbox, "/api-app/whatsapp/send-message", PHONE)
    body, _ = SEND_ROUTES["/api-app/waba/messages/simple"](PHONE)
    bad = sandbox.http.post(
        "/api-app/waba/messages/simple", json={**body, "api_key": "invalid"}, headers=JSON
    )
    missing = sandbox.http.post(
        "/api-app/waba/messages/simple", json={"phone": PHONE, "message": "x"}, headers=JSON
    )

    assert ok.status_code == 200 and ok.json()["success"] is True
    assert bad.status_code == 401
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"api_key", "device_key"}


# --- throttle ---


def test_over_the_throttle_answers_429_with_retry_after_and_rate_headers(sandbox):
    sandbox.configure(rate_limit_per_minute=3)

    answers = [waba_send(sandbox, phone=f"62812345600{50 + i}") for i in range(4)]
    other_token = sandbox.http.post(
        "/api/login", json={"email": "demo@example.com", "password": "password"}, headers=JSON
    ).json()["data"]["token"]
    other = waba_send(sandbox, headers={"Authorization": f"Bearer {other_token}"})

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[3]
    assert refused.json() == {"message": "Too Many Attempts."}
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.status_code == 200, "the throttle is per token"
    assert sandbox.sends(summary=1)["count"] == 4


def test_throttle_answers_html_without_accept_json(sandbox):
    sandbox.configure(rate_limit_per_minute=1)
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    body = {"phone": PHONE, "message": "Halo", "waba_id": "w"}

    first = sandbox.http.post("/api/waba/send", json=body, headers=headers)
    second = sandbox.http.post("/api/waba/send", json=body, headers=headers)

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["content-type"].startswith("text/html")
    assert "Too Many Requests" in second.text
    assert int(second.headers["Retry-After"]) >= 1


def test_throttle_off_and_device_family_defaults(sandbox):
    device = device_send(sandbox)
    sandbox.configure(rate_limit_per_minute=0)
    unthrottled = [waba_send(sandbox, phone=f"6281234{i:04d}55") for i in range(130)]

    assert device.headers["X-RateLimit-Limit"] == "60"
    assert {r.status_code for r in unthrottled} == {200}
    assert "X-RateLimit-Limit" not in unthrottled[0].headers


def test_the_throttle_is_per_account_and_route_family(sandbox):
    """Two tokens of one user share its throttle (Laravel keys it by user); a second static
    token is an account of its own; the device routes count apart from the WABA ones."""
    sandbox.configure(rate_limit_per_minute=2)
    login = {"email": "demo@example.com", "password": "password"}
    tokens = [
        sandbox.http.post("/api/login", json=login, headers=JSON).json()["data"]["token"]
        for _ in range(2)
    ]
    first, second, other = (*tokens, SECOND_TOKEN)

    def send(token: str, route: str = "/api/waba/send") -> int:
        body = {"phone": f"62812345600{50 + len(sent)}", "message": "Halo",
                "waba_id": "w", "device_id": "d"}  # fmt: skip
        sent.append(route)
        headers = {**JSON, "Authorization": f"Bearer {token}"}
        return sandbox.http.post(route, json=body, headers=headers).status_code

    sent: list[str] = []
    codes = [send(first), send(second), send(first), send(first, "/api/wa/send"), send(other)]
    assert codes == [200, 200, 429, 200, 200]
    accounts = [s["account"] for s in sandbox.sends()["sends"]]
    assert accounts == ["user:1", "user:1", "user:1", f"token:{SECOND_TOKEN}"]


def test_the_fixed_window_counts_in_buckets_as_laravel_does():
    throttle = FixedWindowThrottle()
    decisions = [throttle.hit("k", t, limit=2, period=60.0) for t in (60.0, 61.0, 119.5, 120.0)]
    assert [d.allowed for d in decisions] == [True, True, False, True]
    assert decisions[2].retry_after == 1  # to the end of the bucket: 0.5 s, at least 1
    assert decisions[3].remaining == 1


def test_the_window_can_be_switched_to_sliding(sandbox):
    sandbox.configure(rate_limit="1/min", throttle_window="sliding")
    assert sandbox.http.get("/_sandbox/config").json()["throttle_window"] == "sliding"
    assert waba_send(sandbox).status_code == 200
    assert waba_send(sandbox, phone="6281234560052").status_code == 429


def test_sliding_window_never_accepts_more_than_the_limit_in_any_window():
    throttle = SlidingWindowThrottle()
    accepted: list[float] = []
    now = 0.0
    while now < 30.0:
        decision = throttle.hit("k", now, limit=5, period=2.0)
        if decision.allowed:
            accepted.append(now)
        else:
            assert decision.retry_after >= 1
        now += 0.037

    assert len(accepted) >= 5 * 14
    for i, t in enumerate(accepted):
        assert sum(1 for u in accepted[i:] if u < t + 2.0) <= 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("120/min", RateSpec(120, 60.0)), ("20/s", RateSpec(20, 1.0)), ("0", RateSpec(0)),
     ("90", RateSpec(90, 60.0))],
)  # fmt: skip
def test_parse_rate_limit(text, expected):
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["fast", "10/h", "-1/min", ""])
def test_parse_rate_limit_rejects_nonsense(text):
    with pytest.raises(ValueError, match="invalid rate limit"):
        parse_rate_limit(text)


# --- scripted outcomes ---

# suffix -> the (HTTP status, Meta code or None) of consecutive attempts
SCRIPTS = {
    "0001": [(400, 131026), (400, 131026)],
    "0002": [(500, None), (500, None), (200, None)],
    "0003": [(400, 131056), (200, None)],
    "0005": [(401, None), (401, None)],
    "0006": [(400, 131047), (400, 131047)],
    "0007": [(429, None), (200, None)],
    "0009": [(200, None)],
    "0010": [(200, None)],
    "0011": [(400, 131042)],
    "0012": [(400, 131048), (400, 131048)],
    "0013": [(200, None)],
    "0014": [(200, None)],
    "5678": [(200, None), (200, None)],
}


@pytest.mark.parametrize(("suffix", "attempts"), SCRIPTS.items(), ids=list(SCRIPTS))
def test_scripted_outcome(sandbox, suffix, attempts):
    phone = "62812345" + suffix
    answers = [waba_send(sandbox, phone=phone) for _ in attempts]

    for (status, code), answer in zip(attempts, answers, strict=True):
        assert answer.status_code == status, answer.text
        if code is not None:
            assert meta_code(answer) == code
            assert answer.json()["status"] is False
            assert answer.json()["message"].startswith(f"(#{code})")
        if status == 429:
            assert answer.headers["Retry-After"] == "1"
            assert answer.json() == {"message": "Too Many Attempts."}
    accepted = sum(1 for status, _ in attempts if status == 200)
    assert sandbox.sends(summary=1)["per_phone"].get(phone, 0) == accepted


@pytest.mark.parametrize("route", list(SEND_ROUTES))
def test_scripts_apply_on_every_send_route(sandbox, route):
    undeliverable = send_on(sandbox, route, "6281234560001")
    flaky = [send_on(sandbox, route, "6281234560002").status_code for _ in range(3)]
    accepted = send_on(sandbox, route, PHONE)

    assert undeliverable.status_code == 400
    assert "(#131026)" in undeliverable.json()["message"]
    flag = "status" if "/waba" in route else "success"
    assert undeliverable.json()[flag] is False
    assert flaky == [500, 500, 200]
    assert accepted.status_code == 200 and accepted.json()[flag] is True
    assert sandbox.sends(summary=1)["count"] == 2


def test_0004_disconnects_the_sender_until_reset(sandbox):
    disconnect = waba_send(sandbox, phone="6281234560004")
    same_sender = waba_send(sandbox)
    other_sender = waba_send(sandbox, waba_id="waba-2")
    status = sandbox.http.get("/api/device/status", params={"device_id": "waba-1"}, headers=AUTH)
    sandbox.reset()
    after_reset = waba_send(sandbox)

    assert disconnect.status_code == 419
    assert disconnect.json() == {"status": False, "message": "Device not connected", "data": None}
    assert same_sender.status_code == 419
    assert other_sender.status_code == 200
    assert status.json()["data"]["connected"] is False
    assert after_reset.status_code == 200


def test_0008_answers_the_first_attempt_late_then_accepts(sandbox):
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        sandbox.http.post(
            "/api/wa/send",
            json={"phone": "6281234560008", "message": "x", "device_id": "d"},
            headers=AUTH,
            timeout=0.5,
        )
    retry = device_send(sandbox, phone="6281234560008")

    assert time.monotonic() - started < 5
    assert retry.status_code == 200
    assert sandbox.sends(summary=1)["per_phone"] == {"6281234560008": 1}


# --- validation, templates, HTML ---


def test_missing_fields_answer_422_with_the_laravel_envelope(sandbox):
    response = sandbox.http.post("/api/waba/send", json={"waba_id": "w"}, headers=AUTH)

    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "The phone field is required. (and 1 more error)"
    assert body["errors"] == {
        "phone": ["The phone field is required."],
        "message": ["The message field is required."],
    }
    assert "status" not in body


@pytest.mark.parametrize(
    ("send", "phone"),
    [(waba_send, "62-812-abc"), (waba_send, "12"), (device_send, "081234567890")],
)
def test_invalid_phones_answer_422(sandbox, send, phone):
    response = send(sandbox, phone=phone)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["phone"]


def test_phone_with_plus_is_accepted_and_normalised(sandbox):
    response = device_send(sandbox, phone="+6281234567890")

    assert response.status_code == 200
    assert sandbox.sends()["sends"][0]["phone"] == PHONE


def test_template_sends_check_the_template_and_its_params(sandbox: Sandbox) -> None:
    def send(name: str, params: list[str]) -> httpx.Response:
        body = {"phone": PHONE, "template_name": name, "params": params, "waba_id": "w"}
        return sandbox.http.post("/api/waba/send-template", json=body, headers=AUTH)

    unknown = send("nope", [])
    wrong_count = send("promo", ["only one"])
    good = send("promo", ["Budi", "50%"])
    no_params = send("reminder", [])
    chat = sandbox.http.get(f"/api/wa/chat/{PHONE}", params={"device_id": "w"}, headers=AUTH)

    assert unknown.status_code == 404 and meta_code(unknown) == 132001
    assert wrong_count.status_code == 400 and meta_code(wrong_count) == 132000
    assert good.status_code == 200 and no_params.status_code == 200
    texts = [m["message"] for m in chat.json()["data"]]
    assert "Halo Budi, promo 50% khusus untuk Anda!" in texts


def test_templates_are_listed_on_both_families(sandbox):
    api = sandbox.http.get("/api/device/templates", params={"device_id": "d"}, headers=AUTH)
    app = sandbox.http.get(
        "/api-app/integration/get-templates",
        params={"api_key": "k", "device_key": "d"},
        headers=JSON,
    )

    templates = {t["name"]: t for t in api.json()["data"]}
    assert templates["promo"]["param_count"] == 2
    assert templates["promo"]["status"] == "APPROVED" and templates["promo"]["language"] == "id"
    assert {t["name"]: t["param_count"] for t in templates.values()} == {
        "promo": 2, "welcome": 1, "otp": 1, "reminder": 0,
    }  # fmt: skip
    assert app.json()["data"] == api.json()["data"]


def test_unknown_route_answers_html_without_accept_json_and_json_with_it(sandbox):
    html = sandbox.http.get("/api/nowhere")
    as_json = sandbox.http.get("/api/nowhere", headers=JSON)

    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    assert "Not Found" in html.text
    assert as_json.status_code == 404
    assert as_json.json() == {"message": "The route api/nowhere could not be found."}


# --- fail modes ---


def test_fail_mode_429_and_500(sandbox):
    sandbox.configure(fail_mode="429")
    throttled = waba_send(sandbox)
    sandbox.configure(fail_mode="500")
    broken = waba_send(sandbox)
    broken_html = sandbox.http.post(
        "/api/waba/send",
        json={"phone": PHONE, "message": "x", "waba_id": "w"},
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
    )
    sandbox.configure(fail_mode=None)
    healed = waba_send(sandbox)

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert broken.status_code == 500 and broken.json() == {"message": "Server Error"}
    assert broken_html.status_code == 500 and "<html" in broken_html.text
    assert healed.status_code == 200
    assert sandbox.sends(summary=1)["count"] == 1


def test_fail_mode_timeout_hangs_the_send(sandbox):
    sandbox.configure(fail_mode="timeout")

    with pytest.raises(httpx.ReadTimeout):
        sandbox.http.post(
            "/api/waba/send",
            json={"phone": PHONE, "message": "x", "waba_id": "w"},
            headers=AUTH,
            timeout=0.3,
        )


def test_down_answers_503_html_but_control_routes_work(sandbox):
    sandbox.configure(down=True)
    down = waba_send(sandbox)
    login = sandbox.http.post("/api/login", json={}, headers=JSON)
    report = sandbox.sends(summary=1)
    sandbox.configure(down=False)

    assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
    assert login.status_code == 503
    assert report["count"] == 0


def test_config_rejects_unknown_fields_and_bad_values(sandbox):
    unknown = sandbox.http.post("/_sandbox/config", json={"colour": "red"})
    bad = sandbox.http.post("/_sandbox/config", json={"fail_mode": "503"})
    current = sandbox.http.get("/_sandbox/config").json()

    assert unknown.status_code == 422 and bad.status_code == 422
    assert current["fail_mode"] is None


def test_latency_delays_answers(sandbox):
    sandbox.configure(latency_ms=150)
    started = time.monotonic()
    response = waba_send(sandbox)
    elapsed = time.monotonic() - started
    sandbox.configure(latency_ms=0)

    assert response.status_code == 200
    assert elapsed >= 0.15


# --- recording ---


def test_sends_are_recorded_with_refs_and_duplicates_counted(sandbox):
    before = time.time()
    send_on(sandbox, "/api/waba/send", PHONE, ref="c1:0")
    send_on(sandbox, "/api/wa/send", PHONE, ref="c1:0")
    send_on(sandbox, "/api/waba/send", "6281234567891", ref="c1:1")
    send_on(sandbox, "/api-app/whatsapp/send-message", "6281234567892")
    cutoff = time.time()
    send_on(sandbox, "/api/waba/send", "6281234567891", ref="c1:1")

    report = sandbox.sends()
    recent = sandbox.sends(since=cutoff)
    summary = sandbox.sends(summary=1)

    assert report["count"] == 5
    assert report["duplicates"] == 2
    assert report["per_ref"] == {"c1:0": 2, "c1:1": 2}
    assert report["per_phone"] == {PHONE: 2, "6281234567891": 2, "6281234567892": 1}
    first = report["sends"][0]
    assert first["ref"] == "c1:0" and first["route"] == "/api/waba/send"
    assert first["message_id"].startswith("wamid.") and first["token"] == SANDBOX_TOKEN
    assert before <= first["t"] <= cutoff
    assert report["sends"][3]["ref"] is None and report["sends"][3]["token"] == "k"
    assert recent["count"] == 1 and recent["duplicates"] == 0
    assert "sends" not in summary and summary["count"] == 5


def test_reset_clears_sends_counters_and_chats(sandbox):
    waba_send(sandbox, phone="6281234560002")
    waba_send(sandbox, ref="x")
    sandbox.reset()
    after = waba_send(sandbox, phone="6281234560002")
    chats = sandbox.http.get("/api/wa/chats", params={"device_id": "waba-1"}, headers=AUTH)

    assert after.status_code == 500, "the attempt counter starts again"
    assert sandbox.sends()["count"] == 0
    assert [c["phone"] for c in chats.json()["data"]] == ["6281100000000"]


# --- chats, media, webhooks routes ---


def test_chats_and_contacts_are_built_from_sends(sandbox):
    device_send(sandbox, message="Promo hari ini")
    params = {"device_id": "dev-1"}
    chats = sandbox.http.get("/api/wa/chats", params=params, headers=AUTH).json()["data"]
    contacts = sandbox.http.get("/api/wa/contacts", params=params, headers=AUTH).json()["data"]
    chat = sandbox.http.get(f"/api/wa/chat/{PHONE}", params=params, headers=AUTH).json()["data"]

    assert chats[0]["phone"] == PHONE and chats[0]["last_message"] == "Promo hari ini"
    assert {c["phone"] for c in contacts} == {PHONE, "6281100000000"}
    assert chat[0]["from_me"] is True and chat[0]["message"] == "Promo hari ini"


def test_media_download_and_unknown_media(sandbox):
    params = {"device_id": "d"}
    seeded = sandbox.http.get("/api/wa/chat/6281100000000", params=params, headers=AUTH)
    image = next(m for m in seeded.json()["data"] if m["type"] == "image")
    media = sandbox.http.get(
        "/api/wa/media", params={**params, "message_id": image["id"]}, headers=AUTH
    )
    missing = sandbox.http.get(
        "/api/wa/media", params={**params, "message_id": "nope"}, headers=AUTH
    )

    assert media.status_code == 200
    assert media.headers["content-type"] == "image/png"
    assert media.content.startswith(b"\x89PNG")
    assert missing.status_code == 404 and missing.json()["status"] is False


def test_read_delete_mark_read_and_photo(sandbox):
    message_id = device_send(sandbox).json()["data"]["id"]
    base = {"device_id": "dev-1"}
    read = sandbox.http.post("/api/wa/read", json={**base, "message_id": message_id}, headers=AUTH)
    gone = sandbox.http.post(
        "/api/wa/delete", json={**base, "message_id": message_id, "type": "everyone"}, headers=AUTH
    )
    again = sandbox.http.post(
        "/api/wa/delete", json={**base, "message_id": message_id, "type": "me"}, headers=AUTH
    )
    marked = sandbox.http.post("/api/wa/mark-read", json={**base, "phone": PHONE}, headers=AUTH)
    photo = sandbox.http.get(f"/api/wa/photo/{PHONE}", params=base, headers=AUTH)

    assert read.json()["success"] is True
    assert gone.json()["success"] is True
    assert again.status_code == 200 and again.json()["success"] is False
    assert marked.json()["success"] is True
    assert photo.json()["data"]["url"].startswith("https://")


def test_webhook_sample_and_incoming_message_route(sandbox):
    sample = sandbox.http.post("/webhook/sample", headers=JSON).json()
    payload = {"device_key": "dev-9", "name": "Sari", "from": "6281234500099", "message": "Hai",
               "type": "single"}  # fmt: skip
    incoming = sandbox.http.post("/webhook/message", json=payload, headers=JSON)
    chats = sandbox.http.get("/api/wa/chats", params={"device_id": "dev-9"}, headers=AUTH)
    invalid = sandbox.http.post("/webhook/message", json={"message": "x"}, headers=JSON)

    assert sample["status"] is True
    assert {"device_key", "from", "message", "type"} <= set(sample["data"])
    assert incoming.json()["data"] == payload
    assert chats.json()["data"][0] == {
        "phone": "6281234500099", "name": "Sari", "last_message": "Hai",
        "timestamp": chats.json()["data"][0]["timestamp"], "unread_count": 1,
    }  # fmt: skip
    assert invalid.status_code == 422


# --- callbacks ---


class Receiver:
    """A tiny webhook receiver on loopback that keeps every JSON body it gets."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn and most servers do

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.bodies) >= count:
                    return list(self.bodies)
            time.sleep(0.02)
        with self.lock:
            return list(self.bodies)


@pytest.fixture
def receiver(sandbox: Sandbox) -> Iterator[Receiver]:
    box = Receiver()
    box.thread.start()
    sandbox.configure(webhook_url=box.url, callback_delay_ms=20)
    yield box
    sandbox.configure(webhook_url=None, callback_delay_ms=200)
    box.server.shutdown()
    box.server.server_close()
    box.thread.join(5)


def meta_statuses(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for body in bodies:
        for entry in body.get("entry", []):
            for change in entry["changes"]:
                found.extend(change["value"].get("statuses", []))
    return found


def test_waba_callbacks_use_meta_shape_in_order(sandbox, receiver):
    message_id = waba_send(sandbox).json()["data"]["messages"][0]["id"]

    bodies = receiver.wait_for(3)

    assert all(b["object"] == "whatsapp_business_account" for b in bodies)
    assert bodies[0]["entry"][0]["changes"][0]["field"] == "messages"
    statuses = meta_statuses(bodies)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {message_id}
    assert {s["recipient_id"] for s in statuses} == {PHONE}
    assert all(s["timestamp"].isdigit() for s in statuses)
    time.sleep(0.1)
    assert sandbox.sends(summary=1)["callbacks_posted"] == 3


def test_device_callbacks_are_flat_and_0009_replies_stop(sandbox, receiver):
    message_id = device_send(sandbox, phone="6281234560009").json()["data"]["id"]

    bodies = receiver.wait_for(4)

    assert [b.get("status") for b in bodies[:3]] == ["sent", "delivered", "read"]
    assert bodies[0] == {
        "message_id": message_id, "status": "sent", "phone": "6281234560009",
        "timestamp": bodies[0]["timestamp"],
    }  # fmt: skip
    reply = bodies[3]
    assert reply["message"] == "STOP"
    assert reply["from"] == "6281234560009"
    assert reply["device_key"] == "dev-1"
    assert reply["type"] == "single" and "name" in reply


def test_0010_fails_after_sent_and_0013_is_never_read(sandbox, receiver):
    failing = waba_send(sandbox, phone="6281234560010").json()["data"]["messages"][0]["id"]
    unread = waba_send(sandbox, phone="6281234560013").json()["data"]["messages"][0]["id"]

    receiver.wait_for(4)
    time.sleep(0.15)
    statuses = meta_statuses(receiver.wait_for(99, timeout=0))

    by_id: dict[str, list[str]] = {}
    for s in statuses:
        by_id.setdefault(s["id"], []).append(s["status"])
    assert by_id == {failing: ["sent", "failed"], unread: ["sent", "delivered"]}
    failed = next(s for s in statuses if s["status"] == "failed")
    assert failed["errors"][0]["code"] == 131026 and failed["errors"][0]["title"]


def test_0014_replies_in_the_waba_incoming_shape(sandbox, receiver):
    waba_send(sandbox, phone="6281234560014")

    bodies = receiver.wait_for(4)
    chat = sandbox.http.get(
        "/api/wa/chat/6281234560014", params={"device_id": "waba-1"}, headers=AUTH
    ).json()["data"]

    assert bodies[3] == {
        "device_key": "waba-1", "from": "6281234560014",
        "message": "Halo, mau info lebih lanjut", "type": "text", "file": None,
    }  # fmt: skip
    assert [m["from_me"] for m in chat] == [True, False]
    assert chat[0]["status"] == "read"


def test_incoming_webhook_message_is_forwarded(sandbox, receiver):
    payload = {"device_key": "d", "from": "6281234500077", "message": "Halo", "type": "single"}
    sandbox.http.post("/webhook/message", json=payload, headers=JSON)

    assert receiver.wait_for(1) == [payload]


# --- the keep-alive poster behind callbacks ---

Answer = Callable[[int], tuple[bytes, bool]]
OK_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OK_CHUNKED = b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
OK_TO_CLOSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbye"


async def post_all(answer: Answer, payloads: list[Any]) -> tuple[list[int], list[Any], int]:
    """Post each payload to a raw asyncio server that answers with `answer(n)`."""
    bodies: list[Any] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                bodies.append(json.loads(await reader.readexactly(length)))
                reply, close = answer(len(bodies))
                writer.write(reply)
                await writer.drain()
                if close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    poster = KeepAlivePoster(max_connections=4, timeout=2.0)
    try:
        url = f"http://127.0.0.1:{port}/hook?x=1"
        statuses = [await poster.post_json(url, p) for p in payloads]
    finally:
        await poster.aclose()
        server.close()
        await server.wait_closed()
    return statuses, bodies, connections


def test_poster_reuses_keep_alive_connections_and_reads_chunked_answers():
    def answer(n: int) -> tuple[bytes, bool]:
        return (OK_CHUNKED if n % 2 else OK_LENGTH), False

    statuses, bodies, connections = asyncio.run(post_all(answer, [{"n": 1}, {"n": 2}, {"n": 3}]))

    assert statuses == [202, 200, 202]
    assert bodies == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert connections == 1


def test_poster_reads_to_close_and_retries_a_dropped_idle_connection():
    to_close = asyncio.run(post_all(lambda n: (OK_TO_CLOSE, True), [1, 2]))
    # The server claims keep-alive but hangs up: the next post must reconnect, once.
    dropped = asyncio.run(post_all(lambda n: (OK_LENGTH, True), [1, 2, 3]))

    assert to_close == ([200, 200], [1, 2], 2)
    assert dropped == ([200, 200, 200], [1, 2, 3], 3)


def test_poster_raises_post_error_when_refused_or_too_slow():
    async def scenario() -> list[str]:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.read()
            finally:
                writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        slow = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        poster = KeepAlivePoster(timeout=0.2)
        errors = []
        for url in (f"http://127.0.0.1:{free_port()}/", slow, "ftp://example.com/"):
            with pytest.raises(PostError) as caught:
                await poster.post_json(url, {})
            errors.append(str(caught.value))
        await poster.aclose()
        server.close()
        await server.wait_closed()
        return errors

    refused, slow, bad_url = asyncio.run(scenario())

    assert "Connection" in refused or "Errno" in refused
    assert "Timeout" in slow
    assert "not an http(s) URL" in bad_url


# --- the command line ---


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "broadcaster"
    if script.exists():
        return [str(script)]
    found = shutil.which("broadcaster")
    return [found] if found else [sys.executable, "-m", "broadcaster.cli"]


def test_cli_sandbox_command_starts_and_serves():
    port = free_port()
    # 2 a minute: the third send is over it however slowly a loaded machine serves the three
    # (at 2/s, three sends spread over more than a second all passed once in CI)
    command = [*cli_command(), "sandbox", "--port", str(port), "--token", "cli-token",
               "--rate-limit", "2/min", "--seed", "7"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/_sandbox/sends?summary=1", proc=proc)
        with httpx.Client(base_url=url, timeout=5.0) as client:
            headers = {**JSON, "Authorization": "Bearer cli-token"}
            body = {"phone": PHONE, "message": "x", "waba_id": "w"}
            answers = [client.post("/api/waba/send", json=body, headers=headers) for _ in range(3)]
            config = client.get("/_sandbox/config").json()
    finally:
        proc.terminate()
        proc.wait(10)

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "2"
    assert config["rate_limit"] == "2/min"


def test_callbacks_first_posts_every_status_before_answering_the_send(sandbox, receiver):
    sandbox.configure(callbacks_first=True, callback_delay_ms=500)
    assert sandbox.http.get("/_sandbox/config").json()["callbacks_first"] is True
    started = time.monotonic()
    answer = waba_send(sandbox, phone="6281234560009")  # 0009: replies STOP after read
    elapsed = time.monotonic() - started
    with receiver.lock:
        before = list(receiver.bodies)  # what the receiver had when the send was answered
    message_id = answer.json()["data"]["messages"][0]["id"]
    statuses = meta_statuses(before)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {message_id}
    assert elapsed < 0.5  # the statuses went out at once, not callback_delay apart
    reply = receiver.wait_for(4)[3]  # the contact's reply still comes afterwards
    assert reply["message"] == "STOP" and len(before) == 3
    sandbox.configure(callbacks_first=False)
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.configure(callbacks_first="yes")


def test_a_mexican_number_is_reported_in_metas_whatsapp_id_form(sandbox, receiver):
    answer = waba_send(sandbox, phone="525512340009").json()["data"]
    assert answer["contacts"] == [{"input": "525512340009", "wa_id": "5215512340009"}]
    bodies = receiver.wait_for(4)
    assert {s["recipient_id"] for s in meta_statuses(bodies)} == {"5215512340009"}
    assert bodies[3]["from"] == "5215512340009"


def test_callbacks_first_is_a_start_up_option_too():
    from broadcaster.sandbox.config import SandboxConfig
    from broadcaster.sandbox.options import parse_args

    options = parse_args(["--port", "8099", "--callbacks-first"])
    assert options.callbacks_first is True
    assert SandboxConfig.from_options(options).to_json()["callbacks_first"] is True
    assert parse_args(["--port", "8099"]).callbacks_first is False
