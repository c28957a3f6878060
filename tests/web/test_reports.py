"""GET /campaigns/{id}/recipients (paged, by status) and the streamed report.csv."""

import csv
import io

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.contacts import Contact
from broadcaster.reports import neutralise as neutralize
from tests import factories

S = RecipientStatus


@pytest.fixture
def campaign(store):
    """250 recipients; 0 sent (wamid.0), 1 failed, the rest pending."""
    c = store.create(factories.campaign(), factories.contacts(250), window=2)
    store.start(c.id)
    factories.settle(store, c.id, 0, S.SENT, message_id="wamid.0")
    factories.settle(store, c.id, 1, S.FAILED, error="131026: undeliverable")
    return c.id


def test_recipients_are_paged_in_file_order(client, campaign):
    page = client.get(f"/campaigns/{campaign}/recipients", params={"offset": 100, "limit": 50})
    body = page.json()
    assert body["total"] == 250 and body["offset"] == 100 and body["limit"] == 50
    assert [r["index"] for r in body["items"]] == list(range(100, 150))
    assert body["items"][0]["phone"] == factories.phone(100)
    assert body["items"][0]["variables"] == {"name": "N100"}
    first = client.get(f"/campaigns/{campaign}/recipients", params={"limit": 1}).json()
    row = first["items"][0]
    assert row["status"] == "sent" and row["message_id"] == "wamid.0" and row["attempts"] == 1
    assert row["updated_at"].endswith("Z")


def test_recipients_filter_by_status(client, campaign):
    body = client.get(f"/campaigns/{campaign}/recipients", params={"status": "failed"}).json()
    assert body["total"] == 1
    assert [(r["index"], r["error"]) for r in body["items"]] == [(1, "131026: undeliverable")]


@pytest.mark.parametrize(
    "params", [{"status": "lost"}, {"limit": 1001}, {"limit": 0}, {"offset": -1}]
)
def test_recipient_query_errors_name_the_parameter(client, campaign, params):
    response = client.get(f"/campaigns/{campaign}/recipients", params=params)
    assert response.status_code == 422
    assert f"query.{next(iter(params))}" in response.json()["detail"]


def test_report_csv_streams_every_recipient_with_formulas_neutralised(client, store):
    contacts = [
        Contact(2, factories.phone(0), {"name": '=HYPERLINK("http://x")'}),
        Contact(3, factories.phone(1), {"name": "+1"}),
        Contact(4, factories.phone(2), {"name": "-2"}),
        Contact(5, factories.phone(3), {"name": "@SUM(A1)"}),
        Contact(6, factories.phone(4), {"name": "\tTab"}),
        Contact(7, factories.phone(5), {"name": 'Budi, "B"'}),
    ]
    c = store.create(factories.campaign(), contacts, window=6)
    with client.stream("GET", f"/campaigns/{c.id}/report.csv") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        text = response.read().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "index", "phone", "status", "attempts", "updated_at", "message_id", "error", "reply",
        "name",
    ]  # fmt: skip
    names = [r[-1] for r in rows[1:]]
    assert names == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tTab", "Budi, \"B\"",
    ]  # fmt: skip
    assert rows[1][:4] == ["0", factories.phone(0), "pending", "0"]


def test_report_of_many_rows_comes_in_chunks(client, campaign):
    with client.stream("GET", f"/campaigns/{campaign}/report.csv") as response:
        lines = [line for line in response.iter_lines() if line]
    assert len(lines) == 251
    assert lines[2].split(",")[2:7] == [
        "failed",
        "1",
        lines[2].split(",")[4],
        "",
        "131026: undeliverable",
    ]


def test_report_of_an_unknown_campaign_is_a_json_404(client):
    response = client.get("/campaigns/cnope/report.csv")
    assert response.status_code == 404
    assert response.json()["detail"] == "campaign 'cnope' not found"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=1+1", "'=1+1"), ("+62", "'+62"), ("-", "'-"), ("@a", "'@a"), ("\rx", "'\rx"),
     ("Budi", "Budi"), ("", ""), ("a=b", "a=b")],
)  # fmt: skip
def test_neutralize(cell, expected):
    assert neutralize(cell) == expected
