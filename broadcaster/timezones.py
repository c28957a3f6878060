"""A recipient's timezone, for a campaign whose calendar is read in each recipient's own time.

The rule, in order:

1. the contact file's `timezone` column, when the row has one (an IANA name: Asia/Makassar);
2. the only timezone of the number's country (Singapore, Japan, Germany...);
3. for a landline (or a North American number), the timezone of its area code where
   phonenumbers knows exactly one (Bali's +62 361 is Asia/Makassar, Jayapura's +62 967
   Asia/Jayapura);
4. otherwise the campaign's timezone. A mobile number of a country with several timezones
   (Indonesia's +62 8xx, which phonenumbers maps to Asia/Jakarta whatever the owner's island)
   says nothing about where its owner is.
"""

import functools

import phonenumbers
from phonenumbers import timezone as number_zones

from .calendar import zone

__all__ = ["TIMEZONE_COLUMN", "recipient_zone"]

#: The contact column that sets a recipient's timezone.
TIMEZONE_COLUMN = "timezone"
_UNKNOWN = "Etc/Unknown"
#: Number types tied to a place (a North American number may be either, and is).
_GEOGRAPHICAL = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def recipient_zone(phone: str, override: str | None, default: str) -> str:
    """The timezone of `phone` (E.164 digits) by the rule above; `override` is the row's
    `timezone` column (raises CampaignInvalid when it is not a timezone)."""
    if override and override.strip():
        name = override.strip()
        zone(name)
        return name
    try:
        number = phonenumbers.parse("+" + phone)
    except phonenumbers.NumberParseException:
        return default
    zones = _country_zones(number.country_code)
    if len(zones) == 1:
        return next(iter(zones))
    if phonenumbers.number_type(number) in _GEOGRAPHICAL:
        named = number_zones.time_zones_for_geographical_number(number)
        found = [z for z in named if z != _UNKNOWN]
        if len(found) == 1:
            return found[0]
    return default


@functools.cache
def _country_zones(code: int) -> frozenset[str]:
    prefix = str(code)
    found: set[str] = set()
    for key, names in number_zones.TIMEZONE_DATA.items():  # type: ignore[attr-defined]
        if key.startswith(prefix):
            found.update(n for n in names if n != _UNKNOWN)
    return frozenset(found)
