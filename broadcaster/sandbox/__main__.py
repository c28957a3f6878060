"""`python -m broadcaster.sandbox --port 8900 ...`: run the Replai simulator."""

from broadcaster.sandbox.options import parse_args
from broadcaster.sandbox.server import run

__all__: list[str] = []

if __name__ == "__main__":
    run(parse_args())
