"""Phone numbers typed by an operator, normalised the way contact import does it."""

from collections.abc import Iterable

from broadcaster.phones import normalize_phone

from .errors import ApiError

__all__ = ["normalize_many"]


def normalize_many(raw: Iterable[str], *, region: str) -> list[str]:
    """E.164 digits for each number, in order and without repeats.

    Raises:
        ApiError: 422 listing every invalid number with its reason; nothing is returned then.
    """
    phones: dict[str, None] = {}
    invalid: list[dict[str, str]] = []
    for value in raw:
        try:
            phones[normalize_phone(value, region=region)] = None
        except ValueError as exc:
            invalid.append({"phone": value, "reason": str(exc)})
    if invalid:
        listed = ", ".join(f"{i['phone']!r} ({i['reason']})" for i in invalid[:5])
        raise ApiError(
            422, f"invalid phone numbers: {listed}; fix them and retry", invalid=invalid
        )
    return list(phones)
