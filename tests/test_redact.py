import logging

import pytest

from broadcaster.redact import WebhookPathFilter, redact_path, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://u:pw@h:8000/webhooks/replai/s3cret?x=1", "http://u:***@h:8000/webhooks/***"),
        ("https://h/webhooks/replai/s3cret", "https://h/webhooks/***"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/"),
        ("http://h/x", "http://h/x"),
        (None, "-"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_access_log_records_lose_the_webhook_secret():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "POST", "/webhooks/replai/s3cret", "1.1", 200), None,
    )  # fmt: skip
    assert WebhookPathFilter().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/webhooks/replai/***" in record.getMessage()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/webhooks/replai/s3cret", "/webhooks/replai/***"),
        ("/webhooks/replai/s3cret/extra", "/webhooks/replai/***/extra"),
        ("/campaigns/abc", "/campaigns/abc"),
    ],
)
def test_redact_path_hides_the_webhook_secret(path, expected):
    assert redact_path(path) == expected
