"""Request input as Laravel sees it (query merged with a JSON or form body), and validation."""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from broadcaster.sandbox.responses import validation_error

__all__ = ["Validator", "normalise_phone", "read_input"]


async def read_input(request: Request) -> dict[str, Any]:
    """The query parameters, overlaid with the JSON or form body (`$request->all()`).

    A body that is not a JSON object counts as empty, so validation reports what is missing.
    """
    data: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return data
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if isinstance(body, dict):
            data.update(body)
    elif "form" in ctype:
        form = await request.form()
        for key, value in form.multi_items():
            if key.endswith("[]"):
                data.setdefault(key[:-2], []).append(value)
            else:
                data[key] = value
    return data


def normalise_phone(raw: str, *, waba: bool) -> tuple[str | None, str | None]:
    """Check a phone number and normalise it to digits; returns (phone, error).

    A leading `+` is dropped. WABA routes turn `08...` into `628...`; device routes want
    `62...` already, as Replai's do.
    """
    digits = raw.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        return None, "The phone field format is invalid."
    if waba and digits.startswith("0"):
        digits = "62" + digits[1:]
    if not 8 <= len(digits) <= 15:
        return None, "The phone field must be between 8 and 15 digits."
    if not waba and not digits.startswith("62"):
        return None, "The phone field must start with 62 (country code)."
    return digits, None


def _label(field: str) -> str:
    return field.replace("_", " ")


class Validator:
    """Collects Laravel-style validation errors for one request's input."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, message: str) -> None:
        """Add an error message for `field`."""
        self.errors.setdefault(field, []).append(message)

    def text(self, field: str, *, required: bool = True) -> str:
        """A required (or optional) scalar field, as a string; "" when missing."""
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, f"The {_label(field)} field is required.")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(field, f"The {_label(field)} field must be a string.")
            return ""
        return str(value)

    def strings(self, field: str) -> list[str]:
        """An optional array of strings (an object's values count, in key order)."""
        value = self.data.get(field)
        if value is None or value == "":
            return []
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            self.fail(field, f"The {_label(field)} field must be an array of strings.")
            return []
        return [str(v) for v in value]

    def choice(self, field: str, options: tuple[str, ...]) -> str:
        """A required field that must be one of `options`."""
        value = self.text(field)
        if value and value not in options:
            self.fail(field, f"The selected {_label(field)} is invalid.")
        return value

    def phone(self, field: str = "phone", *, waba: bool) -> str:
        """A required phone number, normalised; "" when invalid."""
        raw = self.text(field)
        if not raw:
            return ""
        phone, error = normalise_phone(raw, waba=waba)
        if error:
            self.fail(field, error)
        return phone or ""

    def response(self) -> Response | None:
        """The 422 answer when anything failed, else None."""
        return validation_error(self.errors) if self.errors else None
