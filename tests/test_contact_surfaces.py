"""Every contact file, through every edge: `enqueue_broadcast`, `POST /campaigns`,
`POST /campaigns/preview` and `broadcaster launch`, against the real app and Redis.

Each file of `tests/contact_files.py` (the fixtures of `tests/data/contacts/` and the
workbooks made there) must give the same recipients, in file order with their `{name}`, and
the same rejected rows, whichever way it comes in; a workbook's sheet is named the same way
everywhere (`sheet=`, the form field `sheet`, `--sheet`).
"""

import io
import json

import pytest
from typer.testing import CliRunner

from broadcaster.cli import app as cli_app
from broadcaster.enqueue import enqueue_broadcast
from broadcaster.errors import ContactImportError, NoPhoneColumn
from tests import factories
from tests.contact_files import DATA, FILES, ContactFile, check_summary, kontak_xlsx, workbook
from tests.web.conftest import AUTH, Recorder, TestClient, build_app

CASES = [pytest.param(f, id=f.id) for f in FILES]
TEXT = "Halo, promo hari ini"


def text_for(f: ContactFile) -> str:
    """`{name}` where the file gives one (the store keeps only the variables a message uses)."""
    return "Halo {name}" if any(name for _, _, name in f.recipients) else TEXT


@pytest.fixture
def store(redis):
    return factories.store(redis)


@pytest.fixture
def web(redis):
    recorder = Recorder()
    with TestClient(build_app(recorder), headers=AUTH) as client:
        yield client, recorder


def stored(store, campaign_id: str) -> list[tuple[str, str | None]]:
    return [(r.phone, r.variables.get("name")) for r in store.iter_rows(campaign_id)]


def expected_rows(f: ContactFile) -> list[tuple[str, str | None]]:
    return [(phone, name) for _, phone, name in f.recipients]


def form(f: ContactFile, **fields: str) -> dict[str, object]:
    data = {"sender": "waba-1", "text": text_for(f), **fields}
    if f.sheet:
        data["sheet"] = f.sheet
    return {"data": data, "files": {"file": (f.name, f.content(), "application/octet-stream")}}


def test_every_fixture_is_in_the_table():
    on_disk = {p.name for p in DATA.iterdir() if p.name != "README.md"}
    assert on_disk <= {f.name for f in FILES}


@pytest.mark.parametrize("f", CASES)
def test_enqueue_broadcast(store, f, tmp_path):
    path = tmp_path / f.name
    path.write_bytes(f.content())
    published = factories.Published()
    result = enqueue_broadcast(
        path, sender="waba-1", text=text_for(f), sheet=f.sheet, store=store, dispatch=published
    )
    check_summary(dict(result.summary), f)
    assert stored(store, result.campaign.id) == expected_rows(f)
    assert published.calls == [(result.campaign.id, list(range(len(f.recipients))))]


@pytest.mark.parametrize("f", CASES)
def test_post_campaigns(web, store, f):
    client, recorder = web
    response = client.post("/campaigns", **form(f))
    assert response.status_code == 201, response.text
    body = response.json()
    check_summary(body["summary"], f)
    assert body["campaign"]["total"] == len(f.recipients)
    assert stored(store, body["id"]) == expected_rows(f)
    assert recorder.campaigns == [body["id"]]


@pytest.mark.parametrize("f", CASES)
def test_post_campaigns_preview(web, store, f):
    client, recorder = web
    response = client.post("/campaigns/preview", **form(f))
    assert response.status_code == 200, response.text
    body = response.json()
    check_summary(body["summary"], f)
    assert [(r["line"], r["phone"], r["variables"].get("name")) for r in body["rows"]] == (
        f.recipients
    )
    assert store.list_campaigns() == [] and recorder.calls == []


# --- the column report and the choices, the same on every edge ----------------------------


def test_preview_says_where_the_phone_and_name_came_from(web):
    client, _ = web
    with (DATA / "outlook_desktop.csv").open("rb") as file:
        body = client.post("/campaigns/preview", files={"file": ("o.csv", file)}).json()
    summary = body["summary"]
    assert summary["explanation"] == (
        "Phone from Mobile Phone (1), Primary Phone (1); Business Phone ignored: landline;"
        " Pager ignored: landline. Name from First Name + Middle Name + Last Name."
    )
    report = {c["column"]: c for c in summary["phone_columns"]}
    assert report["Mobile Phone"] == {"column": "Mobile Phone", "kind": "mobile", "recipients": 1}
    assert report["Business Phone"]["ignored"] == "landline"
    assert summary["name_columns"] == ["First Name", "Middle Name", "Last Name"]
    assert (summary["header"], summary["sheets"]) == (True, [])


def test_preview_and_launch_take_a_chosen_phone_column_in_a_vcard(web, store):
    client, _ = web
    data = (DATA / "android_21.vcf").read_bytes()
    files = {"file": ("contacts.vcf", data)}
    preview = client.post("/campaigns/preview", files=files, data={"phone_column": "Work Phone"})
    summary = preview.json()["summary"]
    assert summary["explanation"].startswith("Phone from Work Phone (the column chosen)")
    assert (summary["valid"], summary["rejected"]) == (0, 3)
    fields = {"sender": "w", "text": TEXT, "phone_column": "Home Phone"}
    refused = client.post("/campaigns", files=files, data=fields)
    assert refused.status_code == 422  # the only Home number is a landline
    assert "no recipient to send to (3 rows rejected" in refused.json()["detail"]
    assert store.list_campaigns() == []


def test_a_workbook_whose_first_sheet_has_no_phone_column_offers_its_sheets(web, store):
    client, _ = web
    data = workbook({"Catatan": [["Nama", "Tanggal"], ["Budi", "2026-01-15"]], "HP": [["hp"]]})
    for path in ("/campaigns/preview", "/campaigns"):
        response = client.post(path, **form(ContactFile("b.xlsx", [], [], made=data)))
        assert response.status_code == 422
        body = response.json()
        assert body["detail"] == (
            "cannot import the contacts: no phone column found in the sheet 'Catatan' (columns:"
            " 'Nama', 'Tanggal'); name one 'phone', or say which column holds the numbers in"
            " the phone_column field, or read another sheet with the sheet field"
        )
        assert (body["columns"], body["sheet"], body["sheets"]) == (
            ["Nama", "Tanggal"],
            "Catatan",
            ["Catatan", "HP"],
        )
    missing = client.post("/campaigns", **form(ContactFile("b.xlsx", [], [], made=data,
                                                              sheet="VIP")))  # fmt: skip
    assert missing.status_code == 422
    assert missing.json()["sheets"] == ["Catatan", "HP"]
    assert "the workbook has no sheet 'VIP'" in missing.json()["detail"]
    assert store.list_campaigns() == []


def test_json_recipients_take_no_sheet(web):
    client, _ = web
    body = {"sender": "w", "text": TEXT, "recipients": [{"phone": "0812 3456 7890"}]}
    response = client.post("/campaigns", json=body | {"sheet": "Kontak"})
    assert response.status_code == 422
    assert "body.sheet: Extra inputs are not permitted" in response.json()["detail"]


def test_enqueue_broadcast_names_the_missing_sheet(store):
    with pytest.raises(ContactImportError) as info:
        enqueue_broadcast(
            io.BytesIO(kontak_xlsx()), sender="w", text=TEXT, sheet="Lain", store=store,
            dispatch=factories.Published(),
        )  # fmt: skip
    assert str(info.value) == "the workbook has no sheet 'Lain' (sheets: 'Arsip', 'Kontak', 'VIP')"
    assert info.value.sheets == ["Arsip", "Kontak", "VIP"]
    assert store.list_campaigns() == []


def test_no_phone_column_error_lists_the_sheets():
    error = NoPhoneColumn(["Nama"], sheet="Catatan", sheets=["Catatan", "HP"])
    assert str(error).startswith("no phone column found in the sheet 'Catatan' (columns: 'Nama')")
    assert "sheet" not in str(NoPhoneColumn(["Nama"], sheet="Satu", sheets=["Satu"]))


# --- the command line ----------------------------------------------------------------------

runner = CliRunner()


def test_cli_launch_reads_a_named_sheet_and_prints_where_the_columns_came_from(redis, tmp_path):
    path = tmp_path / "kontak.xlsx"
    path.write_bytes(kontak_xlsx())
    result = runner.invoke(cli_app, [
        "launch", str(path), "--sender", "w", "--text", "Halo {name}", "--sheet", "VIP",
        "--dry-run",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"Imported {path} (xlsx, sheet 'VIP' of 'Arsip', 'Kontak', 'VIP'): 2 rows -> 1 "
        "recipients (0 duplicate, 0 suppressed, 1 rejected)"
    )
    assert lines[1] == (
        "  Phone from Mobile Phone (1); Business Phone ignored: landline."
        " Name from First Name + Last Name."
    )
    assert lines[2] == (
        "  Phone columns, best first: Mobile Phone, Business Phone (each row uses the first that"
        " holds a mobile number)"
    )
    assert lines[3].startswith("  rejected line 3: no valid mobile number (Business Phone")


def test_cli_launch_says_when_there_was_no_header_and_rows_were_short(redis):
    for name, words in [
        ("headerless.txt", "No header: the first line is already a phone number."),
        ("short_rows.csv", "3 short rows: missing fields read as empty."),
    ]:
        result = runner.invoke(cli_app, [
            "launch", str(DATA / name), "--sender", "w", "--text", TEXT, "--dry-run",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert words in result.stdout.splitlines()[1]


def test_cli_launch_json_of_a_vcard_with_the_sheet_option_ignored(redis):
    result = runner.invoke(cli_app, [
        "launch", str(DATA / "icloud_30.vcf"), "--sender", "w", "--text", "Halo {name}",
        "--sheet", "Kontak", "--dry-run", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["recipients"] == ["6287834567102", "6281122227104"]
    assert (data["summary"]["format"], data["summary"]["sheet"]) == ("vcard", None)


def test_cli_no_phone_column_in_a_workbook_suggests_another_sheet(redis, tmp_path):
    path = tmp_path / "b.xlsx"
    path.write_bytes(workbook({"Catatan": [["Nama"], ["Budi"]], "HP": [["hp"]]}))
    result = runner.invoke(cli_app, ["launch", str(path), "--sender", "w", "--text", TEXT])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "pass --phone-column NAME (or another sheet: --sheet NAME)"
    )
