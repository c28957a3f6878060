"""A spreadsheet cell's value as the text a person reads in it (shared by the readers)."""

import datetime

__all__ = ["cell_text"]

_LARGEST_WHOLE_FLOAT = 2**53  # above it a float no longer holds every digit


def cell_text(value: object) -> str:
    """A cell's value as the text a person reads in it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _LARGEST_WHOLE_FLOAT:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        midnight = value.time() == datetime.time(0)
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
