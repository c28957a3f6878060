"""Phone number helpers shared by import, logging and reports."""

__all__ = ["mask_phone"]


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
