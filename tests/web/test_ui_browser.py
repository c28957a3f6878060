"""The operator page in a real browser: headless Chromium (Debian's package) driven by
Playwright against the app under uvicorn, a real Celery worker and the Replai sandbox; and
contact files other than CSV (a workbook, a vCard) dropped on the launch page.

Chromium comes from Debian's `chromium` package at /usr/bin/chromium; Playwright's own browser
download is never used. When the binary is missing, the set-up installs it with
`apt-get install chromium` if it runs as root with apt; if that cannot be done the test fails
in CI (`CI` set) and is skipped elsewhere, saying why.

Screenshots for review are written to tests/artifacts/ui/: launch, launch-template,
launch-vcard, launch-calendar, campaign, campaign-pool, campaigns, events and suppression
`.png`, each also as `-phone.png` at a phone's size (390 x 844), where the test also checks
that nothing reaches past the screen's edge.
"""

import base64
import csv
import datetime
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import factories
from tests.contact_files import DATA, kontak_xlsx
from tests.web.conftest import (
    API_KEY,
    WEBHOOK_SECRET,
    LiveServer,
    Recorder,
    build_app,
    csv_bytes,
)

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
#: An event receiver that is never there (connection refused), and fast retries.
HOOK_URL = "http://127.0.0.1:9/hooks"
#: The senders the pool picker offers (BROADCASTER_SENDERS).
POOL_SENDERS = {"pool-1": {}, "pool-2": {"rate": "10/s"}, "pool-3": {}}
EVENTS_ENV = {"BROADCASTER_EVENTS_MAX_AGE": "1", "BROADCASTER_EVENTS_BACKOFF_BASE": "0.2"}
DESKTOP = {"width": 1280, "height": 900}
#: Controls without a label or aria-label on the current page, by id or markup.
UNLABELLED = """() => [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea")]
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
  .map((e) => e.id || e.outerHTML)"""
#: How far the page reaches past the window's right edge, and the widest culprits.
OVERFLOW = """() => [document.documentElement.scrollWidth - window.innerWidth,
  [...document.querySelectorAll("body *")]
    .filter((e) => e.scrollWidth > e.clientWidth + 1
      && getComputedStyle(e).overflowX === "visible")
    .map((e) => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className)]"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _install_chromium() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False, timeout=900
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, installed by apt-get when missing and possible."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    if not os.path.exists(CHROMIUM):
        _install_chromium()
    if not os.path.exists(CHROMIUM):
        _unavailable(
            f"{CHROMIUM} is missing and could not be installed: run "
            "`apt-get install chromium` as root (Debian's package; no browser download)"
        )
    return CHROMIUM


def contacts_csv(phones: list[str], names: list[str]) -> bytes:
    return csv_bytes([[p, n] for p, n in zip(phones, names, strict=True)])


def local(phone: str) -> str:
    """+62 8xx as an Indonesian would type it: 08xx-xxxx-xxxx."""
    national = "0" + phone[2:]
    return f"{national[:4]}-{national[4:8]}-{national[8:]}"


def shoot(page, name: str) -> None:
    """A full-page screenshot at desktop size and one at a phone's size."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    excess, culprits = page.evaluate(OVERFLOW)
    assert excess <= 0, f"{name}: {excess} px wider than a phone's screen: {culprits}"
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


#: Drops a CSV file on the drop zone, as dragging it from the desktop does.
DROP = """([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "text/csv" }));
  document.querySelector("#drop").dispatchEvent(
    new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


#: Drops any file (its bytes in base64) on the drop zone.
DROP_BYTES = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  document.querySelector("#drop").dispatchEvent(
    new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


def drop_file(page, name: str, media_type: str, data: bytes) -> None:
    page.evaluate(DROP_BYTES, [name, media_type, base64.b64encode(data).decode()])


def open_browser(pw, chromium: str, tmp_path):
    """A headless Chromium at desktop size, and a page that records script errors."""
    context = pw.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport=DESKTOP,
        accept_downloads=True,
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def sign_in(page, expect, url: str) -> None:
    page.goto(url + "/ui/login")
    page.fill("#key", API_KEY)
    page.click("button[type=submit]")
    expect(page).to_have_url(url + "/ui/campaigns")


def upload(page, expect, url: str, data: bytes, *, sender: str, text: str, drop=False) -> None:
    """Open the launch page, give it the file (picked, or dropped) and write the message."""
    page.goto(url + "/ui/launch")
    if drop:
        page.evaluate(DROP, ["dropped.csv", data.decode()])
    else:
        page.set_input_files("#file", files=[{"name": "contacts.csv", "mimeType": "text/csv",
                                              "buffer": data}])  # fmt: skip
    expect(page.locator("#p-encoding")).to_have_text("utf-8")
    page.fill("#sender", sender)
    page.fill("#text", text)


def count(page, step: str) -> int:
    return int(page.locator(f"[data-count={step}]").inner_text().replace(",", ""))


@pytest.mark.timeout(600)  # room for apt-get to install Chromium; the test takes about 40 s
def test_operator_launches_and_watches_campaigns_in_a_browser(
    redis, sandbox, workers, chromium, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    sandbox.configure(rate_limit_per_minute=0, callback_delay_ms=300)
    app = build_app(
        replai_base_url=sandbox.url, archive_dir=tmp_path / "archive", senders=POOL_SENDERS
    )
    with LiveServer(app) as server, sync_playwright() as pw:
        sandbox.configure(webhook_url=f"{server.url}/webhooks/replai/{WEBHOOK_SECRET}")
        # events given up on after a second of retries, so the dead letters show here
        workers.start("w1", concurrency=2, **EVENTS_ENV)
        context, page, errors = open_browser(pw, chromium, tmp_path)
        url = server.url

        # nothing without signing in: pages lead to the sign-in form, the API refuses
        page.goto(url + "/ui/campaigns")
        expect(page).to_have_url(f"{url}/ui/login?next=%2Fui%2Fcampaigns")
        assert page.locator("nav, #campaign-list").count() == 0
        assert page.request.get(url + "/campaigns").status == 401
        page.fill("#key", "not-the-key")
        page.click("button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text("not valid")
        page.fill("#key", API_KEY)
        page.click("button[type=submit]")
        expect(page).to_have_url(url + "/ui/campaigns")
        expect(page.locator("#list-empty")).to_be_visible()

        # launch: the preview reports the bad row before anything exists
        plain = [factories.phone(i) for i in range(4)]
        unread, undeliverable = factories.phone(4, suffix=13), factories.phone(5, suffix=1)
        phones = [*plain, unread, "12", undeliverable, plain[0]]
        names = ["Budi", "Sari", "Agus", "Dewi", "Eka", "Bad", "Fajar", "Budi again"]
        typed = [local(p) if len(p) > 9 else p for p in phones]
        upload(page, expect, url, contacts_csv(typed, names), sender="waba-1", text="Halo {nama}")
        expect(page.locator("#p-valid")).to_have_text("6")
        expect(page.locator("#p-duplicates")).to_have_text("1")
        expect(page.locator("#p-rejected")).to_have_text("1")
        expect(page.locator("#p-delimiter")).to_contain_text("comma")
        expect(page.locator("#phone-column")).to_have_value("")  # automatic, not forced
        expect(page.locator("#phone-column option:checked")).to_have_text("Automatic: phone")
        expect(page.locator("#p-explanation")).to_have_text("Phone from phone.")
        rejected = page.locator("#rejected-table tbody tr")
        expect(rejected).to_have_count(1)
        expect(rejected.locator("td").first).to_have_text("7")
        expect(rejected).to_contain_text("invalid phone '12'")
        expect(page.locator("#rows-table tbody tr")).to_have_count(6)
        assert page.request.get(url + "/campaigns").json()["total"] == 0

        # the live preview, an unknown placeholder, a template with mapped parameters
        expect(page.locator("#message-warning")).to_contain_text("{nama}")
        expect(page.locator("#launch")).to_be_disabled()
        page.fill("#text", "Halo {name}, promo hari ini!")
        expect(page.locator("#message-preview")).to_have_text("Halo Budi, promo hari ini!")
        page.check("#kind-template")
        page.select_option("#template", "promo")
        page.select_option("#param-0", "col:name")
        page.select_option("#param-1", "fixed")
        page.fill("#param-1-text", "Rp 50.000")
        expect(page.locator("#message-preview")).to_have_text(
            "Halo Budi, promo Rp 50.000 khusus untuk Anda!"
        )
        shoot(page, "launch-template")
        page.check("#kind-text")
        expect(page.locator("#message-preview")).to_have_text("Halo Budi, promo hari ini!")
        page.fill("#name", "Promo Jakarta")
        page.fill("#test-phone", "0812 9999 5555")
        page.click("#test-send")
        expect(page.locator("#test-result")).to_contain_text("Test sent to +6281299995555")
        assert page.evaluate(UNLABELLED) == []
        expect(page.locator("#launch")).to_be_enabled()
        shoot(page, "launch")

        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        first = page.url.rsplit("/", 1)[1]
        expect(page.locator("#c-name")).to_have_text("Promo Jakarta")
        expect(page.locator("#c-state")).to_have_text("completed", timeout=45_000)
        # delivered arrives after completion, from the sandbox's callbacks to the webhook
        expect(page.locator("[data-count=delivered]")).to_have_text("5", timeout=20_000)
        expect(page.locator("[data-count=read]")).to_have_text("4", timeout=20_000)
        expect(page.locator("[data-count=failed]")).to_have_text("1")
        expect(page.locator("#f-table")).to_contain_text("131026")
        page.select_option("#r-status", "failed")
        expect(page.locator("#r-table tbody tr")).to_have_count(1)
        expect(page.locator("#r-table tbody")).to_contain_text("+" + undeliverable)
        page.select_option("#r-status", "")
        expect(page.locator("#r-table tbody tr")).to_have_count(6)
        assert page.evaluate(UNLABELLED) == []
        shoot(page, "campaign")

        # retry failed asks first, naming how many messages it sends
        page.click("#act-retry")
        expect(page.locator("#confirm")).to_be_visible()
        expect(page.locator("#confirm-text")).to_contain_text("1 failed recipient: 1 message")
        page.click("#confirm button[value=cancel]")
        expect(page.locator("#confirm")).to_be_hidden()

        with page.expect_download() as download:
            page.click("#c-report")
        report = Path(download.value.path()).read_text()
        rows = {r["phone"]: r for r in csv.DictReader(io.StringIO(report))}
        assert set(rows) == {*plain, unread, undeliverable}
        assert rows[unread]["status"] == "delivered" and rows[plain[1]]["status"] == "read"
        assert rows[undeliverable]["error"].startswith("131026")
        assert rows[plain[0]]["name"] == "Budi"

        # archive asks first; the report then downloads from the archive, the same bytes
        page.click("#act-archive")
        expect(page.locator("#confirm-text")).to_contain_text("6 recipients")
        page.click("#confirm-ok")
        expect(page.locator("#c-archived")).to_be_visible()
        expect(page.locator("#act-archive")).to_be_disabled()
        expect(page.locator("#r-table tbody tr")).to_have_count(6)  # read from the archive
        with page.expect_download() as download:
            page.click("#c-report")
        assert Path(download.value.path()).read_text() == report
        assert (tmp_path / "archive" / f"{first}.csv.gz").exists()

        # a second campaign, slow enough to pause and resume
        more = [factories.phone(i) for i in range(10, 20)]
        upload(page, expect, url, contacts_csv(more, [f"N{i}" for i in range(10)]),
               sender="waba-1", text="Halo {name}", drop=True)  # fmt: skip
        expect(page.locator("#file-name")).to_contain_text("dropped.csv")
        expect(page.locator("#p-valid")).to_have_text("10")
        page.fill("#rate", "60")
        page.fill("#name", "Slow one")
        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        expect(page.locator("#c-state")).to_have_text("running")
        page.click("#act-pause")
        expect(page.locator("#c-state")).to_have_text("paused")
        expect(page.locator("#act-resume")).to_be_enabled()
        # sends claimed before the pause (waiting for their rate-limit slot) may still go out;
        # once none is in flight, nothing more is sent until the resume
        expect(page.locator("#c-other")).not_to_contain_text("sending", timeout=15_000)
        held = count(page, "sent")
        assert held < len(more)
        page.wait_for_timeout(2000)
        assert count(page, "sent") == held
        expect(page.locator("#c-other")).to_contain_text(re.compile("pending|queued|waiting"))
        page.click("#act-resume")
        expect(page.locator("#c-state")).to_have_text("running")
        expect(page.locator("#c-state")).to_have_text("completed", timeout=30_000)
        expect(page.locator("[data-count=sent]")).to_have_text(str(len(more)))

        page.goto(url + "/ui/campaigns")
        expect(page.locator(".campaign-item")).to_have_count(2)
        expect(page.locator("#memory")).to_contain_text(re.compile(r"Redis memory: [\d,]+ MB"))
        expect(page.locator(f".campaign-item[data-id={first}] .badge")).to_have_text(
            ["completed", "archived"]
        )
        shoot(page, "campaigns")

        # delete asks first, naming what goes; the campaign then leaves the list
        page.click(".campaign-item >> text=Slow one")
        expect(page.locator("#c-state")).to_have_text("completed")
        page.click("#act-delete")
        expect(page.locator("#confirm")).to_be_visible()
        expect(page.locator("#confirm-text")).to_contain_text("10 recipients with their statuses")
        page.click("#confirm-ok")
        page.wait_for_url(url + "/ui/campaigns")
        expect(page.locator(".campaign-item")).to_have_count(1)

        # a third campaign whose sending hours are closed now: it waits for them
        later = [factories.phone(i) for i in range(30, 33)]
        upload(page, expect, url, contacts_csv(later, ["A", "B", "C"]),
               sender="waba-1", text="Halo {name}")  # fmt: skip
        expect(page.locator("#p-valid")).to_have_text("3")
        opens = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=3)
        closes = opens + datetime.timedelta(hours=1)
        page.fill("#hours", f"{opens:%H:00}-{closes:%H:00}")
        page.fill("#tz", "UTC")
        page.uncheck("input[name=day][value=sun]")
        page.fill(
            "#expires", f"{datetime.datetime.now() + datetime.timedelta(days=30):%Y-%m-%dT%H:%M}"
        )
        page.fill("#name", "Office hours")
        shoot(page, "launch-calendar")
        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        expect(page.locator("#c-calendar")).to_contain_text(
            f"mon,tue,wed,thu,fri,sat {opens:%H:00}"
        )
        expect(page.locator("#c-activity")).to_contain_text("waiting for its sending hours")
        expect(page.locator("#c-other")).to_contain_text("off_hours 3")
        assert count(page, "sent") == 0

        # event webhooks: one added on the page (its secret shown once) gets the next campaign
        page.goto(url + "/ui/events")
        expect(page.locator("#e-empty")).to_be_visible()
        page.fill("#add-url", HOOK_URL)
        page.click("#add-form button[type=submit]")
        expect(page.locator("#e-secret-value")).to_contain_text("whsec_")
        secret = page.locator("#e-secret-value").inner_text()
        hook = page.locator("#e-table tbody tr")
        expect(hook).to_have_count(1)
        expect(hook).to_contain_text("this page / API")
        expect(hook.locator("[data-field=state]")).to_have_text("enabled")
        assert page.evaluate(UNLABELLED) == []
        page.reload()  # shown once: never again
        expect(hook).to_have_count(1)
        assert secret not in page.content()

        # a pool of three senders within its sending hours; one answers 419: taken out, the
        # others send its recipients, and the page shows each sender's share and why
        sandbox.http.post("/_sandbox/disconnect", json={"sender": "pool-3"}).raise_for_status()
        pooled = [factories.phone(i) for i in range(40, 49)]
        upload(page, expect, url, contacts_csv(pooled, [f"P{i}" for i in range(9)]),
               sender="pool-1", text="Halo {name}")  # fmt: skip
        # each with its account and rate: its own (10/s), else Meta's per number
        expect(page.locator("#pool-senders label")).to_have_text(
            [re.compile(r"pool-1 \(default, [\d,]+/min\)"), "pool-2 (default, 600/min)",
             re.compile(r"pool-3 \(default, [\d,]+/min\)")]
        )  # fmt: skip
        page.check("input[name=pool-sender][value=pool-2]")
        page.fill("#senders", "pool-3")  # and any other sender id, typed
        expect(page.locator("#pool-summary")).to_have_text(
            "A pool of 3 senders: pool-1, pool-2, pool-3."
        )
        jakarta = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=7)
        page.fill("#hours", f"{jakarta:%H}:00-{jakarta + datetime.timedelta(hours=2):%H}:00")
        page.fill("#tz", "Asia/Jakarta")
        tomorrow = f"{jakarta + datetime.timedelta(days=1):%a}".lower()
        page.uncheck(f"input[name=day][value={tomorrow}]")
        page.fill("#name", "Pool")
        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        expect(page.locator("#c-sender")).to_have_text("waba pool-1, pool-2, pool-3")
        expect(page.locator("#c-calendar")).not_to_contain_text(tomorrow)
        expect(page.locator("#c-state")).to_have_text("completed", timeout=30_000)
        shares = page.locator("#pool-table tbody tr")
        expect(shares.locator("td:first-child")).to_have_text(["pool-1", "pool-2", "pool-3"])
        expect(shares.locator("[data-share=state]")).to_have_text(["done", "done", "out"])
        expect(shares.locator("[data-share=reason]").nth(2)).to_contain_text("419")
        expect(shares.locator("[data-share=remaining]")).to_have_text(["0", "0", "0"])
        sent = [int(t) for t in shares.locator("[data-share=sent]").all_inner_texts()]
        assert sum(sent) == len(pooled) and sent[2] == 0 and min(sent[:2]) > 0
        shoot(page, "campaign-pool")

        # its events could not reach the subscription: retried, then given up and replayed
        page.goto(url + "/ui/events")
        expect(hook.locator("[data-field=last_error]")).to_contain_text("connection error")
        expect(hook.locator("[data-field=dead]")).not_to_have_text("0", timeout=15_000)
        hook.locator("text=Dead letters").click()
        expect(page.locator("#dead-table tbody")).to_contain_text("campaign.started")
        given_up = page.locator("#dead-table tbody tr td:first-child").all_inner_texts()
        page.click("#dead-replay")
        expect(page.locator("#e-result")).to_contain_text("events queued again")
        # the replayed ones leave the list (queued behind the others, which go on failing and
        # may be given up meanwhile: the list need not be empty)
        for entry_id in given_up:
            expect(page.locator("#dead-table tbody")).not_to_contain_text(entry_id)
        replayed = int(page.locator("#e-result").inner_text().split()[0].replace(",", ""))
        assert replayed >= len(given_up) > 0
        shoot(page, "events")

        page.goto(url + "/ui/suppression")
        page.fill("#add-phones", "0812 3456 7890")
        page.click("#add-form button[type=submit]")
        expect(page.locator("#s-table tbody")).to_contain_text("+6281234567890")
        expect(page.locator("#s-table tbody")).to_contain_text("added by an operator")
        assert page.evaluate(UNLABELLED) == []
        shoot(page, "suppression")
        page.click("#s-table >> text=Remove")
        expect(page.locator("#s-empty")).to_be_visible()

        page.click("text=Sign out")
        expect(page).to_have_url(url + "/ui/login")
        assert page.request.get(url + "/campaigns").status == 401
        page.goto(f"{url}/ui/campaigns/{first}")
        assert "/ui/login" in page.url
        assert errors == []
        context.close()

    sent_to = [s["phone"] for s in sandbox.sends()["sends"]]
    # accepted sends: 5 of the first campaign (0001 is refused), the test, the second's 10,
    # the pool's 9
    assert len(sent_to) == len(set(sent_to)) == 5 + 1 + len(more) + len(pooled)


@pytest.mark.timeout(600)  # room for apt-get to install Chromium; the test takes about 10 s
def test_operator_drops_a_workbook_and_a_vcard_and_sees_the_columns_chosen(
    redis, chromium, tmp_path
):
    """No workers here: the campaigns are only created (their sends recorded), which is what
    shows that the sheet and the phone column chosen on the page reach the launch."""
    from playwright.sync_api import expect, sync_playwright

    dispatched = Recorder()
    with LiveServer(build_app(dispatched)) as server, sync_playwright() as pw:
        context, page, errors = open_browser(pw, chromium, tmp_path)
        url = server.url
        sign_in(page, expect, url)
        api = server.client(headers={"X-API-Key": API_KEY})

        # a workbook: its first visible sheet, then the sheet picked
        page.goto(url + "/ui/launch")
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        drop_file(page, "kontak.xlsx", xlsx, kontak_xlsx())
        expect(page.locator("#p-format")).to_have_text("Excel workbook (.xlsx)")
        expect(page.locator("#file-name")).to_have_text("kontak.xlsx, sheet Kontak: 4 rows read")
        expect(page.locator("#sheet-row")).to_be_visible()
        expect(page.locator("#sheet option")).to_have_text(["Arsip", "Kontak", "VIP"])
        expect(page.locator("#sheet")).to_have_value("Kontak")
        expect(page.locator("#p-explanation")).to_have_text("Phone from No HP. Name from Nama.")
        expect(page.locator("#p-encoding-fact")).to_be_hidden()
        expect(page.locator("#p-valid")).to_have_text("3")
        page.select_option("#sheet", "VIP")
        expect(page.locator("#p-explanation")).to_have_text(
            "Phone from Mobile Phone (1); Business Phone ignored: landline."
            " Name from First Name + Last Name."
        )
        expect(page.locator("#p-phones li")).to_have_text(
            ["Mobile Phone (mobile) 1 recipients", "Business Phone (work) ignored: landline"]
        )
        expect(page.locator("#phone-column option:checked")).to_have_text(
            "Automatic: the best of 2 phone columns, per row"
        )
        expect(page.locator("#rows-table thead th")).to_have_text(
            ["Line", "Phone", "First Name", "Last Name", "Business Phone", "name"]
        )
        expect(page.locator("#rows-table tbody td")).to_have_text(
            ["2", "+6285712345678", "Rudi", "Hartono", "(021) 5550 1000", "Rudi Hartono"]
        )
        page.fill("#sender", "waba-1")
        page.fill("#text", "Halo {name}")
        expect(page.locator("#message-preview")).to_have_text("Halo Rudi Hartono")
        expect(page.locator("#message-warning")).to_be_hidden()
        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        from_sheet = api.get("/campaigns/" + page.url.rsplit("/", 1)[1]).json()
        assert (from_sheet["total"], from_sheet["summary"]["sheet"]) == (1, "VIP")

        # a vCard: the best phone per card, then a phone column chosen by the operator
        page.goto(url + "/ui/launch")
        drop_file(page, "contacts.vcf", "text/vcard", (DATA / "android_21.vcf").read_bytes())
        expect(page.locator("#p-format")).to_have_text("vCard (.vcf)")
        expect(page.locator("#sheet-row")).to_be_hidden()
        expect(page.locator("#p-delimiter-fact")).to_be_hidden()
        expect(page.locator("#p-explanation")).to_have_text(
            "Phone from Mobile Phone (1); Work Phone ignored: landline."
        )
        expect(page.locator("#p-phones li").nth(1)).to_have_text(
            "Mobile Phone (mobile) 1 recipients"
        )
        expect(page.locator("#rejected-table tbody tr")).to_have_count(2)
        expect(page.locator("#rows-table tbody td").nth(1)).to_have_text("+6281334567002")
        page.select_option("#phone-column", "Home Phone")
        expect(page.locator("#p-explanation")).to_have_text(
            "Phone from Home Phone (the column chosen)."
        )
        expect(page.locator("#p-valid")).to_have_text("0")
        expect(page.locator("#p-rejected")).to_have_text("3")
        page.select_option("#phone-column", "Mobile Phone")
        expect(page.locator("#p-valid")).to_have_text("1")
        page.fill("#sender", "waba-1")
        page.fill("#text", "Halo {name}")
        expect(page.locator("#message-preview")).to_have_text("Halo René Saputra Kusumawan")
        assert page.evaluate(UNLABELLED) == []
        shoot(page, "launch-vcard")
        page.click("#launch")
        page.wait_for_url(f"{url}/ui/campaigns/c*")
        chosen = api.get("/campaigns/" + page.url.rsplit("/", 1)[1]).json()["summary"]
        assert chosen["explanation"] == "Phone from Mobile Phone (the column chosen)."
        assert chosen["valid"] == 1
        assert errors == []
        api.close()
        context.close()
    assert len(dispatched.campaigns) == 2, json.dumps(dispatched.calls)
