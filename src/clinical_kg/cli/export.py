"""The commands that write the graph out: export formats, releases, and on-disk stores (load)."""

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
from clinical_kg.cli.imports import include_options, store_path_for_include
from clinical_kg.errors import InputError


@main.command("export", context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", required=True, metavar="FORMAT",
              help="turtle, ntriples, nquads, rdfxml, jsonld, kgx, graphml, nodelink or csv.")  # fmt: skip
@click.option("-o", "--out", type=click.Path(path_type=Path, allow_dash=True), default=None,
              help="File (or folder, for kgx and csv) to write, or - for stdout; default: the format's usual name "
                   "in the current folder (clinical-kg.ttl, kgx/, csv/, ...).")  # fmt: skip
@include_options
@data_dir_option
@endpoint_options
@handle_errors
def export_command(fmt: str, out: Path | None, include: tuple[str, ...]) -> None:
    """Export the graph (vocabulary and curated data) as FORMAT.

    \b
    Formats and default outputs:
      turtle     Turtle, subjects sorted               clinical-kg.ttl
      ntriples   N-Triples, sorted lines               clinical-kg.nt
      nquads     N-Quads, a named graph per file       clinical-kg.nq
      rdfxml     RDF/XML                               clinical-kg.rdf
      jsonld     JSON-LD with the shipped context      clinical-kg.jsonld
      kgx        KGX TSV for Biolink tools             kgx/nodes.tsv, kgx/edges.tsv
      graphml    GraphML (networkx)                    clinical-kg.graphml
      nodelink   node-link JSON (networkx)             clinical-kg.nodelink.json
      csv        entity and assertion tables           csv/entities.csv, csv/assertions.csv

    The same graph always gives the same bytes. The files written are listed on stdout with
    their sizes; with --out - the one file is written to stdout instead. Exit 0 written, 2
    unknown format or unreadable data.

    \b
    With --include hpo, the graphs `ckg import hpo` wrote into the store of --store-path follow
    the curated statements (N-Triples or N-Quads only: they are streamed from the store).

    \b
    With --endpoint, the graph is the one `ckg load --endpoint` put on that SPARQL server (each
    file's named graph read back), and the export is the same bytes as from the files.

    \b
    Examples:
      ckg export --format jsonld
      ckg export --format kgx --out build/kgx
      ckg export --format ntriples --out - | grep sciatica
      ckg export --format nquads --endpoint http://127.0.0.1:7878/query
      ckg export --format nquads --include hpo --store-path kg-store
    """
    import sys

    from clinical_kg.export import FORMATS, export, export_to_stream, get_exporter, load_for

    get_exporter(fmt)  # an unknown format fails before the graph is loaded
    remote = endpoint()
    if remote is None:
        graph = load_for(fmt, data_location().path)  # read by the engine the format's exporter uses
    else:
        from clinical_kg.remote import SparqlKnowledgeGraph
        from clinical_kg.remote.pull import graphs_for

        graph = graphs_for(fmt, SparqlKnowledgeGraph(remote))
    if include:
        from clinical_kg.export.imported import export_with_imports

        target = Path(out or FORMATS[fmt].default_name)
        export_with_imports(
            graph, fmt, store_path_for_include(), include, sys.stdout.buffer if str(target) == "-" else target
        )
        if str(target) != "-":
            click.echo(f"{target}\t{target.stat().st_size} bytes")
        return
    if out is not None and str(out) == "-":
        export_to_stream(graph, fmt, sys.stdout.buffer)
        return
    for path in export(graph, fmt, out):
        click.echo(f"{path}\t{path.stat().st_size} bytes")


@main.command("release", context_settings=CONTEXT)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to write the release folder clinical-kg-<version>/ into.")  # fmt: skip
@click.option("--previous", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The release to list changes against (default: the newest other release in --out).")  # fmt: skip
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
              help="Release date (default: the date of $SOURCE_DATE_EPOCH, else today, UTC).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an existing release folder of the same version.")
@include_options
@data_dir_option
@handle_errors
def release_command(out: Path, previous: Path | None, day: str | None, force: bool, include: tuple[str, ...]) -> None:
    """Write a release: every export format, manifest.json and CHANGES.md in OUT/clinical-kg-<version>/.

    The version is the last segment of the vocabulary's owl:versionIRI. manifest.json gives the
    version, date, counts by class and relation, every file with its size and SHA-256, the
    sources with their checksums, the SHACL validation result, and the assertion records added,
    retracted or changed since the previous release, which CHANGES.md lists for people. The
    same data and date give the same bytes. Exit 0 written, 2 when the folder exists (without
    --force) or the data cannot be read.

    \b
    With --include hpo, the release also holds hpo.nq, the graphs `ckg import hpo` wrote into
    the store of --store-path, and the manifest lists them with the HPO's release and licence.

    \b
    Examples:
      ckg release
      ckg release --out dist --previous dist/clinical-kg-0.1.0 --date 2026-12-01
      ckg release --include hpo --store-path kg-store
    """
    from clinical_kg.export.release import make_release
    from clinical_kg.store import curated_files

    store_path = store_path_for_include() if include else None
    release = make_release(out, previous=previous, day=day, force=force, files=curated_files(data_location().path),
                           store_path=store_path, include=include)  # fmt: skip
    manifest = release.manifest
    click.echo(f"{release.folder}: clinical-kg {manifest['version']} ({manifest['date']})")
    for entry in manifest["files"]:
        click.echo(f"  {entry['path']:28} {entry['bytes']:>9} bytes  sha256 {entry['sha256']}")
    click.echo(f"  {'manifest.json':28} {(release.folder / 'manifest.json').stat().st_size:>9} bytes")
    for graph in manifest.get("imported", []):
        click.echo(f"imported: {graph['title']} ({graph['file_name']} sha256 {graph['file_sha256'][:12]}, licence "
                   f"{graph['license']}): {graph['triples']} triples in {graph['file']}")  # fmt: skip
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
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the on-disk Oxigraph store to build (an existing store there is replaced).",
)
@endpoint_options
@click.option(
    "--shipped/--no-shipped",
    default=True,
    show_default=True,
    help="Load the shipped vocabulary and data too, so the catalogue works on the store.",
)
@data_dir_option
@handle_errors
def load_command(files: tuple[Path, ...], store_path: Path | None, shipped: bool) -> None:
    """Bulk-load Turtle, N-Triples or N-Quads files (or .gz of them) into an on-disk store or a SPARQL server.

    An on-disk store (--store-path) is built in a new folder and renamed into place only when
    complete, so an interrupted load leaves the previous store as it was. On a SPARQL server
    (--endpoint, with --update-endpoint and --graph-store where the server has them), each file
    replaces its named graph and the graphs of an earlier load that this one lacks are dropped:
    loading twice never appends (see docs/remote-stores.md). Query it with the same option.

    \b
    Examples:
      ckg load hpo.nt.gz --store-path kg-store
      ckg query conditions-causing-symptom --store-path kg-store --param symptom=pain
      ckg load --endpoint http://127.0.0.1:7878/query --update-endpoint http://127.0.0.1:7878/update \\
               --graph-store http://127.0.0.1:7878/store
    """
    import time

    from clinical_kg.store import curated_files

    remote = endpoint()
    if (store_path is None) == (remote is None):
        raise InputError("give --store-path DIR or --endpoint URL (one of them)", hint="see `ckg load --help`")
    data_dir = data_location().path
    paths = [*(curated_files(data_dir) if shipped else []), *files]
    if not paths:
        raise InputError("nothing to load", hint="name files, or leave out --no-shipped")
    start = time.perf_counter()
    if remote is not None:
        from clinical_kg.remote.load import load_endpoint

        count, graphs = load_endpoint(remote, paths)
        seconds = time.perf_counter() - start
        click.echo(f"{remote.query_url}: {count} triples in {graphs} graphs from {len(paths)} files in "
                   f"{seconds:.1f} s", err=True)  # fmt: skip
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from clinical_kg.store import load_store

    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("loading", total=sum(p.stat().st_size for p in paths))
        count = load_store(
            store_path, paths, progress=lambda done, _total: bar.update(task, completed=done), data_dir=data_dir
        )
    seconds = time.perf_counter() - start
    click.echo(f"{store_path}: {count} triples from {len(paths)} files in {seconds:.1f} s", err=True)
