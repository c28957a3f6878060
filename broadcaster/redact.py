"""Keep secrets out of logs: webhook URLs carry their secret in the path."""

import logging
import re
import urllib.parse

__all__ = ["WebhookPathFilter", "redact_path", "redact_url"]

_WEBHOOK_PATH = re.compile(r"(/webhooks/replai/)[^/?#\s\"]+")


def redact_path(path: str) -> str:
    """A request path fit for a log line: `/webhooks/replai/<secret>` -> `/webhooks/replai/***`."""
    return _WEBHOOK_PATH.sub(r"\1***", path)


def redact_url(url: str | None) -> str:
    """A URL fit for a log line: no password, no path past its first segment, no query.

    `http://u:pw@host:8000/webhooks/replai/s3cret?x=1` -> `http://u:***@host:8000/webhooks/***`
    """
    if not url:
        return "-"
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    first = parts.path.strip("/").split("/", 1)[0]
    path = f"/{first}/***" if first and parts.path.strip("/") != first else parts.path
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))


class WebhookPathFilter(logging.Filter):
    """Hides the secret part of `/webhooks/replai/<secret>` in log records (uvicorn's access
    log formats the path into its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _WEBHOOK_PATH.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "/webhooks/replai/" in record.msg:
            record.msg = _WEBHOOK_PATH.sub(r"\1***", record.msg)
        return True
