import hashlib
import hmac

import pytest

from broadcaster.signatures import sign, verify_signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
SECRET = "app-secret"
GOOD = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_sign_is_the_hmac_sha256_of_the_raw_body():
    assert sign(SECRET, BODY) == GOOD


@pytest.mark.parametrize(
    "header", [GOOD, GOOD.encode(), f"  {GOOD}\n", GOOD.upper().replace("SHA256=", "sha256="),
               "SHA256=" + GOOD[7:]],
)  # fmt: skip
def test_a_good_signature_verifies(header):
    assert verify_signature(SECRET, BODY, header)


@pytest.mark.parametrize(
    "secret,body,header",
    [
        (SECRET, BODY, None),
        (SECRET, BODY, ""),
        (SECRET, BODY, GOOD[7:]),  # no algorithm
        (SECRET, BODY, "sha1=" + GOOD[7:]),
        (SECRET, BODY, GOOD[:-1]),
        (SECRET, BODY, GOOD + "0"),
        (SECRET, BODY + b" ", GOOD),  # the bytes as received, not re-encoded JSON
        ("other", BODY, GOOD),
        ("", BODY, "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()),
        (SECRET, BODY, "sha256=\u00e9" + GOOD[8:]),
    ],
)
def test_anything_else_does_not(secret, body, header):
    assert not verify_signature(secret, body, header)
