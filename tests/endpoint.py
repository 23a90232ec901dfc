"""Test helpers: run ``ckg serve`` on a free loopback port, and a loopback listener that counts requests."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# A command prefix under which no network namespace can be made: CAP_SYS_ADMIN dropped from the bounding set, and
# no new user namespace allowed (as a container without those rights would be). Needs unshare and setpriv.
WITHOUT_ISOLATION = [
    "unshare", "--user", "--map-root-user", "sh", "-c",
    'echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --bounding-set -sys_admin "$@"', "sh",
]  # fmt: skip


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ATTEMPTS = 3  # a port free when chosen can be taken by another process before the server binds it: retried
_PORT_TAKEN = ("address already in use", "failed to start listening", "failed http listen")
T = TypeVar("T")


class PortTakenError(RuntimeError):
    """The server exited because a port chosen for it was taken before it could listen there."""


def wait_until_listening(name: str, process: subprocess.Popen, log: Path, listening: str, seconds: float) -> None:
    """Wait until ``log`` holds the line ``listening``: the server bound its own port (an answer on that port
    could come from another test process's server that took it meanwhile). PortTakenError or RuntimeError if
    it exits first, RuntimeError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while listening not in (text := log.read_text(encoding="utf-8", errors="replace")):
        if process.poll() is not None:
            taken = any(words in text.lower() for words in _PORT_TAKEN)
            raise (PortTakenError if taken else RuntimeError)(f"{name} exited with {process.returncode}:\n{text}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not listen within {seconds:g} s:\n{text}")
        time.sleep(0.05)


def start_listening(name: str, launch: Callable[[], tuple[T, subprocess.Popen, Path, str]], seconds: float) -> T:
    """Start a server with ``launch`` (which picks free ports, starts the process and returns what the caller
    keeps, the process, its log and the log line that says it listens) until it listens; a new try, on new
    ports, when a port was taken meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        kept, process, log, listening = launch()
        try:
            wait_until_listening(name, process, log, listening, seconds)
            return kept
        except PortTakenError:
            stop(process)
            if attempt == ATTEMPTS:
                raise
        except BaseException:
            stop(process)
            raise
    raise AssertionError("not reached")


def stop(process: subprocess.Popen) -> None:
    """Stop a server by its process id (and wait for it)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Server:
    """A running ``ckg serve``: its base URL, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_server(
    log: Path, *options: str, env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> Iterator[Server]:
    """``ckg serve`` with ``options`` and ``env``, under ``prefix``, on a free loopback port; stopped afterwards."""

    def launch() -> tuple[Server, subprocess.Popen, Path, str]:
        port = free_port()
        command = [*(prefix or []), sys.executable, "-m", "clinical_kg.cli", "serve", "--port", str(port),
                   "--no-access-log", *options]  # fmt: skip
        environment = {**os.environ, **(env or {})}
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=environment
            )
        server = Server(f"http://127.0.0.1:{port}", process, log)
        return server, process, log, f"Uvicorn running on {server.url}"

    server = start_listening("ckg serve", launch, 60)  # uvicorn listens once the query workers are ready
    try:
        with urllib.request.urlopen(server.url + "/health", timeout=10) as response:
            assert response.status == 200, server.log_text()
        yield server
    finally:
        stop(server.process)


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"literal","value":"SECRET"}}]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(server: http.server.HTTPServer) -> Iterator[None]:
    """``server`` serving from a thread; shut down and closed afterwards. It polls for shutdown every 10 ms
    (socketserver's default is 0.5 s, and shutdown() waits for a poll: half a second of each test)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server standing in for an internal service: its URL and the requests it got."""
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}/", hits
