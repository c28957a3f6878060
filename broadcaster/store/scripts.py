"""The store's Lua scripts, with the recipient statuses generated from `RecipientStatus`.

Each script in `broadcaster/lua/` is one atomic step. `prelude.lua` (shared helpers) is put in
front of each, and in front of that a header this module writes from `RecipientStatus` and
`optouts`: the status numbers as Lua constants and their labels, and the opt-out sources a
resume lifts, so Python and Lua cannot disagree. The scripts that apply webhook callbacks also
get `receipts.lua` (statuses, replies, opt-outs, the hold) after the prelude.
"""

import functools
import importlib.resources
from typing import Any

from broadcaster.campaigns import RecipientStatus
from broadcaster.keys import BUCKET_SIZE
from broadcaster.optouts import LIFTED_BY_RESUME

__all__ = ["batched_source", "load", "source", "status_header"]

#: Shared parts a script needs besides the prelude, put in front of it in this order.
_PARTS = {"callback.lua": ("receipts.lua",), "finish.lua": ("receipts.lua",)}


def status_header() -> str:
    """Lua declaring every status as a constant (`local SENT = 4`), `LABELS[n]`,
    `LIFTED_BY_RESUME[source]` and `BUCKET_SIZE` (recipients per bucket hash)."""
    names = ", ".join(s.name for s in RecipientStatus)
    numbers = ", ".join(str(int(s)) for s in RecipientStatus)
    labels = ", ".join(f"[{int(s)}] = '{s.label}'" for s in RecipientStatus)
    lifted = ", ".join(f"['{source}'] = true" for source in sorted(LIFTED_BY_RESUME))
    return (
        f"local {names} = {numbers}\nlocal LABELS = {{{labels}}}\n"
        f"local LIFTED_BY_RESUME = {{{lifted}}}\nlocal BUCKET_SIZE = {BUCKET_SIZE}\n"
    )


@functools.cache
def source(name: str) -> str:
    """The full source of script `name` (e.g. "claim.lua"): header, prelude, script.

    A script whose first line is a shebang with flags (`#!lua flags=allow-oom`, Redis 7) keeps
    that line first.
    """
    files = importlib.resources.files("broadcaster.lua")
    body = files.joinpath(name).read_text()
    shebang = ""
    if body.startswith("#!"):
        shebang, _, body = body.partition("\n")
        shebang += "\n"
    parts = ["prelude.lua", *_PARTS.get(name, ())]
    return shebang + status_header() + "".join(files.joinpath(p).read_text() for p in parts) + body


@functools.cache
def batched_source(name: str) -> str:
    """Script `name` run for several calls in one step: the replies of each, in a list.

    ARGV is the number of calls, then per call the number of its keys and of its arguments;
    then every call's arguments in turn. KEYS are every call's keys in turn. Each call sees
    its own KEYS and ARGV, as if it ran alone, one after the other (the script's body is the
    body of a function). One round trip and one script run instead of one per call.
    """
    full = source(name)
    shebang = ""
    if full.startswith("#!"):
        shebang, _, full = full.partition("\n")
        shebang += "\n"
    head = status_header() + "".join(
        importlib.resources.files("broadcaster.lua").joinpath(p).read_text()
        for p in ["prelude.lua", *_PARTS.get(name, ())]
    )
    body = full[len(head) :]
    return shebang + head + _BATCH.format(body=body)


_BATCH = """
local function one(KEYS, ARGV)
{body}
end
local calls, replies = tonumber(ARGV[1]), {{}}
local k, a = 0, 1 + 2 * calls
for i = 1, calls do
  local nk, na = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local keys, args = {{}}, {{}}
  for j = 1, nk do keys[j] = KEYS[k + j] end
  for j = 1, na do args[j] = ARGV[a + j] end
  k, a = k + nk, a + na
  replies[i] = one(keys, args)
end
return replies
"""


def load(redis: Any, name: str) -> Any:
    """Register script `name` on a Redis client (redis-py `Script`, loaded on first call);
    `name` ending in `*` (e.g. "prepare.lua*") is `batched_source` of the script."""
    if name.endswith("*"):
        return redis.register_script(batched_source(name[:-1]))
    return redis.register_script(source(name))
