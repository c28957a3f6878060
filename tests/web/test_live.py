"""End to end over real HTTP: the app under uvicorn, real Celery workers, the sandbox.

A campaign uploaded as a CSV completes through a worker; the sandbox's callbacks come back
to the app's webhook and turn recipients delivered, then read; a "STOP" reply puts the number
on the suppression list and a later campaign skips it.
"""

import time

import httpx
import pytest

from tests import factories
from tests.web.conftest import AUTH, WEBHOOK_SECRET, LiveServer, build_app, csv_bytes

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout=45.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def upload(http: httpx.Client, phones: list[str], name: str) -> dict:
    data = csv_bytes([[p, f"N{i}"] for i, p in enumerate(phones)])
    response = http.post(
        "/campaigns",
        data={"name": name, "sender": "waba-1", "text": "Halo {name}", "rate_per_minute": "6000"},
        files={"file": (f"{name}.csv", data, "text/csv")},
    )
    assert response.status_code == 201, response.text
    return response.json()


def statuses(http: httpx.Client, cid: str) -> dict[str, dict]:
    page = http.get(f"/campaigns/{cid}/recipients").json()
    return {r["phone"]: r for r in page["items"]}


def test_uploaded_campaign_completes_and_callbacks_come_back(redis, sandbox, workers):
    sandbox.configure(rate_limit_per_minute=0, callback_delay_ms=400)
    with LiveServer(build_app(replai_base_url=sandbox.url)) as server:
        sandbox.configure(webhook_url=f"{server.url}/webhooks/replai/{WEBHOOK_SECRET}")
        workers.start("w1", concurrency=4)
        http = server.client(headers=AUTH)
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["workers"] >= 1, health.text

        plain, unread = factories.phone(0), factories.phone(1, suffix=13)
        stop, bad = factories.phone(2, suffix=9), factories.phone(3, suffix=1)
        created = upload(http, [plain, unread, stop, bad, "12"], "first")
        cid = created["id"]
        assert created["summary"]["valid"] == 4
        assert created["summary"]["errors"][0]["line"] == 6

        seen: list[str] = []

        def plain_read() -> bool:
            status = statuses(http, cid)[plain]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            return status == "read"

        wait_for(plain_read)
        assert seen.index("delivered") < seen.index("read"), seen
        wait_for(lambda: http.get(f"/campaigns/{cid}").json()["state"] == "completed")
        wait_for(lambda: stop in {i["phone"] for i in http.get("/suppression").json()["items"]})
        wait_for(lambda: statuses(http, cid)[stop]["reply"] == "STOP")

        rows = statuses(http, cid)
        assert rows[unread]["status"] == "delivered"
        assert rows[stop]["status"] == "read"
        assert rows[bad]["status"] == "failed" and rows[bad]["error"].startswith("131026")
        detail = http.get(f"/campaigns/{cid}").json()
        assert detail["replies"] == 1 and detail["opted_out"] == 1
        assert detail["progress"]["counts"]["read"] == 2
        assert detail["progress"]["percent"] == 100
        report = http.get(f"/campaigns/{cid}/report.csv").text
        assert f"{stop},read" in report and "STOP" in report

        again = upload(http, [stop, factories.phone(4)], "second")
        assert again["summary"]["suppressed"] == 1 and again["campaign"]["total"] == 1
        wait_for(lambda: http.get(f"/campaigns/{again['id']}").json()["state"] == "completed")
        assert list(statuses(http, again["id"])) == [factories.phone(4)]
        sent_to = [s["phone"] for s in sandbox.sends()["sends"]]
        assert sent_to.count(stop) == 1
        http.close()


def test_a_chunked_upload_over_the_limit_is_stopped_by_the_server(redis, dispatched):
    with LiveServer(build_app(dispatched, max_upload_bytes=2000)) as server:
        chunks = (b"phone,name\n" + b"081234567890,Budi\n" * 20 for _ in range(20))
        with server.client(headers=AUTH) as http:
            response = http.post(
                "/campaigns",
                content=chunks,
                headers={"content-type": "multipart/form-data; boundary=x"},
            )
    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.json()["detail"]
    assert dispatched.calls == []
