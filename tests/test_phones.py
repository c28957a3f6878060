import random

import phonenumbers
import pytest

from broadcaster.phones import (
    _normalize_id_mobile,
    _normalize_slow,
    mask_phone,
    normalize_phone,
    whatsapp_key,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("08123456789", "628123456789"),
        ("0812-3456-7890", "6281234567890"),
        ("0812 3456 7890", "6281234567890"),
        ("0812.3456.7890", "6281234567890"),
        ("(0812) 3456-7890", "6281234567890"),
        ("812-3456-7890", "6281234567890"),
        ("8123456789", "628123456789"),
        ("628123456789", "628123456789"),
        ("62 812 3456 789", "628123456789"),
        ("+62 812-3456-7890", "6281234567890"),
        ("+6281234567890", "6281234567890"),
        ("+62 (812) 3456 7890", "6281234567890"),
        ("+62 0812 3456 789", "628123456789"),  # a trunk 0 after the country code
        ("62812345678", "62812345678"),  # also a valid ID landline read nationally
        ("  0812 3456 7890 \t", "6281234567890"),
        ("0812\u00a03456\u00a07890", "6281234567890"),
        ("'08123456789", "628123456789"),  # Excel's text marker
        ('="08123456789"', "628123456789"),  # Excel's formula trick
        ("0895-1234-5678", "6289512345678"),
        ("0881 1234 5678", "6288112345678"),
        ("0812345678", "62812345678"),  # shortest mobile: 9 national digits
        ("0812345678901", "62812345678901"),  # longest: 12 national digits
        ("6.28123456789E+11", "628123456789"),  # Excel notation, every digit kept
        ("6.28123456789e+11", "628123456789"),
        ("6,28123456789E+11", "628123456789"),  # Indonesian Excel: decimal comma
        ("6.281234567890E+12", "6281234567890"),
        ("628123456789.0", "628123456789"),  # a float from pandas
        ("6281298765435,00", "6281298765435"),  # a Number cell, Indonesian decimal comma
        ("6281298765435.00", "6281298765435"),
        ("'6281298765435,00", "6281298765435"),
        ("6.281.298.765.435", "6281298765435"),  # thousands separators, every digit there
        ("6,281,298,765,435", "6281298765435"),
        ("6.281.298.765.435,00", "6281298765435"),
        ("6,281,298,765,435.00", "6281298765435"),
        ("+1 415 555 2671", "14155552671"),  # US: fixed line or mobile, accepted
        ("+44 7911 123456", "447911123456"),
        ("+65 9123 4567", "6591234567"),
        # Mexico: the 1 dropped from mobiles in 2019, still in exports and WhatsApp IDs
        ("+52 1 55 1234 5678", "525512345678"),
        ("+5213312345678", "523312345678"),
        ("+52 55 1234 5678", "525512345678"),
    ],
)
def test_normalize_phone_accepts(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-", "not a phone number"),
        ("n/a", "not a phone number"),
        ("Budi", "not a phone number"),
        ("0812345678 ext 12", "not a phone number"),
        ("0812", "not a valid mobile number (too short)"),
        ("08123456", "not a valid mobile number"),
        ("08123456789012345", "not a valid mobile number"),
        ("+62 8123456789012345678", "not a valid mobile number (too long)"),
        ("6.28123E+11", "Excel scientific notation lost digits: 6.28123E+11"),
        ("6,28123E+11", "Excel scientific notation lost digits: 6,28123E+11"),
        ("6.2812345678E+11", "Excel scientific notation lost digits: 6.2812345678E+11"),
        ("6.281234567891E+11", "not a whole number: 6.281234567891E+11"),
        ("6,28129E+12", "Excel scientific notation lost digits: 6,28129E+12"),
        ("6281298765435,50", "more than one number, or not a phone number"),
        ("6,281,298.765,435", "more than one number, or not a phone number"),
        ("(021) 555-1234", "a landline, not a mobile number"),
        ("021-5551234", "a landline, not a mobile number"),
        ("+62 21 5551234", "a landline, not a mobile number"),
        ("0800 1234567", "not a mobile number"),  # toll free
        ("0809 1234567", "not a mobile number"),  # premium rate
        ("0841 2345 6789", "not a valid mobile number"),  # 84x is not allocated
        ("0812/0813 1234 5678", "more than one number, or not a phone number"),
        ("0812345678, 0813345678", "more than one number, or not a phone number"),
        ("+999 1234 5678", "unknown country code"),
        ("+44 20 7946 0958", "a landline, not a mobile number"),
    ],
)
def test_normalize_phone_rejects_with_reason(raw, reason):
    with pytest.raises(ValueError) as info:
        normalize_phone(raw)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    "raw,region,expected",
    [
        ("07911 123456", "GB", "447911123456"),
        ("(415) 555-2671", "US", "14155552671"),
        ("9123 4567", "SG", "6591234567"),
        ("+62 812 3456 7890", "SG", "6281234567890"),
        ("0812 3456 7890", "ID", "6281234567890"),
    ],
)
def test_normalize_phone_other_regions(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


def _slow_or_none(raw):
    try:
        return _normalize_slow(raw, "ID")
    except ValueError:
        return None


def _samples(seed=7, count=1500):
    """National numbers around the mobile range (every 8x prefix, 7 to 14 digits)."""
    rng = random.Random(seed)
    for _ in range(count):
        length = rng.randint(7, 14)
        national = "8" + str(rng.randint(0, 9)) + "".join(rng.choices("0123456789", k=length - 2))
        yield national


def test_fast_path_recognises_exactly_what_phonenumbers_calls_an_id_mobile():
    for national in _samples():
        number = phonenumbers.parse("+62" + national)
        is_mobile = phonenumbers.is_valid_number(number) and (
            phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        )
        fast = _normalize_id_mobile("+62" + national)
        assert (fast is not None) == is_mobile, national
        if fast is not None:
            assert fast == "62" + national


@pytest.mark.parametrize(
    "form",
    [
        "0{n}",
        "{n}",
        "62{n}",
        "+62{n}",
        "+62 {a}-{b}-{c}",
        "0{a}-{b}-{c}",
        "0{a} {b} {c}",
        "({a}) {b}.{c}",
        "62 {a} {b}{c}",
    ],
)
def test_fast_path_agrees_with_phonenumbers_on_every_form(form):
    for national in _samples(seed=len(form), count=300):
        raw = form.format(n=national, a=national[:3], b=national[3:7], c=national[7:])
        fast = _normalize_id_mobile(raw)
        if fast is not None:
            assert fast == _slow_or_none(raw), raw


@pytest.mark.parametrize(
    "raw", ["6.28123456789E+11", "628123456789.0", "628123456789.00", "0800 1234567"]
)
def test_fast_path_leaves_special_forms_to_phonenumbers(raw):
    assert _normalize_id_mobile(raw) is None


def test_fast_path_refuses_non_ascii_digits():
    arabic = "\u0660\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    assert _normalize_id_mobile(arabic) is None


@pytest.mark.parametrize(
    "phone,masked",
    [
        (None, "-"),
        ("", "-"),
        ("12345", "*****"),
        ("628123451234", "+62******1234"),
        ("+62 812-3456-1234", "+62*******1234"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


# whatsapp_key: one key for the number a campaign sent to and the wa_id Meta reports.
# Rules and sources: see whatsapp_key's docstring (Chatwoot's phone normalizers, chatwoot
# issues #5840 / #11053 and PRs #14174 / #14264, whatsapp-web.js #596, Gupshup's and Zoho's
# notes on WhatsApp IDs in Brazil and Mexico).
@pytest.mark.parametrize(
    "number,key",
    [
        # Mexico: wa_id 52 1 + 10 digits; the campaign's E.164 is 52 + 10 digits
        ("5215512345678", "525512345678"),
        ("525512345678", "525512345678"),
        ("+52 1 55 1234 5678", "525512345678"),
        ("5213312345678", "523312345678"),  # Guadalajara, 33
        ("52155123456789", "52155123456789"),  # 14 digits: not a 521 + 10, left alone
        # Argentina: mobiles are 54 9 + area + subscriber (10 digits) internationally
        ("5491123456789", "5491123456789"),
        ("541123456789", "5491123456789"),  # sent without the 9
        ("5493512345678", "5493512345678"),  # Córdoba, 351
        ("543512345678", "5493512345678"),
        ("+54 9 11 2345-6789", "5491123456789"),
        ("545123456789", "545123456789"),  # area codes start 1-3: not an Argentine national
        # Brazil: a wa_id from before the ninth digit has 8 subscriber digits
        ("551187654321", "5511987654321"),  # São Paulo, account predates the 9
        ("5511987654321", "5511987654321"),
        ("559281723241", "5592981723241"),  # Manaus: WhatsApp keeps 8 digits outside 11-28
        ("5592981723241", "5592981723241"),
        ("552125551234", "552125551234"),  # Rio landline (starts 2-5): no 9
        ("555132101234", "555132101234"),  # Porto Alegre landline
        ("550187654321", "550187654321"),  # DDD 01 does not exist: left alone
        # Indonesia and everyone else: unchanged
        ("6281234567890", "6281234567890"),
        ("628123456789", "628123456789"),
        ("+62 812-3456-7890", "6281234567890"),
        ("16505551234", "16505551234"),
        ("447911123456", "447911123456"),
    ],
)
def test_whatsapp_key(number, key):
    assert whatsapp_key(number) == key


@pytest.mark.parametrize(
    "raw",
    [
        "+52 55 1234 5678",
        "+54 9 11 2345 6789",
        "011 15 2345-6789",
        "+55 11 98765 4321",
        "+55 92 98172 3241",
        "0812-3456-7890",
        "+1 415 555 2671",
    ],
)
def test_imported_numbers_are_keys_already(raw):
    # the key is the form normalize_phone gives: no stored number needs rewriting
    region = "AR" if raw.startswith("011") else "ID"
    phone = normalize_phone(raw, region=region)
    assert whatsapp_key(phone) == phone


@pytest.mark.parametrize("sent,wa_id", [
    ("+52 55 1234 5678", "5215512345678"),
    ("+54 11 15 2345 6789", "5491123456789"),
    ("+55 11 98765 4321", "551187654321"),
    ("+55 92 98172 3241", "559281723241"),
])  # fmt: skip
def test_the_wa_id_meta_reports_meets_the_number_sent_to(sent, wa_id):
    assert whatsapp_key(wa_id) == normalize_phone(sent)


@pytest.mark.parametrize(
    "raw", ["", "+", "0812345678", "1234567", "1234567890123456", "62 812 abc", "٦٢٨١٢٣٤٥٦٧٨٩"]
)
def test_whatsapp_key_refuses_what_is_no_international_number(raw):
    with pytest.raises(ValueError):
        whatsapp_key(raw)
