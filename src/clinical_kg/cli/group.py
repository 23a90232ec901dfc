"""The ``ckg`` group and what its commands share: options, loading the graph, error handling.

The command modules import only click and light modules at the top; each command imports what
it uses (rdflib, Oxigraph, pySHACL, the server, rich) when it runs, so ``ckg --help`` and every
command start without loading what they do not use (``tests/test_startup.py`` checks the imports).
"""

from __future__ import annotations

import errno
import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from clinical_kg import __version__
from clinical_kg.choices import DEFAULT_STORE, REMOTE_STORE, STORE_NAMES
from clinical_kg.errors import ClinicalKGError, InputError
from clinical_kg.resources import DataLocation, locate_data

if TYPE_CHECKING:
    from clinical_kg.store import KnowledgeGraph

if TYPE_CHECKING:
    from clinical_kg.api import ClinicalKG

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """An option callback keeping a value given on the command line in ``ctx.meta`` (shared by the
    group and its subcommands), so an option means the same before or after the subcommand."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.meta[key] = value

    return callback


def data_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir DIR``: the curated data folder (else $CKG_DATA_DIR, the checkout's data/, the installed copy)."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path),  # a missing folder or a file: the data layer says so, like every fault
        default=None,
        expose_value=False,
        callback=_remember("ckg.data_dir"),
        help="The curated data folder (default: $CKG_DATA_DIR, else the data/ of the clinical-kg checkout the "
        "current folder is inside, else the installed copy, read-only).",
    )(command)


ENDPOINT_OPTIONS = [
    ("--endpoint", "CKG_ENDPOINT", "The graph is on this SPARQL server's query URL, put there by `ckg load "
     "--endpoint` (env CKG_ENDPOINT; credentials: CKG_ENDPOINT_USER and CKG_ENDPOINT_PASSWORD, or ~/.netrc)."),
    ("--update-endpoint", "CKG_UPDATE_ENDPOINT", "The server's SPARQL Update URL, for `ckg load` (env "
     "CKG_UPDATE_ENDPOINT; default: --endpoint)."),
    ("--graph-store", "CKG_GRAPH_STORE", "The server's Graph Store Protocol URL: `ckg load` sends each file there in "
     "one PUT (env CKG_GRAPH_STORE; default: through SPARQL Update)."),
]  # fmt: skip


def endpoint_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--endpoint URL [--update-endpoint URL] [--graph-store URL]``: an external SPARQL server.

    Each is accepted before the subcommand too. Credentials are never options: CKG_ENDPOINT_USER
    and CKG_ENDPOINT_PASSWORD, or ~/.netrc (:mod:`clinical_kg.remote.config`).
    """
    for name, _variable, text in reversed(ENDPOINT_OPTIONS):
        command = click.option(name, metavar="URL", default=None, expose_value=False,
                               callback=_remember("ckg." + name.lstrip("-")), help=text)(command)  # fmt: skip
    return command


def endpoint() -> Any:
    """The :class:`clinical_kg.remote.config.Endpoint` named by ``--endpoint`` (or CKG_ENDPOINT) and its
    companions, or None."""
    meta = click.get_current_context().meta
    urls = {name: meta.get("ckg." + name.lstrip("-")) or os.environ.get(variable) or None
            for name, variable, _text in ENDPOINT_OPTIONS}  # fmt: skip
    if not urls["--endpoint"]:
        for name in ("--update-endpoint", "--graph-store"):
            if urls[name]:
                raise InputError(f"{name} needs --endpoint URL too", hint="give the server's query URL")
        return None
    from clinical_kg.remote.config import configure

    return configure(urls["--endpoint"], urls["--update-endpoint"], urls["--graph-store"])


def store_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--store NAME`` (env CKG_STORE), ``--store-path DIR`` (env CKG_STORE_PATH), ``--endpoint URL`` (env
    CKG_ENDPOINT) and ``--data-dir DIR``: which engine holds the graph, and where its data is. Each is
    accepted before the subcommand too."""
    command = endpoint_options(command)
    command = data_dir_option(command)
    command = click.option(
        "--store-path",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=_remember("ckg.store_path"),
        help="Use the on-disk Oxigraph store in DIR (env CKG_STORE_PATH; built by `ckg load`, or from the data "
        "files if missing).",
    )(command)
    return click.option(
        "--store",
        type=click.Choice((*STORE_NAMES, REMOTE_STORE)),
        default=None,
        expose_value=False,
        callback=_remember("ckg.store"),
        help=f"Engine that holds the graph (env CKG_STORE): oxigraph (fast, default), memory (rdflib, the "
        f"reference) or sparql (an external server: --endpoint, which implies it). [default: {DEFAULT_STORE}]",
    )(command)


def data_location() -> DataLocation:
    """The curated data folder: ``--data-dir`` (before or after the subcommand), else by the rule of
    :func:`clinical_kg.resources.locate_data`."""
    location = locate_data(click.get_current_context().meta.get("ckg.data_dir"))
    if not location.path.is_dir():
        raise InputError(
            f"the data folder {location.describe()} is not a folder",
            hint="give --data-dir DIR (or CKG_DATA_DIR) naming a folder of curated Turtle files",
        )
    return location


def open_kg() -> KnowledgeGraph:
    """The graph named by ``--store``, ``--store-path``, ``--endpoint`` and ``--data-dir`` (or their variables)."""
    from clinical_kg.store import open_graph

    meta = click.get_current_context().meta
    store = meta.get("ckg.store") or os.environ.get("CKG_STORE") or DEFAULT_STORE
    remote = endpoint()
    if remote is not None:
        return open_graph(store, endpoint=remote)
    return open_graph(store, store_path=store_path(), data_dir=data_location().path)


def store_path() -> Path | None:
    """The on-disk store of ``--store-path`` (or ``CKG_STORE_PATH``), None when there is none."""
    value = click.get_current_context().meta.get("ckg.store_path") or os.environ.get("CKG_STORE_PATH")
    return Path(value) if value else None


def open_api() -> ClinicalKG:
    """The Python API's object over the graph of ``--store``, ``--store-path`` and ``--data-dir`` (loaded when
    first needed: candidate validation reads the data folder, and of an on-disk store only what it imported)."""
    from clinical_kg.api import ClinicalKG

    remote = endpoint() is not None
    return ClinicalKG(open_kg, data_location().path, remote=remote, store_path=None if remote else store_path())


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one clear message on stderr and their exit status."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ClinicalKGError as exc:
            if click.get_current_context().find_root().params.get("verbose"):
                raise
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # the file system said no (a folder gone, a disk full): one line, no traceback
            if exc.errno == errno.EPIPE or click.get_current_context().find_root().params.get("verbose"):
                raise  # a closed pipe (`ckg queries | head`) is click's to end quietly
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)

    return wrapper


# The module that defines each command: `ckg query` imports clinical_kg.cli.query and no other
# command module (tests/test_cli.py keeps this table equal to the commands the modules define).
COMMAND_MODULES = {
    "queries": "query", "query": "query", "sparql": "query", "prefixes": "query", "lookup": "query", "stats": "query",
    "validate": "curate", "add": "curate", "retract": "curate",
    "export": "export", "release": "export", "load": "export",
    "import": "imports",
    "serve": "serve",
    "hubs": "analyse", "path": "analyse", "differential": "analyse", "draw": "analyse",
}  # fmt: skip


class CommandsByModule(click.Group):
    """The ``ckg`` group: a command's module (:data:`COMMAND_MODULES`) is imported when the command is
    asked for, as click's documentation shows for lazily loaded subcommands; ``--help`` imports all."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"clinical_kg.cli.{module}")  # its decorators add its commands to main
        return super().get_command(ctx, cmd_name)


@click.group(cls=CommandsByModule, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="ckg")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@store_option
def main(verbose: bool) -> None:
    """clinical-kg: a sourced clinical knowledge graph of causes, conditions, symptoms and treatments.

    \b
    Example:
      ckg query conditions-causing-symptom --param symptom="radiating leg pain"
    """
    _show_warnings()


def _show_warnings() -> None:
    """The library's warnings (an interrupted merge it could not finish, say) on stderr, one line each."""
    logger = logging.getLogger("clinical_kg")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False  # ckg serve configures its own logging (server.app.serve)
