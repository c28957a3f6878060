"""A Replai.id simulator ("the sandbox") for tests, demos and benchmarks.

It speaks the API as `docs/replai-contract.md` describes it: both route families, the
usual and device envelopes, Laravel's validation and throttle answers, Meta's error codes,
scripted outcomes chosen by a phone number's last four digits, and webhook callbacks. State
lives in memory, in one process; `/_sandbox/*` routes report and steer it.

Run it with `broadcaster sandbox --port 8900` or `python -m broadcaster.sandbox --port 8900`.
"""

from broadcaster.sandbox.app import create_app
from broadcaster.sandbox.options import RateSpec, SandboxOptions, parse_rate_limit
from broadcaster.sandbox.server import run

__all__ = ["RateSpec", "SandboxOptions", "create_app", "parse_rate_limit", "run"]
