"""The suppression list: list, add, remove, import a CSV; later imports skip its numbers."""

import datetime
import time

from tests import factories
from tests.web.conftest import csv_bytes


def phones(response) -> list[str]:
    return [item["phone"] for item in response.json()["items"]]


def test_add_list_search_and_remove(client, store):
    response = client.post(
        "/suppression", json={"phones": ["0812 3456 7890", "+62 813-1111-5001", "081234567890"]}
    )
    assert response.status_code == 200
    assert response.json() == {"added": 2, "phones": ["6281234567890", "6281311115001"]}
    assert client.post("/suppression", json={"phones": ["0812-3456-7890"]}).json()["added"] == 0
    page = client.get("/suppression").json()
    assert (page["offset"], page["limit"], page["total"]) == (0, 100, 2)
    assert [i["phone"] for i in page["items"]] == ["6281234567890", "6281311115001"]
    assert {i["source"] for i in page["items"]} == {"manual"}
    added_at = datetime.datetime.fromisoformat(page["items"][0]["opted_out_at"])
    assert abs(added_at.timestamp() - time.time()) < 60
    assert phones(client.get("/suppression", params={"q": "1111"})) == ["6281311115001"]
    assert phones(client.get("/suppression", params={"offset": 1, "limit": 1})) == [
        "6281311115001"
    ]
    response = client.delete("/suppression/0812 3456 7890")
    assert response.json() == {"phone": "6281234567890", "removed": True}
    assert store.suppressed() == {"6281311115001"}
    response = client.delete("/suppression/6281234567890")
    assert response.status_code == 404
    assert "not on the suppression list" in response.json()["detail"]


def test_invalid_numbers_refuse_the_whole_request(client, store):
    response = client.post("/suppression", json={"phones": ["081234567890", "12", "halo"]})
    assert response.status_code == 422
    body = response.json()
    assert [i["phone"] for i in body["invalid"]] == ["12", "halo"]
    assert store.suppressed() == set()
    assert client.post("/suppression", json={"phones": []}).status_code == 422
    assert client.delete("/suppression/12").status_code == 422


def test_import_csv_adds_numbers_and_reports_bad_rows(client, store):
    store.suppress([factories.phone(0)])
    data = csv_bytes(
        [
            [factories.phone(0), "a"],
            [factories.phone(1), "b"],
            ["99", "c"],
            [factories.phone(2), "d"],
        ],
        header=("nomor_hp", "nama"),
    )
    response = client.post("/suppression/import", files={"file": ("stop.csv", data)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == 2
    assert body["summary"]["suppressed"] == 1
    assert [e["line"] for e in body["summary"]["errors"]] == [4]
    assert store.suppressed() == {factories.phone(i) for i in range(3)}
    sources = {e.phone: e.source for e in store.suppression_entries()}
    assert sources == {factories.phone(0): "manual", factories.phone(1): "import",
                       factories.phone(2): "import"}  # fmt: skip


def test_import_needs_a_readable_csv(client):
    response = client.post("/suppression/import", files={"file": ("x.csv", b"a,b\n1,2\n")})
    assert response.status_code == 422
    assert "no phone column" in response.json()["detail"]
    response = client.post("/suppression/import", data={"phone_column": "x"})
    assert response.status_code == 422
    assert "field 'file'" in response.json()["detail"]


def test_a_later_campaign_skips_suppressed_numbers(client, store):
    client.post("/suppression", json={"phones": [factories.phone(1)]})
    data = csv_bytes([[factories.phone(i), f"N{i}"] for i in range(3)])
    response = client.post(
        "/campaigns", data={"sender": "w", "text": "Hi {name}"}, files={"file": ("c.csv", data)}
    )
    assert response.status_code == 201
    assert response.json()["summary"]["suppressed"] == 1
    rows = store.iter_rows(response.json()["id"])
    assert [r.phone for r in rows] == [factories.phone(0), factories.phone(2)]
