"""Everything the sandbox remembers, in memory, for one process."""

import base64
import random

from broadcaster.sandbox.accounts import Accounts
from broadcaster.sandbox.chats import ChatStore
from broadcaster.sandbox.config import SandboxConfig
from broadcaster.sandbox.options import RateSpec, SandboxOptions
from broadcaster.sandbox.records import SendLog
from broadcaster.sandbox.throttle import FixedWindowThrottle, SlidingWindowThrottle, Throttle

__all__ = ["DEVICE_RATE", "WABA_RATE", "SandboxState"]

#: Replai's default throttle on the WABA routes, per account.
WABA_RATE = RateSpec(120, 60.0)
#: Replai's default throttle on the device routes, per account (or api_key).
DEVICE_RATE = RateSpec(60, 60.0)


class SandboxState:
    """Accounts, sends, chats, counters and configuration of one sandbox.

    `epoch` grows on every reset: work that started before a reset (a slow scripted answer,
    pending callbacks) checks it and leaves the fresh state alone.
    """

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.config = SandboxConfig.from_options(options)
        self.rng = random.Random(options.seed)
        self.accounts = Accounts(self.rng, options.tokens)
        self.sends = SendLog()
        self.chats = ChatStore()
        self.throttles: dict[str, Throttle] = {
            "fixed": FixedWindowThrottle(), "sliding": SlidingWindowThrottle(),
        }  # fmt: skip
        self.attempts: dict[str, int] = {}
        self.disconnected: set[str] = set()
        self.epoch = 0
        self.callbacks_posted = 0
        self.throttled = 0
        self.callbacks_failed = 0
        self.callbacks_dropped = 0
        #: Send requests refused by the throttle (429) since the last reset.
        self.throttled = 0

    def rate_for(self, waba: bool, credential: str = "") -> RateSpec:
        """The throttle of a send route family for a credential: the token's own, else the
        configured one, else Replai's default."""
        if credential in self.config.token_rates:
            return self.config.token_rates[credential]
        if self.config.rate_limit is not None:
            return self.config.rate_limit
        return WABA_RATE if waba else DEVICE_RATE

    @property
    def throttle(self) -> Throttle:
        """The throttle the configuration names (fixed by default, as Replai's)."""
        return self.throttles[self.config.throttle_window]

    def next_attempt(self, phone: str) -> int:
        """Count one more attempt to `phone` and return its number (1-based)."""
        attempt = self.attempts.get(phone, 0) + 1
        self.attempts[phone] = attempt
        return attempt

    def new_wamid(self) -> str:
        """A Meta-style message id: `wamid.` and base64 of random bytes."""
        raw = self.rng.getrandbits(192).to_bytes(24, "big")
        return "wamid." + base64.b64encode(raw).decode("ascii").rstrip("=")

    def new_device_message_id(self) -> str:
        """A Baileys-style message id: `3EB0` and 16 hex digits."""
        return f"3EB0{self.rng.getrandbits(64):016X}"

    def reset(self) -> None:
        """Clear sends, attempt counters, throttle windows, disconnected devices and chats."""
        self.epoch += 1
        self.sends.clear()
        self.chats.clear()
        for throttle in self.throttles.values():
            throttle.clear()
        self.attempts.clear()
        self.disconnected.clear()
        self.callbacks_posted = 0
        self.callbacks_failed = 0
        self.callbacks_dropped = 0
