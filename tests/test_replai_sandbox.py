"""Every ReplaiClient method against the running sandbox, over real HTTP on loopback."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

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
    IncomingMessage,
    ReplaiClient,
    SendResult,
    StatusUpdate,
    parse_webhook,
)
from broadcaster.sandbox.accounts import DEFAULT_EMAIL, DEFAULT_PASSWORD
from broadcaster.sandbox.chats import SEED_MEDIA_ID, SEED_PHONE
from tests.conftest import SANDBOX_TOKEN

DEVICE = "dev-1"
WABA = "waba-1"
PHONE = "6281234567890"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scripted(suffix: str) -> str:
    """A valid Indonesian mobile number ending in the sandbox's scripted `suffix`."""
    return "62812345" + suffix


@pytest.fixture
def client(sandbox) -> Iterator[ReplaiClient]:
    with ReplaiClient(base_url=sandbox.url, token=SANDBOX_TOKEN) as replai:
        yield replai


@pytest.fixture
def app_client(sandbox) -> Iterator[ReplaiClient]:
    with ReplaiClient(base_url=sandbox.url, api_key="app-key", routes="api-app") as replai:
        yield replai


# Accounts


def test_login_caches_a_token_that_later_calls_use(sandbox):
    with ReplaiClient(base_url=sandbox.url) as replai:
        result = replai.login(DEFAULT_EMAIL, DEFAULT_PASSWORD)
        assert result.token and result.user["email"] == DEFAULT_EMAIL
        assert replai.check_connection(DEVICE).connected is True
        replai.send_message(DEVICE, PHONE, "Halo")
    (send,) = sandbox.sends()["sends"]
    assert send["token"] == result.token


def test_email_password_client_logs_in_by_itself(sandbox):
    with ReplaiClient(
        base_url=sandbox.url, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD
    ) as replai:
        assert replai.waba_send(WABA, PHONE, "Halo").message_id


def test_login_with_a_wrong_password_is_an_auth_error(sandbox):
    with ReplaiClient(base_url=sandbox.url) as replai, pytest.raises(ReplaiAuthError):
        replai.login(DEFAULT_EMAIL, "wrong-password")


def test_register_then_log_in_as_the_new_user(sandbox):
    email = f"user{time.monotonic_ns()}@example.com"
    with ReplaiClient(base_url=sandbox.url) as replai:
        registered = replai.register("Sari", email, "rahasia123")
        assert registered.token and registered.user["name"] == "Sari"
        assert replai.login(email, "rahasia123").user["email"] == email
        with pytest.raises(ReplaiRejected, match="already been taken"):
            replai.register("Sari", email, "rahasia123")
        with pytest.raises(ReplaiRejected, match="at least 6 characters") as info:
            replai.register("Sari", "x" + email, "123")
        assert info.value.status_code == 422


def test_logout_revokes_the_token(sandbox):
    with ReplaiClient(base_url=sandbox.url) as replai:
        token = replai.login(DEFAULT_EMAIL, DEFAULT_PASSWORD).token
        replai.logout()
    with (
        ReplaiClient(base_url=sandbox.url, token=token) as stale,
        pytest.raises(ReplaiAuthError) as info,
    ):
        stale.get_chats(DEVICE)
    assert info.value.status_code == 401


def test_revoked_token_is_replaced_by_logging_in_again(sandbox):
    with ReplaiClient(base_url=sandbox.url) as other:
        token = other.login(DEFAULT_EMAIL, DEFAULT_PASSWORD).token
        other.logout()
    with ReplaiClient(
        base_url=sandbox.url, token=token, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD
    ) as replai:
        assert replai.get_contacts(DEVICE)


# Chats, contacts, media


def test_contacts_chats_and_chat_detail(client):
    contacts = client.get_contacts(DEVICE)
    assert [(c.phone, c.name) for c in contacts] == [(SEED_PHONE, "Sandbox Demo")]
    sent = client.send_message(DEVICE, PHONE, "Promo hari ini")
    chats = client.get_chats(DEVICE)
    assert [c.phone for c in chats] == [PHONE, SEED_PHONE]
    assert chats[0].last_message == "Promo hari ini" and chats[0].timestamp
    assert chats[1].unread_count == 2
    (message,) = client.get_chat(DEVICE, PHONE)
    assert (message.id, message.text, message.from_me) == (sent.message_id, "Promo hari ini", True)
    seeded = client.get_chat(DEVICE, SEED_PHONE)
    assert [m.from_me for m in seeded] == [False, False]
    assert seeded[1].id == SEED_MEDIA_ID and seeded[1].type == "image"
    assert client.get_chat(DEVICE, "6289999999999") == []


def test_mark_chat_read_clears_unread(client):
    client.mark_chat_read(DEVICE, SEED_PHONE)
    (chat,) = client.get_chats(DEVICE)
    assert chat.unread_count == 0


def test_read_message(client):
    seeded = client.get_chat(DEVICE, SEED_PHONE)
    client.read_message(DEVICE, seeded[0].id or "")
    with pytest.raises(ReplaiRejected, match="Message not found") as info:
        client.read_message(DEVICE, "3EB0NOSUCHMESSAGE")
    assert info.value.status_code == 200  # the device proxy fails with HTTP 200


@pytest.mark.parametrize("for_everyone", [False, True])
def test_delete_message_for_me_or_everyone(client, for_everyone):
    sent = client.send_message(DEVICE, PHONE, "oops")
    client.delete_message(DEVICE, sent.message_id or "", for_everyone=for_everyone)
    assert client.get_chat(DEVICE, PHONE) == []
    with pytest.raises(ReplaiRejected, match="Message not found"):
        client.delete_message(DEVICE, sent.message_id or "", for_everyone=for_everyone)


def test_download_media_to_bytes_and_streamed_to_files(client, tmp_path):
    client.get_chats(DEVICE)  # seeds the device's chat with an image
    content = client.download_media(DEVICE, SEED_MEDIA_ID)
    assert content.startswith(PNG_SIGNATURE)
    target = tmp_path / "media.png"
    assert client.download_media(DEVICE, SEED_MEDIA_ID, target) == len(content)
    assert target.read_bytes() == content
    with open(tmp_path / "other.png", "wb") as file:
        assert client.download_media(DEVICE, SEED_MEDIA_ID, file) == len(content)
    with pytest.raises(ReplaiRejected, match="Media not found") as info:
        client.download_media(DEVICE, "3EB0NOMEDIA", tmp_path / "missing.png")
    assert info.value.status_code == 404
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media.png", "other.png"]


def test_profile_photo(client):
    photo = client.get_profile_photo(DEVICE, PHONE)
    assert photo.phone == PHONE
    assert photo.url and photo.url.startswith("https://")


# Device and templates


@pytest.mark.parametrize("family", ["api", "api-app"])
def test_check_connection_and_templates(client, app_client, family):
    replai = client if family == "api" else app_client
    status = replai.check_connection(DEVICE)
    assert (status.connected, status.status) == (True, "connected")
    templates = {t.id: t for t in replai.get_templates(DEVICE)}
    promo = templates["tpl_promo"]
    assert (promo.name, promo.language, promo.status, promo.category) == (
        "promo",
        "id",
        "APPROVED",
        "MARKETING",
    )
    assert promo.param_count == 2 and promo.approved
    assert templates["tpl_reminder"].param_count == 0


def test_webhook_sample(client):
    sample = client.get_webhook_sample()
    assert isinstance(sample, IncomingMessage)
    assert (sample.phone, sample.name, sample.text, sample.type) == (
        "6281234567890",
        "Budi",
        "Halo, saya tertarik",
        "single",
    )
    assert sample.device_key


# Sends, on both route families


SENDS = [
    pytest.param({"channel": "waba", "text": "Halo"}, "/api/waba/send",
                 "/api-app/waba/messages/simple", id="waba-text"),
    pytest.param({"channel": "waba", "template": "promo", "params": ["Budi", "50%"]},
                 "/api/waba/send-template", "/api-app/waba/messages/template",
                 id="waba-template"),
    pytest.param({"channel": "device", "text": "Halo"}, "/api/wa/send",
                 "/api-app/whatsapp/send-message", id="device-text"),
    pytest.param({"channel": "device", "template": "tpl_promo", "params": ["Budi", "50%"]},
                 "/api/wa/send-template", "/api-app/whatsapp/send-message",
                 id="device-template"),
]  # fmt: skip


@pytest.mark.parametrize("family", ["api", "api-app"])
@pytest.mark.parametrize("kwargs,api_route,app_route", SENDS)
def test_send_on_both_route_families(
    sandbox, client, app_client, family, kwargs, api_route, app_route
):
    replai = client if family == "api" else app_client
    sender = WABA if kwargs["channel"] == "waba" else DEVICE
    result = replai.send(sender=sender, phone=PHONE, ref="cmp-1:7", **kwargs)
    assert isinstance(result, SendResult)
    assert result.phone == PHONE
    prefix = "wamid." if kwargs["channel"] == "waba" else "3EB0"
    assert result.message_id and result.message_id.startswith(prefix)
    report = sandbox.sends()
    (send,) = report["sends"]
    expected_route = api_route if family == "api" else app_route
    assert (send["phone"], send["ref"], send["route"]) == (PHONE, "cmp-1:7", expected_route)
    assert send["message_id"] == result.message_id
    assert report["per_ref"] == {"cmp-1:7": 1}


def test_each_send_method_directly(sandbox, client):
    sent = [
        client.send_message(DEVICE, PHONE, "a", ref="c:1"),
        client.send_template(DEVICE, PHONE, "tpl_welcome", variables=["Budi"], ref="c:2"),
        client.waba_send(WABA, "081234567890", "b", ref="c:3"),
        client.waba_send_template(WABA, PHONE, "otp", ["1234"], language="id", ref="c:4"),
    ]
    assert all(s.message_id for s in sent)
    assert sent[2].phone == PHONE  # WABA turns 08... into 628...
    texts = [m.text for m in client.get_chat(DEVICE, PHONE)]
    assert texts == ["a", "Selamat datang, Budi!"]
    assert sandbox.sends(summary=1)["count"] == 4


@pytest.mark.parametrize("channel", ["waba", "device"])
def test_template_errors_are_permanent(client, channel):
    sender = WABA if channel == "waba" else DEVICE
    with pytest.raises(ReplaiRejected) as missing:
        client.send(channel=channel, sender=sender, phone=PHONE, template="nope")
    assert (missing.value.code, missing.value.status_code) == (132001, 404)
    with pytest.raises(ReplaiRejected) as mismatch:
        client.send(channel=channel, sender=sender, phone=PHONE, template="promo", params=["x"])
    assert mismatch.value.code == 132000


def test_validation_error_is_rejected_with_the_field(client):
    with pytest.raises(ReplaiRejected, match="phone") as info:
        client.send_message(DEVICE, "0812345", "Halo")  # device routes want 62...
    assert info.value.status_code == 422


def test_bad_api_key_is_an_auth_error(sandbox):
    with (
        ReplaiClient(base_url=sandbox.url, api_key="invalid", routes="api-app") as replai,
        pytest.raises(ReplaiAuthError),
    ):
        replai.send(channel="waba", sender=WABA, phone=PHONE, text="x")


# Scripted outcomes

FAMILIES = [
    pytest.param(("api", "waba"), id="api-waba"),
    pytest.param(("api", "device"), id="api-device"),
    pytest.param(("api-app", "waba"), id="app-waba"),
    pytest.param(("api-app", "device"), id="app-device"),
]


@pytest.fixture(params=FAMILIES)
def sender(request, client, app_client):
    """(client, channel, sender id) for each route family and channel."""
    family, channel = request.param
    replai = client if family == "api" else app_client
    return replai, channel, WABA if channel == "waba" else DEVICE


def send_to(sender, phone: str, ref: str | None = None) -> SendResult:
    replai, channel, sender_id = sender
    return replai.send(channel=channel, sender=sender_id, phone=phone, text="Halo", ref=ref)


@pytest.mark.parametrize(
    "suffix,error_class,code,status",
    [
        ("0001", ReplaiRejected, 131026, 400),
        ("0004", DeviceDisconnected, None, 419),
        ("0005", ReplaiAuthError, None, 401),
        ("0006", ReplaiRejected, 131047, 400),
        ("0011", AccountRestricted, 131042, 400),
        ("0012", ReplaiDeferred, 131048, 400),
    ],
)
def test_scripted_failures_raise_the_right_class(
    sandbox, sender, suffix, error_class, code, status
):
    with pytest.raises(ReplaiError) as info:
        send_to(sender, scripted(suffix))
    assert type(info.value) is error_class
    assert (info.value.code, info.value.status_code) == (code, status)
    assert sandbox.sends(summary=1)["count"] == 0


def test_pair_rate_limit_then_accepted(sandbox, sender):
    with pytest.raises(ReplaiPairRateLimited) as info:
        send_to(sender, scripted("0003"), ref="c:3")
    assert (info.value.code, info.value.retry_after) == (131056, 6.0)
    assert send_to(sender, scripted("0003"), ref="c:3").message_id
    assert sandbox.sends()["per_ref"] == {"c:3": 1}


def test_throttled_with_retry_after_then_accepted(sandbox, sender):
    with pytest.raises(ReplaiThrottled) as info:
        send_to(sender, scripted("0007"))
    assert (info.value.status_code, info.value.retry_after) == (429, 1.0)
    assert info.value.message == "Too Many Attempts."
    assert send_to(sender, scripted("0007")).message_id


def test_server_errors_twice_then_accepted(sandbox, client):
    for _ in range(2):
        with pytest.raises(ReplaiUnavailable) as info:
            client.waba_send(WABA, scripted("0002"), "Halo")
        assert info.value.status_code == 500
    assert client.waba_send(WABA, scripted("0002"), "Halo").message_id


def test_disconnected_device_stays_down_until_reset(sandbox, sender):
    replai, _, sender_id = sender
    with pytest.raises(DeviceDisconnected):
        send_to(sender, scripted("0004"))
    with pytest.raises(DeviceDisconnected):
        send_to(sender, PHONE)
    assert replai.check_connection(sender_id).connected is False
    sandbox.reset()
    assert replai.check_connection(sender_id).connected is True


def test_slow_answer_times_out_as_unavailable(sandbox):
    with (
        ReplaiClient(base_url=sandbox.url, token=SANDBOX_TOKEN, timeout=0.3) as replai,
        pytest.raises(ReplaiTimeout, match="timed out") as info,
    ):
        replai.waba_send(WABA, scripted("0008"), "Halo")
    assert info.value.status_code is None


# Chaos modes


@pytest.mark.parametrize(
    "config,error_class,status",
    [
        ({"fail_mode": "500"}, ReplaiUnavailable, 500),
        ({"fail_mode": "429"}, ReplaiThrottled, 429),
        ({"down": True}, ReplaiUnavailable, 503),
    ],
)
def test_chaos_modes(sandbox, client, config, error_class, status):
    sandbox.configure(**config)
    with pytest.raises(error_class) as info:
        client.waba_send(WABA, PHONE, "Halo")
    assert info.value.status_code == status


def test_rate_limit_answers_429_with_retry_after(sandbox, client):
    sandbox.configure(rate_limit_per_minute=2)
    client.send_message(DEVICE, PHONE, "1")
    client.send_message(DEVICE, PHONE, "2")
    with pytest.raises(ReplaiThrottled) as info:
        client.send_message(DEVICE, PHONE, "3")
    assert info.value.retry_after is not None and 1.0 <= info.value.retry_after <= 60.0


def test_unreachable_server_is_unavailable(sandbox):
    with (
        ReplaiClient(base_url="http://127.0.0.1:9", token="t", connect_timeout=1) as replai,
        pytest.raises(ReplaiUnavailable) as info,
    ):
        replai.waba_send(WABA, PHONE, "Halo")
    assert info.value.status_code is None


# Status callbacks, parsed as the web app will


class _Collector(BaseHTTPRequestHandler):
    bodies: ClassVar[list] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook_bodies(sandbox) -> Iterator[list]:
    bodies: list = []
    handler = type("Collector", (_Collector,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    sandbox.configure(
        webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook", callback_delay_ms=10
    )
    yield bodies
    server.shutdown()
    server.server_close()


def wait_for_events(bodies: list, count: int) -> list:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = [e for body in list(bodies) for e in parse_webhook(body)]
        if len(events) >= count:
            return events
        time.sleep(0.02)
    raise AssertionError(f"only {len(bodies)} callbacks arrived")


@pytest.mark.parametrize("channel", ["waba", "device"])
def test_status_callbacks_parse_into_status_updates(client, webhook_bodies, channel):
    sender = WABA if channel == "waba" else DEVICE
    ok = client.send(channel=channel, sender=sender, phone=PHONE, text="Halo")
    failed = client.send(channel=channel, sender=sender, phone=scripted("0010"), text="Halo")
    events = wait_for_events(webhook_bodies, 5)
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    mine = [e.status for e in statuses if e.message_id == ok.message_id]
    assert mine[:3] == ["sent", "delivered", "read"]
    (failure,) = [e for e in statuses if e.status == "failed"]
    assert failure.message_id == failed.message_id
    assert (failure.error_code, failure.phone) == (131026, scripted("0010"))
