"""Replai accounts and senders as a deployment configures them.

An account is one Replai API credential (a token, an e-mail and password, or an api_key and
device_key) with its route family and its throttle per route family; Replai throttles each
account on its own. A deployment has the `default` account (the single-account settings,
`BROADCASTER_REPLAI_*`) and may add more in `BROADCASTER_ACCOUNTS` (JSON) or a JSON or TOML
file named by `BROADCASTER_ACCOUNTS_FILE`:

```toml
[brand-a]
token = "..."
rates = { waba = "120/min", device = "60/min" }

[brand-b]
email = "ops@brand-b.example"
password = "..."
base_url = "https://chat.replai.id"
```

Senders (WABA numbers or devices) may have their own Meta rate and their account, in
`BROADCASTER_SENDERS`: `{"1234567890": {"rate": "20/s", "account": "brand-a"}}`.
"""

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .channels import Channel
from .errors import ConfigurationError
from .limits import DEFAULT_ACCOUNT, parse_rate
from .replai import ReplaiClient

__all__ = ["ReplaiAccount", "SenderConfig", "load_accounts"]


class ReplaiAccount(BaseModel):
    """One Replai API credential, its route family and its throttles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(default=None, description="default: BROADCASTER_REPLAI_BASE_URL")
    token: SecretStr | None = None
    email: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    device_key: SecretStr | None = None
    routes: Literal["api", "api-app"] = "api"
    #: Replai's throttle of this account per route family: "120/min", "2/s" or a number per
    #: minute; a family left out gets the deployment's default (BROADCASTER_RATE_*).
    rates: dict[Channel, str | float] = Field(default_factory=dict)

    @field_validator("rates")
    @classmethod
    def _rates_parse(cls, rates: dict[Channel, str | float]) -> dict[Channel, str | float]:
        for channel, rate in rates.items():
            try:
                parse_rate(rate)
            except ValueError as exc:
                raise ValueError(f"rates.{channel}: {exc}") from None
        return rates

    def channel_rates(self, settings: Any) -> dict[Channel, float]:
        """Sends per minute per route family, the deployment's defaults filled in."""
        return {channel: parse_rate(self.rates[channel]) if channel in self.rates
                else settings.channel_rates[channel] for channel in Channel}  # fmt: skip

    def client(self, name: str, settings: Any) -> ReplaiClient:
        """A ReplaiClient for this account, with the deployment's timeouts and pool size.

        Raises:
            ConfigurationError: no credentials for the account's route family.
        """
        token, password = _secret(self.token), _secret(self.password)
        api_key, device_key = _secret(self.api_key), _secret(self.device_key)
        default = name == DEFAULT_ACCOUNT
        if self.routes == "api" and not (token or (self.email and password)):
            raise ConfigurationError(
                "set BROADCASTER_REPLAI_TOKEN, or BROADCASTER_REPLAI_EMAIL and "
                "BROADCASTER_REPLAI_PASSWORD, to call Replai"
                if default
                else f"account {name!r} needs a token, or an email and a password"
            )
        if self.routes == "api-app" and not (api_key and device_key):
            raise ConfigurationError(
                "BROADCASTER_REPLAI_ROUTES=api-app needs BROADCASTER_REPLAI_API_KEY and "
                "BROADCASTER_REPLAI_DEVICE_KEY"
                if default
                else f"account {name!r} uses the api-app routes: it needs api_key and device_key"
            )
        return ReplaiClient(
            base_url=self.base_url or settings.replai_base_url,
            token=token,
            email=self.email,
            password=password,
            api_key=api_key,
            device_key=device_key,
            routes=self.routes,
            timeout=settings.replai_timeout,
            connect_timeout=settings.replai_connect_timeout,
            max_connections=settings.replai_max_connections,
        )


class SenderConfig(BaseModel):
    """A sender's own limits: its Meta rate ("80/s") and the account it sends through."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: str | float | None = None
    account: str | None = None


def load_accounts(path: Path) -> dict[str, ReplaiAccount]:
    """Accounts from a JSON or TOML file (by its suffix), as `BROADCASTER_ACCOUNTS_FILE` names.

    Raises:
        ConfigurationError: the file cannot be read, parsed or validated.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"BROADCASTER_ACCOUNTS_FILE {str(path)!r}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"BROADCASTER_ACCOUNTS_FILE {str(path)!r}: not a table of accounts"
        )
    try:
        return {str(name): ReplaiAccount.model_validate(value) for name, value in raw.items()}
    except ValueError as exc:
        raise ConfigurationError(f"BROADCASTER_ACCOUNTS_FILE {str(path)!r}: {exc}") from None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
