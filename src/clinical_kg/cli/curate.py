"""The curators' commands: validate candidates (or the whole graph), add them, retract records."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clinical_kg.choices import DEFAULT_LOCK_TIMEOUT
from clinical_kg.cli.group import (
    CONTEXT,
    data_dir_option,
    data_location,
    endpoint,
    handle_errors,
    main,
    open_api,
    store_option,
)
from clinical_kg.resources import DataLocation


def sources_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--sources-dir DIR``: the folder of source texts that quotes are checked against."""
    return click.option(
        "--sources-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder of source texts, each found by its source's ckg:fileName or SHA-256 (default: "
        "$CKG_SOURCES_DIR, else the sources/ folder beside the data folder).",
    )(command)


def lock_timeout_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--lock-timeout SECONDS``: how long to wait for another curator's merge to finish."""
    return click.option(
        "--lock-timeout",
        default=DEFAULT_LOCK_TIMEOUT,
        show_default=True,
        type=click.FloatRange(0),
        help="Seconds to wait for another ckg add or retract on the same data folder; then give up (exit 2).",
    )(command)


def _waiting(message: str) -> None:
    click.echo(f"{message} ...", err=True)


def _checking(location: DataLocation, verb: str = "checking") -> None:
    """Say on stderr which data folder the command reads or changes."""
    click.echo(f"{verb} {location.describe()}", err=True)


@main.command("validate", context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--verbose", "verbose_report", is_flag=True, help="List every warning (default: a few per rule).")
@sources_option
@store_option
@handle_errors
def validate_command(
    files: tuple[Path, ...], fmt: str, strict: bool, verbose_report: bool, sources_dir: Path | None
) -> None:
    """Check candidate FILES before they are added, or, with no FILES, the whole graph.

    A candidate is checked together with the curated data (and, with --store-path, the databases
    imported into the store by `ckg import`), so references to existing entities resolve, but
    only the problems it introduces or touches are reported: SHACL violations,
    terms not in the vocabulary (with a suggestion), duplicates of existing entities, quotes
    that are not whole words of the cited source's text or whose hedge is not in them,
    contradictions. Every quote is checked: a source whose text is not found in the sources
    folder is a warning that says where it looked. The first line (on stderr) names the data
    folder checked (or the SPARQL server, with --endpoint: the whole graph is streamed into one
    local copy; a candidate pulls only the part of the data its checks read). Exit 0 when
    everything conforms, 1 on violations (or warnings with --strict), 2 when a file cannot be
    read.

    \b
    Examples:
      ckg validate
      ckg validate candidate.ttl --sources-dir ../shared/sources
      ckg validate candidate.ttl --format json
    """
    from rdflib import Graph

    from clinical_kg.curation import report_json
    from clinical_kg.results import compact

    remote = endpoint()
    if remote is not None:
        click.echo(f"checking the graph at {remote.query_url}", err=True)
    elif files or not click.get_current_context().meta.get("ckg.store_path"):
        _checking(data_location())
    validation = open_api().validate(*files, sources_dir=sources_dir, verbose=verbose_report)
    if fmt == "turtle":
        merged = Graph()
        for report in validation.reports:
            merged += report.shacl if files else report.graph
        click.echo(merged.serialize(format="turtle"), nl=False)
    elif fmt == "json" and files:
        click.echo(report_json(validation.reports), nl=False)
    elif fmt == "json":
        rows = [
            {"severity": p.severity_name, "focus": str(p.focus), "shape": compact(p.shape),
             "path": None if p.path is None else compact(p.path), "value": None if p.value is None else str(p.value),
             "message": p.message}
            for p in validation.reports[0].problems
        ]  # fmt: skip
        click.echo(json.dumps({"conforms": validation.conforms, "results": rows}, indent=2))
    else:
        click.echo(validation.text, nl=False)
    warnings = any(f.severity != "Violation" for f in validation.findings)
    sys.exit(0 if validation.conforms and not (strict and warnings) else 1)


@main.command("add", context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option("--curator", default=None, help="Who is adding (recorded in the changelog; default: the login name).")
@sources_option
@data_dir_option
@lock_timeout_option
@handle_errors
def add_command(file: Path, dry_run: bool, curator: str | None, sources_dir: Path | None, lock_timeout: float) -> None:
    """Validate the candidate FILE and, if it conforms, merge it into the data files.

    New triples go to the topic files where they belong, in canonical form, written atomically
    under an exclusive lock; each merge is recorded in data/changelog.jsonl. Adding the same
    file twice adds nothing the second time. A quote whose source text is not found is a
    violation. The installed copy of the data is never changed: run it in a checkout, or name
    the folder with --data-dir. Exit 0 merged (or nothing to add), 1 violations (nothing
    written), 2 input error.

    \b
    Examples:
      ckg add candidate.ttl --dry-run
      ckg add candidate.ttl --sources-dir ../shared/sources
    """
    from clinical_kg.curation import add_candidate, format_candidate_report, format_merge

    location = data_location()
    _checking(location, "checking" if dry_run else "adding to")
    result = add_candidate(file, location.path, dry_run=dry_run, sources_dir=sources_dir, curator=curator,
                           lock_timeout=lock_timeout, on_wait=_waiting)  # fmt: skip
    if not result.report.conforms:
        click.echo(format_candidate_report(result.report), nl=False, err=True)
        click.echo("Nothing was added: fix the violations and run `ckg add` again.", err=True)
        sys.exit(1)
    click.echo(format_merge(result), nl=False)


@main.command("retract", context_settings=CONTEXT)
@click.argument("assertion")
@click.option("--reason", required=True, help="Why the assertion is withdrawn (kept with the record).")
@click.option("--curator", default=None, help="Who retracts (default: the login name).")
@data_dir_option
@lock_timeout_option
@handle_errors
def retract_command(assertion: str, reason: str, curator: str | None, lock_timeout: float) -> None:
    """Retract the assertion record ASSERTION (an IRI or ckga: CURIE), keeping it with the reason.

    The record moves to data/retractions.ttl as a ckg:RetractedAssertion; its plain triple is
    removed unless another record still supports it. Nothing is deleted silently.

    \b
    Example:
      ckg retract ckga:0123456789abcdef --reason "misread the source"
    """
    from rdflib import URIRef

    from clinical_kg.curation import retract_assertion
    from clinical_kg.namespaces import prefix_map
    from clinical_kg.results import compact

    iri = assertion.strip("<>")
    prefix, sep, local = iri.partition(":")
    if sep and prefix in prefix_map():
        iri = prefix_map()[prefix] + local
    location = data_location()
    home = retract_assertion(location.path, URIRef(iri), reason, curator, lock_timeout, _waiting)
    click.echo(f"Retracted {compact(URIRef(iri))} (was in {home} of {location.describe()}); the record is kept in "
               "retractions.ttl.")  # fmt: skip
