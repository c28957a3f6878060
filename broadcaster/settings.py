"""Configuration from the environment (prefix `BROADCASTER_`) and an optional `.env` file."""

import functools
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every setting, with its default. Secrets are `SecretStr` and print as `**********`."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCASTER_", env_file=".env", extra="ignore", frozen=True
    )

    # Replai
    replai_base_url: str = "https://chat.replai.id"
    replai_token: SecretStr | None = None
    replai_email: str | None = None
    replai_password: SecretStr | None = None
    replai_api_key: SecretStr | None = None
    replai_device_key: SecretStr | None = None
    #: "api" is the Bearer-token family (/api/...); "api-app" the older api_key + device_key one.
    replai_routes: Literal["api", "api-app"] = "api"
    replai_timeout: float = Field(default=10.0, gt=0)
    replai_connect_timeout: float = Field(default=5.0, gt=0)

    # Redis and Celery
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Celery broker; defaults to redis_url.
    broker_url: str | None = None
    key_prefix: str = "bc"

    # Sending
    default_region: str = "ID"
    rate_waba_per_minute: float = Field(default=120.0, gt=0)
    rate_device_per_minute: float = Field(default=60.0, gt=0)
    #: Minimum seconds between two messages to the same recipient after a 131056.
    pair_interval: float = Field(default=6.0, ge=0)
    #: Unique recipients per sender per day; 0 means no cap.
    daily_cap: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=8, ge=1)
    #: Sends of one campaign queued or in flight at once.
    dispatch_window: int = Field(default=200, ge=1)

    # Web
    api_keys: list[SecretStr] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    webhook_hmac_secret: SecretStr | None = None
    opt_out_keywords: list[str] = Field(
        default_factory=lambda: ["STOP", "BERHENTI", "UNSUBSCRIBE", "UNSUB"]
    )
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)

    @property
    def celery_broker_url(self) -> str:
        """The broker URL Celery uses."""
        return self.broker_url or self.redis_url


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
