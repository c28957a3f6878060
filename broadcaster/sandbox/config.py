"""Run-time behaviour of the sandbox, changed by `POST /_sandbox/config`."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broadcaster.sandbox.options import (
    THROTTLE_WINDOWS,
    RateSpec,
    SandboxOptions,
    parse_rate_limit,
)

__all__ = ["FAIL_MODES", "SandboxConfig"]

#: Accepted values of `fail_mode` (None is normal operation).
FAIL_MODES = frozenset({"429", "500", "timeout"})


def _millis(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"expected a number of milliseconds >= 0, got {value!r}")
    return float(value) / 1000.0


def _rate(value: Any) -> RateSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_rate_limit(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected null, 0 or a number per minute, got {value!r}")
    return RateSpec(value, 60.0)


def _token_rates(value: Any) -> dict[str, RateSpec]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected an object of token: rate, got {value!r}")
    rates = {str(token): _rate(rate) for token, rate in value.items()}
    return {token: rate for token, rate in rates.items() if rate is not None}


def _url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL or null, got {value!r}")
    return value


def _fail_mode(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if text not in FAIL_MODES:
        raise ValueError(f"expected null, '429', '500' or 'timeout', got {value!r}")
    return text


def _window(value: Any) -> str:
    if value not in THROTTLE_WINDOWS:
        raise ValueError(f"expected one of {', '.join(THROTTLE_WINDOWS)}, got {value!r}")
    return str(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "latency_ms": ("latency", _millis),
    "rate_limit_per_minute": ("rate_limit", _rate),
    "rate_limit": ("rate_limit", _rate),
    "throttle_window": ("throttle_window", _window),
    "token_rate_limits": ("token_rates", _token_rates),
    "webhook_url": ("webhook_url", _url),
    "callback_delay_ms": ("callback_delay", _millis),
    "fail_mode": ("fail_mode", _fail_mode),
    "down": ("down", _flag),
    "callbacks_first": ("callbacks_first", _flag),
}


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


@dataclass(slots=True)
class SandboxConfig:
    """What can change while the sandbox runs. Durations are seconds.

    `rate_limit` None means Replai's defaults (120/min WABA, 60/min device, per account);
    a limit of 0 turns throttling off; `token_rates` gives an account (a static token) a
    throttle of its own, on both route families. `throttle_window` is "fixed" (Laravel's
    buckets, as Replai) or "sliding" (strict).
    With `callbacks_first`, an accepted send's status
    callbacks are posted (one after the other, without `callback_delay`) before the send is
    answered, so they reach the webhook before the caller can record the message id: the
    race a provider's fast callbacks cause, every time. The scripted reply still follows.
    """

    latency: float = 0.0
    rate_limit: RateSpec | None = None
    throttle_window: str = "fixed"
    token_rates: dict[str, RateSpec] = field(default_factory=dict)
    webhook_url: str | None = None
    callback_delay: float = 0.2
    fail_mode: str | None = None
    down: bool = False
    callbacks_first: bool = False

    @classmethod
    def from_options(cls, options: SandboxOptions) -> "SandboxConfig":
        """The start-up configuration given on the command line."""
        return cls(
            latency=options.latency,
            rate_limit=options.rate_limit,
            throttle_window=options.throttle_window,
            webhook_url=options.webhook_url,
            callback_delay=options.callback_delay,
            callbacks_first=options.callbacks_first,
        )

    def apply(self, patch: Mapping[str, Any]) -> None:
        """Change the fields named in `patch` (contract names, e.g. `latency_ms`).

        Raises:
            ValueError: an unknown field or a bad value; nothing is changed then.
        """
        changes: dict[str, Any] = {}
        for key, value in patch.items():
            if key not in _FIELDS:
                raise ValueError(f"unknown field {key!r}")
            attr, convert = _FIELDS[key]
            try:
                changes[attr] = convert(value)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        for attr, value in changes.items():
            setattr(self, attr, value)

    def to_json(self) -> dict[str, Any]:
        """The configuration in contract names."""
        rate = self.rate_limit
        return {
            "latency_ms": round(self.latency * 1000),
            "rate_limit_per_minute": None if rate is None else _number(rate.per_minute),
            "rate_limit": None if rate is None else str(rate),
            "throttle_window": self.throttle_window,
            "token_rate_limits": {token: str(rate) for token, rate in self.token_rates.items()},
            "webhook_url": self.webhook_url,
            "callback_delay_ms": round(self.callback_delay * 1000),
            "fail_mode": self.fail_mode,
            "down": self.down,
            "callbacks_first": self.callbacks_first,
        }
