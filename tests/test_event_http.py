"""The event POST client (workers/event_http.py) against scripted servers on real loopback
sockets: each test's server answers with exact bytes, so the framing cases a real receiver can
send (chunked, 1xx, `Connection: close`, HTTP/1.0, a body that ends at close, garbage, a
trickle) are each met on purpose, and the connection count shows what was kept."""

import base64
import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from workers.event_http import BadResponse, EventConnections
from workers.events import post_event

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class Request:
    def __init__(self, head: str, body: bytes) -> None:
        self.line, *lines = head.split("\r\n")
        self.headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = body


class Peer:
    """One accepted connection, as the server's script sees it."""

    def __init__(self, sock: socket.socket, server: "Server") -> None:
        self.sock, self.server, self.buf = sock, server, b""

    def request(self) -> Request | None:
        """The next whole request, or None when the client closed."""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        request = Request(head.decode("latin-1"), b"")
        size = int(request.headers.get("content-length", "0"))
        while len(self.buf) < size:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        request.body, self.buf = self.buf[:size], self.buf[size:]
        self.server.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class Server:
    """Accepts on 127.0.0.1; runs `script(peer, n)` for the n-th connection (from 0)."""

    def __init__(self, script: Callable[[Peer, int], None]) -> None:
        self.script = script
        self.requests: list[Request] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.closing = False
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            n, self.connections = self.connections, self.connections + 1
            thread = threading.Thread(target=self._serve, args=(sock, n), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, n: int) -> None:
        with sock:
            try:
                self.script(Peer(sock, self), n)
            except OSError:
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        self.listener.close()


def answer_each(reply: bytes) -> Callable[[Peer, int], None]:
    """A script: answer every request on the connection with `reply`."""

    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            peer.send(reply)

    return script


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Peer, int], None]], Server]]:
    servers: list[Server] = []

    def start(script: Callable[[Peer, int], None]) -> Server:
        servers.append(Server(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def http() -> Iterator[EventConnections]:
    client = EventConnections(timeout=2.0)
    yield client
    client.close()


def post(http: EventConnections, url: str, body: bytes = b'{"type":"x"}') -> int:
    return http.post(url, {"content-type": "application/json", "webhook-id": "msg_1"}, body)


def test_request_bytes_and_a_kept_connection(serve, http):
    server = serve(answer_each(OK))
    assert post(http, server.url, b'{"a":1}') == 200
    assert post(http, server.url, b'{"b":22}') == 200
    assert server.connections == 1  # the second POST went over the first connection
    first, second = server.requests
    assert first.line == "POST /hook HTTP/1.1"
    assert first.headers["host"] == server.url.split("/")[2]
    assert first.headers["webhook-id"] == "msg_1"
    assert first.headers["content-length"] == "7"
    assert (first.body, second.body) == (b'{"a":1}', b'{"b":22}')


def test_query_string_is_kept_in_the_request_line(serve, http):
    server = serve(answer_each(OK))
    post(http, server.url + "?tenant=7&x=a%20b")
    assert server.requests[0].line == "POST /hook?tenant=7&x=a%20b HTTP/1.1"


@pytest.mark.parametrize(
    ("reply", "status", "kept"),
    [
        # a chunked body, with a chunk extension and a trailer: read to its end, kept
        (b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n"
         b"4;name=value\r\nwiki\r\n5\r\npedia\r\n0\r\nx-trailer: 1\r\n\r\n", 202, True),
        # interim answers come before the answer
        (b"HTTP/1.1 100 Continue\r\n\r\n"
         b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n"
         b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n", 201, True),
        # RFC 9112 6.3: a 204 ends at its head, whatever length it names
        (b"HTTP/1.1 204 No Content\r\ncontent-length: 10\r\n\r\n", 204, True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n", 200, False),
        # HTTP/1.0: closed unless it asks to keep the connection
        (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", 200, False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 2\r\n\r\nok", 200, True),
        # the same length twice is one length (RFC 9110 8.6)
        (b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nok", 200, True),
    ],
    ids=["chunked", "1xx", "204", "connection-close", "http-1.0", "http-1.0-keep-alive",
         "length-twice"],
)  # fmt: skip
def test_answers_are_framed_and_kept_or_not(serve, http, reply, status, kept):
    server = serve(answer_each(reply))
    assert [post(http, server.url) for _ in range(3)] == [status] * 3
    assert server.connections == (1 if kept else 3)  # one, or one per POST
    assert len(server.requests) == 3


def test_chunked_answer_sent_a_byte_at_a_time(serve, http):
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"

    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            for i in range(len(reply)):
                peer.send(reply[i : i + 1])

    server = serve(script)
    assert post(http, server.url) == 200
    assert post(http, server.url) == 200
    assert server.connections == 1


def test_a_body_that_ends_at_close(serve, http):
    def script(peer: Peer, n: int) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        time.sleep(0.05)
        peer.send(b" of the connection")
        # the with-block closes: that ends the body

    server = serve(script)
    assert post(http, server.url) == 200
    assert not any(http._idle.values())  # not kept: its end was the body's
    assert post(http, server.url) == 200
    assert server.connections == 2


def test_an_idle_connection_the_receiver_closed_is_not_used(serve, http):
    # uvicorn closes a kept connection after 5 s idle: the next event must not be written on
    # it (here the receiver only half-closes and keeps reading, so a POST written on it would
    # be received, and then sent again on a new connection after the end of file)
    closed = threading.Event()

    def script(peer: Peer, n: int) -> None:
        peer.request()
        peer.send(OK)  # keep-alive by default...
        if n == 0:
            peer.sock.shutdown(socket.SHUT_WR)  # ...and then closed while idle
            closed.set()
            while peer.request() is not None:
                pass

    server = serve(script)
    assert post(http, server.url, b"1") == 200
    assert closed.wait(2)
    time.sleep(0.05)  # the FIN on its way over loopback
    assert post(http, server.url, b"2") == 200
    assert [r.body for r in server.requests] == [b"1", b"2"]  # each sent once
    assert server.connections == 2


def test_a_kept_connection_closed_before_answering_is_retried_once_on_a_new_one(serve, http):
    # the race the idle check cannot see: the receiver closes as the request goes out
    def script(peer: Peer, n: int) -> None:
        peer.request()
        if n == 0:
            peer.send(OK)
            peer.request()  # read the second POST and close without a byte of answer
            return
        peer.send(OK)
        while peer.request() is not None:
            peer.send(OK)

    server = serve(script)
    assert post(http, server.url, b"1") == 200
    assert post(http, server.url, b"2") == 200
    assert server.connections == 2
    # at least once: the copy on the closed connection may have reached the receiver
    assert [r.body for r in server.requests] == [b"1", b"2", b"2"]
    assert post(http, server.url, b"3") == 200
    assert server.connections == 2  # the new one is kept


def test_a_new_connection_closed_before_answering_is_not_retried(serve, http):
    def script(peer: Peer, n: int) -> None:
        peer.request()

    server = serve(script)
    with pytest.raises(ConnectionError):
        post(http, server.url)
    assert server.connections == 1
    outcome = post_event(http, server.url, {}, b"{}")
    assert not outcome.ok and outcome.error.startswith("connection error: ConnectionError")


def test_closed_mid_answer_is_an_error_not_a_retry(serve, http):
    def script(peer: Peer, n: int) -> None:
        peer.request()
        peer.send(OK)
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\ncontent-len")  # then closed

    server = serve(script)
    assert post(http, server.url) == 200
    with pytest.raises(ConnectionError, match="mid-answer"):
        post(http, server.url)
    assert server.connections == 1


def test_a_trickling_receiver_meets_the_whole_answer_timeout(serve):
    stop = threading.Event()

    def script(peer: Peer, n: int) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.05):  # a header byte every 50 ms: no single read times out
            peer.send(b"x")

    server = serve(script)
    http = EventConnections(timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            post(http, server.url)
        took = time.monotonic() - started
        outcome = post_event(http, server.url, {}, b"{}")
    finally:
        stop.set()
        http.close()
    # bounded by the timeout, not by the receiver: it would trickle until stopped
    assert 0.5 <= took < 5.0
    assert not outcome.ok and outcome.error.startswith("timeout")


def test_a_silent_receiver_times_out(serve):
    def script(peer: Peer, n: int) -> None:
        peer.request()
        time.sleep(3)

    server = serve(script)
    http = EventConnections(timeout=0.3)
    try:
        with pytest.raises(TimeoutError):
            post(http, server.url)
    finally:
        http.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/2 200\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2, 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: " + b"y" * (70 * 1024),
    ],
    ids=str.split(
        "ssh http2 no-code bad-header two-lengths negative-length bad-chunk-size"
        " chunk-too-long head-too-long"
    ),
)
def test_garbage_answers_are_bad_responses(serve, http, reply):
    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            peer.send(reply)
            time.sleep(0.2)  # keep it open: the error must come from the bytes, not a close

    server = serve(script)
    with pytest.raises(BadResponse):
        post(http, server.url)
    outcome = post_event(http, server.url, {}, b"{}")
    assert not outcome.ok and outcome.error.startswith("connection error: BadResponse")
    assert server.connections == 2  # a connection that answered garbage is not kept


def test_a_body_over_1_mib_closes_the_connection_instead_of_being_read(serve, http):
    big = 2 * 1024 * 1024

    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % big)
            try:
                peer.send(b"z" * big)
            except OSError:
                return  # the client closed rather than read it

    server = serve(script)
    assert post(http, server.url) == 200
    assert post(http, server.url) == 200
    assert server.connections == 2


def test_a_chunked_body_over_1_mib_closes_the_connection(serve, http):
    chunk = 256 * 1024

    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            try:
                for _ in range(8):
                    peer.send(b"%x\r\n" % chunk + b"z" * chunk + b"\r\n")
                peer.send(b"0\r\n\r\n")
            except OSError:
                return

    server = serve(script)
    assert post(http, server.url) == 200
    assert post(http, server.url) == 200
    assert server.connections == 2


def test_status_codes_map_to_outcomes(serve, http):
    replies = iter([b"500 Internal Server Error", b"410 Gone", b"200 OK"])

    def script(peer: Peer, n: int) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 " + next(replies) + b"\r\ncontent-length: 0\r\n\r\n")

    server = serve(script)
    failed = post_event(http, server.url, {}, b"{}")
    gone = post_event(http, server.url, {}, b"{}")
    ok = post_event(http, server.url, {}, b"{}")
    assert (failed.ok, failed.gone, failed.status, failed.error) == (False, False, 500, "HTTP 500")
    assert (gone.ok, gone.gone, gone.status) == (False, True, 410)
    assert (ok.ok, ok.status) == (True, 200)


def test_basic_auth_from_the_url(serve, http):
    server = serve(answer_each(OK))
    port = server.url.split(":")[2].split("/")[0]
    assert post(http, f"http://hooks:p%40ss%3Aword@127.0.0.1:{port}/in") == 200
    request = server.requests[0]
    assert request.line == "POST /in HTTP/1.1"
    assert request.headers["host"] == f"127.0.0.1:{port}"  # no credentials in Host
    token = request.headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(token) == b"hooks:p@ss:word"


def test_no_authorization_without_credentials(serve, http):
    server = serve(answer_each(OK))
    post(http, server.url)
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "http:///nohost", "127.0.0.1:80/x", "http://a b.example/"]
)
def test_urls_it_cannot_post_to(http, url):
    with pytest.raises(ValueError):
        post(http, url)


def test_a_header_with_a_line_break_is_refused_before_sending(serve, http):
    server = serve(answer_each(OK))
    with pytest.raises(ValueError, match="line break"):
        http.post(server.url, {"x-note": "a\r\nx-injected: 1"}, b"{}")
    assert server.connections == 0


def test_refused_connection_is_an_outcome(http):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    outcome = post_event(http, f"http://127.0.0.1:{port}/hook", {}, b"{}")
    assert not outcome.ok and "ConnectionRefusedError" in outcome.error


def test_threads_share_the_client_without_sharing_a_connection(serve, http):
    def script(peer: Peer, n: int) -> None:
        while (request := peer.request()) is not None:
            time.sleep(0.01)
            head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(request.body)
            peer.send(head + request.body)

    server = serve(script)
    results: list[int] = []

    def worker(k: int) -> None:
        for i in range(20):
            results.append(post(http, server.url, b"%d-%d" % (k, i)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 80
    assert sorted(r.body for r in server.requests) == sorted(
        b"%d-%d" % (k, i) for k in range(4) for i in range(20)
    )
    assert server.connections <= 4  # each thread's connection went back and was reused


def bodies(n: int) -> list[tuple[dict[str, str], bytes]]:
    return [({"webhook-id": f"msg_{i}"}, b'{"n":%d}' % i) for i in range(n)]


def test_a_window_is_written_before_any_answer_and_answered_in_order(serve, http):
    def script(peer: Peer, n: int) -> None:
        got = [peer.request() for _ in range(3)]  # all three, before answering one
        assert None not in got
        for reply in (OK, b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n",
                      b"HTTP/1.1 204 No Content\r\n\r\n"):  # fmt: skip
            peer.send(reply)
        while peer.request() is not None:
            peer.send(OK)

    server = serve(script)
    assert http.post_many(server.url, bodies(3)) == [200, 503, 204]
    assert http.post_many(server.url, bodies(2)) == [200, 200]
    assert server.connections == 1
    assert [r.body for r in server.requests] == [b'{"n":0}', b'{"n":1}', b'{"n":2}',
                                                 b'{"n":0}', b'{"n":1}']  # fmt: skip


def test_a_server_that_answers_one_request_per_connection_gets_the_rest_one_at_a_time(serve, http):
    waiting: list[bool] = []

    def script(peer: Peer, n: int) -> None:
        if peer.request() is None:
            return
        # was a second request written before this one was answered?
        readable, _, _ = select.select([peer.sock], [], [], 0.05)
        waiting.append(bool(peer.buf) or bool(readable))
        peer.send(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n")  # and the connection ends

    server = serve(script)
    assert http.post_many(server.url, bodies(4)) == [200] * 4
    assert http.post_many(server.url, bodies(2)) == [200] * 2
    assert [r.body for r in server.requests] == [b'{"n":%d}' % i for i in (0, 1, 2, 3, 0, 1)]
    assert server.connections == 6
    assert waiting == [True] + [False] * 5  # pipelined once; then one at a time


def test_a_connection_reset_after_some_answers_sends_the_rest_again(serve, http):
    def script(peer: Peer, n: int) -> None:
        if n == 0:
            assert None not in [peer.request() for _ in range(3)]
            peer.send(OK)
            peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closed with a reset, two requests unanswered
        while peer.request() is not None:
            peer.send(OK)

    server = serve(script)
    assert http.post_many(server.url, bodies(3)) == [200, 200, 200]
    sent = [r.body for r in server.requests]
    assert sent == [b'{"n":0}', b'{"n":1}', b'{"n":2}', b'{"n":1}', b'{"n":2}']


def test_nothing_answered_fails_the_first_and_tries_none_after_it(http):
    port = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{port.getsockname()[1]}/hook"
    port.close()
    first, *rest = http.post_many(url, bodies(3))
    assert isinstance(first, ConnectionRefusedError)
    assert rest == [None, None]


def test_a_timeout_mid_window_keeps_the_answers_before_it(serve):
    def script(peer: Peer, n: int) -> None:
        if n == 0:
            assert None not in [peer.request() for _ in range(3)]
            peer.send(OK)
            time.sleep(1.0)  # the second answer never comes in time
            return
        while peer.request() is not None:
            time.sleep(1.0)

    client = EventConnections(timeout=0.3)
    server = serve(script)
    statuses = client.post_many(server.url, bodies(3))
    client.close()
    assert statuses[0] == 200
    assert isinstance(statuses[1], TimeoutError)
    assert statuses[2] is None


def test_long_requests_are_written_in_windows_of_at_most_64_kib(serve, http):
    windows: list[int] = []

    def script(peer: Peer, n: int) -> None:
        waiting = 0
        while peer.request() is not None:
            waiting += 1
            readable, _, _ = select.select([peer.sock], [], [], 0.1)
            if not peer.buf and not readable:  # nothing more written: the window is whole
                windows.append(waiting)
                peer.send(OK * waiting)
                waiting = 0

    server = serve(script)
    big = [({"webhook-id": f"msg_{i}"}, b"x" * 30_000) for i in range(5)]
    assert http.post_many(server.url, big) == [200] * 5
    assert windows == [2, 2, 1]  # 2 x 30 kB fit in 64 KiB, 3 do not


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_uvicorn_answers_a_pipelined_window_in_order(parser):
    """The receivers apps are likely to run: uvicorn with either of its HTTP parsers."""
    got: list[bytes] = []

    async def app(scope, receive, send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        got.append(body)
        status = 503 if body == b'{"n":3}' else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=parser, lifespan="off",
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = EventConnections(timeout=2.0)
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}/events"
        assert client.post_many(url, bodies(8)) == [204, 204, 204, 503, 204, 204, 204, 204]
        assert client.post_many(url, bodies(2)) == [204, 204]
        assert got == [b'{"n":%d}' % i for i in (*range(8), 0, 1)]
        assert port not in {origin[2] for origin in client._serial}  # it kept pipelining
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
