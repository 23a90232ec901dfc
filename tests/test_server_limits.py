"""The endpoint's front process stays bounded and fair under hostile clients (T22), loopback only.

Each attack of the adversarial test, bounded in count and time: an 820 MB answer, clients that never
read, a 16 MB header, 1,000 half-sent requests from one address, two addresses sending heavy
queries in turn. The front's peak resident memory (VmHWM) is printed for the closing note.
"""

from __future__ import annotations

import contextlib
import http.client
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.endpoint import Server, running_server

CLIENT_TIMEOUT = 2.0
REQUEST_TIMEOUT = 2.0
QUERY_TIMEOUT = 30.0  # not what this module tests (tests/test_server.py does): long enough for a loaded machine
BUDGET = 3.0
FRONT_LIMIT_MB = 256  # what docs/security.md promises for the front process with the default caps
# Every triple's value doubled 12 times: 4,203 rows, some 820 MB of values, unless the byte cap cuts it.
DOUBLING = "".join(f"BIND(CONCAT(?d{i}, ?d{i}) AS ?d{i + 1}) " for i in range(12))
BIG = f'SELECT ?d12 WHERE {{ ?s ?p ?o BIND(CONCAT(STR(?o), "") AS ?d0) {DOUBLING}}} LIMIT 10000'
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # 17.6 million rows counted: a second or two
LIGHT = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    options = ["--timeout", str(QUERY_TIMEOUT), "--client-timeout", str(CLIENT_TIMEOUT), "--request-timeout",
               str(REQUEST_TIMEOUT), "--client-budget", str(BUDGET), "--queue-wait", "3"]  # fmt: skip
    with running_server(tmp_path_factory.mktemp("limits") / "serve.log", *options) as running:
        yield running


def status(server: Server, field: str) -> int:
    """A figure of the front process, in kB, from /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def query(server: Server, text: str, source: str, accept: str = "text/csv") -> tuple[int, dict, bytes]:
    """One query from the loopback address ``source``: each test is its own client (the budgets are per address)."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", "/sparql?" + urlencode({"query": text}), headers={"Accept": accept})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw(server: Server, source: str = "127.0.0.1") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
    return sock


def test_an_820_mb_answer_is_cut_at_the_byte_cap_and_streamed(server: Server) -> None:
    before = status(server, "VmRSS")
    code, headers, body = query(server, BIG, source="127.0.0.8")
    assert code == 200
    assert headers["x-ckg-truncated"] == f"max-bytes={32 * 1024 * 1024}"
    assert 30 * 1024 * 1024 < len(body) <= 32 * 1024 * 1024 and int(headers["content-length"]) == len(body)
    assert body.startswith(b"d12\r\n") and body.endswith(b"\r\n")  # whole rows: the cut is between two rows
    rows = body.count(b"\r\n") - 1
    peak = status(server, "VmHWM")
    print(f"\nbyte cap: {len(body):,} bytes in {rows} rows; front RSS before {before // 1024} MB, "
          f"peak so far {peak // 1024} MB")  # fmt: skip
    assert peak < FRONT_LIMIT_MB * 1024
    assert query(server, LIGHT, source="127.0.0.9")[0] == 200


def test_clients_that_do_not_read_are_dropped_after_the_client_timeout(server: Server) -> None:
    sockets = [raw(server, "127.0.0.5") for _ in range(4)]
    request = f"GET /sparql?{urlencode({'query': BIG})} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n".encode()
    for sock in sockets:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request)
    time.sleep(1.0)
    held = status(server, "VmRSS")
    # The answers stall, then the connections are dropped: waited for in the log (a loaded machine is slower).
    deadline = time.monotonic() + QUERY_TIMEOUT
    while not _dropped_a_client(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    dropped = []
    for sock in sockets:
        sock.settimeout(5)
        received = 0
        with contextlib.suppress(OSError):  # reset by the server
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        dropped.append(received < 32 * 1024 * 1024)
        sock.close()
    after = status(server, "VmRSS")
    print(f"\nunread clients: front RSS while held {held // 1024} MB, after {after // 1024} MB, "
          f"peak so far {status(server, 'VmHWM') // 1024} MB")  # fmt: skip
    assert all(dropped)  # nobody got a whole answer: each connection was cut
    assert status(server, "VmHWM") < FRONT_LIMIT_MB * 1024
    assert query(server, LIGHT, source="127.0.0.10")[0] == 200
    assert _dropped_a_client(server), server.log_text()


def _dropped_a_client(server: Server) -> bool:
    return "it read nothing for 2 s" in server.log_text() or "dropped a client" in server.log_text()


def test_a_16_mb_header_gets_431(server: Server) -> None:
    sock = raw(server)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        while sent < 16 * 1024 * 1024 and not select.select([sock], [], [], 0.01)[0]:  # until the server answers
            sock.sendall(b"a" * 65536)
            sent += 65536
        answer = sock.recv(4096)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    many = {f"X-H{i}": "1" for i in range(150)}
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/health", headers=many)
    assert connection.getresponse().status == 431
    connection.close()
    assert status(server, "VmHWM") < FRONT_LIMIT_MB * 1024


def test_1000_half_sent_requests_from_one_address_do_not_block_others(server: Server) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    held = []
    try:
        for _ in range(1000):
            sock = raw(server, "127.0.0.6")
            held.append(sock)
            with contextlib.suppress(OSError):  # (refused already)
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        started = time.monotonic()
        code, _, body = query(server, LIGHT, source="127.0.0.7")
        assert (code, body) == (200, b"boolean\r\ntrue\r\n")
        assert time.monotonic() - started < REQUEST_TIMEOUT  # answered while the 1,000 were still held
        refused = sum(_answer_of(sock).startswith(b"HTTP/1.1 429 ") for sock in held[32:100])
        time.sleep(REQUEST_TIMEOUT)
        timed_out = sum(_answer_of(sock).startswith(b"HTTP/1.1 408 ") for sock in held[:32])
    finally:
        for sock in held:
            sock.close()
    assert refused == 100 - 32  # each address keeps at most 32 connections open ...
    assert timed_out == 32  # ... and those that never finish their request are closed with 408


def _answer_of(sock: socket.socket) -> bytes:
    sock.settimeout(0.5)
    try:
        return sock.recv(64)
    except OSError:
        return b""


def test_two_clients_sending_heavy_queries_get_429_and_light_queries_still_run(server: Server) -> None:
    """Both heavy clients keep sending until each has had a 429; then a third client's light queries all run."""
    codes: dict[str, list[tuple[int, str | None]]] = {"127.0.0.2": [], "127.0.0.3": []}
    give_up = time.monotonic() + 60

    def heavy(source: str) -> None:
        while time.monotonic() < give_up and not any(code == 429 for code, _ in codes[source]):
            code, headers, _ = query(server, HEAVY, source=source)
            codes[source].append((code, headers.get("retry-after")))

    threads = [threading.Thread(target=heavy, args=(s,)) for s in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = [query(server, HEAVY, source=source)[0] for source in codes]  # still over their budgets
    light = [query(server, LIGHT, source="127.0.0.4")[0] for _ in range(3)]
    heavy_codes = {code for answers in codes.values() for code, _ in answers}
    assert heavy_codes <= {503, 429, 200} and all(answers[-1][0] == 429 for answers in codes.values()), codes
    assert all(int(retry) >= 1 for answers in codes.values() for code, retry in answers if code == 429)
    assert again == [429, 429] and light == [200, 200, 200], (again, light, codes)
