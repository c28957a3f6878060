"""Webhook body signatures: `sha256=<hex HMAC-SHA256 of the raw body>`, checked in constant time.

Two headers carry one, in the same format, each with its own secret:

- `X-Signature-256`: the project's own, for gateways that sign what they relay
  (`BROADCASTER_WEBHOOK_HMAC_SECRET`);
- `X-Hub-Signature-256`: Meta's, signed with the Meta app's secret
  (`BROADCASTER_META_APP_SECRET`), for deployments that relay Meta's callbacks as they are.

The HMAC is over the raw body bytes as received, never over re-encoded JSON: Meta signs
its escaped-Unicode payload, and any re-serialisation changes the bytes.
"""

import hashlib
import hmac

__all__ = ["META_SIGNATURE_HEADER", "SIGNATURE_HEADER", "sign", "verify_signature"]

#: The header a signing gateway puts the body's HMAC in.
SIGNATURE_HEADER = "X-Signature-256"
#: The header Meta puts the body's HMAC (keyed with the app secret) in.
META_SIGNATURE_HEADER = "X-Hub-Signature-256"

_PREFIX = b"sha256="


def sign(secret: str, body: bytes) -> str:
    """The signature header value for a body: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: bytes | str | None) -> bool:
    """Whether `header` is `sha256=<hex HMAC-SHA256 of body with secret>`.

    The comparison takes the same time wherever the first wrong character is. Surrounding
    blanks and the case of the hex digits do not matter; a missing header, another
    algorithm or an empty secret never verifies.
    """
    if not secret or header is None:
        return False
    value = (header.encode("latin-1", "replace") if isinstance(header, str) else header).strip()
    if value[:7].lower() != _PREFIX:
        return False
    wanted = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(value[7:].lower(), wanted)
