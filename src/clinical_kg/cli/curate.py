"""The curators' commands: validate candidates (or the whole graph), add them, retract records."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clinical_kg.cli.group import CONTEXT, handle_errors, main, open_kg, store_option
from clinical_kg.results import compact


def data_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir DIR``: the curated data folder (env CKG_DATA_DIR; default: the shipped data)."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The curated data folder to check against or merge into (default: $CKG_DATA_DIR or the shipped data).",
    )(command)


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--source-text`` and ``--sources-dir``: where the cited source texts are, to check quotes."""
    command = click.option(
        "--sources-dir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=None,
        envvar="CKG_SOURCES_DIR",
        help="Folder of source texts, found by each source's ckg:fileName (env CKG_SOURCES_DIR).",
    )(command)
    return click.option(
        "--source-text",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="The text of the cited source, to check that every quote occurs in it.",
    )(command)


@main.command("validate", context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@source_options
@data_dir_option
@store_option
@handle_errors
def validate_command(
    files: tuple[Path, ...],
    fmt: str,
    strict: bool,
    source_text: Path | None,
    sources_dir: Path | None,
    data_dir: Path | None,
    store: str,
) -> None:
    """Check candidate FILES before they are added, or, with no FILES, the whole graph.

    A candidate is checked together with the curated data, so references to existing entities
    resolve, but only the problems it introduces or touches are reported: SHACL violations,
    terms not in the vocabulary (with a suggestion), duplicates of existing entities, quotes not
    in the cited source (with --source-text or --sources-dir), contradictions. Exit 0 when
    everything conforms, 1 on violations (or warnings with --strict), 2 when a file cannot be
    read.

    \b
    Examples:
      ckg validate
      ckg validate candidate.ttl --sources-dir ../shared/sources
      ckg validate candidate.ttl --format json
    """
    if files:
        _validate_candidates(files, fmt, strict, source_text, sources_dir, data_dir)
        return
    from clinical_kg.terms import TermIndex
    from clinical_kg.validation import format_report, validate_graph

    kg = open_kg(store)
    report = validate_graph(kg.graph)  # on Oxigraph, the store itself: no copy
    if fmt == "turtle":
        click.echo(report.graph.serialize(format="turtle"), nl=False)
    elif fmt == "json":
        rows = [
            {"severity": p.severity_name, "focus": str(p.focus), "shape": compact(p.shape),
             "path": None if p.path is None else compact(p.path), "value": None if p.value is None else str(p.value),
             "message": p.message}
            for p in report.problems
        ]  # fmt: skip
        click.echo(json.dumps({"conforms": report.conforms, "results": rows}, indent=2))
    else:
        click.echo(format_report(report, TermIndex(kg).label), nl=False)
    warnings = any(p.severity_name != "Violation" for p in report.problems)
    sys.exit(0 if report.conforms and not (strict and warnings) else 1)


def _validate_candidates(
    files: tuple[Path, ...],
    fmt: str,
    strict: bool,
    source_text: Path | None,
    sources_dir: Path | None,
    data_dir: Path | None,
) -> None:
    from rdflib import Graph

    from clinical_kg import resources
    from clinical_kg.curation import format_candidate_report, load_data, report_json, validate_candidate
    from clinical_kg.ingest import read_candidate

    data = Graph()
    for graph in load_data(data_dir or resources.data_dir()).values():
        data += graph
    candidates = [(path, read_candidate(path)) for path in files]  # every file parses before any is checked
    reports = [
        validate_candidate(candidate, data, file=str(path), source_text=source_text, sources_dir=sources_dir)
        for path, candidate in candidates
    ]
    if fmt == "json":
        click.echo(report_json(reports), nl=False)
    elif fmt == "turtle":
        merged = Graph()
        for report in reports:
            merged += report.shacl
        click.echo(merged.serialize(format="turtle"), nl=False)
    else:
        for report in reports:
            click.echo(format_candidate_report(report), nl=False)
    failed = any(not r.conforms or (strict and r.warnings) for r in reports)
    sys.exit(1 if failed else 0)


@main.command("add", context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option("--curator", default=None, help="Who is adding (recorded in the changelog; default: the login name).")
@source_options
@data_dir_option
@handle_errors
def add_command(
    file: Path,
    dry_run: bool,
    curator: str | None,
    source_text: Path | None,
    sources_dir: Path | None,
    data_dir: Path | None,
) -> None:
    """Validate the candidate FILE and, if it conforms, merge it into the data files.

    New triples go to the topic files where they belong, in canonical form, written atomically
    under an exclusive lock; each merge is recorded in data/changelog.jsonl. Adding the same
    file twice adds nothing the second time. Exit 0 merged (or nothing to add), 1 violations
    (nothing written), 2 input error.

    \b
    Examples:
      ckg add candidate.ttl --dry-run
      ckg add candidate.ttl --sources-dir ../shared/sources
    """
    from clinical_kg import resources
    from clinical_kg.curation import add_candidate, format_candidate_report, format_merge

    result = add_candidate(
        file,
        data_dir or resources.data_dir(),
        dry_run=dry_run,
        source_text=source_text,
        sources_dir=sources_dir,
        curator=curator,
    )
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
@handle_errors
def retract_command(assertion: str, reason: str, curator: str | None, data_dir: Path | None) -> None:
    """Retract the assertion record ASSERTION (an IRI or ckga: CURIE), keeping it with the reason.

    The record moves to data/retractions.ttl as a ckg:RetractedAssertion; its plain triple is
    removed unless another record still supports it. Nothing is deleted silently.

    \b
    Example:
      ckg retract ckga:0123456789abcdef --reason "misread the source"
    """
    from rdflib import URIRef

    from clinical_kg import resources
    from clinical_kg.curation import retract_assertion
    from clinical_kg.namespaces import prefix_map

    iri = assertion.strip("<>")
    prefix, sep, local = iri.partition(":")
    if sep and prefix in prefix_map():
        iri = prefix_map()[prefix] + local
    home = retract_assertion(data_dir or resources.data_dir(), URIRef(iri), reason, curator)
    click.echo(f"Retracted {compact(URIRef(iri))} (was in data/{home}); the record is kept in data/retractions.ttl.")
