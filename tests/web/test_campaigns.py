"""POST /campaigns (CSV upload and JSON), GET /campaigns, GET /campaigns/{id}."""

import datetime

import pytest

from tests import factories
from tests.web.conftest import AUTH, Recorder, TestClient, build_app, csv_bytes


def upload(client, data: bytes, **fields):
    fields.setdefault("sender", "waba-1")
    fields.setdefault("text", "Halo {name}")
    return client.post("/campaigns", data=fields, files={"file": ("contacts.csv", data)})


def test_csv_upload_creates_and_starts_a_campaign(client, store, dispatched):
    rows = [[factories.phone(i), f"N{i}"] for i in range(3)]
    rows.insert(1, ["12", "Bad"])
    response = upload(client, csv_bytes(rows), name="promo", rate_per_minute="600")
    assert response.status_code == 201, response.text
    body = response.json()
    cid = body["id"]
    assert body["campaign"]["name"] == "promo"
    assert body["campaign"]["total"] == 3
    assert body["campaign"]["rate_per_minute"] == 600
    assert body["summary"]["valid"] == 3
    assert body["summary"]["rejected"] == 1
    assert body["summary"]["errors"] == [
        {"line": 3, "reason": body["summary"]["errors"][0]["reason"]}
    ]
    assert "12" in body["summary"]["errors"][0]["reason"]
    assert body["campaign"]["state"] == "running"
    assert dispatched.calls == [(cid, [0, 1, 2])]
    assert store.get(cid).total == 3


def test_an_upload_with_sending_hours_blackout_and_expiry(client, store):
    data = csv_bytes([[factories.phone(1), "B"]])
    response = client.post(
        "/campaigns",
        data={"sender": "waba-1", "text": "Halo {name}", "hours": "08:00-12:00,13:00-16:00",
              "days": "mon-sat", "tz": "Asia/Jayapura", "blackout": ["2030-01-01", "2030-01-02"],
              "expires_at": "2030-02-01T00:00:00Z", "local_time": "false"},
        files={"file": ("contacts.csv", data)},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    out = response.json()["campaign"]
    assert out["calendar"] == (
        "mon-sat 08:00-12:00,13:00-16:00 (Asia/Jayapura), not on 2030-01-01, 2030-01-02"
    )
    assert out["expires_at"].startswith("2030-02-01T00:00:00")
    assert store.get(out["id"]).calendar.local is False


def test_json_recipients_create_a_campaign(client, store, dispatched):
    response = client.post(
        "/campaigns",
        json={
            "sender": "dev-1",
            "channel": "device",
            "text": "Halo {name}, kode {code}",
            "recipients": [
                {"phone": "0812 3456 7890", "name": "Budi", "code": "A1"},
                {"phone": "+62 813-1111-5001", "name": "Sari", "code": "B2"},
                {"phone": "0812 3456 7890", "name": "Budi again", "code": "A1"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["summary"]["valid"] == 2
    assert body["summary"]["duplicates"] == 1
    assert body["campaign"]["channel"] == "device"
    rows = list(store.iter_rows(body["id"]))
    assert [r.phone for r in rows] == ["6281234567890", "6281311115001"]
    assert rows[0].variables == {"name": "Budi", "code": "A1"}
    assert dispatched.campaigns == [body["id"]]


def test_api_campaigns_get_a_window_capped_by_their_tightest_limit(redis, store):
    app = build_app(Recorder(), rate_waba_per_minute=6000, sender_rate="80/s")
    with TestClient(app, headers=AUTH) as client:

        def window(**fields):
            recipients = [{"phone": f"0812345678{i:02d}"} for i in range(3)]
            body = {"sender": "w", "text": "Halo", "recipients": recipients} | fields
            response = client.post("/campaigns", json=body)
            assert response.status_code == 201, response.text
            return int(store.redis.hget(store.keys.campaign(response.json()["id"]), "window"))

        assert window(rate_per_minute=1200) == 40  # what 20/s sends in 2 s
        assert window() == 160  # the sender's 80/s (under the account's 100/s): 160 in 2 s
        refused = client.post("/campaigns", json={
            "sender": "w", "text": "Halo", "rate_per_minute": 6000,
            "recipients": [{"phone": "081234567801"}],
        })  # fmt: skip
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "a rate of 100/s is more than sender w: 80/s allows: ask for at most 80/s, "
            "or leave the rate out"
        )
        assert store.list_campaigns() != [] and len(store.list_campaigns()) == 2


def test_template_params_repeat_and_send_at_is_kept(redis, sandbox, store, dispatched):
    app = build_app(dispatched, replai_base_url=sandbox.url)  # templates checked at the sandbox
    with TestClient(app, headers=AUTH) as c:
        templates = app.state.resources.client().get_templates("waba-1")
        template = next(t for t in templates if t.param_count == 1)
        response = c.post(
            "/campaigns",
            data={
                "sender": "waba-1",
                "template": template.name,
                "params": ["name"],
                "send_at": "2030-01-02T03:04:05",  # no offset: UTC
                "text": "",  # a blank form input means "not given"
            },
            files={"file": ("c.csv", csv_bytes([[factories.phone(1), "Budi"]]))},
        )
    assert response.status_code == 201, response.text
    campaign = response.json()["campaign"]
    assert campaign["params"] == ["{name}"]
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert datetime.datetime.fromisoformat(campaign["send_at"]) == when
    assert store.get(campaign["id"]).send_at == when.timestamp()
    assert campaign["state"] == "scheduled"
    assert dispatched.calls == []  # the ticker starts it then


def test_unknown_template_is_refused_naming_the_templates(client, sandbox, store):
    with TestClient(build_app(replai_base_url=sandbox.url), headers=AUTH) as c:
        response = upload(c, csv_bytes([[factories.phone(1), "B"]]), text=None, template="nope")
    assert response.status_code == 422
    assert "template 'nope' not found" in response.json()["detail"]
    assert store.list_campaigns() == []


def test_csv_without_a_usable_row_is_refused_with_line_numbers(client, store, dispatched):
    data = csv_bytes([["12345", "A"], ["", "B"], ["0812abc", "C"]])
    response = upload(client, data)
    assert response.status_code == 422
    body = response.json()
    assert [e["line"] for e in body["errors"]] == [2, 3, 4]
    assert "line 2" in body["detail"] and "fix the rows" in body["detail"]
    assert body["summary"]["rejected"] == 3
    assert store.list_campaigns() == [] and dispatched.calls == []
    assert list(store.redis.scan_iter("bc:c:*")) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, "ZIP"),
        (b"", "empty"),
        (b"nama,kota\nBudi,Bandung\n", "no phone column"),
    ],
)
def test_unreadable_file_is_refused(client, store, data, expected):
    response = upload(client, data)
    assert response.status_code == 422
    assert expected.lower() in response.json()["detail"].lower()
    assert store.list_campaigns() == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"sender": ""}, "body.sender"),
        ({"text": "Halo {nama}"}, "placeholders ['nama']"),
        ({"template": "x"}, "either a text or a template"),
        ({"channel": "sms"}, "body.channel"),
        ({"rate_per_minute": "-1"}, "body.rate_per_minute"),
        ({"send_at": "tomorrow"}, "body.send_at"),
        ({"message": "Halo"}, "body.message: Extra inputs are not permitted"),
        ({"hours": "9 to 5"}, "HH:MM-HH:MM"),
        ({"hours": "09:00-17:00", "days": "weekdays"}, "days 'weekdays'"),
        ({"hours": "09:00-17:00", "tz": "Jakarta"}, "unknown timezone 'Jakarta'"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at is in the past"),
    ],
)
def test_bad_fields_get_a_message_naming_them(client, store, fields, expected):
    response = upload(client, csv_bytes([[factories.phone(1), "B"]]), **fields)
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]
    assert store.list_campaigns() == []


def test_upload_without_file_or_with_another_type_says_how(client):
    response = client.post(
        "/campaigns", data={"sender": "w", "text": "x"}, files={"x": ("a", b"")}
    )
    assert response.status_code == 422
    assert "field 'file'" in response.json()["detail"]
    response = client.post(
        "/campaigns", content=b"phone\n0812", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]


def test_json_body_errors_are_located(client):
    response = client.post("/campaigns", json={"sender": "w", "text": "x", "recipients": []})
    assert response.status_code == 422
    assert "body.recipients" in response.json()["detail"]
    response = client.post(
        "/campaigns", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("invalid request: body")


def test_oversized_upload_is_refused_with_413(redis, dispatched, store):
    app = build_app(dispatched, max_upload_bytes=1000)
    data = csv_bytes([[factories.phone(i), "N" * 20] for i in range(100)])
    with TestClient(app, headers=AUTH) as c:
        response = upload(c, data)
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]
    assert store.list_campaigns() == [] and dispatched.calls == []


def test_oversized_chunked_upload_without_length_is_stopped(redis, dispatched, store):
    app = build_app(dispatched, max_upload_bytes=1000)
    sent = []

    def body():
        for _ in range(50):
            sent.append(1)
            yield b'{"recipients": [' + b" " * 200

    with TestClient(app, headers=AUTH) as c:
        response = c.post(
            "/campaigns", content=body(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert store.list_campaigns() == []


def test_list_and_get_campaigns(client, store):
    ids = [
        upload(client, csv_bytes([[factories.phone(i), "N"]]), name=f"c{i}").json()["id"]
        for i in range(3)
    ]
    page = client.get("/campaigns", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    assert page["items"][0]["progress"]["counts"]["queued"] == 1  # started; no worker here
    detail = client.get(f"/campaigns/{ids[0]}").json()
    assert detail["name"] == "c0" and detail["state"] == "running"
    assert detail["progress"]["total"] == 1 and detail["progress"]["percent"] == 0
    assert detail["progress"]["activity"] == "sending"
    assert detail["progress"]["rate"] is None  # nothing reached Replai yet
    assert detail["summary"]["valid"] == 1
    assert set(detail["progress"]) >= {"state", "counts", "done", "rate", "eta", "percent"}


def test_unknown_campaign_is_404(client):
    response = client.get("/campaigns/cnope")
    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 'cnope' not found"}


def room_of(redis, room: int) -> int:
    """A maxmemory that leaves `room` bytes usable above what is used now, 10 % kept free."""
    return int((int(redis.info("memory")["used_memory"]) + room) / 0.9)


def test_a_campaign_that_would_not_fit_in_redis_is_refused_with_507(
    client, store, dispatched, redis, maxmemory
):
    maxmemory(room_of(redis, 200_000))  # room for ~660 recipients at 300 B
    recipients = [{"phone": factories.phone(i), "name": "x"} for i in range(2000)]
    response = client.post(
        "/campaigns", json={"sender": "w", "text": "Halo {name}", "recipients": recipients}
    )
    assert response.status_code == 507, response.text
    detail = response.json()["detail"]
    assert "no room for a campaign of 2,000 recipients" in detail, detail
    assert "more recipients fit" in detail and "maxmemory" in detail
    assert store.list_campaigns() == [] and dispatched.calls == []
    assert list(redis.scan_iter("bc:c:*")) == []  # what the import wrote is gone
    maxmemory(0)  # room made: the same request goes through
    again = client.post(
        "/campaigns", json={"sender": "w", "text": "Halo {name}", "recipients": recipients}
    )
    assert again.status_code == 201, again.text


def test_no_campaign_is_read_when_redis_is_already_full(client, store, redis, maxmemory):
    maxmemory(free=1024)
    response = client.post(
        "/campaigns", json={"sender": "w", "text": "Hi", "recipients": [{"phone": "081234567890"}]}
    )
    assert response.status_code == 507
    assert "no room for a new campaign" in response.json()["detail"]


def test_a_campaign_with_a_sender_pool_over_json_and_a_csv_upload(client, store):
    recipients = [{"phone": factories.phone(i)} for i in range(30)]
    body = {"sender": "w1", "senders": ["w2", "w3"], "text": "Halo", "recipients": recipients}
    response = client.post("/campaigns", json=body)
    assert response.status_code == 201, response.text
    cid = response.json()["id"]
    assert response.json()["campaign"]["senders"] == ["w1", "w2", "w3"]
    assert store.get(cid).senders == ("w1", "w2", "w3")
    assert len(store.redis.get(store.keys.senders(cid))) == 30
    data = csv_bytes([[factories.phone(1), "B"]])
    uploaded = upload(client, data, sender="w1", senders=["w2", "w3"])
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["campaign"]["senders"] == ["w1", "w2", "w3"]
    progress = client.get(f"/campaigns/{cid}").json()["progress"]
    assert set(progress["per_sender"]) == {"w1", "w2", "w3"}
    # each sender's share: none sent yet, all 30 waiting spread over the pool; one taken out
    pool = client.get(f"/campaigns/{cid}").json()["pool"]
    assert [s["sender"] for s in pool] == ["w1", "w2", "w3"]
    assert sum(s["remaining"] for s in pool) == 30 and all(s["remaining"] for s in pool)
    assert {(s["sent"], s["state"], s["out_reason"]) for s in pool} == {(0, "sending", None)}
    store.take_out(cid, "w2", "419: device disconnected")
    w2 = client.get(f"/campaigns/{cid}").json()["pool"][1]
    assert (w2["state"], w2["out_reason"]) == ("out", "419: device disconnected")
    one = client.get(f"/campaigns/{uploaded.json()['id']}").json()["pool"]
    assert sorted(s["remaining"] for s in one) == [0, 0, 1]


def test_the_configured_senders_for_the_pool_picker(redis, client):
    assert client.get("/senders").json() == []
    senders = {"w2": {"rate": "2/s", "account": "brand-b"}, "w1": {}}
    accounts = {"brand-b": {"token": "u"}}
    with TestClient(build_app(senders=senders, accounts=accounts), headers=AUTH) as c:
        listed = c.get("/senders").json()
    assert [(s["id"], s["account"]) for s in listed] == [("w1", "default"), ("w2", "brand-b")]
    assert listed[1]["rate_per_minute"] == 120.0 and listed[0]["rate_per_minute"] > 120.0
