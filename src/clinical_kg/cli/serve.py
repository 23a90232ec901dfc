"""``ckg serve``: its options show the endpoint's defaults without importing the server."""

from __future__ import annotations

from pathlib import Path

import click

from clinical_kg.cli.group import (
    CONTEXT,
    data_dir_option,
    data_location,
    endpoint,
    endpoint_options,
    handle_errors,
    main,
)
from clinical_kg.errors import InputError
from clinical_kg.server_settings import Settings as ServeSettings

SERVE_DEFAULTS = ServeSettings()  # the one place the endpoint's defaults are written: server_settings.Settings


@main.command("serve", context_settings=CONTEXT)
@click.option(
    "--host",
    default=SERVE_DEFAULTS.host,
    show_default=True,
    help="Interface to listen on. The default is loopback only; 0.0.0.0 opens it to the network.",
)
@click.option("--port", default=SERVE_DEFAULTS.port, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--store-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="On-disk Oxigraph store, built from the shipped files when missing or empty (default: in memory).",
)
@endpoint_options
@click.option(
    "--workers",
    default=SERVE_DEFAULTS.workers,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Query worker processes: the number of queries run at once.",
)
@click.option(
    "--timeout",
    default=SERVE_DEFAULTS.timeout,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a query may run; then its worker is killed and the answer is 503.",
)
@click.option(
    "--max-rows",
    default=SERVE_DEFAULTS.max_rows,
    show_default=True,
    type=click.IntRange(1),
    help="Rows (or triples) per result; more are cut and flagged with X-CKG-Truncated.",
)
@click.option(
    "--max-bytes",
    default=SERVE_DEFAULTS.max_bytes,
    show_default=True,
    type=click.IntRange(1024),
    help="Bytes per result; more rows are cut and flagged with X-CKG-Truncated.",
)
@click.option(
    "--max-body",
    default=SERVE_DEFAULTS.max_body,
    show_default=True,
    type=click.IntRange(1024),
    help="Bytes of request body; more gets 413. (URLs over 32 KiB get 414.)",
)
@click.option(
    "--queue-wait",
    default=SERVE_DEFAULTS.queue_wait,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a request may wait for a free worker; then 503 with Retry-After.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Allow cross-origin requests from ORIGIN (repeat; '*' for any). Default: none.",
)
@click.option(
    "--worker-memory",
    default=SERVE_DEFAULTS.worker_memory_mb,
    show_default=True,
    type=click.IntRange(0),
    help="Address-space limit of each worker in MiB (0: none).",
)
@click.option(
    "--allow-update",
    is_flag=True,
    help="Accept SPARQL Update and Graph Store writes carrying `Authorization: Bearer $CKG_UPDATE_TOKEN`, "
    "on the endpoint's in-memory copy only (never written to data/; gone at restart). Default: refused.",
)
@click.option(
    "--allow-network-access",
    is_flag=True,
    help="Serve even where the query workers cannot be cut off from the network (for example a container "
    "without CAP_SYS_ADMIN that runs with --network none). Default: refuse to start there.",
)
@click.option(
    "--client-budget",
    default=SERVE_DEFAULTS.client_budget,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds of query time each client address may use per minute; then 429 with Retry-After.",
)
@click.option(
    "--client-timeout",
    default=SERVE_DEFAULTS.client_timeout,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a client may take to read its answer; then the connection is dropped.",
)
@click.option(
    "--request-timeout",
    default=SERVE_DEFAULTS.request_timeout,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a client may take to send its whole request; then 408.",
)
@click.option(
    "--front-memory",
    default=SERVE_DEFAULTS.front_memory_mb,
    show_default=True,
    type=click.IntRange(0),
    help="Data-segment limit of the front process in MiB (0: none); the workers have --worker-memory.",
)
@click.option(
    "--base-url",
    default=None,
    help="The endpoint's public URL, for the service description (default: http://HOST:PORT/).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@data_dir_option
@handle_errors
def serve_command(host: str, port: int, store_path: Path | None, workers: int, timeout: float, max_rows: int,
                  max_bytes: int, max_body: int, queue_wait: float, cors_origins: tuple[str, ...], worker_memory: int,
                  allow_update: bool, allow_network_access: bool, client_budget: float, client_timeout: float,
                  request_timeout: float, front_memory: int, base_url: str | None,
                  access_log: bool) -> None:  # fmt: skip
    """Run a read-only SPARQL 1.1 endpoint at /sparql, the catalogue at /queries, a query page at /.

    Queries run in sandboxed worker processes cut off from the network (where that cannot be
    done, it refuses to start unless --allow-network-access), each killed at the timeout.
    SPARQL Update, Graph Store writes, SERVICE and FROM are refused. Needs the `serve` extra:
    pip install "clinical-kg[serve]". With --endpoint, a read-only front for that SPARQL server
    (loaded by `ckg load --endpoint`), with the same checks and limits; its workers may reach
    that server's address and nothing else.

    \b
    Examples:
      ckg serve
      ckg serve --endpoint http://127.0.0.1:7878/query
      curl -H 'Accept: text/csv' 'http://127.0.0.1:8000/queries/conditions-causing-symptom?symptom=radiating+leg+pain'
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError(f"ckg serve needs {exc.name}", hint='pip install "clinical-kg[serve]"') from None
    import os

    token = os.environ.get("CKG_UPDATE_TOKEN") if allow_update else None
    if allow_update and (store_path is not None or len(token or "") < 16):
        raise InputError(
            "--allow-update needs a token of 16 characters or more in $CKG_UPDATE_TOKEN, and no --store-path",
            hint='export CKG_UPDATE_TOKEN="$(python -c "import secrets; print(secrets.token_urlsafe())")"',
        )
    remote = endpoint()
    if remote is not None:
        if store_path is not None or allow_update:
            raise InputError("--endpoint serves the graph on that server, read-only: leave out --store-path and "
                             "--allow-update")  # fmt: skip
        from dataclasses import replace

        remote = replace(remote, timeout=min(remote.timeout, timeout))  # the server's answer within the query's time
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it can query the graph", err=True)
    from clinical_kg.server import Settings, serve

    serve(Settings(host=host, port=port, store_path=store_path, workers=workers, timeout=timeout, max_rows=max_rows,
                   max_body=max_body, queue_wait=queue_wait, cors_origins=cors_origins, worker_memory_mb=worker_memory,
                   access_log=access_log, allow_update=allow_update, update_token=token,
                   data_dir=data_location().path, allow_network_access=allow_network_access, max_bytes=max_bytes,
                   client_budget=client_budget, client_timeout=client_timeout, request_timeout=request_timeout,
                   front_memory_mb=front_memory, base_url=base_url, endpoint=remote))  # fmt: skip
