"""The ``ckg`` group and what its commands share: options, loading the graph, error handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clinical_kg import __version__
from clinical_kg.errors import ClinicalKGError
from clinical_kg.store import DEFAULT_STORE, STORES, KnowledgeGraph, open_graph

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def store_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--store NAME``: which embedded engine loads the graph (env CKG_STORE); ``--store-path DIR``."""
    command = click.option(
        "--store-path",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="CKG_STORE_PATH",
        expose_value=False,
        callback=lambda ctx, _param, value: ctx.meta.__setitem__("ckg.store_path", value),
        help="Use the on-disk Oxigraph store in DIR (built by `ckg load`; built from the shipped files if missing).",
    )(command)
    return click.option(
        "--store",
        type=click.Choice(sorted(STORES)),
        default=DEFAULT_STORE,
        envvar="CKG_STORE",
        show_default=True,
        help="Engine that holds the graph: oxigraph (fast, default) or memory (rdflib, the reference).",
    )(command)


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

    return wrapper


def open_kg(store: str) -> KnowledgeGraph:
    """The graph named by ``--store`` and ``--store-path``."""
    return open_graph(store, store_path=click.get_current_context().meta.get("ckg.store_path"))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="ckg")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
def main(verbose: bool) -> None:
    """clinical-kg: a sourced clinical knowledge graph of causes, conditions, symptoms and treatments.

    \b
    Example:
      ckg query conditions-causing-symptom --param symptom="radiating leg pain"
    """
