"""The HTTP connection layer of ``ckg serve``: uvicorn's h11 protocol with the limits its options lack (T22).

Measured in the adversarial test (issue 13): uvicorn's default parser buffered request headers
without limit (a 16 MB header got 200; four unfinished 64 MB headers added 319 MB); a connection
that never finished its request was kept for ever, so 1,000 half-sent requests from one client
filled uvicorn's concurrency limit and every other request got 503; a client that never read its
answer kept it pinned in memory. Each connection here:

- may send at most ``max_header_bytes`` of request line and headers, else 431 and closed
  (h11 counts them as they arrive; uvicorn's own answer would be a 400);
- must deliver its whole request within ``request_timeout`` seconds of its first byte (or of
  being opened), else 408 and closed;
- must keep reading its answer: if the answer cannot be written for ``client_timeout`` seconds,
  the connection is aborted and its buffered bytes dropped at once;
- shares its client address with at most ``connections_per_client - 1`` other open connections,
  else it gets 429 with ``Retry-After`` and is closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import struct
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("clinical_kg.server")


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits of one HTTP connection (see the module docstring)."""

    max_header_bytes: int = 16 * 1024
    request_timeout: float = 10.0
    client_timeout: float = 30.0
    connections_per_client: int = 32


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """A protocol class for ``uvicorn.run(http=...)`` enforcing ``limits``; count connections per address."""
    return type("GuardedH11Protocol", (_Guarded,), {"limits": limits, "open_by_client": collections.Counter()})


class _Guarded(H11Protocol):
    limits: ClassVar[ConnectionLimits]
    open_by_client: ClassVar[collections.Counter]

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        config.h11_max_incomplete_event_size = self.limits.max_header_bytes
        super().__init__(config, server_state, app_state, _loop)
        self._request_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._counted: str | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        if self.open_by_client[address] >= self.limits.connections_per_client:
            log.warning("refused a connection from %s: %d open already", address, self.open_by_client[address])
            self._answer_and_close(429, "too many open connections from your address", retry_after=True)
            return
        self.open_by_client[address] += 1
        self._counted = address
        self._arm_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._request_timer, self._stall_timer):
            if timer is not None:
                timer.cancel()
        if self._counted is not None:
            self.open_by_client[self._counted] -= 1
            if self.open_by_client[self._counted] <= 0:
                del self.open_by_client[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._request_timer is None:
            self._arm_request_timer()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.scope is not None:  # the application's way to drop this connection and its buffer at once
            self.scope["ckg.abort"] = self.abort  # type: ignore[typeddict-unknown-key]
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR) and self._request_timer:
            self._request_timer.cancel()
            self._request_timer = None

    def send_400_response(self, msg: str) -> None:
        if len(self.conn.trailing_data[0]) >= self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._answer_and_close(431, f"the request line and headers are longer than {limit} bytes")
        else:
            super().send_400_response(msg)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.limits.client_timeout, self._client_not_reading)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _arm_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
        self._request_timer = self.loop.call_later(self.limits.request_timeout, self._request_too_slow)

    def _request_too_slow(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        log.info("closed a connection from %s: no complete request within %g s", self._counted,
                 self.limits.request_timeout)  # fmt: skip
        if self.conn.their_state is h11.IDLE:  # nothing, or part of a request line and headers
            self._answer_and_close(408, f"the request was not complete within {self.limits.request_timeout:g} s")
        elif self.conn.their_state is h11.SEND_BODY:  # the application already runs: no answer of ours fits
            self.abort()

    def _client_not_reading(self) -> None:
        self._stall_timer = None
        log.warning("aborted the answer to %s: it read nothing for %g s", self._counted, self.limits.client_timeout)
        self.abort()

    def abort(self) -> None:
        """Drop the connection with a reset: what is buffered for it, here and in the kernel, goes at once.

        (``transport.close()`` would keep the answer until the client reads it; a plain close of the
        socket still lets the kernel deliver its send buffer, megabytes, at the client's pace.)
        """
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _answer_and_close(self, status: int, message: str, retry_after: bool = False) -> None:
        body = f"error: {message}\n".encode()
        head = [f"HTTP/1.1 {status} {_REASONS[status]}",
                "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}",
                "X-Content-Type-Options: nosniff", "Connection: close"]  # fmt: skip
        if retry_after:
            head.append("Retry-After: 1")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.transport.close()


_REASONS = {408: "Request Timeout", 429: "Too Many Requests", 431: "Request Header Fields Too Large"}
