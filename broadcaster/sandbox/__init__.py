"""A Replai.id simulator ("the sandbox") for tests, demos and benchmarks.

It speaks the API as `docs/replai-contract.md` describes it: both route families, the
usual and device envelopes, Laravel's validation and throttle answers, Meta's error codes,
scripted outcomes chosen by a phone number's last four digits, and webhook callbacks. State
lives in memory, in one process; `/_sandbox/*` routes report and steer it.

Run it with `broadcaster sandbox --port 8900` or `python -m broadcaster.sandbox --port 8900`.

Choices made where the contract is silent:

- HTML instead of JSON without `Accept: application/json` for 404 (unknown route, unknown
  media), 429, 500 and 503 (`down`); 401, 419 and 422 are always JSON.
- Scripted failures keep the table's HTTP status on every route. Device routes answer them
  in the `success: false` envelope; only `/api/wa/read|delete` of an unknown message fail
  with HTTP 200. Meta's error object sits in `data.error` on `/api/waba/*`; the older
  `/api-app/waba/*` routes carry only the `(#code) title` message.
- The throttle is a strict sliding window per token (or api_key) and per family (WABA,
  device); refused requests do not count. `--latency-ms` applies after it.
- `fail_mode: "timeout"` hangs 30 s, then answers 504 and records nothing; a scripted 0008
  completes after 15 s and is recorded (see `scripts`).
- `/_sandbox/reset` starts a new epoch: a slow answer still pending then answers 503
  unrecorded, and pending callbacks stop.
"""

from broadcaster.sandbox.app import create_app
from broadcaster.sandbox.options import RateSpec, SandboxOptions, parse_rate_limit
from broadcaster.sandbox.server import run

__all__ = ["RateSpec", "SandboxOptions", "create_app", "parse_rate_limit", "run"]
