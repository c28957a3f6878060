"""A TCP proxy that delays every byte by a fixed time each way: a stand-in for `tc netem delay`.

    python -m bench.delayproxy --delay-ms 10 LISTEN_PORT=HOST:PORT [...]

bench/multihost.py needs a delay between the worker hosts and Redis and the sandbox; where the
kernel has no netem qdisc ("Specified qdisc kind is unknown"), this proxy adds it in user
space. Each chunk read from one side is written to the other `--delay-ms` after it arrived, in
order, so the round trip grows by twice the delay and nothing is throttled (a chunk never
waits for the one before it to be delivered, only for its own time). Listens on 0.0.0.0.
"""

import argparse
import asyncio
import sys
import time

__all__ = ["main"]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, b""))
    try:
        await task
    except ConnectionError:
        pass


def _handler(host: str, port: int, delay: float):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _pump(reader, up_writer, delay), _pump(up_reader, writer, delay),
            return_exceptions=True,
        )  # fmt: skip

    return handle


async def _serve(routes: list[tuple[int, str, int]], delay: float) -> None:
    servers = [
        await asyncio.start_server(_handler(host, port, delay), "0.0.0.0", listen)
        for listen, host, port in routes
    ]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=10.0, help="added each way")
    parser.add_argument("routes", nargs="+", help="LISTEN_PORT=HOST:PORT")
    args = parser.parse_args()
    routes = []
    for route in args.routes:
        listen, _, target = route.partition("=")
        host, _, port = target.rpartition(":")
        routes.append((int(listen), host, int(port)))
    asyncio.run(_serve(routes, args.delay_ms / 1000))


if __name__ == "__main__":
    sys.exit(main())
