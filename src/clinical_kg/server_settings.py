"""The settings of ``ckg serve`` and their defaults.

A light module (the standard library only), so that ``ckg serve --help`` shows the defaults
without importing the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    """The endpoint's settings; every one has a safe default (see ``ckg serve --help``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2  # concurrent queries: one per worker process
    timeout: float = 10.0  # seconds of wall-clock time per query, then the worker is killed
    max_rows: int = 10_000  # rows (or triples) per result; more are cut and flagged
    max_bytes: int = 32 * 1024 * 1024  # serialised bytes per result; more rows are cut and flagged
    max_body: int = 128 * 1024  # bytes of request body
    queue_wait: float = 1.0  # seconds a request may wait for a free worker before 503
    cors_origins: tuple[str, ...] = ()  # origins allowed by CORS; none by default
    store_path: Path | None = None  # an on-disk Oxigraph store, built from the data files if empty
    data_dir: Path | None = None  # the curated data folder (default: clinical_kg.resources.locate_data)
    worker_memory_mb: int = 4096  # address-space limit of each worker process
    access_log: bool = True
    abandon_grace: float = 1.0  # a query whose client left is stopped this many seconds later
    allow_update: bool = False  # SPARQL Update and Graph Store writes, on the in-memory copy only
    update_token: str | None = None  # the bearer token writes must carry (with allow_update)
    allow_network_access: bool = False  # serve even where workers cannot be cut off from the network
    base_url: str | None = None  # the public URL of the endpoint, for the service description (else http://host:port/)
    client_budget: float = 30.0  # seconds of query time each client address may use per minute; then 429
    client_timeout: float = 30.0  # seconds a client may take to read its answer (or stall reading it)
    request_timeout: float = 10.0  # seconds a client may take to send its whole request; then 408
    max_header_bytes: int = 16 * 1024  # request line and headers; more gets 431
    max_headers: int = 100  # request headers; more gets 431
    connections_per_client: int = 32  # open connections per client address; more get 429
    front_memory_mb: int = 1024  # data-segment limit of the front process (RLIMIT_DATA), 0 for none
    endpoint: Any = None  # a clinical_kg.remote.config.Endpoint: a read-only front for that SPARQL server
