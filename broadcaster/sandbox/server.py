"""Serving the sandbox with uvicorn (httptools and uvloop when installed, no access log)."""

import logging

import uvicorn

from broadcaster.redact import redact_url
from broadcaster.sandbox.app import create_app
from broadcaster.sandbox.options import SandboxOptions

__all__ = ["run"]

logger = logging.getLogger(__name__)

#: Seconds uvicorn waits for in-flight requests (e.g. a slow 0008) when stopping.
SHUTDOWN_GRACE = 1


def run(options: SandboxOptions) -> None:
    """Serve a sandbox in this process until interrupted."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    app = create_app(options)
    rate = "Replai defaults" if options.rate_limit is None else str(options.rate_limit)
    logger.info(
        "Replai sandbox on http://%s:%d (latency %.0f ms, rate limit %s, webhook %s)",
        options.host,
        options.port,
        options.latency * 1000,
        rate,
        redact_url(options.webhook_url) if options.webhook_url else "off",
    )
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
