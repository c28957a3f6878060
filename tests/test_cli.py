"""The `broadcaster` command line: in process with typer's CliRunner where that is enough, and
as a real subprocess against real Redis, the sandbox and Celery workers for the rest."""

import csv
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from broadcaster.calendar import Calendar
from broadcaster.campaigns import RecipientStatus
from broadcaster.cli import app
from broadcaster.cli.group import safe_url
from broadcaster.cli.launch import parse_rate
from broadcaster.cli.output import local_time
from broadcaster.cli.services import web_app_available
from broadcaster.reports import neutralise
from tests import factories
from tests.conftest import SANDBOX_TOKEN, WORKER_STALE_AFTER, free_port, wait_http

runner = CliRunner()
BIN = Path(sys.executable).parent / "broadcaster"


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


@pytest.fixture
def cli_env(sandbox):
    return os.environ | {
        "BROADCASTER_REPLAI_BASE_URL": sandbox.url,
        "BROADCASTER_REPLAI_TOKEN": SANDBOX_TOKEN,
        "COLUMNS": "200",
    }


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 40.0):
    """Run the installed `broadcaster` script; returns the completed process (text)."""
    command = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "broadcaster.cli"]
    return subprocess.run(
        [*command, *args], env=env or os.environ | {"COLUMNS": "200"}, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("nama,no_hp\n" + "".join(f"{n},{p}\n" for n, p in rows), encoding="utf-8")
    return path


def draft(store, rows, text="Halo {name}"):
    """A stored campaign nobody started."""
    return factories.draft(store, rows, text=text)


def wait_for(predicate, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def status_json(cid, env):
    done = cli("status", cid, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- parsing and usage errors (no Redis needed) ------------------------------------------


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in (
        "launch", "list", "status", "report", "pause", "resume", "cancel", "retry-failed",
        "resend-unknown", "templates", "device-status", "suppress", "web", "worker", "sandbox",
        "demo",
    ):  # fmt: skip
        assert name in result.stdout, name


@pytest.mark.parametrize(
    ("text", "per_minute"),
    [("600/min", 600.0), ("10/s", 600.0), ("90", 90.0), ("1.5/sec", 90.0), ("20 / minute", 20.0)],
)
def test_parse_rate(text, per_minute):
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize(
    "args",
    [
        ["launch", "x.csv", "--sender", "w"],
        ["launch", "x.csv", "--sender", "w", "--text", "a", "--template", "promo"],
        ["launch", "x.csv", "--sender", "w", "--text", "a", "--param", "nama"],
        ["launch", "x.csv", "--sender", "w", "--text", "a", "--rate", "10/h"],
        ["launch", "x.csv", "--sender", "w", "--text", "a", "--rate", "0"],
        ["launch", "x.csv", "--sender", "w", "--text", "a", "--send-at", "tomorrow"],
        ["launch", "x.csv", "--text", "a"],
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def test_formula_cells_are_neutralised():
    assert neutralise("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert [neutralise(v) for v in ("+1", "-1", "@x", "\tx")] == ["'+1", "'-1", "'@x", "'\tx"]
    assert neutralise("6281234567890") == "6281234567890"


def test_safe_url_hides_the_password():
    assert safe_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert safe_url("redis://user:s3cret@host/0") == "redis://user:***@host/0"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_unreachable_redis_is_one_line_and_exit_1():
    url = f"redis://:topsecret@127.0.0.1:{free_port()}/0"
    done = cli("status", "c123", env=os.environ | {"BROADCASTER_REDIS_URL": url})
    assert done.returncode == 1
    assert done.stderr == (
        f"error: cannot reach Redis at {safe_url(url)}: start it or set BROADCASTER_REDIS_URL\n"
    )
    assert "topsecret" not in done.stdout + done.stderr


# --- against Redis, in process -------------------------------------------------------------


def test_missing_csv_is_one_error_line(redis, tmp_path):
    result = runner.invoke(
        app, ["launch", str(tmp_path / "none.csv"), "--sender", "w", "--text", "Halo"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot open")
    assert len(result.stderr.strip().splitlines()) == 1


def test_dry_run_json_validates_and_creates_nothing(redis, store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [
        ("Budi", "0812-3456-7890"), ("Sari", "+62 813 1111 2222"), ("Rusak", "12345"),
        ("Kosong", ""), ("Budi lagi", "62 812 3456 7890"), ("Dewi", "(0857) 1234-5678"),
    ])  # fmt: skip
    result = runner.invoke(
        app, ["launch", str(path), "--sender", "w", "--text", "Halo {nama}", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dry_run"] is True
    assert data["recipients"] == ["6281234567890", "6281311112222", "6285712345678"]
    summary = data["summary"]
    assert (summary["valid"], summary["duplicates"], summary["rejected"]) == (3, 1, 2)
    assert [e["line"] for e in summary["errors"]] == [4, 5]
    assert store.list_campaigns() == []
    assert redis.keys("bc:c:*") == []


def test_dry_run_prints_the_import_summary(redis, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890"), ("Rusak", "12345")])
    result = runner.invoke(
        app, ["launch", str(path), "--sender", "w", "--text", "Hi", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "1 recipients" in result.stdout
    assert "rejected line 3" in result.stdout
    assert "Dry run: nothing was created." in result.stdout


def test_launch_stores_schedule_rate_name_and_channel(redis, store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890")])
    result = runner.invoke(app, [
        "launch", str(path), "--sender", "dev-1", "--channel", "device", "--text", "Halo {nama}",
        "--send-at", "2030-01-31T09:00+07:00", "--rate", "10/s", "--name", "Januari", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    campaign = store.get(json.loads(result.stdout)["campaign_id"])
    when = datetime.datetime(2030, 1, 31, 2, 0, tzinfo=datetime.UTC).timestamp()
    assert (campaign.send_at, campaign.rate_per_minute) == (when, 600.0)
    assert (campaign.name, campaign.channel, campaign.sender) == ("Januari", "device", "dev-1")
    human = runner.invoke(app, ["status", campaign.id])
    assert f"starts {local_time(when)}" in human.stdout


def test_launch_stores_sending_hours_and_expiry(redis, store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890")])
    result = runner.invoke(app, [
        "launch", str(path), "--sender", "waba-1", "--text", "Halo {nama}", "--hours",
        "09:00-17:00", "--days", "mon-fri", "--tz", "Asia/Makassar", "--blackout", "2030-01-01",
        "--expires", "2030-02-01T00:00+07:00", "--send-at", "2030-01-31T09:00+07:00", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    campaign = store.get(json.loads(result.stdout)["campaign_id"])
    assert campaign.calendar == Calendar.parse(
        "mon-fri 09:00-17:00", "Asia/Makassar", ["2030-01-01"]
    )
    when = datetime.datetime(2030, 1, 31, 17, 0, tzinfo=datetime.UTC).timestamp()
    assert campaign.expires_at == when
    bad = runner.invoke(app, [
        "launch", str(path), "--sender", "waba-1", "--text", "Halo", "--hours", "9-17", "--json",
    ])  # fmt: skip
    assert bad.exit_code != 0 and "HH:MM-HH:MM" in bad.output


def test_suppress_add_list_remove(redis, store):
    redis.sadd("bc:suppressed", "6281399990000")  # the list as older versions kept it
    added = runner.invoke(app, ["suppress", "add", "0812-3456-7890", "+62 813 1111 2222"])
    assert added.exit_code == 0, added.output
    assert store.suppressed() == {"6281234567890", "6281311112222", "6281399990000"}
    assert not redis.exists("bc:suppressed")
    listed = json.loads(runner.invoke(app, ["suppress", "list", "--json"]).stdout)
    assert [(e["phone"], e["source"]) for e in listed] == [
        ("6281234567890", "manual"), ("6281311112222", "manual"), ("6281399990000", "legacy"),
    ]  # fmt: skip
    assert listed[2]["opted_out_at"] is None
    added_at = datetime.datetime.fromisoformat(listed[0]["opted_out_at"]).timestamp()
    assert abs(added_at - time.time()) < 60
    table = runner.invoke(app, ["suppress", "list"]).stdout.splitlines()
    assert table[0].split()[:2] == ["6281234567890", "manual"]
    assert table[2].split() == ["6281399990000", "legacy", "-"]
    assert runner.invoke(app, ["suppress", "remove", "6281399990000"]).exit_code == 0
    removed = runner.invoke(app, ["suppress", "remove", "6281234567890"])
    assert removed.exit_code == 0
    assert "Removed 1" in removed.stdout
    assert store.suppressed() == {"6281311112222"}
    bad = runner.invoke(app, ["suppress", "add", "12"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    assert store.suppressed() == {"6281311112222"}


def test_status_and_list_of_a_draft_campaign(redis, store):
    cid = draft(store, [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(5)])
    result = runner.invoke(app, ["status", cid, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["id"], data["state"], data["total"]) == (cid, "draft", 5)
    assert data["counts"]["pending"] == 5
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert [c["id"] for c in listed] == [cid]
    human = runner.invoke(app, ["status", cid])
    assert cid in human.stdout and "draft" in human.stdout


def test_report_csv_has_full_numbers_and_neutralised_formulas(redis, store, tmp_path):
    rows = [{"phone": factories.phone(0), "name": '=HYPERLINK("http://x","y")'},
            {"phone": factories.phone(1), "name": "Sari"}]  # fmt: skip
    cid = draft(store, rows)
    redis.hset(store.keys.replies(cid), "1", "=cmd|' /C calc'!A0")
    redis.hincrby(store.keys.campaign(cid), "replies", 1)
    out = tmp_path / "report.csv"
    result = runner.invoke(app, ["report", cid, "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert [r["phone"] for r in table] == [factories.phone(0), factories.phone(1)]
    assert table[0]["name"] == '\'=HYPERLINK("http://x","y")'
    assert table[1]["reply"] == "'=cmd|' /C calc'!A0"
    assert table[0]["status"] == "pending"
    human = runner.invoke(app, ["report", cid])
    assert "replies" in human.stdout
    assert factories.phone(1) not in human.stdout  # masked in the table's reply lines
    assert factories.phone(1)[-4:] in human.stdout


def test_resend_unknown_asks_before_resending(redis, store):
    cid = draft(store, [{"phone": factories.phone(i), "name": "x"} for i in range(3)])
    store.start(cid)
    assert factories.take(store, cid, 0, lease=0.01).ok
    time.sleep(0.05)
    store.tick(cid)
    assert store.counts(cid)["unknown"] == 1
    declined = runner.invoke(app, ["resend-unknown", cid], input="n\n")
    assert declined.exit_code == 1
    assert "Resend to 1 recipients" in declined.stdout
    assert declined.stderr == "error: aborted\n"
    assert store.counts(cid)["unknown"] == 1
    accepted = runner.invoke(app, ["resend-unknown", cid, "--yes"])
    assert accepted.exit_code == 0, accepted.output
    assert "Requeued 1 unknown recipients" in accepted.stdout
    assert store.counts(cid)["unknown"] == 0


@pytest.mark.parametrize("command", ["status", "pause", "resume", "cancel", "retry-failed"])
def test_unknown_campaign_is_one_line(redis, command):
    result = runner.invoke(app, [command, "cnope"])
    assert result.exit_code == 1
    assert result.stderr == "error: campaign 'cnope' not found\n"


def test_lifecycle_refusals_name_the_state(redis, store):
    cid = draft(store, [{"phone": factories.phone(0), "name": "x"}])
    result = runner.invoke(app, ["resume", cid])
    assert result.exit_code == 1
    assert result.stderr == "error: cannot resume a draft campaign\n"


# --- subprocesses against Redis, the sandbox and workers -----------------------------------


def test_unreachable_broker_creates_nothing(redis, store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890")])
    env = os.environ | {"BROADCASTER_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = cli("launch", str(path), "--sender", "w", "--text", "Halo", "--json", env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach the task broker at redis://127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1
    assert store.list_campaigns() == []


def test_templates_and_device_status_ask_the_sandbox(cli_env):
    listed = cli("templates", "--sender", "waba-1", "--json", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    templates = {t["name"]: t for t in json.loads(listed.stdout)}
    assert templates["promo"]["param_count"] == 2
    table = cli("templates", "--sender", "waba-1", env=cli_env)
    assert "promo" in table.stdout and "APPROVED" in table.stdout
    state = cli("device-status", "--sender", "waba-1", env=cli_env)
    assert state.returncode == 0 and "connected" in state.stdout
    data = json.loads(cli("device-status", "--sender", "waba-1", "--json", env=cli_env).stdout)
    assert data["connected"] is True
    no_token = cli_env | {"BROADCASTER_REPLAI_TOKEN": ""}
    refused = cli("templates", "--sender", "waba-1", env=no_token)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: set BROADCASTER_REPLAI_TOKEN")


def test_web_command_serves_the_api_or_says_it_is_missing():
    port = free_port()
    command = [str(BIN), "web", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not web_app_available():
            _, err = proc.communicate(timeout=20)
            assert proc.returncode == 1 and err.startswith("error: the web app")
            return
        wait_http(f"http://127.0.0.1:{port}/openapi.json", timeout=30, proc=proc)
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except OSError:
        return 0


def test_worker_command_starts_a_celery_worker(redis, cli_env):
    """`broadcaster worker` supervises a Celery worker: the worker that beats is its child."""
    command = [str(BIN), "worker", "-c", "2", "-n", "cli@%h", "--without-mingle", "-l", "WARNING"]
    proc = subprocess.Popen(command, env=cli_env, start_new_session=True)

    def child_beats() -> bool:
        pids = [int(k.rsplit(b":", 1)[1]) for k in redis.keys("bc:worker:*")]
        return any(_parent(pid) == proc.pid for pid in pids)

    try:
        wait_for(child_beats, timeout=30)
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0


def test_ctrl_c_detaches_and_the_campaign_stays(store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890")])
    command = [str(BIN), "launch", str(path), "--sender", "w", "--text", "Halo {nama}"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: store.list_campaigns(), timeout=20)
        time.sleep(0.5)  # inside the progress loop
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    cid = store.list_campaigns()[0].id
    assert "No worker is running" in out
    assert f"Detached: campaign {cid} goes on. Check it with: broadcaster status {cid}" in out


def test_worker_command_refuses_to_start_without_replai_credentials(cli_env):
    done = cli("worker", env=cli_env | {"BROADCASTER_REPLAI_TOKEN": ""})
    assert done.returncode == 1
    assert done.stderr.startswith("error: set BROADCASTER_REPLAI_TOKEN")


@pytest.mark.slow
def test_launch_json_status_report_and_retry_failed(store, cli_env, workers, tmp_path):
    workers.start("w1", concurrency=8)
    rows = [(f"N{i}", "0" + factories.phone(i)[2:]) for i in range(28)]
    rows += [("Gagal", "0" + factories.phone(90 + i, suffix=1)[2:]) for i in range(2)]
    path = write_csv(tmp_path / "c.csv", rows)
    done = cli(
        "launch", str(path), "--sender", "waba-1", "--template", "promo", "--param", "nama",
        "--param", "Rp 50.000", "--rate", "100/s", "--json", env=cli_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    launched = json.loads(done.stdout)
    cid = launched["campaign_id"]
    assert launched["total"] == 30 and launched["summary"]["valid"] == 30
    status = wait_for(lambda: (s := status_json(cid, cli_env))["state"] == "completed" and s)
    assert status["counts"]["failed"] == 2
    assert (
        status["counts"]["sent"] + status["counts"]["delivered"] + status["counts"]["read"] == 28
    )
    out = tmp_path / "report.csv"
    assert cli("report", cid, "--csv", str(out), env=cli_env).returncode == 0
    with out.open(newline="", encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert len(table) == 30
    assert {r["status"] for r in table[28:]} == {"failed"}
    assert all("131026" in r["error"] for r in table[28:])
    retried = cli("retry-failed", cid, env=cli_env)
    assert retried.returncode == 0, retried.stderr
    assert "Requeued 2 failed recipients" in retried.stdout
    wait_for(lambda: all(r.attempts == 2 for r in store.iter_rows(cid, status="failed")))
    assert sum(1 for _ in store.iter_rows(cid, status="failed")) == 2


@pytest.mark.slow
def test_launch_follows_the_campaign_to_the_end(store, cli_env, workers, tmp_path):
    workers.start("w1", concurrency=4)
    path = write_csv(tmp_path / "c.csv", [(f"N{i}", factories.phone(i)) for i in range(20)])
    done = cli(
        "launch", str(path), "--sender", "waba-1", "--text", "Halo {nama}", "--rate", "50/s",
        env=cli_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "20 recipients" in done.stdout
    assert "completed" in done.stdout
    assert "Report: broadcaster report c" in done.stdout
    assert "sent 20" in done.stdout


@pytest.mark.slow
def test_pause_resume_and_cancel(store, sandbox, cli_env, workers, tmp_path):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    path = write_csv(tmp_path / "c.csv", [(f"N{i}", factories.phone(i)) for i in range(300)])
    args = ("launch", str(path), "--sender", "w", "--text", "Hi {nama}", "--rate", "20/s")
    cid = json.loads(cli(*args, "--json", "--name", "slow", env=cli_env).stdout)["campaign_id"]
    wait_for(lambda: store.counts(cid)["sent"] >= 10, timeout=30)
    paused = cli("pause", cid, env=cli_env)
    assert paused.returncode == 0, paused.stderr
    assert status_json(cid, cli_env)["state"] == "paused"
    time.sleep(1.5)  # sends already in flight land
    frozen = store.counts(cid)["sent"]
    time.sleep(1.0)
    assert store.counts(cid)["sent"] == frozen
    resumed = cli("resume", cid, env=cli_env)
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: store.counts(cid)["sent"] >= frozen + 10, timeout=30)
    cancelled = cli("cancel", cid, env=cli_env)
    assert cancelled.returncode == 0, cancelled.stderr
    time.sleep(1.0)
    status = status_json(cid, cli_env)
    assert status["state"] == "cancelled"
    counts = status["counts"]
    assert counts["cancelled"] > 100
    assert counts["sent"] + counts["cancelled"] == 300
    assert sandbox.sends(summary=1)["duplicates"] == 0
    assert cli("cancel", cid, env=cli_env).stderr == "error: cannot cancel a cancelled campaign\n"


def test_report_of_a_paused_launch_exits_1(store, tmp_path):
    # a campaign paused by its sender's errors ends `launch` with exit code 1 and the reason
    from broadcaster.cli.group import CommandError
    from broadcaster.cli.launch import report_outcome

    cid = draft(store, [{"phone": factories.phone(0), "name": "x"}])
    store.start(cid)
    store.pause(cid, "419: device not connected")
    with pytest.raises(CommandError, match="paused: 419: device not connected"):
        report_outcome(store, cid)
    assert RecipientStatus.PENDING.label in store.counts(cid)


def test_launch_says_when_redis_has_no_room(redis, store, tmp_path, maxmemory):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890")])
    maxmemory(free=1024)
    result = runner.invoke(app, ["launch", str(path), "--sender", "w", "--text", "Halo {nama}"])
    assert result.exit_code == 1
    assert result.output.startswith("error: Redis has no room for a new campaign"), result.output
    assert "delete finished campaigns or raise Redis's maxmemory" in " ".join(
        result.output.split()
    )


def test_delete_asks_naming_what_goes_and_is_refused_while_running(redis, store):
    cid = draft(store, [{"phone": factories.phone(i), "name": "x"} for i in range(3)])
    store.start(cid)
    refused = runner.invoke(app, ["delete", cid, "--yes"])
    assert refused.exit_code == 1
    assert refused.stderr == "error: cannot delete a running campaign: pause or cancel it first\n"
    store.cancel(cid)
    declined = runner.invoke(app, ["delete", cid], input="n\n")
    assert declined.exit_code == 1
    assert "its 3 recipients with their statuses" in declined.stdout
    assert store.get(cid).id == cid
    accepted = runner.invoke(app, ["delete", cid], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert f"Deleted campaign {cid}: 3 recipients" in accepted.stdout
    assert not redis.keys(f"bc:c:{cid}*")


def test_archive_then_list_and_report_from_the_archive(redis, store, tmp_path, monkeypatch):
    from broadcaster.settings import get_settings

    monkeypatch.setenv("BROADCASTER_ARCHIVE_DIR", str(tmp_path))
    get_settings.cache_clear()
    cid = draft(store, [{"phone": factories.phone(i), "name": "x"} for i in range(3)])
    store.start(cid)
    for i in range(3):
        factories.settle(store, cid, i, RecipientStatus.SENT, message_id=f"wamid.{i}")
    live = runner.invoke(app, ["report", cid, "--csv", "-"]).stdout
    result = runner.invoke(app, ["archive", cid])
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path / (cid + '.csv.gz')}" in result.stdout.replace("\n", "")
    [listed] = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert listed["archive"] == str(tmp_path / f"{cid}.csv.gz") and listed["archived_at"]
    assert listed["counts"]["sent"] == 3
    assert runner.invoke(app, ["report", cid, "--csv", "-"]).stdout == live
    get_settings.cache_clear()


def test_launch_with_repeated_senders_makes_a_pool(redis, store, tmp_path):
    path = write_csv(tmp_path / "c.csv", [("Budi", "0812-3456-7890"), ("Ani", "0812-3456-7891")])
    result = runner.invoke(app, [
        "launch", str(path), "--sender", "waba-1", "--sender", "waba-2", "--text", "Halo {nama}",
        "--send-at", "2030-01-31T09:00+07:00", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    campaign = store.get(json.loads(result.stdout)["campaign_id"])
    assert (campaign.sender, campaign.senders) == ("waba-1", ("waba-1", "waba-2"))
    assert len(store.redis.get(store.keys.senders(campaign.id))) == 2
