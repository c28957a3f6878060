import io
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from broadcaster.errors import (
    AccountRestricted,
    DeviceDisconnected,
    ReplaiAuthError,
    ReplaiDeferred,
    ReplaiError,
    ReplaiPairRateLimited,
    ReplaiRejected,
    ReplaiThrottled,
    ReplaiTimeout,
    ReplaiUnavailable,
)
from broadcaster.replai import (
    DeviceStatus,
    ErrorReport,
    IncomingMessage,
    LoginResult,
    PreferenceUpdate,
    ReplaiClient,
    SendResult,
    StatusUpdate,
    Template,
    error_from_response,
    meta_code,
    parse_retry_after,
    parse_webhook,
    parse_webhook_events,
)

BASE = "https://replai.test"
PHONE = "6281234567890"
WABA_OK = {
    "status": True,
    "message": "ok",
    "data": {
        "messaging_product": "whatsapp",
        "contacts": [{"input": PHONE, "wa_id": PHONE}],
        "messages": [{"id": "wamid.HBgM123"}],
    },
}
DEVICE_OK = {
    "success": True,
    "message": "sent",
    "data": {"id": "3EB0ABCDEF", "phone": PHONE, "status": "sent"},
}
HTML_500 = "<!DOCTYPE html><html><body><h1>Server Error</h1></body></html>"


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a list or a function."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def make_client(recorder: Handler, **kwargs) -> ReplaiClient:
    if not {"token", "email", "api_key"} & kwargs.keys():
        kwargs["token"] = "static-token"
    return ReplaiClient(base_url=BASE, transport=httpx.MockTransport(recorder), **kwargs)


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.content)


def waba_send(client: ReplaiClient) -> SendResult:
    return client.send(channel="waba", sender="waba1", phone=PHONE, text="Halo")


def meta_error(code: int | str, status: int = 400, message: str = "Meta says no") -> tuple:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    return status, {"status": False, "message": "Failed", "data": {"error": error}}, {}


PAST = "Wed, 21 Oct 2015 07:28:00 GMT"

# status, JSON body (or str for a raw body), headers -> class, Meta code, retry_after
CLASSIFICATION = [
    # retry soon
    pytest.param(429, {"message": "Too Many Attempts."}, {"Retry-After": "7"},
                 ReplaiThrottled, None, 7.0, id="429-retry-after-seconds"),
    pytest.param(429, {"message": "Too Many Attempts."}, {"Retry-After": PAST},
                 ReplaiThrottled, None, 0.0, id="429-retry-after-past-date"),
    pytest.param(429, "<html>Too Many Requests</html>", {}, ReplaiThrottled, None, None,
                 id="429-html"),
    pytest.param(*meta_error(130429), ReplaiThrottled, 130429, None, id="meta-130429"),
    pytest.param(*meta_error(131056), ReplaiPairRateLimited, 131056, 6.0, id="meta-131056"),
    pytest.param(400, {"status": False, "message": "(#131056) Pair rate limit hit"}, {},
                 ReplaiPairRateLimited, 131056, 6.0, id="meta-text-131056"),
    pytest.param(400, {"status": False, "message": "(#131056) Pair rate limit hit"},
                 {"Retry-After": "20"}, ReplaiPairRateLimited, 131056, 20.0,
                 id="meta-text-131056-longer-retry-after"),
    *(pytest.param(*meta_error(code), ReplaiUnavailable, code, None, id=f"meta-{code}")
      for code in (1, 2, 4, 80007, 131000, 131016)),
    pytest.param(500, HTML_500, {}, ReplaiUnavailable, None, None, id="500-html"),
    pytest.param(500, {"message": "Server Error"}, {}, ReplaiUnavailable, None, None,
                 id="500-json"),
    pytest.param(502, "", {}, ReplaiUnavailable, None, None, id="502-empty"),
    pytest.param(503, {"message": "Down"}, {"Retry-After": "30"}, ReplaiUnavailable,
                 None, 30.0, id="503-retry-after"),
    pytest.param(504, HTML_500, {}, ReplaiUnavailable, None, None, id="504-html"),
    pytest.param(408, {"message": "Request Timeout"}, {}, ReplaiUnavailable, None, None,
                 id="408"),
    pytest.param(*meta_error(999999, status=500), ReplaiUnavailable, 999999, None,
                 id="500-unknown-meta-code"),
    # retry much later
    *(pytest.param(*meta_error(code), ReplaiDeferred, code, None, id=f"meta-{code}")
      for code in (131048, 131049)),
    pytest.param(400, {"status": False, "message": "Daily sending limit reached"}, {},
                 ReplaiDeferred, None, None, id="400-daily-limit"),
    pytest.param(422, {"message": "Device limit reached for today"}, {}, ReplaiDeferred,
                 None, None, id="422-device-limit"),
    pytest.param(200, {"success": False, "message": "daily limit reached"}, {},
                 ReplaiDeferred, None, None, id="200-success-false-daily-limit"),
    # permanent for this recipient
    *(pytest.param(*meta_error(code), ReplaiRejected, code, None, id=f"meta-{code}")
      for code in (131026, 131047, 131050, 131051, 131052, 131053, 131008, 131009,
                   131021, 100, 132000, 132001, 132005, 132007, 132012, 132015, 132016,
                   130472)),
    pytest.param(400, {"status": False, "message": "(#131026) Message undeliverable"}, {},
                 ReplaiRejected, 131026, None, id="meta-text-131026"),
    pytest.param(*meta_error("131047"), ReplaiRejected, 131047, None,
                 id="meta-code-as-string"),
    pytest.param(400, {"error": {"message": "(#132001) Template does not exist",
                                 "code": 132001}}, {},
                 ReplaiRejected, 132001, None, id="meta-error-top-level"),
    pytest.param(422, {"message": "The phone field is required.",
                       "errors": {"phone": ["The phone field is required."]}}, {},
                 ReplaiRejected, None, None, id="422-validation"),
    pytest.param(404, {"status": False, "message": "Template not found"}, {},
                 ReplaiRejected, None, None, id="404-template"),
    pytest.param(404, "<html>Not Found</html>", {}, ReplaiRejected, None, None,
                 id="404-html"),
    pytest.param(409, {"message": "Conflict"}, {}, ReplaiRejected, None, None, id="409"),
    pytest.param(*meta_error(999999), ReplaiRejected, 999999, None,
                 id="400-unknown-meta-code"),
    pytest.param(200, {"success": False, "message": "Failed to send message"}, {},
                 ReplaiRejected, None, None, id="200-success-false"),
    pytest.param(200, {"status": False, "message": "Number is not on WhatsApp"}, {},
                 ReplaiRejected, None, None, id="200-status-false"),
    pytest.param(200, {"status": "error", "message": "Something failed"}, {},
                 ReplaiRejected, None, None, id="200-status-error-word"),
    pytest.param(302, "", {"Location": "/login"}, ReplaiRejected, None, None,
                 id="302-redirect"),
    # stop the campaign
    *(pytest.param(*meta_error(code), AccountRestricted, code, None, id=f"meta-{code}")
      for code in (131042, 131031, 368)),
    *(pytest.param(*meta_error(code), ReplaiAuthError, code, None, id=f"meta-{code}")
      for code in (190, 10, 200)),
    pytest.param(401, {"message": "Unauthenticated."}, {}, ReplaiAuthError, None, None,
                 id="401"),
    pytest.param(403, {"message": "Forbidden"}, {}, ReplaiAuthError, None, None,
                 id="403"),
    pytest.param(200, {"status": False, "message": "Invalid API key"}, {},
                 ReplaiAuthError, None, None, id="200-invalid-api-key"),
    pytest.param(419, {"status": False, "message": "Device not connected"}, {},
                 DeviceDisconnected, None, None, id="419"),
    pytest.param(419, "<html>Page Expired</html>", {}, DeviceDisconnected, None, None,
                 id="419-html"),
    pytest.param(200, {"success": False, "message": "Device not connected, scan QR"}, {},
                 DeviceDisconnected, None, None, id="200-success-false-disconnected"),
]  # fmt: skip


def answer(status: int, body: dict | str, headers: dict) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers={"Content-Type": "text/html"} | headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize("status,body,headers,error_class,code,retry_after", CLASSIFICATION)
def test_send_classifies_error_answers(status, body, headers, error_class, code, retry_after):
    client = make_client(Recorder(answer(status, body, headers)))
    with pytest.raises(ReplaiError) as info:
        waba_send(client)
    error = info.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == code
    assert error.retry_after == retry_after
    assert error.message


@pytest.mark.parametrize("status,body,headers,error_class,code,retry_after", CLASSIFICATION)
def test_error_from_response_matches_the_client(
    status, body, headers, error_class, code, retry_after
):
    error = error_from_response(answer(status, body, headers))
    assert (type(error), error.code, error.retry_after) == (error_class, code, retry_after)


def test_validation_message_names_the_field():
    body = {"message": "The given data was invalid.", "errors": {"phone": ["Bad phone."]}}
    error = error_from_response(httpx.Response(422, json=body))
    assert error.message == "The given data was invalid. (phone: Bad phone.)"


def test_html_error_message_says_what_came_back():
    error = error_from_response(httpx.Response(500, text=HTML_500))
    assert error.message == "HTTP 500 Internal Server Error (non-JSON body)"
    assert error.reason == "HTTP 500: HTTP 500 Internal Server Error (non-JSON body)"


def test_meta_error_message_and_reason():
    status, body, _ = meta_error(131026, message="Undeliverable")
    error = error_from_response(httpx.Response(status, json=body))
    assert error.message == "Undeliverable"
    assert error.reason == "131026: Undeliverable"


@pytest.mark.parametrize(
    "body,message,expected",
    [
        ({"data": {"error": {"code": 131056}}}, None, 131056),
        ({"error": {"code": "368"}}, None, 368),
        ({"status": False}, "(#131047) Re-engagement message", 131047),
        ({"data": {"error": {"message": "(#100) Invalid parameter"}}}, None, 100),
        ({"status": False, "message": "Failed"}, "Failed", None),
        (None, None, None),
        ({"data": [1, 2]}, "no code here (#abc)", None),
    ],
)
def test_meta_code_is_read_from_object_or_text(body, message, expected):
    assert meta_code(body, message) == expected


@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Thu, 01 Jan 2026 00:01:30 GMT"}, 90.0),
        ({"retry-after": "Wed, 31 Dec 2025 23:00:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"x-ratelimit-reset": str(1_767_225_600 + 42)}, 42.0),
        ({}, None),
    ],
)
def test_parse_retry_after_accepts_seconds_dates_and_reset(headers, expected):
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert parse_retry_after(httpx.Headers(headers), now=now) == expected


def test_retry_after_http_date_from_the_client_is_relative_to_now():
    when = format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=True)
    later = httpx.Response(429, json={"message": "x"}, headers={"Retry-After": when})
    error = error_from_response(later)
    assert error.retry_after is not None and 0.0 <= error.retry_after <= 1.0


# Successful envelopes


@pytest.mark.parametrize(
    "status,body,message_id,phone",
    [
        (200, WABA_OK, "wamid.HBgM123", PHONE),
        (200, DEVICE_OK, "3EB0ABCDEF", PHONE),
        (201, {"status": True, "data": {"message_id": "m-1"}}, "m-1", None),
        (200, {"status": True, "message": "Message sent", "data": None}, None, None),
        (200, {"status": True, "message": "queued"}, None, None),
        (200, {"status": "success", "data": {"id": "x1", "phone": 6281}}, "x1", "6281"),
        (200, {"success": True, "data": {"key": {"id": "BAE5"}}}, "BAE5", None),
        (200, {"messages": [{"id": "wamid.bare"}]}, "wamid.bare", None),
    ],
)
def test_send_accepts_every_success_envelope(status, body, message_id, phone):
    client = make_client(Recorder(httpx.Response(status, json=body)))
    result = waba_send(client)
    assert (result.message_id, result.phone) == (message_id, phone)
    assert result.raw == body


def test_2xx_html_answer_is_unavailable():
    client = make_client(Recorder(httpx.Response(200, text="<html>Welcome</html>")))
    with pytest.raises(ReplaiUnavailable, match="non-JSON"):
        waba_send(client)


def test_empty_2xx_answer_is_a_success_without_id():
    client = make_client(Recorder(httpx.Response(204)))
    assert waba_send(client).message_id is None


# Transport errors never escape


@pytest.mark.parametrize(
    "exc,error_class",
    [
        # The request never left: safe to retry.
        (httpx.ConnectError("refused"), ReplaiUnavailable),
        (httpx.ConnectTimeout("slow connect"), ReplaiUnavailable),
        (httpx.PoolTimeout("pool full"), ReplaiUnavailable),
        (httpx.UnsupportedProtocol("ftp"), ReplaiUnavailable),
        (httpx.ProxyError("proxy down"), ReplaiUnavailable),
        (httpx.TooManyRedirects("loop"), ReplaiUnavailable),
        # The request went out, or may have: the send may have happened.
        (httpx.ReadTimeout("slow read"), ReplaiTimeout),
        (httpx.WriteTimeout("slow write"), ReplaiTimeout),
        (httpx.RemoteProtocolError("peer closed"), ReplaiTimeout),
        (httpx.ReadError("reset"), ReplaiTimeout),
        (httpx.WriteError("broken pipe"), ReplaiTimeout),
        (httpx.DecodingError("bad gzip"), ReplaiTimeout),
        (httpx.InvalidURL("bad"), ReplaiRejected),
    ],
)
def test_httpx_exceptions_become_replai_errors(exc, error_class):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    client = make_client(handler)
    with pytest.raises(ReplaiError) as info:
        waba_send(client)
    assert type(info.value) is error_class
    assert info.value.status_code is None
    assert info.value.__cause__ is exc
    may_have_sent = "may have been processed" in info.value.message
    assert may_have_sent is (error_class is ReplaiTimeout)


def test_read_timeout_says_it_timed_out_and_may_have_been_processed():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(ReplaiTimeout) as info:
        make_client(handler).check_connection("dev1")
    assert info.value.message == (
        "Replai timed out before answering (ReadTimeout); the request may have been processed"
    )
    assert isinstance(info.value, ReplaiUnavailable)


# Headers


def test_accept_header_is_sent_on_every_request(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/login":
            return httpx.Response(200, json={"status": True, "data": {"token": "t1"}})
        if request.url.path == "/api/wa/media":
            return httpx.Response(200, content=b"\x00\x01")
        return httpx.Response(200, json={"status": True, "data": []})

    recorder = Recorder(handler)
    client = make_client(recorder, email="a@b.c", password="pw")
    client.get_contacts("dev1")
    client.register("N", "n@b.c", "pw")
    client.download_media("dev1", "m1", tmp_path / "f.bin")
    client.logout()
    assert len(recorder.requests) == 5
    assert all(r.headers["Accept"] == "application/json" for r in recorder.requests)


def test_ref_header_is_sent_with_sends_only_when_given():
    recorder = Recorder(httpx.Response(200, json=DEVICE_OK))
    client = make_client(recorder)
    client.send(channel="device", sender="dev1", phone=PHONE, text="Hi", ref="cmp1:42")
    client.send(channel="device", sender="dev1", phone=PHONE, text="Hi")
    assert recorder.requests[0].headers["X-Broadcaster-Ref"] == "cmp1:42"
    assert "X-Broadcaster-Ref" not in recorder.requests[1].headers


def test_static_token_is_sent_as_bearer():
    recorder = Recorder(httpx.Response(200, json=WABA_OK))
    waba_send(make_client(recorder, token="abc123"))
    assert recorder.requests[0].headers["Authorization"] == "Bearer abc123"


# Auth: lazy login, re-login once on 401


def login_then(*answers: httpx.Response, tokens: list[str]) -> Recorder:
    """Answers /api/login with the next token from `tokens`, other calls from `answers`."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/login":
            token = tokens.pop(0)
            return httpx.Response(200, json={"status": True, "data": {"token": token}})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return Recorder(handler)


UNAUTH = httpx.Response(401, json={"message": "Unauthenticated."})


def test_email_password_logs_in_lazily_once_and_caches_the_token():
    recorder = login_then(httpx.Response(200, json=WABA_OK), tokens=["tok-1"])
    client = make_client(recorder, email="demo@example.com", password="secret")
    assert recorder.requests == []
    waba_send(client)
    waba_send(client)
    assert recorder.paths() == ["/api/login", "/api/waba/send", "/api/waba/send"]
    assert body_of(recorder.requests[0]) == {"email": "demo@example.com", "password": "secret"}
    assert "Authorization" not in recorder.requests[0].headers
    assert recorder.requests[2].headers["Authorization"] == "Bearer tok-1"


def test_401_logs_in_again_once_and_retries_once():
    ok = httpx.Response(200, json=WABA_OK)
    recorder = login_then(UNAUTH, ok, tokens=["tok-1", "tok-2"])
    client = make_client(recorder, email="demo@example.com", password="secret")
    result = client.send(channel="waba", sender="w", phone=PHONE, text="x", ref="c:1")
    assert result.message_id == "wamid.HBgM123"
    assert recorder.paths() == ["/api/login", "/api/waba/send", "/api/login", "/api/waba/send"]
    assert recorder.requests[1].headers["Authorization"] == "Bearer tok-1"
    assert recorder.requests[3].headers["Authorization"] == "Bearer tok-2"
    assert recorder.requests[3].headers["X-Broadcaster-Ref"] == "c:1"


def test_second_401_after_relogin_raises_auth_error():
    recorder = login_then(UNAUTH, tokens=["tok-1", "tok-2", "tok-3"])
    client = make_client(recorder, email="demo@example.com", password="secret")
    with pytest.raises(ReplaiAuthError) as info:
        waba_send(client)
    assert info.value.status_code == 401
    assert recorder.paths() == ["/api/login", "/api/waba/send", "/api/login", "/api/waba/send"]


def test_static_token_401_raises_at_once():
    recorder = Recorder(UNAUTH)
    with pytest.raises(ReplaiAuthError):
        waba_send(make_client(recorder, token="bad"))
    assert recorder.paths() == ["/api/waba/send"]


def test_static_token_with_credentials_relogs_in_on_401():
    recorder = login_then(UNAUTH, httpx.Response(200, json=WABA_OK), tokens=["fresh"])
    client = make_client(recorder, token="stale", email="a@b.c", password="pw")
    waba_send(client)
    assert recorder.paths() == ["/api/waba/send", "/api/login", "/api/waba/send"]
    assert recorder.requests[2].headers["Authorization"] == "Bearer fresh"


def test_403_does_not_relogin():
    recorder = login_then(httpx.Response(403, json={"message": "Forbidden"}), tokens=["t"])
    client = make_client(recorder, email="a@b.c", password="pw")
    with pytest.raises(ReplaiAuthError):
        waba_send(client)
    assert recorder.paths() == ["/api/login", "/api/waba/send"]


def test_no_credentials_at_all_is_an_auth_error_without_a_request():
    recorder = Recorder(httpx.Response(200, json=WABA_OK))
    client = ReplaiClient(base_url=BASE, transport=httpx.MockTransport(recorder))
    with pytest.raises(ReplaiAuthError, match="token="):
        waba_send(client)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(422, json={"message": "These credentials do not match our records."}),
        httpx.Response(401, json={"status": False, "message": "Invalid credentials"}),
        httpx.Response(200, json={"status": True, "data": {"user": {"id": 1}}}),
    ],
)
def test_failed_login_is_an_auth_error(failure):
    client = make_client(Recorder(failure), email="a@b.c", password="wrong")
    with pytest.raises(ReplaiAuthError):
        client.login()


def test_login_returns_token_and_user_and_later_calls_use_it():
    user = {"id": 7, "name": "Demo", "email": "demo@example.com"}
    recorder = Recorder(
        httpx.Response(200, json={"status": True, "data": {"token": "t-9", "user": user}}),
        httpx.Response(200, json={"status": True, "data": {"connected": True}}),
    )
    client = ReplaiClient(base_url=BASE, transport=httpx.MockTransport(recorder))
    result = client.login("demo@example.com", "pw")
    assert result == LoginResult(token="t-9", user=user)
    assert "t-9" not in repr(result)
    assert client.check_connection("dev1").connected is True
    assert recorder.requests[1].headers["Authorization"] == "Bearer t-9"


def test_login_without_credentials_is_a_value_error():
    with pytest.raises(ValueError, match="email and a password"):
        make_client(Recorder(UNAUTH)).login()


def test_concurrent_401s_log_in_only_once():
    logins = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/login":
            logins.append(1)
            return httpx.Response(200, json={"status": True, "data": {"token": "new"}})
        if request.headers["Authorization"] == "Bearer old":
            return UNAUTH
        return httpx.Response(200, json=WABA_OK)

    client = make_client(handler, token="old", email="a@b.c", password="pw")
    barrier = threading.Barrier(8)
    results: list[SendResult] = []

    def worker() -> None:
        barrier.wait()
        results.append(waba_send(client))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert logins == [1]


def test_logout_revokes_and_forgets_the_token():
    recorder = Recorder(httpx.Response(200, json={"status": True, "message": "bye"}), UNAUTH)
    client = make_client(recorder, token="t")
    client.logout()
    client.logout()  # nothing cached: no request
    assert recorder.paths() == ["/api/logout"]
    with pytest.raises(ReplaiAuthError):
        waba_send(client)


def test_secrets_and_phones_never_reach_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    recorder = login_then(UNAUTH, httpx.Response(200, json=WABA_OK), tokens=["tok-A", "tok-B"])
    client = make_client(recorder, email="demo@example.com", password="hunter2")
    waba_send(client)
    text = caplog.text
    assert "logging in again" in text and "+62*******7890" in text
    for secret in ("tok-A", "tok-B", "hunter2", PHONE):
        assert secret not in text


# Request shapes


def ok_for(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": True, "success": True, "data": {"id": "x"}})


BEARER_SHAPES = [
    (lambda c: c.get_contacts("d1"), "GET", "/api/wa/contacts", {"device_id": "d1"}, None),
    (lambda c: c.get_chats("d1"), "GET", "/api/wa/chats", {"device_id": "d1"}, None),
    (lambda c: c.get_chat("d1", PHONE), "GET", f"/api/wa/chat/{PHONE}",
     {"device_id": "d1"}, None),
    (lambda c: c.send_message("d1", PHONE, "Hi"), "POST", "/api/wa/send", {},
     {"device_id": "d1", "phone": PHONE, "message": "Hi"}),
    (lambda c: c.send_template("d1", PHONE, "tpl_promo", variables=["A", "B"]), "POST",
     "/api/wa/send-template", {},
     {"device_id": "d1", "phone": PHONE, "template_id": "tpl_promo", "variables": ["A", "B"]}),
    (lambda c: c.read_message("d1", "m1"), "POST", "/api/wa/read", {},
     {"device_id": "d1", "message_id": "m1"}),
    (lambda c: c.delete_message("d1", "m1"), "POST", "/api/wa/delete", {},
     {"device_id": "d1", "message_id": "m1", "type": "me"}),
    (lambda c: c.delete_message("d1", "m1", for_everyone=True), "POST", "/api/wa/delete",
     {}, {"device_id": "d1", "message_id": "m1", "type": "everyone"}),
    (lambda c: c.get_profile_photo("d1", PHONE), "GET", f"/api/wa/photo/{PHONE}",
     {"device_id": "d1"}, None),
    (lambda c: c.mark_chat_read("d1", PHONE), "POST", "/api/wa/mark-read", {},
     {"device_id": "d1", "phone": PHONE}),
    (lambda c: c.check_connection("d1"), "GET", "/api/device/status", {"device_id": "d1"},
     None),
    (lambda c: c.get_templates("d1"), "GET", "/api/device/templates", {"device_id": "d1"},
     None),
    (lambda c: c.waba_send("w1", PHONE, "Hi"), "POST", "/api/waba/send", {},
     {"waba_id": "w1", "phone": PHONE, "message": "Hi"}),
    (lambda c: c.waba_send_template("w1", PHONE, "promo", ["A"], language="en"), "POST",
     "/api/waba/send-template", {}, {"waba_id": "w1", "phone": PHONE,
                                     "template_name": "promo", "params": ["A"],
                                     "language": "en"}),
]  # fmt: skip


@pytest.mark.parametrize("call,method,path,params,body", BEARER_SHAPES)
def test_bearer_family_request_shapes(call, method, path, params, body):
    recorder = Recorder(ok_for)
    call(make_client(recorder, token="tk"))
    (request,) = recorder.requests
    assert (request.method, request.url.path, dict(request.url.params)) == (method, path, params)
    assert request.headers["Authorization"] == "Bearer tk"
    assert (body_of(request) if body is not None else request.content) == (body or b"")


def test_phone_in_path_is_escaped():
    recorder = Recorder(ok_for)
    make_client(recorder).get_chat("d1", "62 812/34")
    assert recorder.requests[0].url.raw_path == b"/api/wa/chat/62%20812%2F34?device_id=d1"


APP = {"api_key": "ak", "device_key": "dk"}
APP_SHAPES = [
    ({"channel": "waba", "text": "Hi"}, "/api-app/waba/messages/simple",
     APP | {"phone": PHONE, "message": "Hi"}),
    ({"channel": "waba", "template": "promo", "params": ["A", "B"], "language": "en"},
     "/api-app/waba/messages/template",
     APP | {"phone": PHONE, "template_id": "promo", "template_lang": "en",
            "body": ["A", "B"]}),
    ({"channel": "device", "text": "Hi"}, "/api-app/whatsapp/send-message",
     APP | {"phone": PHONE, "method": "text", "text": "Hi"}),
    ({"channel": "device", "template": "tpl_promo", "params": ["A"]},
     "/api-app/whatsapp/send-message",
     APP | {"phone": PHONE, "method": "template", "template": "tpl_promo",
            "variables": ["A"]}),
]  # fmt: skip


@pytest.mark.parametrize("kwargs,path,body", APP_SHAPES)
def test_api_app_family_send_shapes(kwargs, path, body):
    recorder = Recorder(httpx.Response(200, json=DEVICE_OK))
    client = make_client(recorder, api_key="ak", device_key="dk", routes="api-app")
    result = client.send(sender="ignored", phone=PHONE, ref="c:7", **kwargs)
    assert result.message_id == "3EB0ABCDEF"
    (request,) = recorder.requests
    assert (request.method, request.url.path, body_of(request)) == ("POST", path, body)
    assert "Authorization" not in request.headers
    assert request.headers["X-Broadcaster-Ref"] == "c:7"


def test_api_app_device_check_and_templates():
    recorder = Recorder(
        httpx.Response(200, json={"status": True, "data": {"status": "connected"}}),
        httpx.Response(200, json={"status": True, "data": [{"id": "t", "name": "t"}]}),
    )
    client = make_client(recorder, api_key="ak", routes="api-app")
    assert client.check_connection("dev-key-9").connected is True
    assert [t.name for t in client.get_templates("dev-key-9")] == ["t"]
    check, templates = recorder.requests
    assert (check.method, check.url.path) == ("POST", "/api-app/integration/checking-device")
    assert body_of(check) == {"api_key": "ak", "device_key": "dev-key-9"}
    assert (templates.method, templates.url.path) == ("GET", "/api-app/integration/get-templates")
    assert dict(templates.url.params) == {"api_key": "ak", "device_key": "dev-key-9"}
    assert not any("Authorization" in r.headers for r in recorder.requests)


def test_api_app_still_uses_bearer_for_chat_calls():
    recorder = Recorder(httpx.Response(200, json={"status": True, "data": []}))
    client = make_client(recorder, api_key="ak", token="tk", routes="api-app")
    assert client.get_chats("d1") == []
    assert recorder.requests[0].headers["Authorization"] == "Bearer tk"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"text": "a", "template": "b"}, "exactly one"),
        ({}, "exactly one"),
        ({"text": "a", "channel": "sms"}, "channel"),
    ],
)
def test_send_rejects_bad_arguments(kwargs, match):
    recorder = Recorder(ok_for)
    args = {"channel": "waba", "sender": "w", "phone": PHONE} | kwargs
    with pytest.raises(ValueError, match=match):
        make_client(recorder).send(**args)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"base_url": "chat.replai.id"}, "base_url"),
        ({"timeout": 0}, "timeouts"),
        ({"max_connections": 0}, "max_connections"),
        ({"routes": "v2"}, "routes"),
        ({"routes": "api-app"}, "api_key"),
    ],
)
def test_constructor_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReplaiClient(**({"base_url": BASE} | kwargs))


def test_client_is_a_context_manager_that_closes_its_pool():
    with make_client(Recorder(ok_for)) as client:
        client.check_connection("d")
    with pytest.raises(RuntimeError, match="closed"):
        client.check_connection("d")


# Results


def test_list_endpoints_parse_their_items():
    answers = {
        "/api/wa/contacts": {"status": True, "data": [
            {"phone": PHONE, "name": "Budi"}, {"jid": "6281111@s.whatsapp.net", "notify": "Ani"},
            "junk"]},
        "/api/wa/chats": {"status": True, "data": {"chats": [
            {"phone": PHONE, "name": "Budi", "last_message": "Halo", "unread_count": 2,
             "timestamp": 1700000000}]}},
        f"/api/wa/chat/{PHONE}": {"status": True, "data": [
            {"id": "m1", "from_me": False, "message": "Halo", "type": "text",
             "timestamp": 1700000000},
            {"key": {"id": "m2", "fromMe": True}, "body": "Hi"}]},
        "/api/device/templates": {"status": True, "data": [
            {"id": "tpl_promo", "name": "promo", "language": "id", "status": "APPROVED",
             "category": "MARKETING", "body": "Halo {{1}}, promo {{2}}"}]},
    }  # fmt: skip
    client = make_client(lambda r: httpx.Response(200, json=answers[r.url.path]))
    contacts = client.get_contacts("d")
    assert [(c.phone, c.name) for c in contacts] == [(PHONE, "Budi"), ("6281111", "Ani")]
    (chat,) = client.get_chats("d")
    assert (chat.phone, chat.last_message, chat.unread_count, chat.timestamp) == (
        PHONE, "Halo", 2, 1700000000.0,
    )  # fmt: skip
    first, second = client.get_chat("d", PHONE)
    assert (first.id, first.text, first.from_me) == ("m1", "Halo", False)
    assert (second.id, second.text, second.from_me) == ("m2", "Hi", True)
    assert client.get_templates("d") == [
        Template("tpl_promo", "promo", "id", "APPROVED", "MARKETING", "Halo {{1}}, promo {{2}}", 2)
    ]


@pytest.mark.parametrize(
    "data,expected",
    [
        ({"name": "otp", "body": "Kode {{1}}"}, ("otp", "otp", 1, True)),
        ({"id": "t", "name": "n", "body": "{{1}} {{3}} {{2}}", "param_count": 5},
         ("t", "n", 5, True)),
        ({"name": "m", "status": "PENDING",
          "components": [{"type": "HEADER", "text": "x"},
                         {"type": "BODY", "text": "Hi {{1}} and {{ 2 }}"}]},
         ("m", "m", 2, False)),
        ({"id": 12, "template_name": "plain", "body": "No params"}, ("12", "plain", 0, True)),
    ],
)  # fmt: skip
def test_template_derives_param_count(data, expected):
    template = Template.from_api(data)
    assert (template.id, template.name, template.param_count, template.approved) == expected


@pytest.mark.parametrize(
    "data,connected,status",
    [
        ({"connected": True, "status": "connected"}, True, "connected"),
        ({"status": "CONNECTED", "phone": "628"}, True, "CONNECTED"),
        ({"status": "open"}, True, "open"),
        ({"status": "disconnected"}, False, "disconnected"),
        ({"status": True}, True, None),
        ({"connected": False}, False, None),
        (None, False, None),
    ],
)
def test_device_status_is_tolerant(data, connected, status):
    result = DeviceStatus.from_api(data)
    assert (result.connected, result.status) == (connected, status)


def test_profile_photo_accepts_an_object_or_a_url():
    answers = [{"status": True, "data": {"url": "https://x/p.jpg"}},
               {"status": True, "data": "https://x/q.jpg"},
               {"status": True, "data": {"url": None}}]  # fmt: skip
    client = make_client(Recorder(*(httpx.Response(200, json=a) for a in answers)))
    photos = [client.get_profile_photo("d", PHONE) for _ in answers]
    assert [(p.phone, p.url) for p in photos] == [
        (PHONE, "https://x/p.jpg"), (PHONE, "https://x/q.jpg"), (PHONE, None),
    ]  # fmt: skip


# Media


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def media_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"})


def test_download_media_to_bytes_path_and_file_object(tmp_path):
    recorder = Recorder(media_answer)
    client = make_client(recorder)
    assert client.download_media("d1", "m1") == PNG
    target = tmp_path / "photo.png"
    assert client.download_media("d1", "m1", target) == len(PNG)
    assert target.read_bytes() == PNG
    assert client.download_media("d1", "m1", str(tmp_path / "p2.png")) == len(PNG)
    buffer = io.BytesIO()
    assert client.download_media("d1", "m1", buffer) == len(PNG)
    assert buffer.getvalue() == PNG
    assert {r.url.path for r in recorder.requests} == {"/api/wa/media"}
    assert dict(recorder.requests[0].url.params) == {"device_id": "d1", "message_id": "m1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p2.png", "photo.png"]


def test_download_media_accepts_base64_json():
    body = {"success": True, "data": {"mimetype": "image/png", "base64": "aGVsbG8="}}
    client = make_client(Recorder(httpx.Response(200, json=body)))
    assert client.download_media("d1", "m1") == b"hello"


def test_download_media_error_leaves_no_file(tmp_path):
    missing = httpx.Response(404, json={"success": False, "message": "Media not found"})
    client = make_client(Recorder(missing))
    target = tmp_path / "x.bin"
    with pytest.raises(ReplaiRejected, match="Media not found"):
        client.download_media("d1", "m1", target)
    assert list(tmp_path.iterdir()) == []


def test_download_media_broken_stream_leaves_no_file(tmp_path):
    class Broken(httpx.SyncByteStream):
        def __iter__(self):
            yield b"partial"
            raise httpx.ReadError("connection reset")

    client = make_client(Recorder(lambda r: httpx.Response(200, stream=Broken())))
    with pytest.raises(ReplaiUnavailable):
        client.download_media("d1", "m1", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_download_media_relogs_in_on_401():
    recorder = login_then(UNAUTH, httpx.Response(200, content=PNG), tokens=["a", "b"])
    client = make_client(recorder, email="a@b.c", password="pw")
    assert client.download_media("d1", "m1") == PNG
    assert recorder.paths() == ["/api/login", "/api/wa/media", "/api/login", "/api/wa/media"]


def test_webhook_sample_is_parsed():
    sample = {"device_key": "dk1", "name": "Budi", "from": PHONE, "message": "Halo",
              "type": "single"}  # fmt: skip
    recorder = Recorder(httpx.Response(200, json={"status": True, "data": sample}))
    message = make_client(recorder).get_webhook_sample()
    assert message == IncomingMessage(PHONE, "Budi", "Halo", "single", "dk1", sample)
    assert (recorder.requests[0].method, recorder.requests[0].url.path) == (
        "POST", "/webhook/sample",
    )  # fmt: skip


def test_webhook_sample_without_a_message_is_rejected():
    status = {"message_id": "m", "status": "read"}
    client = make_client(Recorder(httpx.Response(200, json={"status": True, "data": status})))
    with pytest.raises(ReplaiRejected, match="no incoming message"):
        client.get_webhook_sample()


# Webhooks


def meta_status(**status) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": "PNID"},
            "statuses": [status]}}]}],
    }  # fmt: skip


WEBHOOKS = [
    pytest.param(
        meta_status(id="wamid.1", status="delivered", timestamp="1700000000",
                    recipient_id=PHONE),
        [StatusUpdate("wamid.1", "delivered", PHONE, 1700000000.0, None, None)],
        id="meta-status"),
    pytest.param(
        meta_status(id="wamid.2", status="failed", timestamp="1700000001",
                    recipient_id=PHONE, errors=[{"code": 131026, "title": "Undeliverable"}]),
        [StatusUpdate("wamid.2", "failed", PHONE, 1700000001.0, 131026, "Undeliverable")],
        id="meta-status-failed"),
    pytest.param(
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
            "metadata": {"phone_number_id": "PNID"},
            "contacts": [{"wa_id": PHONE, "profile": {"name": "Budi"}}],
            "messages": [{"from": PHONE, "id": "wamid.in", "timestamp": "1700000002",
                          "type": "text", "text": {"body": "STOP"}}]}}]}]},
        [IncomingMessage(PHONE, "Budi", "STOP", "text", "PNID", {}, "wamid.in")],
        id="meta-incoming-text"),
    pytest.param(
        {"entry": [{"changes": [{"value": {"messages": [
            {"from": PHONE, "type": "button", "button": {"text": "Berhenti"}},
            {"from": PHONE, "type": "interactive",
             "interactive": {"button_reply": {"id": "b1", "title": "Ya"}}},
            {"from": PHONE, "type": "image", "image": {"caption": "foto"}},
            {"from": PHONE, "type": "location", "location": {"latitude": 1}}]}}]}]},
        [IncomingMessage(PHONE, None, "Berhenti", "button", None, {}),
         IncomingMessage(PHONE, None, "Ya", "interactive", None, {}),
         IncomingMessage(PHONE, None, "foto", "image", None, {}),
         IncomingMessage(PHONE, None, None, "location", None, {})],
        id="meta-incoming-other-types"),
    pytest.param(
        {"statuses": [{"id": "wamid.3", "status": "READ", "recipient_id": PHONE}]},
        [StatusUpdate("wamid.3", "read", PHONE)],
        id="meta-bare-value"),
    pytest.param(
        {"object": "whatsapp_business_account",
         "entry": [{"changes": [{"field": "account_update", "value": {"event": "x"}}]}]},
        [], id="meta-without-events"),
    pytest.param(
        {"message_id": "3EB0A", "status": "read", "phone": PHONE, "timestamp": 1700000003},
        [StatusUpdate("3EB0A", "read", PHONE, 1700000003.0)],
        id="flat-status"),
    pytest.param(
        {"id": "3EB0B", "status": "failed", "phone": PHONE, "error_code": "131026",
         "error_title": "Undeliverable", "timestamp": "2024-01-01T00:00:00Z", "x": 1},
        [StatusUpdate("3EB0B", "failed", PHONE, 1704067200.0, 131026, "Undeliverable")],
        id="flat-status-with-id-and-error"),
    pytest.param(
        {"message_id": "3EB0C", "status": "failed", "phone": PHONE, "timestamp": "1700000004",
         "errors": [{"code": 131026, "title": "Message undeliverable"}]},
        [StatusUpdate("3EB0C", "failed", PHONE, 1700000004.0, 131026, "Message undeliverable")],
        id="flat-status-with-errors-list"),
    pytest.param(
        {"message_id": "3EB0D", "status": "failed", "phone": PHONE, "error": "Blocked"},
        [StatusUpdate("3EB0D", "failed", PHONE, None, None, "Blocked")],
        id="flat-status-with-error-text"),
    pytest.param(
        {"status": "delivered", "phone": PHONE},
        [StatusUpdate(None, "delivered", PHONE)],
        id="flat-status-without-id"),
    pytest.param(
        {"device_key": "dk", "name": "Budi", "from": PHONE, "message": "Halo",
         "type": "single", "extra": True},
        [IncomingMessage(PHONE, "Budi", "Halo", "single", "dk", {})],
        id="device-incoming"),
    pytest.param(
        {"device_key": "dk", "from_name": "Ani", "from": f"{PHONE}@s.whatsapp.net",
         "message": "Hi", "type": "group"},
        [IncomingMessage(PHONE, "Ani", "Hi", "group", "dk", {})],
        id="device-incoming-jid-and-from-name"),
    pytest.param(
        {"device_key": "dk", "from": None, "message": {"text": "Halo"}, "type": "text",
         "file": None},
        [IncomingMessage(None, None, "Halo", "text", "dk", {})],
        id="waba-incoming"),
    pytest.param(
        [{"message_id": "a", "status": "sent", "phone": PHONE},
         {"device_key": "dk", "from": PHONE, "message": "x", "type": "single"}],
        [StatusUpdate("a", "sent", PHONE),
         IncomingMessage(PHONE, None, "x", "single", "dk", {})],
        id="array-of-bodies"),
]  # fmt: skip


def without_raw(event):
    if isinstance(event, IncomingMessage):
        return (event.phone, event.name, event.text, event.type, event.device_key)
    return event


@pytest.mark.parametrize("body,expected", WEBHOOKS)
def test_parse_webhook(body, expected):
    events = parse_webhook(body)
    assert [without_raw(e) for e in events] == [without_raw(e) for e in expected]
    for event, wanted in zip(events, expected, strict=True):
        if isinstance(event, IncomingMessage) and wanted.message_id:
            assert event.message_id == wanted.message_id


def test_incoming_message_keeps_the_raw_body():
    body = {"device_key": "dk", "from": PHONE, "message": "Halo", "type": "single"}
    (event,) = parse_webhook(body)
    assert event.raw is body


@pytest.mark.parametrize(
    "body,match",
    [
        ("text", "object or array"),
        (None, "object or array, got null"),
        ({"hello": "world"}, "unrecognised webhook body .keys: hello"),
        ({}, "keys: none"),
        ([1], "array items must be objects"),
        ({"entry": {"changes": []}}, "'entry' must be an array"),
        (meta_status(id="w", timestamp="1"), "no 'status'"),
        (meta_status(status="read"), "neither 'id' nor 'recipient_id'"),
        ({"status": "read"}, "neither 'message_id' nor 'phone'"),
    ],
)
def test_parse_webhook_rejects_invalid_bodies(body, match):
    with pytest.raises(ValueError, match=match):
        parse_webhook(body)


# Webhook samples (tests/data/webhooks, sources in its README): every field parsed

SAMPLES = Path(__file__).parent / "data" / "webhooks"


def sample(name):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_a_meta_status_keeps_its_pricing_conversation_and_string_time():
    (status,) = parse_webhook(sample("meta_status_sent.json"))
    assert status == StatusUpdate(
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", "sent", "16505551234",
        1750030073.0, category="marketing", billable=True,
    )  # fmt: skip
    (bare,) = parse_webhook(sample("meta_status_sent_v24.json"))
    assert (bare.category, bare.billable, bare.timestamp) == (None, None, 1750030073.0)
    (tracked,) = parse_webhook(sample("pywa_status_sent_with_callback_data.json"))
    assert (tracked.callback_data, tracked.category) == ("some data", "service")


def test_a_meta_failure_keeps_code_title_and_details():
    (failed,) = parse_webhook(sample("meta_status_failed.json"))
    assert (failed.status, failed.error_code) == ("failed", 131049)
    assert failed.error_title.startswith("This message was not delivered")
    assert failed.error_details.startswith("In order to maintain a healthy ecosystem")


def test_a_quick_reply_tap_keeps_payload_text_and_the_message_it_answers():
    (tap,) = parse_webhook(sample("meta_button.json"))
    assert (tap.type, tap.text, tap.payload, tap.name) == (
        "button", "Unsubscribe", "Unsubscribe", "Sheena Nelson",
    )  # fmt: skip
    assert tap.context_id == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    assert (tap.timestamp, tap.device_key) == (1750091045.0, "106540352242922")


@pytest.mark.parametrize(
    "name,text,payload",
    [
        ("meta_interactive_list_reply.json", "Priority Mail Express", "priority_express"),
        ("meta_interactive_button_reply.json", "Cancel", "cancel-button"),
    ],
)
def test_an_interactive_reply_keeps_its_title_and_id(name, text, payload):
    (reply,) = parse_webhook(sample(name))
    assert (reply.type, reply.text, reply.payload) == ("interactive", text, payload)
    assert reply.context_id.startswith("wamid.")


def test_a_reaction_points_at_the_message_it_reacts_to():
    (added,) = parse_webhook(sample("meta_reaction.json"))
    (removed,) = parse_webhook(sample("meta_reaction_removed.json"))
    target = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    assert (added.text, added.context_id) == ("\N{THUMBS UP SIGN}", target)
    assert (removed.text, removed.context_id) == (None, target)


def test_unsupported_media_and_value_errors():
    (unsupported,) = parse_webhook(sample("meta_unsupported.json"))
    assert (unsupported.type, unsupported.text) == ("unsupported", None)
    assert (unsupported.error_code, unsupported.error_title) == (131051, "Message type unknown")
    (image,) = parse_webhook(sample("meta_image.json"))
    assert (image.type, image.text, image.timestamp) == ("image", "Taj Mahal", 1744344496.0)
    (error,) = parse_webhook(sample("meta_errors.json"))
    assert isinstance(error, ErrorReport)
    assert (error.code, error.title, error.device_key) == (
        130429,
        "Rate limit hit",
        "106540352242922",
    )
    assert error.details.startswith("Message failed to send because there were too many")


def test_a_changed_number_notice_keeps_its_body():
    (notice,) = parse_webhook(sample("meta_system_user_changed_number.json"))
    assert (notice.type, notice.phone, notice.name) == ("system", "16505551234", None)
    assert notice.text == "User Sheena Nelson changed from 16505551234 to 12195555358"


@pytest.mark.parametrize("value", ["stop", "resume"])
def test_user_preferences_become_preference_updates(value):
    (update,) = parse_webhook(sample(f"meta_user_preferences_{value}.json"))
    assert update == PreferenceUpdate(
        "16505551234", value, "marketing_messages",
        f"User requested to {value} marketing messages", 1731705721.0, "106540352242922",
    )  # fmt: skip


def test_a_preference_without_its_wa_id_takes_the_contact_and_others_are_skipped():
    body = sample("meta_user_preferences_stop.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["user_preferences"][0]["wa_id"]
    value["user_preferences"].append({"category": "marketing_messages"})
    body["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "x"}})
    parsed = parse_webhook_events(body)
    assert [e.phone for e in parsed.events] == ["16505551234"]
    assert parsed.skipped == {
        "user_preferences without wa_id or value": 1, "field:account_update": 1,
    }  # fmt: skip


@pytest.mark.parametrize("raw", ["NaN", "inf", "-Infinity", "1e400", "yesterday", [1]])
def test_a_timestamp_that_is_no_time_is_none(raw):
    body = {"message_id": "m", "status": "read", "phone": PHONE, "timestamp": raw}
    assert parse_webhook(body)[0].timestamp is None


def test_replai_shapes_keep_working():
    (device,) = parse_webhook(sample("replai_device_incoming.json"))
    assert device == IncomingMessage(
        "6281234567890",
        "Budi",
        "Berhenti",
        "single",
        "d9f1c2",
        sample("replai_device_incoming.json"),
    )
    (waba,) = parse_webhook(sample("replai_waba_incoming.json"))
    assert (waba.type, waba.text) == ("text", "Halo, masih ada promo?")
    (status,) = parse_webhook(sample("replai_flat_status.json"))
    assert status == StatusUpdate("3EB0A1B2C3D4E5F6", "delivered", "6281234567890", 1750030080.0)
