"""Phone number helpers shared by import, logging and reports.

`normalize_phone` turns what people type into spreadsheets (`0812-3456-7890`, `+62 812 ...`,
`6.28123456789E+11`) into E.164 digits without the plus (`6281234567890`), the form every
Replai route accepts. Indonesian mobiles, by far the common case, take a fast path that agrees
with `phonenumbers` (a test compares them); everything else goes through `phonenumbers`.

`whatsapp_key` gives one key per WhatsApp number: the number a campaign sent to and the
`wa_id` Meta reports for it (`521...` for `52...` in Mexico, say) map to the same key.
"""

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

__all__ = ["mask_phone", "normalize_phone", "whatsapp_key"]

#: Separators people put inside numbers; removed before matching.
_SEPARATORS = str.maketrans("", "", " -().\u00a0\t")

#: Indonesian mobile, as `phonenumbers` metadata for ID defines it: 8, then not 0 or 4,
#: then 7 to 10 digits; with an optional `+62`, `62` or trunk `0` in front.
_ID_MOBILE = re.compile(r"(?:\+?62|0)?(8[1-35-9]\d{7,10})", re.ASCII)

#: Excel's scientific notation, with `.` or `,` as the decimal mark (Indonesian Excel uses `,`).
_EXCEL = re.compile(r"\+?(\d)(?:[.,](\d+))?[eE]\+?(\d{1,2})")

#: A whole number written as a float by pandas or a spreadsheet: `628123456789.0`.
_FLOAT_ZERO = re.compile(r"(\+?\d+)\.0+")

#: A spreadsheet's Number cell with every digit shown: thousands separators (`6.281.298.765.435`,
#: `6,281,298,765,435`) and/or a fraction of zeros (`6281298765435,00`), in either locale.
_NUMBER_CELL = re.compile(r"(\+?)(\d{1,3}(?:([.,])\d{3})(?:\3\d{3})*|\d+)(?:([.,])0+)?")

_LETTERS = re.compile(r"[^\W\d_]")

#: What `whatsapp_key` strips around the digits: separators and a leading `+`.
_KEY_STRIP = str.maketrans("", "", " -().+\u00a0\t")

#: Brazilian area codes (DDD) have two digits, neither of them 0.
_BR_DDD_DIGITS = frozenset("123456789")

#: First digit of an 8-digit Brazilian subscriber number that is a mobile from before the
#: ninth digit (landlines start with 2 to 5, so they never take a 9).
_BR_OLD_MOBILE = frozenset("6789")

#: First digit of an Argentine area code (national numbers are 10 digits: area + subscriber).
_AR_AREA_DIGITS = frozenset("123")

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "not a valid mobile number (too short)",
    NumberParseException.TOO_SHORT_NSN: "not a valid mobile number (too short)",
    NumberParseException.TOO_LONG: "not a valid mobile number (too long)",
}

_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


def mask_phone(phone: str | None) -> str:
    """Mask a phone number for logs and dashboards: `6281234561234` -> `+62*******1234`.

    Keeps the country code (2 digits) and the last 4 digits, never more than 6 of the number.
    """
    if not phone:
        return "-"
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    if len(digits) <= 6:
        return "*" * len(digits)
    return "+" + digits[:2] + "*" * (len(digits) - 6) + digits[-4:]


def normalize_phone(raw: str, *, region: str = "ID") -> str:
    """Normalise a mobile number to E.164 digits without `+`: `0812-3456-789` -> `628123456789`.

    Numbers without a country code are read as numbers of `region`. A leading country code
    without `+` (`62 812...`) is recognised. Only numbers that can be mobiles are accepted,
    since WhatsApp needs one: landlines, toll-free and premium numbers are refused.

    Raises:
        ValueError: with a short reason for the operator, e.g. `"empty"`,
            `"a landline, not a mobile number"` or
            `"Excel scientific notation lost digits: 6.28123E+11"`.
    """
    if region == "ID":
        phone = _normalize_id_mobile(raw)
        if phone is not None:
            return phone
    return _normalize_slow(raw, region)


def _normalize_id_mobile(raw: str) -> str | None:
    """The fast path: an Indonesian mobile in a common form, or None to ask `phonenumbers`."""
    # Cheapest first: most cells are plain digits, then digits with spaces or dashes.
    match = _ID_MOBILE.fullmatch(raw) or _ID_MOBILE.fullmatch(
        raw.replace(" ", "").replace("-", "")
    )
    if match is None and not _FLOAT_ZERO.fullmatch(raw.strip()):
        # Dots separate digit groups (`0812.3456.789`), except in a float's `.0`.
        match = _ID_MOBILE.fullmatch(raw.translate(_SEPARATORS))
    return None if match is None else "62" + match.group(1)


def _normalize_slow(raw: str, region: str) -> str:
    """Normalise with `phonenumbers`, after undoing what spreadsheets do to numbers."""
    text = _unwrap(raw)
    if not text:
        raise ValueError("empty")
    text = _undo_excel(text)
    if _LETTERS.search(text):
        raise ValueError("not a phone number")
    if any(sep in text for sep in "/,;|"):
        raise ValueError("more than one number, or not a phone number")
    number = _parse(text, region)
    if not text.startswith("+") and not _is_mobile(number):
        number = _with_country_code(text, region) or number
    number = _without_mexican_one(number)
    _check_mobile(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _with_country_code(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Read `62812345678` as +62 812..., as a person would, when it is a mobile that way.

    Read as a national number it can be a valid landline, so `phonenumbers` alone says no.
    """
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits.startswith(str(phonenumbers.country_code_for_region(region))):
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException:  # pragma: no cover - the national parse fails first
        return None
    return number if _is_mobile(number) else None


def _without_mexican_one(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """`+52 1 55 1234 5678` -> `+52 55 1234 5678`: the `1` Mexico dropped from mobiles in 2019.

    Address books, CRM exports and WhatsApp's own IDs still carry it; libphonenumber calls
    the 11-digit form too long. Only a number that is a valid mobile without it is rewritten.
    """
    national = str(number.national_number)
    if number.country_code != 52 or len(national) != 11 or national[0] != "1":
        return number
    shorter = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    return shorter if _is_mobile(shorter) else number


def _unwrap(raw: str) -> str:
    """Strip blanks, Excel's text markers (`'0812...`, `="0812..."`) and number formatting."""
    text = raw.strip().replace("\u00a0", " ")
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip()
    return _whole_number(text.removeprefix("'").strip())


def _whole_number(text: str) -> str:
    """Digits of a Number cell that kept them all (`6.281.298.765.435,00`), else `text`."""
    match = _NUMBER_CELL.fullmatch(text)
    if match is None:
        return text
    sign, digits, thousands, decimal = match.groups()
    if thousands == decimal or not (thousands or decimal):
        return text  # one mark for both thousands and fraction is no number format
    return sign + (digits.replace(thousands, "") if thousands else digits)


def _undo_excel(text: str) -> str:
    """Expand `6.28123456789E+11` to `628123456789`; refuse it when digits were lost."""
    match = _EXCEL.fullmatch(text.replace(" ", ""))
    if match is None:
        return text
    head, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    if len(fraction) < exponent:
        raise ValueError(f"Excel scientific notation lost digits: {text}")
    if len(fraction) > exponent:
        raise ValueError(f"not a whole number: {text}")
    return ("+" if text.startswith("+") else "") + head + fraction


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise ValueError(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None


def _is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return bool(phonenumbers.is_valid_number(number)) and (
        phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def _check_mobile(number: phonenumbers.PhoneNumber) -> None:
    """Raise ValueError saying why `number` is not a valid mobile number, if it is not."""
    if not phonenumbers.is_valid_number(number):
        length = phonenumbers.is_possible_number_with_reason(number)
        detail = _LENGTH_REASONS.get(length)
        suffix = f" ({detail})" if detail else ""
        raise ValueError("not a valid mobile number" + suffix)
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        raise ValueError("a landline, not a mobile number")
    if kind not in _MOBILE_TYPES:
        raise ValueError("not a mobile number")


def whatsapp_key(phone: str) -> str:
    """One key per WhatsApp number, whichever form of it arrives: E.164 digits, no `+`.

    The key is the form `normalize_phone` gives a valid mobile (libphonenumber's E.164), so
    numbers imported for a campaign are keys already; what this rewrites is the `wa_id` or
    `from` Meta reports where it differs from that form. Digit rules only (the webhook path
    calls this thousands of times a second):

    - Mexico: WhatsApp IDs keep the `1` Mexico dropped from mobile dialling in 2019:
      `52 1 + 10 digits` -> `52 + 10 digits`.
    - Argentina: mobiles are `54 9 + 10 digits` internationally; a number sent without the
      `9` (`54 + 10 digits`, area codes start with 1 to 3) -> `54 9 + 10 digits`.
    - Brazil: a mobile whose WhatsApp account predates the ninth digit is reported with 8
      subscriber digits: `55 + DDD + 8 digits` starting 6 to 9 -> `55 + DDD + 9 + 8 digits`.
      Landlines (8 digits starting 2 to 5) are left alone.

    Every other number (Indonesia's included) is its own key.

    Sources: Chatwoot's WhatsApp phone normalizers (chatwoot/chatwoot
    app/services/whatsapp/phone_normalizers/{mexico,argentina,brazil}_phone_normalizer.rb,
    issues #5840 and #11053, pull requests #14174 and #14264); whatsapp-web.js issue #596
    (Brazil's ninth digit); Gupshup's and Zoho's notes on WhatsApp IDs in Brazil and Mexico;
    Meta's webhook reference ("a WhatsApp user's ID and phone number may not always match").

    Raises:
        ValueError: not an international number (8 to 15 digits, not starting with 0).
    """
    digits = phone if phone.isdigit() and phone.isascii() else phone.translate(_KEY_STRIP)
    if not (digits.isdigit() and digits.isascii() and 8 <= len(digits) <= 15):
        raise ValueError("not an international phone number")
    if digits[0] == "0":
        raise ValueError("not an international phone number (no country code)")
    size, head = len(digits), digits[:2]
    if head == "52":
        if size == 13 and digits[2] == "1":
            return "52" + digits[3:]
    elif head == "54":
        if size == 12 and digits[2] in _AR_AREA_DIGITS:
            return "549" + digits[2:]
    elif head == "55" and size == 12:
        ddd_ok = digits[2] in _BR_DDD_DIGITS and digits[3] in _BR_DDD_DIGITS
        if ddd_ok and digits[4] in _BR_OLD_MOBILE:
            return digits[:4] + "9" + digits[4:]
    return digits
