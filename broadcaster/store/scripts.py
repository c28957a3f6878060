"""The store's Lua scripts, with the recipient statuses generated from `RecipientStatus`.

Each script in `broadcaster/lua/` is one atomic step. `prelude.lua` (shared helpers) is put in
front of each, and in front of that a header this module writes from `RecipientStatus`: the
status numbers as Lua constants and their labels, so Python and Lua cannot disagree.
"""

import functools
import importlib.resources
from typing import Any

from broadcaster.campaigns import RecipientStatus

__all__ = ["load", "source", "status_header"]


def status_header() -> str:
    """Lua declaring every status as a constant (`local SENT = 4`) and `LABELS[n]`."""
    names = ", ".join(s.name for s in RecipientStatus)
    numbers = ", ".join(str(int(s)) for s in RecipientStatus)
    labels = ", ".join(f"[{int(s)}] = '{s.label}'" for s in RecipientStatus)
    return f"local {names} = {numbers}\nlocal LABELS = {{{labels}}}\n"


@functools.cache
def source(name: str) -> str:
    """The full source of script `name` (e.g. "claim.lua"): header, prelude, script.

    A script whose first line is a shebang with flags (`#!lua flags=allow-oom`, Redis 7) keeps
    that line first.
    """
    files = importlib.resources.files("broadcaster.lua")
    prelude = files.joinpath("prelude.lua").read_text()
    body = files.joinpath(name).read_text()
    shebang = ""
    if body.startswith("#!"):
        shebang, _, body = body.partition("\n")
        shebang += "\n"
    return shebang + status_header() + prelude + body


def load(redis: Any, name: str) -> Any:
    """Register script `name` on a Redis client (redis-py `Script`, loaded on first call)."""
    return redis.register_script(source(name))
