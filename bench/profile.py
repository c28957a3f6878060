"""Summarise py-spy collapsed stacks (`--format raw`) of benchmark workers: cost per send.

    python -m bench.profile FILE.raw [FILE.raw ...] --sends N [--rate 250] [--top 25]

Prints the sampled CPU, the share and milliseconds per send of each stage of a send (by the
function a stack passes through: claim, rate limit, HTTP, finish, publish...), and the
functions with the most samples inclusive and self. Stacks of idle threads are not in the
files (py-spy samples only running threads unless `--idle`); frames of waiting are dropped
anyway (`wait`, `select`, `poll`, `acquire`, `sleep`).
"""

import argparse
import collections
import re
import sys
from collections.abc import Iterable

#: (stage, a regular expression on one frame); a stack counts for the first stage it matches.
STAGES = [
    ("prepare (Lua)", r"(^|\.)prepare(_many)? \(.*broadcaster/store/"),
    ("claim (Lua)", r"(^|\.)claim \(.*broadcaster/store/"),
    ("rate limit (Lua)", r"(^|\.)_take_slot \("),
    ("campaign state recheck", r"(^|\.)state \(.*broadcaster/store/"),
    ("HTTP send (client)", r"(^|\.)send \(.*broadcaster/replai/client\.py|^post \(.*httpx|"
     r"(^|\.)(bare|naive)_send \("),
    ("finish (Lua)", r"(^|\.)finish \(.*broadcaster/store/"),
    ("publish next sends", r"(^|\.)publish_sends \("),
    ("ticker thread", r"(^|\.)_run \(.*workers/ticker\.py"),
    ("Celery: receive, ack, trace", r"celery/|kombu/"),
]  # fmt: skip
_IDLE = re.compile(r"(^|\.)(wait|_wait_for_tstate_lock|select|poll|epoll|acquire|sleep) \(")


def parse(paths: Iterable[str]) -> list[tuple[list[str], int]]:
    stacks = []
    for path in paths:
        with open(path) as f:
            for line in f:
                frames, _, count = line.rstrip("\n").rpartition(" ")
                if frames and count.isdigit():
                    stacks.append((frames.split(";"), int(count)))
    return stacks


def _short(frame: str) -> str:
    frame = re.sub(r"\S*site-packages/", "", frame)
    frame = re.sub(r"\S*/work/[^/]+/", "", frame)
    return re.sub(r":\d+\)$", ")", frame)


def summarise(stacks: list[tuple[list[str], int]], sends: int, rate: int, top: int) -> str:
    busy = [(s, n) for s, n in stacks if not _IDLE.match(s[-1])]
    total = sum(n for _, n in busy)
    if not total:
        return "no samples"
    ms = 1000.0 / rate
    per_send = (lambda n: n * ms / sends) if sends else (lambda n: 0.0)
    out = [f"samples {total} ({total * ms / 1000:.2f} s CPU sampled), idle left out: "
           f"{sum(n for _, n in stacks) - total}"]  # fmt: skip
    stages: collections.Counter[str] = collections.Counter()
    for frames, n in busy:
        stages[_stage(frames)] += n
    out.append(f"\n{'stage':40} {'share':>6} {'ms/send':>8}")
    for name, n in stages.most_common():
        out.append(f"{name:40} {n / total:6.1%} {per_send(n):8.3f}")
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for frames, n in busy:
        for f in {_short(f) for f in frames}:
            inclusive[f] += n
        own[_short(frames[-1])] += n
    for title, counter in (("inclusive", inclusive), ("self", own)):
        out.append(f"\ntop {top} functions, {title}: share, ms/send")
        for name, n in counter.most_common(top):
            out.append(f"{n / total:6.1%} {per_send(n):7.3f}  {name}")
    return "\n".join(out)


def _stage(frames: list[str]) -> str:
    for name, pattern in STAGES:
        if any(re.search(pattern, f) for f in frames):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--sends", type=int, default=0, help="sends during the recording")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarise(parse(args.files), args.sends, args.rate, args.top))


if __name__ == "__main__":
    sys.exit(main())
