"""Malformed contact files, end to end: a clear error, and no campaign left behind.

Each file of `tests/data/bad/` (and the big ones generated here) goes through
`enqueue_broadcast` (the core) and through `POST /campaigns` (the web API). Either way the
answer names the problem (`ContactImportError`, or 422 with a JSON `detail`), nothing is
dispatched, and Redis holds no key of any campaign afterwards, also when the problem is found
after thousands of rows were already written (the import is rolled back).

`tests/test_contacts.py` covers the parser's own handling of such files; this suite is about
what reaches the store and the operator.
"""

import io
from pathlib import Path

import pytest

from broadcaster.enqueue import enqueue_broadcast
from broadcaster.errors import ContactImportError
from broadcaster.store import CampaignStore
from tests import factories
from tests.web.conftest import AUTH, Recorder, TestClient, build_app

BAD = Path(__file__).parent / "data" / "bad"

#: file -> words the error must contain (lower case)
UNREADABLE = {
    "binary_junk.csv": "does not look like a csv file (binary content",
    "empty.csv": "the file is empty",
    "nul_bytes.csv": "does not look like a csv file (binary content",
    "utf16_without_bom.csv": "does not look like a csv file (binary content",
    "zip_renamed.csv": "it is a zip archive, such as an .xlsx workbook",
    "gzip_renamed.csv": "it is a gzip archive",
    "mixed_utf16_utf8.csv": "is not valid utf-16",
}


def test_the_corpus_is_complete():
    on_disk = {p.name for p in BAD.iterdir()}
    assert on_disk == set(UNREADABLE) | {"header_only.csv", "mixed_encodings.csv"}
    assert (BAD / "empty.csv").stat().st_size == 0
    assert all(p.stat().st_size < 8192 for p in BAD.iterdir())


# --- generated files, too big to commit ------------------------------------------------------


def ten_mb_single_line(tmp_path: Path) -> Path:
    """One line of 10 MB, no newline: the header itself is too long."""
    path = tmp_path / "one_line.csv"
    path.write_bytes(b"phone,name," + b"x" * 10_000_000)
    return path


def ten_mb_line_after_6000_rows(tmp_path: Path) -> Path:
    """6,000 good rows (more than one import batch is written to Redis), then a 10 MB line."""
    path = tmp_path / "long_tail.csv"
    rows = "".join(f"0{factories.phone(i)[2:]},N{i}\n" for i in range(6000))
    path.write_bytes(b"phone,name\n" + rows.encode() + b"08131111222," + b"y" * 10_000_000)
    return path


def hundred_thousand_columns(tmp_path: Path) -> Path:
    path = tmp_path / "wide.csv"
    header = ",".join(["phone", *(f"c{n}" for n in range(100_000))])
    path.write_text(header + "\n" + "081234567890" + "," * 100_000 + "\n")
    return path


GENERATED = {
    "10 MB single line": (ten_mb_single_line, "line 1 is too long"),
    "10 MB line after 6,000 rows": (ten_mb_line_after_6000_rows, "line 6002 is too long"),
    "100k columns": (hundred_thousand_columns, "the header has 100,001 columns"),
}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def store(redis):
    return factories.store(redis)


def assert_nothing_stored(store: CampaignStore) -> None:
    assert store.list_campaigns() == []
    assert list(store.redis.scan_iter("bc:c:*")) == [], "keys of a campaign were left behind"
    assert store.redis.zcard(store.keys.campaigns()) == 0
    assert store.redis.scard(store.keys.running()) == 0


def enqueue(store: CampaignStore, source, dispatched: list[str]):
    """enqueue_broadcast; `dispatched` gets the campaigns whose sends were published."""
    recorder = factories.Published()
    try:
        return enqueue_broadcast(
            source, sender="waba-1", text="Halo {name}", store=store, dispatch=recorder
        )
    finally:
        dispatched.extend(recorder.campaigns)


def upload(client: TestClient, data: bytes, filename: str = "contacts.csv"):
    return client.post(
        "/campaigns",
        data={"sender": "waba-1", "text": "Halo {name}"},
        files={"file": (filename, data, "text/csv")},
    )


@pytest.fixture
def web(redis):
    recorder = Recorder()
    with TestClient(build_app(recorder), headers=AUTH) as client:
        yield client, recorder


# --- the core: enqueue_broadcast -------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), sorted(UNREADABLE.items()))
def test_enqueue_refuses_an_unreadable_file_and_stores_nothing(store, name, expected):
    dispatched: list[str] = []
    with pytest.raises(ContactImportError) as info:
        enqueue(store, BAD / name, dispatched)
    assert expected in str(info.value).lower()
    assert dispatched == []
    assert_nothing_stored(store)


@pytest.mark.parametrize("label", sorted(GENERATED))
def test_enqueue_refuses_a_huge_file_and_stores_nothing(store, tmp_path, label):
    make, expected = GENERATED[label]
    dispatched: list[str] = []
    with pytest.raises(ContactImportError, match=expected):
        enqueue(store, make(tmp_path), dispatched)
    assert dispatched == []
    assert_nothing_stored(store)


def test_enqueue_refuses_a_header_only_file_and_stores_nothing(store):
    """A file with no recipient is an error the caller sees, not an empty campaign started.

    POST /campaigns refuses it (422, nothing stored); the core must too.
    """
    dispatched: list[str] = []
    with pytest.raises(ContactImportError, match="recipient"):
        enqueue(store, BAD / "header_only.csv", dispatched)
    assert dispatched == []
    assert_nothing_stored(store)


def test_enqueue_reads_mixed_encodings_line_by_line(store):
    """UTF-8 and cp1252 lines in one file are both read; a line in neither is a row error."""
    dispatched: list[str] = []
    result = enqueue(store, BAD / "mixed_encodings.csv", dispatched)
    assert result.summary["valid"] == 3 and result.summary["rejected"] == 1
    assert result.summary["errors"] == [{"line": 4, "reason": "not valid UTF-8 or cp1252 text"}]
    names = [row.variables["name"] for row in store.iter_rows(result.campaign.id)]
    assert names == ["René", "Zoë", "Jürgen"]
    assert dispatched == [result.campaign.id]


def test_enqueue_of_a_failing_stream_is_rolled_back(store):
    """A read error after several import batches leaves nothing behind either."""

    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.data = b"phone,name\n" + b"".join(
                f"0{factories.phone(i)[2:]},N{i}\n".encode() for i in range(12_000)
            )
            self.pos = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if self.pos > 200_000:
                raise OSError("connection reset while uploading")
            chunk = self.data[self.pos : self.pos + len(buffer)]
            buffer[: len(chunk)] = chunk
            self.pos += len(chunk)
            return len(chunk)

    dispatched: list[str] = []
    with pytest.raises(OSError, match="connection reset"):
        enqueue(store, io.BufferedReader(Broken()), dispatched)
    assert dispatched == []
    assert_nothing_stored(store)


# --- the web API: POST /campaigns ------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), sorted(UNREADABLE.items()))
def test_upload_of_an_unreadable_file_is_422_and_stores_nothing(web, store, name, expected):
    client, recorder = web
    response = upload(client, (BAD / name).read_bytes())
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith("cannot import the contacts: ")
    assert expected in body["detail"].lower()
    assert recorder.calls == []
    assert_nothing_stored(store)


@pytest.mark.parametrize("label", sorted(GENERATED))
def test_upload_of_a_huge_file_is_422_and_stores_nothing(web, store, tmp_path, label):
    client, recorder = web
    make, expected = GENERATED[label]
    response = upload(client, make(tmp_path).read_bytes())
    assert response.status_code == 422, response.text[:300]
    assert expected in response.json()["detail"]
    assert recorder.calls == []
    assert_nothing_stored(store)


def test_upload_of_a_header_only_file_is_422_and_stores_nothing(web, store):
    client, recorder = web
    response = upload(client, (BAD / "header_only.csv").read_bytes())
    assert response.status_code == 422
    assert response.json()["detail"].startswith("no recipient to send to")
    assert recorder.calls == []
    assert_nothing_stored(store)


def test_upload_of_mixed_encodings_reports_the_bad_line(web, store):
    client, recorder = web
    response = upload(client, (BAD / "mixed_encodings.csv").read_bytes())
    assert response.status_code == 201, response.text
    summary = response.json()["summary"]
    assert (summary["valid"], summary["errors"][0]["line"]) == (3, 4)
    assert recorder.campaigns == [response.json()["id"]]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("contacts.xlsx", "application/vnd.ms-excel"), ("contacts", "application/octet-stream")],
)
def test_upload_judges_the_content_not_the_name(web, store, filename, content_type):
    client, recorder = web
    response = client.post(
        "/campaigns",
        data={"sender": "waba-1", "text": "Halo"},
        files={"file": (filename, (BAD / "zip_renamed.csv").read_bytes(), content_type)},
    )
    assert response.status_code == 422
    assert "zip archive" in response.json()["detail"].lower()
    assert recorder.calls == []
    assert_nothing_stored(store)
