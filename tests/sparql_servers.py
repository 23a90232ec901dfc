"""Test helpers: external SPARQL servers on free loopback ports, each in a throw-away folder.

- :func:`oxigraph_server`: ``oxigraph serve`` from the PyPI package ``oxigraph`` (a test extra).
- :func:`virtuoso_server`: Virtuoso Open Source 7 from Debian's ``virtuoso-opensource`` package
  (``.ci/run`` installs it when it runs as root), from a copy of the packaged ``virtuoso.ini``
  with every file and port moved to the folder and to loopback, its ``dba`` password changed.

Each yields a :class:`RemoteServer` with the ``ckg`` options that reach it and the environment
holding its credentials, and stops the server by its process id afterwards. When a server
cannot be run here, :func:`missing` says why (the tests skip with that reason).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.endpoint import free_port, serving, start_listening, stop

VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")


@dataclass
class RemoteServer:
    """A running SPARQL server: its name, process, log, and how ``ckg`` reaches it."""

    name: str
    process: subprocess.Popen
    log: Path
    query_url: str
    options: list[str]  # --endpoint ... (and --update-endpoint, --graph-store): reads and writes
    env: dict[str, str] = field(default_factory=dict)  # credentials, as a user would export them

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the server by its process id (and wait for it)."""
        stop(self.process)


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` command installed beside this Python (the PyPI package), or on PATH."""
    beside = Path(sys.executable).with_name("oxigraph")
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def missing(name: str) -> str | None:
    """Why the server ``name`` cannot run here, or None when it can."""
    if name == "oxigraph":
        return None if oxigraph_binary() else "the oxigraph server is not installed (pip install oxigraph)"
    if shutil.which("virtuoso-t") is None or shutil.which("isql-vt") is None or not VIRTUOSO_INI.exists():
        return "Virtuoso is not installed (apt-get install virtuoso-opensource; .ci/run does it as root)"
    return None


def _wait_until_up(server: RemoteServer, probe: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:  # up, but refusing the probe: still up
            if exc.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer within {seconds:g} s:\n{server.log_text()}")
        time.sleep(0.1)


@contextlib.contextmanager
def oxigraph_server(folder: Path, *extra: str) -> Iterator[RemoteServer]:
    """``oxigraph serve`` on a free loopback port, storing in ``folder``; stopped afterwards."""

    def launch() -> tuple[RemoteServer, subprocess.Popen, Path, str]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = folder / "oxigraph.log"
        command = [oxigraph_binary() or "oxigraph", "serve", "--location", str(folder / "store"),
                   "--bind", f"127.0.0.1:{port}", *extra]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        options = ["--endpoint", f"{base}/query", "--update-endpoint", f"{base}/update",
                   "--graph-store", f"{base}/store"]  # fmt: skip
        server = RemoteServer("oxigraph", process, log, f"{base}/query", options)
        return server, process, log, f"Listening for requests at {base}"

    server = start_listening("oxigraph", launch, 30)
    try:
        _wait_until_up(server, server.query_url + "?query=ASK%7B%7D", 30)
        yield server
    finally:
        server.stop()


def virtuoso_ini(template: str, folder: Path, sql_port: int, http_port: int) -> str:
    """The packaged ``virtuoso.ini`` with its files in ``folder``, both servers on loopback ports and no
    limit on the estimated cost of a query (docs/remote-stores.md)."""
    files = {"DatabaseFile", "ErrorLogFile", "LockFile", "TransactionFile", "xa_persistent_file"}
    out, section = [], ""
    for line in template.splitlines():
        header = re.match(r"\s*\[(.+)\]", line)
        if header:
            section = header.group(1)
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.split(";")[0].strip()
        if sep and not key.startswith(";") and section in ("Database", "TempDatabase") and key in files:
            line = f"{key} = {folder / Path(value).name}"
        elif sep and key == "ServerPort" and section == "Parameters":
            line = f"ServerPort = 127.0.0.1:{sql_port}"
        elif sep and key == "ServerPort" and section == "HTTPServer":
            line = f"ServerPort = 127.0.0.1:{http_port}"
        elif sep and key == "DirsAllowed":
            line = f"DirsAllowed = {value}, {folder}"
        elif sep and key == "MaxQueryCostEstimationTime":
            # Virtuoso's estimate for a query with many OPTIONALs is far off (red-flags: 5,062 s
            # estimated, 0.7 s run); MaxQueryExecutionTime still bounds the real time
            line = "MaxQueryCostEstimationTime = 0"
        elif sep and section == "Plugins" and key.startswith("Load"):
            continue  # the wiki plugins are not needed
        out.append(line)
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def virtuoso_server(folder: Path) -> Iterator[RemoteServer]:
    """Virtuoso on free loopback ports with a database in ``folder``; stopped afterwards.

    Reads go to ``/sparql`` (anonymous, read-only); writes to ``/sparql-auth`` and the Graph Store
    at ``/sparql-graph-crud-auth`` as ``dba``, whose password is changed to a random one given
    in ``CKG_ENDPOINT_USER``/``CKG_ENDPOINT_PASSWORD``.
    """
    password = secrets.token_hex(12)

    def launch() -> tuple[tuple[RemoteServer, int], subprocess.Popen, Path, str]:
        sql_port, http_port = free_port(), free_port()
        ini = folder / "virtuoso.ini"
        ini.write_text(virtuoso_ini(VIRTUOSO_INI.read_text(encoding="utf-8"), folder, sql_port, http_port))
        log = folder / "virtuoso.out"
        with log.open("wb") as out:
            process = subprocess.Popen(["virtuoso-t", "+configfile", str(ini), "+foreground"], cwd=folder,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        base = f"http://127.0.0.1:{http_port}"
        options = ["--endpoint", f"{base}/sparql", "--update-endpoint", f"{base}/sparql-auth",
                   "--graph-store", f"{base}/sparql-graph-crud-auth"]  # fmt: skip
        env = {"CKG_ENDPOINT_USER": "dba", "CKG_ENDPOINT_PASSWORD": password}
        server = RemoteServer("virtuoso", process, log, f"{base}/sparql", options, env)
        return (server, sql_port), process, log, f"Server online at 127.0.0.1:{sql_port}"  # after the HTTP server

    server, sql_port = start_listening("virtuoso", launch, 60)
    try:
        _wait_until_up(server, server.query_url + "?query=ASK%7B%7D", 60)
        isql(sql_port, "dba", f"USER_CHANGE_PASSWORD('dba', 'dba', '{password}')")
        yield server
    finally:
        server.stop()


def isql(port: int, password: str, statement: str) -> str:
    """Run one SQL statement on a Virtuoso server with ``isql-vt``; its output (raises on an error)."""
    done = subprocess.run(["isql-vt", f"127.0.0.1:{port}", "dba", password, f"exec={statement}"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    if done.returncode != 0 or "*** Error" in done.stdout:
        raise RuntimeError(f"isql {statement!r} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def server_env(server: RemoteServer) -> dict[str, str]:
    """The process environment with the server's credentials added."""
    return {**os.environ, **server.env}


# ---------------------------------------------------------------- scripted stand-ins, for fault tests

LOAD_RECORD = (
    b'{"head":{"vars":["part","started","ended"]},"results":{"bindings":['
    b'{"part":{"type":"uri","value":"https://w3id.org/clinical-kg/dataset/conditions"}},'
    b'{"ended":{"type":"literal","value":"2026-01-01T00:00:00Z",'
    b'"datatype":"http://www.w3.org/2001/XMLSchema#dateTime"}}]}}'
)


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next step of ``script``: (status, headers, body, delay), or
    ``"close"`` (drop the connection and stop listening: the server stopped)."""

    script: list
    seen: list
    server_ref: list

    def _answer(self) -> None:
        self.seen.append((self.command, self.path, dict(self.headers)))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "close":
            self.close_connection = True
            threading.Thread(target=self.server_ref[0].shutdown, daemon=True).start()
            self.server_ref[0].socket.close()
            return
        status, headers, body, delay = step
        time.sleep(delay)
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def scripted_endpoint(*script: object) -> Iterator[tuple[str, list]]:
    """A loopback HTTP server answering requests as ``script`` says; its URL and the requests it got."""
    seen: list = []
    server_ref: list = []
    handler = type("Scripted", (_Scripted,), {"script": list(script), "seen": seen, "server_ref": server_ref})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server_ref.append(server)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}/sparql", seen


def json_answer(body: bytes = LOAD_RECORD, delay: float = 0.0, headers: dict | None = None) -> tuple:
    """A step of a script: a SPARQL JSON answer."""
    return (200, {"Content-Type": "application/sparql-results+json", **(headers or {})}, body, delay)
