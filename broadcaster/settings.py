"""Configuration from the environment (prefix `BROADCASTER_`) and an optional `.env` file."""

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import redis
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from .accounts import ReplaiAccount, SenderConfig, load_accounts
from .channels import Channel
from .errors import ConfigurationError
from .events import EventWebhook
from .limits import DEFAULT_ACCOUNT
from .optouts import DEFAULT_OPT_OUT_BUTTONS
from .replai import ReplaiClient

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every setting, with its default. Secrets are `SecretStr` and print as `**********`.

    This is the one place a default is declared: the core's classes take these values as
    arguments (`open_store`, `LaunchDefaults.from_settings`, the workers' `Policy`).
    """

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
    #: Pooled connections to Replai per process: at least the worker's threads, or sends
    #: queue for a connection (20 made two 32-thread workers top out at 400 sends/s at 100 ms).
    replai_max_connections: int = Field(default=64, ge=1)
    #: More Replai accounts, by name (JSON; broadcaster/accounts.py shows the fields); the
    #: single-account settings above are the account `default`.
    accounts: dict[str, ReplaiAccount] = Field(default_factory=dict)
    #: A JSON or TOML file of more accounts, read at start (the same fields as `accounts`).
    accounts_file: Path | None = None

    # Redis and Celery
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Seconds to open a connection to Redis before the call fails.
    redis_connect_timeout: float = Field(default=5.0, gt=0)
    #: Seconds to wait for one Redis answer before the call fails (a paused or overloaded
    #: Redis): a send not yet claimed stays queued, a claim is given back, an outcome is
    #: tried again; never `unknown` for a request that did not leave.
    redis_socket_timeout: float = Field(default=10.0, gt=0)
    #: Times the Redis client itself tries a call again after a dropped connection or a
    #: timeout (with a short backoff) before the caller sees the error. Every call of the
    #: send path is safe to repeat (a repeated claim finds itself).
    redis_retries: int = Field(default=2, ge=0)
    #: Share of Redis's `maxmemory` kept free: /healthz answers 503 below it, and a campaign
    #: that would not fit with it kept free (about 300 B per recipient) is refused (507).
    redis_min_headroom: float = Field(default=0.10, ge=0, lt=1)
    #: Celery broker: a Redis URL (defaults to redis_url) or RabbitMQ's amqp://user:pass@host/vhost
    #: (README, "Choosing the broker").
    broker_url: str | None = None
    #: RabbitMQ only: "classic" (one node) or "quorum" (replicated over a cluster). A queue
    #: keeps the type it was declared with: change it on an empty queue under a new name.
    rabbitmq_queue_type: Literal["classic", "quorum"] = "classic"
    key_prefix: str = "bc"
    #: The Celery queue of every Broadcaster task; give separate deployments on one broker
    #: their own.
    queue: str = "broadcaster"
    #: How released recipients reach the workers (`module:attribute` of a Dispatch).
    dispatch: str = "workers.dispatch:CeleryDispatch"

    # Sending
    default_region: str = "ID"
    rate_waba_per_minute: float = Field(default=120.0, gt=0)
    rate_device_per_minute: float = Field(default=60.0, gt=0)
    #: Meta's rate per sender number: 80 messages a second unless Meta raised it.
    sender_rate: str = "80/s"
    #: Senders' own rates and accounts, by sender id (JSON: {"123": {"rate": "20/s",
    #: "account": "brand-a"}}).
    senders: dict[str, SenderConfig] = Field(default_factory=dict)
    #: Extra spacing between a sender's sends, as a fraction of the interval: limit + 1 sends
    #: then span (1 + margin) x the provider's window, so that much jitter on the way there
    #: cannot put one window over the limit (25 ms of a 1-s window at 0.025).
    rate_margin: float = Field(default=0.025, ge=0, lt=1)
    #: Minimum seconds between two messages to the same recipient after a 131056.
    pair_interval: float = Field(default=6.0, ge=0)
    #: Unique recipients per sender per day; 0 means no cap.
    daily_cap: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=8, ge=1)
    #: Recipients of one campaign queued or in flight at once, at most; a campaign gets no
    #: more than its rate sends in 2 s (so at 60/min, one task's worth: send_batch).
    dispatch_window: int = Field(default=512, ge=1)
    #: Recipients per send task: a worker thread sends them one after the other. Larger
    #: batches cost less Celery work per message; keep dispatch_window / send_batch at least
    #: the number of worker threads, or some of them idle.
    send_batch: int = Field(default=8, ge=1, le=100)
    #: The sending calendar of campaigns launched without one (`calendar.Calendar` rules:
    #: "mon-fri 09:00-17:00; sat 10:00-14:00"); empty: any time.
    sending_hours: str = ""
    #: The timezone of that calendar, and of calendars launched without one.
    sending_tz: str = "Asia/Jakarta"
    #: Dates (YYYY-MM-DD, comma separated) the default calendar sends nothing.
    blackout_dates: str = ""
    #: A send starts no later than this many seconds before its sending hours end.
    calendar_margin: float = Field(default=60.0, ge=0)
    #: For tests and demos only: read calendars on a simulated clock,
    #: `<start>@<real start>x<speed>` in epoch seconds (empty: the real time).
    calendar_clock: str = ""
    #: Seconds a claimed send may take before its outcome is declared unknown.
    lease: float = Field(default=120.0, gt=0)
    #: Seconds a released send may wait in the broker before it is published again.
    stale_after: float = Field(default=60.0, gt=0)
    #: First retry delay in seconds; doubles per attempt, with jitter, up to 300 s.
    backoff_base: float = Field(default=2.0, gt=0)

    # Web
    #: Keys accepted in the X-API-Key header; comma-separated in the environment.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: The secret path part of the webhook URL: /webhooks/replai/<secret>.
    webhook_secret: SecretStr | None = None
    #: When set, webhooks must carry X-Signature-256: sha256=<hex HMAC of the body>
    #: (or Meta's signature, when meta_app_secret is set too).
    webhook_hmac_secret: SecretStr | None = None
    #: The Meta app's secret: when set, webhooks relayed from Meta as they are must carry its
    #: X-Hub-Signature-256: sha256=<hex HMAC of the body> (or the X-Signature-256 above).
    meta_app_secret: SecretStr | None = None
    #: Replies that put the sender on the suppression list (whole message; case, accents and
    #: punctuation do not matter).
    opt_out_keywords: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["STOP", "BERHENTI", "UNSUBSCRIBE", "UNSUB"]
    )
    #: Button payloads or labels whose tap puts the sender on the suppression list (matched
    #: like the keywords); the defaults are English and Indonesian (optouts.py says why).
    opt_out_buttons: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_OPT_OUT_BUTTONS)
    )
    #: Seconds a callback whose message id is not recorded yet (it beat the worker's write)
    #: waits for it; then it expires, counted in /healthz.
    webhook_hold_seconds: float = Field(default=900.0, gt=0)
    #: Message ids whose callbacks may wait at once; callbacks past it are dropped, counted.
    webhook_hold_max: int = Field(default=100_000, ge=1)
    #: A reply that answers no particular message goes to the campaign that last messaged
    #: the number, if that message's last status is at most this many seconds older.
    reply_window: float = Field(default=7 * 86400.0, gt=0)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)

    # Data lifecycle (README, "Retention and erasure")
    #: Finished (completed or cancelled) campaigns older than this many days are archived by
    #: the ticker: their report goes to `archive_dir` as CSV.gz and their recipients leave
    #: Redis. None (the default): never.
    retention_days: float | None = Field(default=None, gt=0)
    #: Where archived reports are written; the web processes read reports from it too, so on
    #: several hosts it is a shared directory.
    archive_dir: Path = Path("archive")
    #: Seconds between two looks of the ticker for campaigns to archive.
    retention_check: float = Field(default=60.0, gt=0)
    #: Key of the HMAC that replaces an erased number on the suppression list (`broadcaster
    #: forget`): the entry still blocks the number without keeping it readable. Needed to
    #: erase; keep it secret and never change it, or erased numbers are no longer recognised.
    erasure_secret: SecretStr | None = None
    #: Workers count and time their sends for /metrics (docs/metrics.md).
    metrics: bool = True

    # Outbound event webhooks (broadcaster/events.py, docs/events.md)
    #: Subscriptions to every campaign's events (JSON list: [{"url": "https://...",
    #: "secret": "whsec_..."}]); a campaign gets those configured when it is launched.
    event_webhooks: list[EventWebhook] = Field(default_factory=list)
    #: The signing secret of a campaign's own `events_url` when the launch names none
    #: (Standard Webhooks form: `whsec_` and base64 of 24 to 64 random bytes).
    events_secret: SecretStr | None = None
    #: Events waiting per subscription, at most; past it new events are dropped, counted.
    events_backlog: int = Field(default=100_000, ge=1)
    #: Events given up on kept per subscription for replay (newest first).
    events_dead_max: int = Field(default=10_000, ge=1)
    #: Seconds an event is retried before it goes to the dead-letter list.
    events_max_age: float = Field(default=86_400.0, gt=0)
    #: First retry delay in seconds; doubles per failed attempt, with jitter, up to an hour.
    events_backoff_base: float = Field(default=5.0, gt=0)
    #: Seconds one event POST may take (connect, send, answer) before it counts as failed.
    events_timeout: float = Field(default=5.0, gt=0)
    #: Events POSTed back to back on one connection before their answers are read (HTTP/1.1
    #: pipelining; never two of one recipient, a campaign event alone); 1: one at a time,
    #: each after the answer to the one before (strict order per subscription).
    events_pipeline: int = Field(default=8, ge=1, le=64)

    @field_validator("api_keys", "opt_out_keywords", "opt_out_buttons", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def celery_broker_url(self) -> str:
        """The broker URL Celery uses."""
        return self.broker_url or self.redis_url

    @property
    def channel_rates(self) -> dict[Channel, float]:
        """Replai's throttle per channel, in sends per minute."""
        return {
            Channel.WABA: self.rate_waba_per_minute,
            Channel.DEVICE: self.rate_device_per_minute,
        }

    def redis_client(self, **options: Any) -> "redis.Redis":
        """A client of the campaign store's Redis, with this deployment's timeouts.

        `options` go to `redis.Redis.from_url` (e.g. `max_connections=`).
        """
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), self.redis_retries)
        return redis.Redis.from_url(
            self.redis_url,
            socket_connect_timeout=self.redis_connect_timeout,
            socket_timeout=self.redis_socket_timeout,
            retry=retry,
            **options,
        )

    @functools.cached_property
    def _all_accounts(self) -> dict[str, ReplaiAccount]:
        default = ReplaiAccount(
            token=self.replai_token, email=self.replai_email, password=self.replai_password,
            api_key=self.replai_api_key, device_key=self.replai_device_key,
            routes=self.replai_routes,
        )  # fmt: skip
        found = {DEFAULT_ACCOUNT: default}
        if self.accounts_file is not None:
            found |= load_accounts(self.accounts_file)
        return found | self.accounts

    def replai_accounts(self) -> dict[str, ReplaiAccount]:
        """Every Replai account by name: `default` (the BROADCASTER_REPLAI_* settings), then
        those of BROADCASTER_ACCOUNTS_FILE and BROADCASTER_ACCOUNTS (a name given again
        replaces the earlier one).

        Raises:
            ConfigurationError: the accounts file cannot be read or is invalid.
        """
        return dict(self._all_accounts)

    def replai_client(self, account: str = DEFAULT_ACCOUNT) -> "ReplaiClient":
        """A ReplaiClient for an account (the default one unless named).

        Raises:
            ConfigurationError: an unknown account, or no credentials for its route family.
        """
        accounts = self._all_accounts
        if account not in accounts:
            known = ", ".join(sorted(accounts))
            raise ConfigurationError(f"unknown Replai account {account!r} (configured: {known})")
        return accounts[account].client(account, self)


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
