"""Plain SPARQL 1.1 Protocol and Graph Store Protocol requests to an external server (stdlib HTTP).

Why not rdflib's SPARQLStore: it reads every answer whole into memory with no bound, retries
nothing and reports a server that is down, slow or refusing credentials as a bare urllib error.
Here every request has a timeout; reads (queries, which are idempotent) are retried on a refused
or dropped connection and on 502/503/504, writes never; an answer is read up to ``max_bytes``
and stops there; and each failure is one :class:`EndpointError` that says which it was.

Credentials (:mod:`clinical_kg.remote.config`) are answered to the server's challenge, Basic or
Digest (Virtuoso's ``/sparql-auth`` asks for Digest). A server that answers a large unsigned
request with 401 may close the connection before reading the body (Virtuoso does), so a write
is preceded by a small signed probe and then sent signed up front.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

from clinical_kg.errors import ClinicalKGError
from clinical_kg.remote.config import Endpoint

SELECT_TYPES = "application/sparql-results+json"
GRAPH_TYPES = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
_RETRY_STATUS = {502, 503, 504}
_BACKOFF = 0.5  # seconds before the first retry; doubled each time


class EndpointError(ClinicalKGError):
    """The SPARQL server could not be reached, was too slow, refused a request, or answered wrongly."""


# ---------------------------------------------------------------- authentication


class _Digest(urllib.request.HTTPDigestAuthHandler):
    """Digest authentication that, once challenged by a host, signs later requests to it up front."""

    def __init__(self, passwords: urllib.request.HTTPPasswordMgr) -> None:
        super().__init__(passwords)
        self.challenges: dict[str, dict[str, str]] = {}

    def retry_http_digest_auth(self, req: urllib.request.Request, auth: str) -> Any:
        self.challenges[req.host] = parse_keqv_list(filter(None, parse_http_list(auth.split(" ", 1)[1])))
        return super().retry_http_digest_auth(req, auth)

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        challenge = self.challenges.get(req.host)
        if challenge and not req.has_header("Authorization"):
            signed = self.get_authorization(req, challenge)
            if signed:
                req.add_unredirected_header("Authorization", f"Digest {signed}")
        return req

    https_request = http_request


class _Basic(urllib.request.HTTPBasicAuthHandler):
    """Basic authentication that, once challenged by a host, sends the credentials to it up front."""

    def __init__(self, passwords: urllib.request.HTTPPasswordMgr) -> None:
        super().__init__(passwords)
        self.hosts: set[str] = set()

    def retry_http_basic_auth(self, host: str, req: urllib.request.Request, realm: str) -> Any:
        self.hosts.add(req.host)
        return super().retry_http_basic_auth(host, req, realm)

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if req.host in self.hosts and not req.has_header("Authorization"):
            user, password = self.passwd.find_user_password(None, req.full_url)
            if password is not None:
                token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                req.add_unredirected_header("Authorization", f"Basic {token}")
        return req

    def http_response(self, req: urllib.request.Request, response: Any) -> Any:
        return response

    https_request = http_request
    https_response = http_response


def _loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


# ---------------------------------------------------------------- reading answers


class _Capped(io.RawIOBase):
    """A response body that raises :class:`EndpointError` past ``limit`` bytes or on a dropped connection."""

    def __init__(self, response: Any, limit: int, url: str, timeout: float) -> None:
        self._response, self._limit, self._url, self._timeout = response, limit, url, timeout
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._response.readinto(buffer)
        except TimeoutError:
            raise _timeout(self._url, self._timeout) from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise EndpointError(
                f"the SPARQL endpoint {self._url} broke off its answer ({_reason(exc)})",
                hint="the server stopped or dropped the connection: check that it is running, then try again",
            ) from None
        self.read_bytes += n
        if self.read_bytes > self._limit:
            raise EndpointError(
                f"the answer of {self._url} is larger than {self._limit} bytes, and was stopped there",
                hint="add a LIMIT or narrow the query, or raise CKG_ENDPOINT_MAX_BYTES",
            )
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        return "the answer was cut short"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return str(exc) or type(exc).__name__


def _timeout(url: str, seconds: float) -> EndpointError:
    return EndpointError(
        f"the SPARQL endpoint {url} did not answer within {seconds:g} s",
        hint="the server is slow or the query heavy: narrow the query, or raise CKG_ENDPOINT_TIMEOUT",
    )


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    return isinstance(exc, (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected))


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    return isinstance(exc, (TimeoutError, socket.timeout))


def _server_message(body: bytes) -> str:
    """The first lines of a server's error page, as text (no HTML tags, no query echo)."""
    import re

    text = body.decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]+>", " ", text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    cut = next((i for i, line in enumerate(lines) if line.lower().startswith("sparql query:")), len(lines))
    message = " / ".join(lines[: min(cut, 3)])
    return message[:400] + ("…" if len(message) > 400 else "")


# ---------------------------------------------------------------- the client


class Client:
    """Requests to one endpoint's query, update and Graph Store URLs, with its limits and credentials."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        if endpoint.user is not None:
            for url in endpoint.urls():
                passwords.add_password(None, url, endpoint.user, endpoint.password or "")
        handlers: list[Any] = [_Digest(passwords), _Basic(passwords)]
        if all(_loopback(url) for url in endpoint.urls()):
            handlers.append(urllib.request.ProxyHandler({}))  # a proxy from the environment never reaches loopback
        self._opener = urllib.request.build_opener(*handlers)

    # -- sending

    def _open(self, request: urllib.request.Request, retry: bool) -> Any:
        """Send ``request``; the response (status 2xx), or :class:`EndpointError`."""
        url = request.full_url.split("?")[0]
        attempts = 1 + (self.endpoint.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return self._opener.open(request, timeout=self.endpoint.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code in _RETRY_STATUS and not last:
                    exc.close()
                    time.sleep(_BACKOFF * 2**attempt)
                    continue
                raise self._refused(exc, url) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if _is_timeout(exc):
                    raise _timeout(url, self.endpoint.timeout) from None
                if _transient(exc) and not last:
                    time.sleep(_BACKOFF * 2**attempt)
                    continue
                raise EndpointError(
                    f"cannot reach the SPARQL endpoint {url}: {_reason(exc)}",
                    hint="is the server running, and is the URL right? (--endpoint, --update-endpoint, --graph-store)",
                ) from None
        raise AssertionError("unreachable")

    def _refused(self, exc: urllib.error.HTTPError, url: str) -> EndpointError:
        try:
            body = exc.read(64 * 1024)
        except (OSError, http.client.HTTPException):
            body = b""
        exc.close()
        message = _server_message(body)
        if exc.code in (401, 403):
            if self.endpoint.user is None:
                return EndpointError(
                    f"the SPARQL endpoint {url} needs credentials (HTTP {exc.code})",
                    hint="set CKG_ENDPOINT_USER and CKG_ENDPOINT_PASSWORD, or add the host to ~/.netrc",
                )
            return EndpointError(
                f"the SPARQL endpoint {url} refused the credentials of {self.endpoint.user!r} (HTTP {exc.code})",
                hint="check CKG_ENDPOINT_USER and CKG_ENDPOINT_PASSWORD, or the host's line in ~/.netrc "
                f"(read from {self.endpoint.source})",
            )
        what = "failed" if exc.code >= 500 else "refused the request"
        return EndpointError(f"the SPARQL endpoint {url} {what} (HTTP {exc.code}): {message or exc.reason}")

    def _probe(self, url: str) -> None:
        """A small request that lets the server challenge for credentials before a large body is sent."""
        if self.endpoint.user is None:
            return
        try:
            response = self._open(urllib.request.Request(url, method="HEAD"), retry=False)
            response.close()
        except EndpointError as exc:
            if "credentials" in exc.message:
                raise

    # -- queries (idempotent reads)

    def query(self, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str], accept: str) -> _Capped:
        """POST a query (urlencoded, with the protocol's dataset); the capped answer and its media type."""
        fields = [("query", text)] + [("default-graph-uri", g) for g in default_graphs]
        fields += [("named-graph-uri", g) for g in named_graphs]
        request = urllib.request.Request(
            self.endpoint.query_url,
            data=urlencode(fields).encode("ascii"),
            headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        response = self._open(request, retry=True)
        _check_truncation(response, self.endpoint.query_url)
        body = _Capped(response, self.endpoint.max_bytes, self.endpoint.query_url, self.endpoint.timeout)
        body.media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return body

    def select(self, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]) -> dict[str, Any]:
        """The SPARQL JSON results of a SELECT or ASK query, parsed."""
        with self.query(text, default_graphs, named_graphs, SELECT_TYPES) as body:
            data = body.read()
            media = body.media_type
        try:
            return json.loads(data)
        except ValueError:
            raise EndpointError(
                f"the answer of {self.endpoint.query_url} is not SPARQL JSON results ({media or 'no type'})",
                hint="is --endpoint the server's SPARQL query URL?",
            ) from None

    # -- writes (never retried)

    def update(self, text: str) -> None:
        """POST a SPARQL Update to the update endpoint."""
        url = self.endpoint.update_url
        self._probe(url)
        request = urllib.request.Request(
            url,
            data=urlencode({"update": text}).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        self._open(request, retry=False).close()

    def put_graph(self, graph: str, body: bytes, media_type: str = "application/n-triples") -> None:
        """Replace a graph of the Graph Store with ``body`` (HTTP PUT)."""
        assert self.endpoint.graph_store_url is not None
        url = _graph_url(self.endpoint.graph_store_url, graph)
        self._probe(url)
        request = urllib.request.Request(url, data=body, headers={"Content-Type": media_type}, method="PUT")
        self._open(request, retry=False).close()


def _graph_url(base: str, graph: str) -> str:
    return base + ("&" if "?" in base else "?") + urlencode({"graph": graph})


def _check_truncation(response: Any, url: str) -> None:
    """Refuse an answer the server says it cut short (Virtuoso's ResultSetMaxRows, its anytime queries)."""
    headers = response.headers
    if headers.get("X-SQL-State") or headers.get("X-SPARQL-MaxRows"):
        response.close()
        raise EndpointError(
            f"the SPARQL endpoint {url} cut its answer short "
            f"({headers.get('X-SQL-State') or ''} {headers.get('X-SQL-Message') or ''} "
            f"max rows {headers.get('X-SPARQL-MaxRows') or '?'})".replace("  ", " "),
            hint="raise the server's result limit (Virtuoso: [SPARQL] ResultSetMaxRows) or narrow the query",
        )


def iter_chunks(stream: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of ``stream`` in chunks."""
    while chunk := stream.read(size):
        yield chunk
