"""The operator page without a browser: sign-in, sessions, page and asset protection, the
routes the page adds (preview, test message, templates, failure reasons), labels, viewport."""

import html.parser
import re

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.web.sessions import SESSION_COOKIE, new_session, session_key
from tests import factories
from tests.conftest import SANDBOX_TOKEN
from tests.web.conftest import API_KEY, TestClient, build_app, csv_bytes

PAGES = ["/ui/campaigns", "/ui/campaigns/c0123456789a", "/ui/launch", "/ui/suppression"]
SCRIPTS = ["common.js", "campaigns.js", "campaign.js", "launch.js", "suppression.js"]
PAGE_HEADER = {"X-Requested-With": "broadcaster"}


def sign_in(client: TestClient, key: str = API_KEY, next_path: str = "/ui/launch"):
    return client.post("/ui/login", data={"key": key, "next": next_path}, follow_redirects=False)


@pytest.fixture
def operator(app):
    """A browser-like client signed in on the pages (no API key header)."""
    with TestClient(app) as c:
        assert sign_in(c).status_code == 303
        yield c


@pytest.mark.parametrize("path", PAGES + [f"/ui/static/{name}" for name in SCRIPTS])
def test_pages_and_scripts_redirect_to_sign_in_without_a_session(anon, path):
    response = anon.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=%2Fui%2F")
    assert "<main" not in response.text


def test_the_sign_in_page_and_style_sheet_need_no_session(anon):
    page = anon.get("/ui/login")
    assert page.status_code == 200 and 'name="key"' in page.text
    assert "Campaigns" not in page.text  # no navigation, no data
    css = anon.get("/ui/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert anon.get("/ui/static/other.js").status_code == 404


def test_the_root_leads_to_the_campaigns_page(anon):
    response = anon.get("/", follow_redirects=False)
    assert response.headers["location"] == "/ui/campaigns"


@pytest.mark.parametrize("key", ["wrong", "", API_KEY + "x", API_KEY[:-1]])
def test_a_wrong_key_does_not_sign_in(anon, key):
    response = sign_in(anon, key)
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert 'role="alert"' in response.text and "not valid" in response.text
    assert anon.get("/ui/launch", follow_redirects=False).status_code == 303


def test_signing_in_sets_a_strict_http_only_session_cookie(anon):
    response = sign_in(anon, "second-key")
    assert response.status_code == 303 and response.headers["location"] == "/ui/launch"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE + "=")
    for part in ("httponly", "samesite=strict", "path=/", "max-age=43200"):
        assert part in cookie
    assert "secure" not in cookie  # plain http in tests; https responses add Secure
    assert API_KEY not in cookie and "second-key" not in cookie
    page = anon.get("/ui/launch")
    assert page.status_code == 200 and 'data-page="launch"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/campaigns", "/\\evil.example"]
)
def test_sign_in_never_sends_the_operator_off_the_pages(anon, target):
    assert sign_in(anon, next_path=target).headers["location"] == "/ui/campaigns"


def test_a_signed_in_operator_skips_the_sign_in_page(operator):
    response = operator.get("/ui/login?next=/ui/suppression", follow_redirects=False)
    assert response.headers["location"] == "/ui/suppression"


def test_signing_out_deletes_the_cookie(operator):
    response = operator.post("/ui/logout", follow_redirects=False)
    assert response.headers["location"] == "/ui/login"
    assert SESSION_COOKIE + '=""' in response.headers["set-cookie"]
    assert operator.get("/ui/campaigns", follow_redirects=False).status_code == 303


def test_no_key_configured_means_no_sign_in(redis):
    with TestClient(build_app(api_keys=[])) as c:
        assert sign_in(c, "anything").status_code == 503


def test_the_session_opens_the_api_to_the_pages_own_requests(operator, redis):
    assert operator.get("/campaigns").status_code == 200
    report = operator.get("/campaigns/c0123456789a/report.csv")
    assert report.status_code == 404  # let through: the campaign does not exist
    body = {"phones": ["081234567890"]}
    assert operator.post("/suppression", json=body).status_code == 401  # no page header
    added = operator.post("/suppression", json=body, headers=PAGE_HEADER)
    assert added.status_code == 200 and added.json()["added"] == 1
    # a request with its own key is judged by that key alone
    wrong = operator.get("/campaigns", headers={"X-API-Key": "wrong"})
    assert wrong.status_code == 401


def test_a_tampered_expired_or_orphaned_session_is_refused(app, redis):
    good = new_session(API_KEY, now=1000.0, lifetime=60)
    assert session_key(good, [API_KEY], now=1059.0) == API_KEY
    assert session_key(good, [API_KEY], now=1060.0) is None  # expired
    assert session_key(good, ["another-key"], now=1001.0) is None  # key removed
    expiry, signature = good.split(".")
    assert session_key(f"{int(expiry) + 3600}.{signature}", [API_KEY], now=1001.0) is None
    for token in ("", "abc", "1.2.3", f"{expiry}.", "99999999999999.x"):
        assert session_key(token, [API_KEY], now=1001.0) is None
    with TestClient(app, cookies={SESSION_COOKIE: f"{int(expiry) + 10**9}.{signature}"}) as c:
        assert c.get("/ui/campaigns", follow_redirects=False).status_code == 303
        assert c.get("/campaigns").status_code == 401


class Controls(html.parser.HTMLParser):
    """Collects the form controls, label targets and viewport of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.viewport = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "viewport":
            self.viewport = a.get("content") or ""
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)


@pytest.mark.parametrize("path", [*PAGES, "/ui/login"])
def test_pages_fit_a_phone_and_label_every_control(operator, anon, path):
    page = (anon if path == "/ui/login" else operator).get(path)
    assert page.status_code == 200
    parsed = Controls()
    parsed.feed(page.text)
    assert "width=device-width" in parsed.viewport
    assert parsed.controls or path == "/ui/campaigns"
    for control in parsed.controls:
        assert control.get("aria-label") or control.get("id") in parsed.labelled, control
    assert not re.search(r"<script>|\son\w+=", page.text)  # scripts only from files (CSP)


def test_scripts_never_write_markup(operator):
    for name in SCRIPTS:
        script = operator.get(f"/ui/static/{name}")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text


CONTACTS = [
    ["081234560001", "Budi"],
    ["0812-3456-0002", "Sari"],
    ["12", "Bad"],
    ["081234560001", "Budi again"],
    ["081234560003", "Stop"],
    *([[f"0812345610{i:02d}", f"N{i}"] for i in range(12)]),
]


def test_preview_counts_and_shows_rows_without_storing_anything(client, store, redis):
    store.suppress(["6281234560003"])
    before = sorted(redis.keys("*"))
    response = client.post(
        "/campaigns/preview", files={"file": ("c.csv", csv_bytes(CONTACTS), "text/csv")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    summary = body["summary"]
    assert summary["encoding"] == "utf-8" and summary["delimiter"] == ","
    assert summary["phone_column"] == "phone" and summary["columns"] == ["phone", "name"]
    counts = {k: summary[k] for k in ("rows", "valid", "duplicates", "suppressed", "rejected")}
    assert counts == {"rows": 17, "valid": 14, "duplicates": 1, "suppressed": 1, "rejected": 1}
    assert summary["errors"] == [{"line": 4, "reason": summary["errors"][0]["reason"]}]
    assert "'12'" in summary["errors"][0]["reason"]
    assert len(body["rows"]) == 10
    assert body["rows"][1] == {"line": 3, "phone": "6281234560002", "variables": {"name": "Sari"}}
    assert sorted(redis.keys("*")) == before
    assert client.get("/campaigns").json()["total"] == 0


def test_preview_with_a_chosen_phone_column_and_without_one(client):
    rows = [["Budi", "081234560001"], ["Sari", "081234560002"]]
    data = csv_bytes(rows, header=("nama", "kontak"))
    refused = client.post("/campaigns/preview", files={"file": ("c.csv", data)})
    assert refused.status_code == 422 and refused.json()["columns"] == ["nama", "kontak"]
    chosen = client.post(
        "/campaigns/preview", files={"file": ("c.csv", data)}, data={"phone_column": "kontak"}
    )
    assert chosen.json()["summary"]["valid"] == 2
    assert client.post("/campaigns/preview", data={"phone_column": "x"}).status_code == 422


def test_failure_reasons_are_grouped_most_frequent_first(client, store):
    c = store.create(factories.campaign(), factories.contacts(6), window=10)
    store.start(c.id)
    errors = ["131026: undeliverable", "131047: outside the window", "131026: undeliverable"]
    for index, error in enumerate([*errors, None]):
        factories.settle(store, c.id, index, RecipientStatus.FAILED, error=error)
    body = client.get(f"/campaigns/{c.id}/failures").json()
    assert body["total"] == 4
    assert body["reasons"][0] == {"code": "131026", "reason": "131026: undeliverable", "count": 2}
    assert {r["reason"] for r in body["reasons"][1:]} == {
        "131047: outside the window",
        "no reason recorded",
    }
    assert client.get("/campaigns/cnope/failures").status_code == 404


@pytest.fixture
def replai_client(redis, sandbox):
    app = build_app(replai_base_url=sandbox.url, replai_token=SANDBOX_TOKEN)
    with TestClient(app, headers={"X-API-Key": API_KEY}) as c:
        yield c


def test_templates_come_from_replai(replai_client):
    templates = replai_client.get("/templates", params={"sender": "waba-1"}).json()
    promo = next(t for t in templates if t["name"] == "promo")
    assert promo["param_count"] == 2 and promo["approved"] and "{{1}}" in promo["body"]
    assert replai_client.get("/templates").status_code == 422


def test_a_test_message_is_sent_as_the_first_recipient_would_get_it(replai_client, sandbox):
    body = {"sender": "waba-1", "text": "Halo {name}", "phone": "0812 3456 7890",
            "variables": {"name": "Budi"}}  # fmt: skip
    result = replai_client.post("/messages/test", json=body).json()
    assert result["ok"] and result["phone"] == "6281234567890" and result["message_id"]
    sends = sandbox.sends()["sends"]
    assert [s["phone"] for s in sends] == ["6281234567890"]
    template = {"sender": "waba-1", "template": "promo", "params": ["name", "Rp 50.000"],
                "phone": "081234567891", "variables": {"name": "Sari"}}  # fmt: skip
    assert replai_client.post("/messages/test", json=template).json()["ok"]
    missing = replai_client.post("/messages/test", json=body | {"variables": {}})
    assert missing.status_code == 422 and "name" in missing.json()["detail"]
    failing = replai_client.post("/messages/test", json=body | {"phone": "081200000001"})
    assert failing.json()["ok"] is False and "131026" in failing.json()["error"]
    replai_client.post("/suppression", json={"phones": ["081234567892"]})
    skipped = replai_client.post("/messages/test", json=body | {"phone": "081234567892"})
    assert skipped.json() == {"phone": "6281234567892", "ok": False, "message_id": None,
                              "error": "on the suppression list"}  # fmt: skip
    assert len(sandbox.sends()["sends"]) == 2
