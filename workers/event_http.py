"""A small keep-alive HTTP/1.1 client for event POSTs.

An event POST is a few hundred bytes to a receiver the workers talk to all day. A profile of
`python -m bench.event_cost`'s loop put most of its CPU in the HTTP client: with httpx, 90 %;
with the stdlib's `http.client`, still more than half (a header at a time through `putheader`,
the answer's headers through the `email` parser, and the body in a second `sendall`). This
client writes each request in one `sendall` and reads just what it needs from the answer: the
status, and enough of the framing (RFC 9112 section 6.3) to drop the body and keep the
connection when it can be kept.

- Connections are kept per origin (scheme, host, port), each used by one thread at a time. One
  the receiver closed while it sat idle (uvicorn closes after 5 s) is noticed before use; one
  that fails before any byte of an answer came back is dropped and the event is sent once more
  on a new connection (events are delivered at least once: the receiver dedupes on
  `webhook-id`, so a second copy is safe).
- `post_many` writes several requests back to back and reads their answers in order (HTTP/1.1
  pipelining, RFC 9112 section 9.3.2): one write and a few reads for a window of events,
  where one at a time costs a write, a read and two process wake-ups each, the larger part
  of an event's CPU on a small VM (`python -m bench.event_cost`). A connection that ends
  before the window's last answer (`Connection: close`, HTTP/1.0, a server that reads one
  request at a time and drops the rest; or an answer after the first too slow) is not an
  error: the unanswered requests go again on a new connection, and that origin gets one
  request at a time from then on.
- `timeout` bounds the connect and each whole answer, not each read: a receiver trickling bytes
  cannot hold the thread longer.
- An answer's body is read and dropped up to 1 MiB; a longer one closes the connection instead.
- `https://` goes through `ssl` with the default context (certificates and host checked);
  `user:password@` in the URL becomes an `Authorization: Basic` header.
"""

import base64
import dataclasses
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Sequence

__all__ = ["BadResponse", "EventConnections"]

#: Longest answer head (status line and headers) read, and longest body read and dropped.
_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_RECV = 65536
#: Longest run of pipelined requests written at once, bytes (a receiver that answered a few
#: long error pages must never fill our receive buffer while we still write).
_MAX_WINDOW = 64 * 1024
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux


class BadResponse(Exception):
    """The receiver's answer is not HTTP/1.x as this client reads it."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]
    head: bytes  # "POST path HTTP/1.1", Host and (from the URL) Authorization lines


class _Conn:
    """One socket and what was read from it past the last answer."""

    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def dropped(self) -> bool:
        """The receiver closed it (or sent something unasked) while it sat idle."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class EventConnections:
    """Idle connections by origin; `post` takes one (or opens one) and gives it back.

    Raises from `post`: TimeoutError (connect or answer too slow), OSError (refused, reset,
    closed early) and BadResponse (an answer that is not HTTP).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._targets: dict[str, _Target] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        #: Origins that ended a connection before a window's last answer: sent one at a time.
        self._serial: set[tuple[str, str, int]] = set()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST `body`; returns the answer's status code (its body is read and dropped)."""
        result = self.post_many(url, [(headers, body)])[0]
        if isinstance(result, Exception):
            raise result
        assert result is not None
        return result

    def post_many(
        self, url: str, requests: Sequence[tuple[dict[str, str], bytes]]
    ) -> list[int | Exception | None]:
        """POST each (headers, body) to `url`, in order, written back to back on one
        connection (HTTP/1.1 pipelining) and answered in the same order.

        Returns, per request, its status code; or the error (TimeoutError, OSError,
        BadResponse) of the first one that got no answer, and None for those after it (not
        sent, or sent without an answer: send them again). When a connection ends before the
        window's last answer (`Connection: close`, HTTP/1.0, a server that does not pipeline),
        the rest go again on a new one, one at a time to that origin from then on.
        """
        target = self._targets.get(url) or self._target(url)
        raw = [self._request(target, headers, body) for headers, body in requests]
        results: list[int | Exception | None] = [None] * len(raw)
        done = 0
        while done < len(raw):
            window = self._window(target.origin, raw, done)
            try:
                statuses = self._send(target.origin, window)
            except (TimeoutError, OSError, BadResponse) as exc:
                results[done] = exc
                break
            results[done : done + len(statuses)] = statuses
            done += len(statuses)
            if len(statuses) < len(window):
                with self._lock:
                    self._serial.add(target.origin)
        return results

    def _request(self, target: "_Target", headers: dict[str, str], body: bytes) -> bytes:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
            raise ValueError("a header holds a line break")
        return b"".join(
            (target.head, lines.encode("latin-1"), b"content-length: %d\r\n\r\n" % len(body), body)
        )

    def _window(self, origin: tuple[str, str, int], raw: list[bytes], start: int) -> list[bytes]:
        """The requests from `start` written at once: up to `_MAX_WINDOW` bytes (at least
        one request), a single one to an origin that did not answer a whole window."""
        if origin in self._serial:
            return raw[start : start + 1]
        end, size = start + 1, len(raw[start])
        while end < len(raw) and size + len(raw[end]) <= _MAX_WINDOW:
            size += len(raw[end])
            end += 1
        return raw[start:end]

    def _send(self, origin: tuple[str, str, int], window: list[bytes]) -> list[int]:
        conn = self._take(origin)
        if conn is not None:
            try:
                return self._exchange(origin, conn, window, reused=True)
            except _Stale:
                pass  # closed by the receiver before it answered: once more, on a new one
        return self._exchange(origin, self._open(origin), window, reused=False)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _exchange(
        self, origin: tuple[str, str, int], conn: _Conn, window: list[bytes], *, reused: bool
    ) -> list[int]:
        """Write `window`, read its answers: their statuses, at least one (or it raises);
        fewer than asked when the connection ended after some."""
        statuses: list[int] = []
        keep = True
        try:
            conn.sock.settimeout(self.timeout)
            try:
                conn.sock.sendall(window[0] if len(window) == 1 else b"".join(window))
            except (BrokenPipeError, ConnectionResetError):
                if reused:
                    raise _Stale("kept connection closed by the receiver") from None
                raise
            if len(window) > 1 and _QUICKACK is not None:
                # Our ACKs go at once: a receiver without TCP_NODELAY holds each answer after
                # the first until the one before is acknowledged (Nagle), and a delayed ACK
                # would make that 40 ms per window.
                conn.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            while keep and len(statuses) < len(window):
                deadline = time.monotonic() + self.timeout
                status, keep = _Answer(conn, deadline, reused=reused and not statuses).read()
                statuses.append(status)
        except BaseException as exc:
            conn.close()
            if statuses and isinstance(exc, (TimeoutError, OSError, BadResponse)):
                return statuses  # the rest go again, on a new connection
            raise
        if keep:
            with self._lock:
                self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()
        return statuses

    def _take(self, origin: tuple[str, str, int]) -> _Conn | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None or not conn.dropped():
                return conn
            conn.close()

    def _open(self, origin: tuple[str, str, int]) -> _Conn:
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                sock = self._tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return _Conn(sock)

    def _target(self, url: str) -> _Target:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, host = path.replace(" ", "%20"), parts.netloc.rpartition("@")[2]
        head = f"POST {path} HTTP/1.1\r\nhost: {host}\r\n"
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            head += f"authorization: Basic {token}\r\n"
        if any(c in path + host for c in "\r\n\t "):
            raise ValueError(f"not a usable URL: {url!r}")
        target = _Target((parts.scheme, parts.hostname, port), head.encode("latin-1"))
        with self._lock:
            if len(self._targets) > 1000:
                self._targets.clear()
                self._serial.clear()
            self._targets[url] = target
        return target


class _Stale(ConnectionError):
    """A kept connection was closed before any byte of the answer came."""


class _Answer:
    """Reads one answer from `conn`: its status, and whether the connection can be kept."""

    def __init__(self, conn: _Conn, deadline: float, *, reused: bool) -> None:
        self.conn = conn
        self.deadline = deadline
        self.reused = reused
        self.seen = bool(conn.buf)

    def read(self) -> tuple[int, bool]:
        while True:
            version, status, fields = self._head()
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue, 103 Early Hints: the answer comes after
            break
        connection = fields.get("connection", "").lower()
        keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
        if status in (204, 304) or 100 <= status < 200:
            return status, keep and status != 101
        coding = fields.get("transfer-encoding")
        if coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() != "chunked":
                self._drain_to_close()
                return status, False
            return status, keep and self._chunked()
        length = fields.get("content-length")
        if length is None:
            self._drain_to_close()
            return status, False
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not (size := values.pop()).isdigit():
            raise BadResponse(f"bad content-length: {length!r}")
        if int(size) > _MAX_BODY:
            return status, False
        self._exactly(int(size))
        return status, keep

    def _head(self) -> tuple[str, int, dict[str, str]]:
        buf = self.conn.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            if len(buf) > _MAX_HEAD:
                raise BadResponse("answer head longer than 64 KiB")
            self._more()
        head = bytes(buf[:end]).decode("latin-1")
        del buf[: end + 4]
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise BadResponse(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        fields: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise BadResponse(f"bad header line: {line[:80]!r}")
            key = name.strip().lower()
            fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
        return version, int(code), fields

    def _chunked(self) -> bool:
        """Read and drop a chunked body; False when it was too long to read (not kept)."""
        total = 0
        while True:
            line = self._line()
            size_text = line.partition(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadResponse(f"bad chunk size: {bytes(size_text[:20])!r}") from None
            if size == 0:
                while self._line():  # trailers, up to the empty line
                    pass
                return True
            total += size
            if total > _MAX_BODY:
                return False
            self._exactly(size)
            if self._line():
                raise BadResponse("chunk longer than its size")

    def _line(self) -> bytes:
        buf = self.conn.buf
        while (end := buf.find(b"\r\n")) < 0:
            if len(buf) > _MAX_HEAD:
                raise BadResponse("chunk line longer than 64 KiB")
            self._more()
        line = bytes(buf[:end])
        del buf[: end + 2]
        return line

    def _exactly(self, size: int) -> None:
        buf = self.conn.buf
        while len(buf) < size:
            self._more()
        del buf[:size]

    def _drain_to_close(self) -> None:
        """A body that ends when the connection does: read (up to a bound) and drop it."""
        total = len(self.conn.buf)
        self.conn.buf.clear()
        try:
            while total <= _MAX_BODY:
                total += len(self._recv())
        except EOFError:
            pass

    def _more(self) -> None:
        try:
            self.conn.buf += self._recv()
        except EOFError:
            if self.reused and not self.seen:
                raise _Stale("kept connection closed by the receiver") from None
            raise ConnectionError("the receiver closed the connection mid-answer") from None

    def _recv(self) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("answer too slow")
        self.conn.sock.settimeout(left)
        try:
            data = self.conn.sock.recv(_RECV)
        except ConnectionResetError:
            if self.reused and not self.seen:
                raise _Stale("kept connection reset by the receiver") from None
            raise
        if not data:
            raise EOFError
        self.seen = True
        return data
