"""Accounts and nested limits: configuration, the chain a send passes, refusals."""

import json

import pytest

from broadcaster.campaigns import Channel
from broadcaster.errors import CampaignInvalid, ConfigurationError
from broadcaster.limits import Limit, Limits, parse_rate
from broadcaster.settings import Settings
from tests import factories


def settings(**values) -> Settings:
    base = {"rate_waba_per_minute": 120, "rate_device_per_minute": 60, "sender_rate": "80/s",
            "replai_token": "t-default"}  # fmt: skip
    return Settings(_env_file=None, **(base | values))  # type: ignore[arg-type]


TWO_ACCOUNTS = {
    "brand-a": {"token": "t-a", "rates": {"waba": "240/min"}},
    "brand-b": {"email": "ops@b.example", "password": "pw", "base_url": "http://b.test"},
}


@pytest.mark.parametrize(
    ("text", "per_minute"),
    [("120/min", 120), ("2/s", 120), ("600", 600), (" 10 / sec ", 600), (90.0, 90)],
)
def test_parse_rate(text, per_minute):
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize("bad", ["0", "-1/s", "fast", "10/h", 0])
def test_parse_rate_refuses(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_accounts_come_from_json_with_the_single_account_settings_as_default(monkeypatch):
    monkeypatch.setenv("BROADCASTER_ACCOUNTS", json.dumps(TWO_ACCOUNTS))
    found = settings().replai_accounts()
    assert sorted(found) == ["brand-a", "brand-b", "default"]
    assert found["default"].token.get_secret_value() == "t-default"
    limits = Limits.from_settings(settings())
    assert limits.accounts["brand-a"] == {Channel.WABA: 240, Channel.DEVICE: 60}
    assert limits.accounts["default"] == {Channel.WABA: 120, Channel.DEVICE: 60}
    client = settings().replai_client("brand-b")
    assert client._conn._base_url == "http://b.test"
    client.close()


def test_accounts_from_a_toml_file(tmp_path):
    path = tmp_path / "accounts.toml"
    path.write_text('[brand-a]\ntoken = "t-a"\nrates = { waba = "2/s", device = 30 }\n')
    limits = Limits.from_settings(settings(accounts_file=path))
    assert limits.accounts["brand-a"] == {Channel.WABA: 120, Channel.DEVICE: 30}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[brand-a\n", "Expected ']'"),
        ('[brand-a]\ntoken = "t"\nrates = { waba = "fast" }\n', "rates.waba"),
        ('[brand-a]\ntokn = "t"\n', "tokn"),
    ],
)
def test_a_bad_accounts_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "accounts.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="BROADCASTER_ACCOUNTS_FILE") as info:
        settings(accounts_file=path).replai_accounts()
    assert message in str(info.value)


def test_an_unknown_or_incomplete_account_is_a_configuration_error(monkeypatch):
    with pytest.raises(
        ConfigurationError, match=r"unknown Replai account 'nope' \(configured: default\)"
    ):
        settings().replai_client("nope")
    monkeypatch.setenv("BROADCASTER_ACCOUNTS", json.dumps({"brand-c": {"routes": "api-app"}}))
    with pytest.raises(ConfigurationError, match="account 'brand-c' uses the api-app routes"):
        settings().replai_client("brand-c")


def test_the_chain_runs_from_the_campaign_to_the_account(monkeypatch):
    monkeypatch.setenv("BROADCASTER_ACCOUNTS", json.dumps(TWO_ACCOUNTS))
    monkeypatch.setenv(
        "BROADCASTER_SENDERS", json.dumps({"s-9": {"rate": "20/s", "account": "brand-a"}})
    )
    limits = Limits.from_settings(settings())
    own = factories.campaign(sender="s-9", rate_per_minute=60)
    assert limits.chain(own) == [
        Limit("campaign", f"campaign {own.id}'s own rate", f"campaign:{own.id}", 60),
        Limit("sender", "sender s-9", "sender:waba:s-9", 1200),
        Limit("account", "account 'brand-a' (waba routes)", "account:brand-a:waba", 240),
    ]
    assert limits.binding(own).kind == "campaign" and limits.rate(own) == 60
    plain = factories.campaign(sender="s-1", channel="device")
    assert [limit.key for limit in limits.chain(plain)] == [
        "sender:device:s-1",
        "account:default:device",
    ]
    assert limits.binding(plain).describe() == "account 'default' (device routes): 60/min"


def test_a_campaign_cannot_ask_for_more_than_its_account_or_sender(monkeypatch):
    limits = Limits.from_settings(settings())
    limits.check(factories.campaign(rate_per_minute=120))  # the account's 120/min: fine
    with pytest.raises(CampaignInvalid) as info:
        limits.check(factories.campaign(rate_per_minute=600))
    assert str(info.value) == (
        "a rate of 10/s is more than account 'default' (waba routes): 120/min allows: "
        "ask for at most 120/min, or leave the rate out"
    )
    with pytest.raises(CampaignInvalid, match="unknown Replai account 'brand-x'"):
        limits.check(factories.campaign(account="brand-x"))
