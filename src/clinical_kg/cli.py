"""The ``ckg`` command: a thin layer over the library.

Exit status: 0 success (or the graph conforms), 1 violations, 2 usage, input or query error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clinical_kg import __version__
from clinical_kg.errors import ClinicalKGError, InputError
from clinical_kg.results import GRAPH_FORMATS, RESULT_FORMATS, compact, format_result
from clinical_kg.server import Settings as ServeSettings
from clinical_kg.store import DEFAULT_STORE, STORES, KnowledgeGraph, open_graph

SERVE_DEFAULTS = ServeSettings()  # the one place the endpoint's defaults are written: server.Settings
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


def _load(store: str) -> KnowledgeGraph:
    return open_graph(store, store_path=click.get_current_context().meta.get("ckg.store_path"))


def _parse_params(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair!r} is not KEY=VALUE", hint='write it as --param symptom="leg pain"')
        values[key.strip()].append(value.strip())
    return dict(values)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="ckg")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
def main(verbose: bool) -> None:
    """clinical-kg: a sourced clinical knowledge graph of causes, conditions, symptoms and treatments.

    \b
    Example:
      ckg query conditions-causing-symptom --param symptom="radiating leg pain"
    """


@main.command("queries", context_settings=CONTEXT)
@handle_errors
def queries_command() -> None:
    """List the query catalogue with titles and parameters.

    \b
    Example:
      ckg queries
    """
    from clinical_kg.catalogue import load_catalogue

    for query in load_catalogue().values():
        params = " ".join(
            ("[" if not p.required else "")
            + f"--param {p.name}=..."
            + (" (repeatable)" if p.multiple else "")
            + ("]" if not p.required else "")
            for p in query.parameters
        )
        click.echo(f"{query.name}  {params}".rstrip())
        click.echo(f"    {query.title}. Returns: {', '.join(query.returns)}")


@main.command("query", context_settings=CONTEXT)
@click.argument("name")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter value: label, synonym, code, CURIE or IRI. Repeat for several.")  # fmt: skip
@click.option("-f", "--format", "fmt", type=click.Choice(RESULT_FORMATS), default="table", show_default=True)
@store_option
@handle_errors
def query_command(name: str, params: tuple[str, ...], fmt: str, store: str) -> None:
    """Run the catalogue query NAME with its parameters.

    \b
    Examples:
      ckg query conditions-causing-symptom --param symptom="radiating leg pain"
      ckg query differential-diagnosis -p symptoms=numbness -p symptoms=weakness --format json
    """
    from clinical_kg.catalogue import get_query, run_query

    query = get_query(name)
    result = run_query(_load(store), name, _parse_params(params))
    click.echo(format_result(result, fmt) if fmt != "table" else _table(result, query.title), nl=False)


def _table(result: Any, title: str) -> str:
    from clinical_kg.results import to_table

    return to_table(result, title=title)


@main.command("sparql", context_settings=CONTEXT)
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@click.option("-f", "--format", "fmt", type=click.Choice(RESULT_FORMATS + GRAPH_FORMATS), default=None,
              help="Result format: table, csv, tsv, json for SELECT/ASK (default table); "
                   "turtle, nt, json-ld, xml for CONSTRUCT/DESCRIBE (default turtle).")  # fmt: skip
@store_option
@handle_errors
def sparql_command(source: Any, fmt: str | None, store: str) -> None:
    """Run an ad-hoc SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) from FILE or stdin.

    The project's prefixes (ckg:, ckgid:, skos:, ...) are predeclared. SERVICE, FROM and
    updates are refused.

    \b
    Example:
      echo 'SELECT ?c WHERE { ?c a ckg:Condition } LIMIT 5' | ckg sparql -
    """
    from clinical_kg.namespaces import prefix_map

    result = _load(store).query(source.read(), prefixes=prefix_map())
    if result.graph is not None:
        fmt = fmt or "turtle"
        if fmt not in GRAPH_FORMATS:
            raise InputError(
                f"--format {fmt} does not fit a graph result", hint=f"use one of {', '.join(GRAPH_FORMATS)}"
            )
    else:
        fmt = fmt or "table"
        if fmt not in RESULT_FORMATS:
            raise InputError(
                f"--format {fmt} does not fit a {result.form} result", hint=f"use one of {', '.join(RESULT_FORMATS)}"
            )
    click.echo(format_result(result, fmt), nl=False)


@main.command("lookup", context_settings=CONTEXT)
@click.argument("text")
@click.option("-n", "--limit", default=10, show_default=True, help="At most this many matches.")
@store_option
@handle_errors
def lookup_command(text: str, limit: int, store: str) -> None:
    """Find entities by label, synonym, code or IRI, with their type and IRI.

    \b
    Examples:
      ckg lookup "back spasm"
      ckg lookup HP:0011868
    """
    from clinical_kg.terms import TermIndex

    matches = TermIndex(_load(store)).lookup(text, limit=limit)
    if not matches:
        raise InputError(f"nothing in the graph is called {text!r}", hint="try a shorter or more common word")
    for m in matches:
        via = "" if m.matched == m.label else f'  (matched "{m.matched}", {m.how})'
        click.echo(f"{compact(m.iri)}\t{m.label}\t{m.type}{via}")


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

    kg = _load(store)
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


@main.command("stats", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@store_option
@handle_errors
def stats_command(as_json: bool, store: str) -> None:
    """Counts by class, by relation, of assertions and sources, and the best-connected entities.

    \b
    Example:
      ckg stats
    """
    from clinical_kg.analysis import statistics
    from clinical_kg.terms import TermIndex

    kg = _load(store)
    figures = statistics(kg)
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    labels = TermIndex(kg).label
    click.echo(f"triples: {figures['triples']}")
    click.echo(f"assertions: {figures['assertions']}")
    click.echo(f"sources: {figures['sources']}")
    click.echo("entities by class:")
    for cls, n in figures["entities_by_class"].items():
        click.echo(f"  {compact_iri(cls):28} {n}")
    click.echo("statements by relation:")
    for rel, n in figures["statements_by_relation"].items():
        click.echo(f"  {compact_iri(rel):28} {n}")
    network = figures["network"]
    click.echo(f"network: {network['nodes']} nodes, {network['edges']} edges, "
               f"{network['weakly_connected_components']} weakly connected components")  # fmt: skip
    click.echo("most connected:")
    for hub in network["hubs"]:
        from rdflib import URIRef

        iri = URIRef(hub["entity"])
        click.echo(f"  {compact(iri):40} {labels.get(iri, ''):40} {hub['degree']}")


def compact_iri(value: str) -> str:
    """A CURIE for an IRI given as a string."""
    from rdflib import URIRef

    return compact(URIRef(value))


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
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@handle_errors
def serve_command(host: str, port: int, store_path: Path | None, workers: int, timeout: float, max_rows: int,
                  max_body: int, queue_wait: float, cors_origins: tuple[str, ...], worker_memory: int,
                  allow_update: bool, access_log: bool) -> None:  # fmt: skip
    """Run a read-only SPARQL 1.1 endpoint at /sparql, the catalogue at /queries, a query page at /.

    Queries run in sandboxed worker processes (no network), each killed at the timeout.
    SPARQL Update, Graph Store writes, SERVICE and FROM are refused. Needs the `serve` extra:
    pip install "clinical-kg[serve]".

    \b
    Examples:
      ckg serve
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
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it can query the graph", err=True)
    from clinical_kg.server import Settings, serve

    serve(Settings(host=host, port=port, store_path=store_path, workers=workers, timeout=timeout, max_rows=max_rows,
                   max_body=max_body, queue_wait=queue_wait, cors_origins=cors_origins, worker_memory_mb=worker_memory,
                   access_log=access_log, allow_update=allow_update, update_token=token))  # fmt: skip


@main.command("export", context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", required=True, metavar="FORMAT",
              help="turtle, ntriples, nquads, rdfxml, jsonld, kgx, graphml, nodelink or csv.")  # fmt: skip
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="File (or folder, for kgx and csv) to write; default: the format's usual name in the "
                   "current folder (clinical-kg.ttl, kgx/, csv/, ...).")  # fmt: skip
@handle_errors
def export_command(fmt: str, out: Path | None) -> None:
    """Export the graph (vocabulary and curated data) as FORMAT.

    \b
    Formats and default outputs:
      turtle     Turtle (canonical longturtle)         clinical-kg.ttl
      ntriples   N-Triples, sorted lines               clinical-kg.nt
      nquads     N-Quads, a named graph per file       clinical-kg.nq
      rdfxml     RDF/XML                               clinical-kg.rdf
      jsonld     JSON-LD with the shipped context      clinical-kg.jsonld
      kgx        KGX TSV for Biolink tools             kgx/nodes.tsv, kgx/edges.tsv
      graphml    GraphML (networkx)                    clinical-kg.graphml
      nodelink   node-link JSON (networkx)             clinical-kg.nodelink.json
      csv        entity and assertion tables           csv/entities.csv, csv/assertions.csv

    The same graph always gives the same bytes. The files written are listed on stdout with
    their sizes. Exit 0 written, 2 unknown format or unreadable data.

    \b
    Examples:
      ckg export --format jsonld
      ckg export --format kgx --out build/kgx
    """
    from clinical_kg.export import export, get_exporter, load_graph

    get_exporter(fmt)  # an unknown format fails before the graph is loaded
    for path in export(load_graph(), fmt, out):
        click.echo(f"{path}\t{path.stat().st_size} bytes")


@main.command("release", context_settings=CONTEXT)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to write the release folder clinical-kg-<version>/ into.")  # fmt: skip
@click.option("--previous", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The release to list changes against (default: the newest other release in --out).")  # fmt: skip
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
              help="Release date (default: the date of $SOURCE_DATE_EPOCH, else today, UTC).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an existing release folder of the same version.")
@handle_errors
def release_command(out: Path, previous: Path | None, day: str | None, force: bool) -> None:
    """Write a release: every export format, manifest.json and CHANGES.md in OUT/clinical-kg-<version>/.

    The version is the last segment of the vocabulary's owl:versionIRI. manifest.json gives the
    version, date, counts by class and relation, every file with its size and SHA-256, the
    sources with their checksums, the SHACL validation result, and the assertion records added,
    retracted or changed since the previous release, which CHANGES.md lists for people. The
    same data and date give the same bytes. Exit 0 written, 2 when the folder exists (without
    --force) or the data cannot be read.

    \b
    Examples:
      ckg release
      ckg release --out dist --previous dist/clinical-kg-0.1.0 --date 2026-12-01
    """
    from clinical_kg.export.release import make_release

    release = make_release(out, previous=previous, day=day, force=force)
    manifest = release.manifest
    click.echo(f"{release.folder}: clinical-kg {manifest['version']} ({manifest['date']})")
    for entry in manifest["files"]:
        click.echo(f"  {entry['path']:28} {entry['bytes']:>9} bytes  sha256 {entry['sha256']}")
    click.echo(f"  {'manifest.json':28} {(release.folder / 'manifest.json').stat().st_size:>9} bytes")
    changes = manifest["changes"]
    if changes["previous"] is None:
        click.echo("changes: first release (no previous release found)")
    else:
        click.echo(f"changes since {changes['previous']} ({changes['previous_date']}): "
                   f"{len(changes['added'])} added, {len(changes['retracted'])} retracted, "
                   f"{len(changes['changed'])} changed (CHANGES.md)")  # fmt: skip
    if not manifest["validation"]["conforms"]:
        click.echo(f"warning: the graph does not conform to the shapes ({manifest['validation']['violations']} "
                   "violations, recorded in manifest.json); run `ckg validate`", err=True)  # fmt: skip


@main.command("load", context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--store-path",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the on-disk Oxigraph store to build (an existing store there is replaced).",
)
@click.option(
    "--shipped/--no-shipped",
    default=True,
    show_default=True,
    help="Load the shipped vocabulary and data too, so the catalogue works on the store.",
)
@handle_errors
def load_command(files: tuple[Path, ...], store_path: Path, shipped: bool) -> None:
    """Bulk-load Turtle, N-Triples or N-Quads files (or .gz of them) into an on-disk store.

    The store is built in a new folder and renamed into place only when complete, so an
    interrupted load leaves the previous store as it was. Query it with --store-path.

    \b
    Example:
      ckg load hpo.nt.gz --store-path kg-store
      ckg query conditions-causing-symptom --store-path kg-store --param symptom=pain
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from clinical_kg.store import load_store, shipped_files

    paths = [*(shipped_files() if shipped else []), *files]
    if not paths:
        raise InputError("nothing to load", hint="name files, or leave out --no-shipped")
    start = time.perf_counter()
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("loading", total=sum(p.stat().st_size for p in paths))
        count = load_store(store_path, paths, progress=lambda done, _total: bar.update(task, completed=done))
    seconds = time.perf_counter() - start
    click.echo(f"{store_path}: {count} triples from {len(paths)} files in {seconds:.1f} s", err=True)


if __name__ == "__main__":
    main()
