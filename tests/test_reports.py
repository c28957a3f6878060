"""One report for every edge: the CLI and the API give the same bytes; failures by code."""

import pytest
from typer.testing import CliRunner

from broadcaster.campaigns import RecipientStatus
from broadcaster.cli import app as cli
from broadcaster.reports import build_report, failure_code, failure_groups
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.web.conftest import AUTH, TestClient, build_app

S = RecipientStatus


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


def finished_campaign(store) -> str:
    """Five recipients: sent with a reply, failed twice with one code spelled two ways,
    a formula in a name, one still open."""
    names = ["Budi", '=HYPERLINK("x")', "Sari", "Ani", "Dewi"]
    rows = [{"phone": factories.phone(i), "name": n, "kota": "Ban"} for i, n in enumerate(names)]
    cid = factories.draft(store, rows, text="Halo {name} di {kota}")
    store.start(cid)
    outcomes = [
        (S.SENT, None), (S.FAILED, "131026: Message undeliverable"), (S.SENT, None),
        (S.FAILED, "gave up after 8 attempts: 131026: Message undeliverable"),
    ]  # fmt: skip
    for index, (status, error) in enumerate(outcomes):
        claim = factories.take(store, cid, index)
        store.finish(cid, index, status, message_id=f"wamid.{index}", error=error,
                     phone=claim.phone, lease_until=claim.lease_until)  # fmt: skip
    store.redis.hset(store.keys.replies(cid), "0", "+62 ada promo?")
    return cid


def test_cli_and_api_reports_are_byte_identical(redis, store):
    cid = finished_campaign(store)
    with TestClient(build_app(), headers=AUTH) as client:
        api = client.get(f"/campaigns/{cid}/report.csv")
    assert api.status_code == 200
    result = CliRunner().invoke(cli, ["report", cid, "--csv", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == api.content
    lines = api.content.decode().split("\r\n")
    assert lines[0] == "index,phone,status,attempts,updated_at,message_id,error,reply,name,kota"
    assert "'=HYPERLINK" in lines[2] and "'+62 ada promo?" in lines[1]
    assert lines[1].split(",")[4].endswith("Z")  # one timestamp format: UTC with Z


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("131026: Message undeliverable", "131026"),
        ("gave up after 8 attempts: HTTP 503: Service Unavailable", "HTTP 503"),
        ("gave up after 8 attempts: 131000: Something went wrong", "131000"),
        ("HTTP 422: The phone field is required.", "HTTP 422"),
        ("no reason recorded", "no reason recorded"),
    ],
)
def test_failure_code_is_meta_code_or_http_status(reason, code):
    assert failure_code(reason) == code


def test_failures_are_grouped_by_code_whatever_their_wording(store):
    cid = finished_campaign(store)
    groups = failure_groups(store, cid)
    assert [(g.code, g.count) for g in groups] == [("131026", 2)]
    report = build_report(store, cid)
    assert report.accepted == 2 and report.open == 1
    assert report.replies == []  # the reply count on the campaign is 0: nothing listed
