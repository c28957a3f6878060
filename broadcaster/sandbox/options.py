"""Start-up options of the sandbox, shared by `python -m broadcaster.sandbox` and the CLI."""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CALLBACK_DELAY",
    "DEFAULT_HOST",
    "DEFAULT_SEED",
    "THROTTLE_WINDOWS",
    "RateSpec",
    "SandboxOptions",
    "build_parser",
    "parse_args",
    "parse_rate_limit",
]

#: Loopback only by default: the sandbox has no real security.
DEFAULT_HOST = "127.0.0.1"
#: Seconds between the `sent`, `delivered` and `read` callbacks of one message.
DEFAULT_CALLBACK_DELAY = 0.2
#: Seed of the RNG that makes message ids and tokens.
DEFAULT_SEED = 0

#: How the throttle counts: Laravel's fixed buckets (Replai's), or a strict sliding window.
THROTTLE_WINDOWS = ("fixed", "sliding")

_PERIODS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


@dataclass(frozen=True, slots=True)
class RateSpec:
    """At most `limit` accepted requests in any window of `period` seconds; 0 turns it off."""

    limit: int
    period: float = 60.0

    @property
    def per_minute(self) -> float:
        """The same rate expressed per minute."""
        return self.limit * 60.0 / self.period

    def __str__(self) -> str:
        if self.limit == 0:
            return "0"
        return f"{self.limit}/s" if self.period == 1.0 else f"{self.limit}/min"


def parse_rate_limit(text: str) -> RateSpec:
    """Parse `120/min`, `20/s`, a bare number (per minute) or `0` (off).

    Raises:
        ValueError: the text is none of these.
    """
    raw = text.strip().lower()
    count, _, unit = raw.partition("/")
    try:
        limit = int(count)
    except ValueError:
        raise ValueError(f"invalid rate limit {text!r}: expected N/min, N/s or 0") from None
    period = _PERIODS.get(unit or "min")
    if period is None or limit < 0:
        raise ValueError(f"invalid rate limit {text!r}: expected N/min, N/s or 0")
    return RateSpec(limit, period)


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """Everything the sandbox takes at start-up.

    `rate_limit` None means Replai's defaults: 120/min per token on the WABA routes and
    60/min on the device routes. Durations are seconds.
    """

    port: int
    host: str = DEFAULT_HOST
    latency: float = 0.0
    rate_limit: RateSpec | None = None
    webhook_url: str | None = None
    tokens: tuple[str, ...] = ()
    seed: int = DEFAULT_SEED
    callback_delay: float = DEFAULT_CALLBACK_DELAY
    throttle_window: str = "fixed"
    #: Post a send's status callbacks before answering it (see `SandboxConfig`).
    callbacks_first: bool = False


def _rate_arg(text: str) -> RateSpec:
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(prog: str = "python -m broadcaster.sandbox") -> argparse.ArgumentParser:
    """The argparse parser behind `python -m broadcaster.sandbox`."""
    parser = argparse.ArgumentParser(prog=prog, description="Run the Replai.id simulator.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every API answer")
    parser.add_argument("--rate-limit", type=_rate_arg, default=None, help="120/min, 20/s or 0")
    parser.add_argument("--webhook-url", default=None, help="where status callbacks go")
    parser.add_argument(
        "--token", action="append", default=[],
        help="a Bearer token that is always accepted, an account of its own (repeat for more)",
    )  # fmt: skip
    parser.add_argument(
        "--throttle-window", choices=THROTTLE_WINDOWS, default="fixed",
        help="fixed: Laravel's per-minute buckets, as Replai; sliding: no window over the limit",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--callback-delay-ms", type=int, default=int(DEFAULT_CALLBACK_DELAY * 1000)
    )
    parser.add_argument(
        "--callbacks-first",
        action="store_true",
        help="post each send's status callbacks before answering it (early callbacks)",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> SandboxOptions:
    """Parse command-line arguments into `SandboxOptions`."""
    ns = build_parser().parse_args(argv)
    return SandboxOptions(
        port=ns.port,
        host=ns.host,
        latency=max(0, ns.latency_ms) / 1000.0,
        rate_limit=ns.rate_limit,
        webhook_url=ns.webhook_url or None,
        tokens=tuple(t for t in ns.token if t),
        throttle_window=ns.throttle_window,
        seed=ns.seed,
        callback_delay=max(0, ns.callback_delay_ms) / 1000.0,
        callbacks_first=ns.callbacks_first,
    )
