"""A small keep-alive HTTP client for event POSTs (stdlib `http.client`).

An event POST is a few hundred bytes to a receiver the workers talk to all day. With httpx,
about 90 % of the delivery loop's time went into httpx and httpcore (a profile of
`python -m bench.event_cost`'s loop); on a kept-alive `http.client` connection one event costs
0.25 ms of CPU in all (signing and Redis included). Connections are kept per (scheme, host,
port), each used by one thread at a time.
"""

import http.client
import threading
import urllib.parse

__all__ = ["EventConnections"]


class EventConnections:
    """Idle connections by origin; `post` takes one (or opens one) and gives it back.

    Raises from `post`: TimeoutError (connect or answer too slow), OSError and
    http.client.HTTPException (refused, reset, a broken answer).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST `body`; returns the answer's status code (the answer's body is read and
        dropped)."""
        parts = urllib.parse.urlsplit(url)
        https = parts.scheme == "https"
        origin = (parts.scheme, parts.hostname or "", parts.port or (443 if https else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self._take(origin)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.setdefault(origin, []).append(conn)
        return response.status

    def _take(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get(origin)
            if idle:
                return idle.pop()
        scheme, host, port = origin
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return kind(host, port, timeout=self.timeout)
