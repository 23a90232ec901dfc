"""Where the external SPARQL server is, the credentials it takes, and the limits of every request.

The URLs come from the command line (``--endpoint``, ``--update-endpoint``, ``--graph-store``) or
their environment variables; credentials never do: they are read from ``CKG_ENDPOINT_USER`` and
``CKG_ENDPOINT_PASSWORD``, else from the endpoint host's entry in the netrc file (``$NETRC``, else
``~/.netrc``), the file curl and most HTTP tools read. A URL with a user or password in it is
refused, since command lines are visible to every user of the machine (``ps``).
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from clinical_kg.errors import InputError

ENV_USER = "CKG_ENDPOINT_USER"
ENV_PASSWORD = "CKG_ENDPOINT_PASSWORD"
ENV_TIMEOUT = "CKG_ENDPOINT_TIMEOUT"
ENV_MAX_BYTES = "CKG_ENDPOINT_MAX_BYTES"
DEFAULT_TIMEOUT = 60.0  # seconds to connect, and to wait for each part of an answer
DEFAULT_MAX_BYTES = 1 << 30  # bytes of one answer
DEFAULT_RETRIES = 2  # extra tries of a read whose connection was refused or dropped, or that got 502-504


@dataclass(frozen=True)
class Endpoint:
    """An external SPARQL server: its URLs, credentials and request limits."""

    query_url: str
    update_url: str = ""  # SPARQL Update; default: the query URL (Virtuoso, Fuseki's dataset URL take both)
    graph_store_url: str | None = None  # Graph Store Protocol, for loading files; default: none (Update is used)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = "nowhere"  # where the credentials came from, for messages
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    max_bytes: int = DEFAULT_MAX_BYTES

    def urls(self) -> list[str]:
        """Every URL of the endpoint."""
        return [u for u in (self.query_url, self.update_url, self.graph_store_url) if u]


def _check_url(option: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{option} {url!r} is not an http:// or https:// URL", hint="e.g. http://127.0.0.1:7878/query")
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{option} has credentials in it: they would show in the process list",
            hint=f"give the URL without them, and set {ENV_USER} and {ENV_PASSWORD} (or use ~/.netrc)",
        )
    return url


def _number(name: str, default: float, environ: dict[str, str]) -> float:
    value = environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1
    if number <= 0:
        raise InputError(f"{name}={value!r} is not a positive number")
    return number


def _netrc_credentials(host: str, environ: dict[str, str]) -> tuple[str | None, str | None, str]:
    path = Path(environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None, None, "nowhere"
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        raise InputError(f"{path} cannot be read: {exc}") from None
    if entry is None:
        return None, None, "nowhere"
    return entry[0], entry[2], str(path)


def configure(
    endpoint: str,
    update_endpoint: str | None = None,
    graph_store: str | None = None,
    environ: dict[str, str] | None = None,
) -> Endpoint:
    """The :class:`Endpoint` for these URLs, with credentials and limits from the environment."""
    environ = dict(os.environ if environ is None else environ)
    query_url = _check_url("--endpoint", endpoint)
    update_url = _check_url("--update-endpoint", update_endpoint) if update_endpoint else query_url
    store_url = _check_url("--graph-store", graph_store) if graph_store else None
    user, password, source = environ.get(ENV_USER), environ.get(ENV_PASSWORD), "the environment"
    if user is None and password is None:
        user, password, source = _netrc_credentials(urlsplit(query_url).hostname or "", environ)
    elif user is None or password is None:
        raise InputError(f"set both {ENV_USER} and {ENV_PASSWORD}, or neither")
    return Endpoint(
        query_url=query_url,
        update_url=update_url,
        graph_store_url=store_url,
        user=user,
        password=password,
        source=source,
        timeout=_number(ENV_TIMEOUT, DEFAULT_TIMEOUT, environ),
        max_bytes=int(_number(ENV_MAX_BYTES, DEFAULT_MAX_BYTES, environ)),
    )
