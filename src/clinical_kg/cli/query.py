"""The researchers' commands: the catalogue, ad-hoc SPARQL, term lookup, statistics."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import click

from clinical_kg.choices import GRAPH_FORMATS, RESULT_FORMATS
from clinical_kg.cli.group import CONTEXT, endpoint, handle_errors, main, open_api, store_option
from clinical_kg.errors import InputError


def _parse_params(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair!r} is not KEY=VALUE", hint='write it as --param symptom="leg pain"')
        values[key.strip()].append(value.strip())
    return dict(values)


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
@click.option("--group/--flat", "grouped", default=False,
              help="--group: one row per answer term (a condition, ...) with its matched terms and evidence as lists; "
                   "--flat (default): one row per record, in the SPARQL results formats.")  # fmt: skip
@click.option("--limit", type=click.IntRange(1), default=None,
              help="At most this many rows (groups with --group): a page of the answer.")  # fmt: skip
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many rows (groups) first.")
@store_option
@handle_errors
def query_command(name: str, params: tuple[str, ...], fmt: str, grouped: bool, limit: int | None, offset: int) -> None:
    """Run the catalogue query NAME with its parameters.

    Flat (the default): one row per record of evidence. --group: one row per answer term (the
    condition of conditions-causing-symptom, ...) with the terms it matched, the bases and the
    evidence as lists, and their counts (docs/decisions/0009-grouped-answers.md). With --limit
    (and --offset), one page of the rows (groups) is printed, and stderr says which of how many.

    \b
    Examples:
      ckg query conditions-causing-symptom --param symptom="radiating leg pain"
      ckg query conditions-causing-symptom --param symptom="radiating leg pain" --group
      ckg query differential-diagnosis -p symptoms=numbness -p symptoms=weakness --format json
      ckg query conditions-causing-symptom --param symptom=pain --limit 100 --offset 100
    """
    from clinical_kg.results import GROUPED_WRITERS, format_result, to_table

    result = open_api().query(name, group=grouped, limit=limit, offset=offset, **_parse_params(params))
    if grouped:
        click.echo(GROUPED_WRITERS[fmt](result), nl=False)
        paged = limit is not None or offset > 0
        items, count = "groups", len(result)
    else:
        click.echo(format_result(result, fmt) if fmt != "table" else to_table(result, title=result.title), nl=False)
        paged = result.total is not None
        items, count = "rows", result.row_count
    if paged:
        first, last = result.offset + 1, result.offset + count
        shown = f"{items} {first:,}-{last:,}" if count else f"no {items}"
        more = f"; the next page: --offset {last}" if last < result.total else ""
        click.echo(f"{shown} of {result.total:,}{more}", err=True)


@main.command("sparql", context_settings=CONTEXT)
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@click.option("-f", "--format", "fmt", type=click.Choice(RESULT_FORMATS + GRAPH_FORMATS), default=None,
              help="Result format: table, csv, tsv, json for SELECT/ASK (default table); "
                   "turtle, nt, json-ld, xml for CONSTRUCT/DESCRIBE (default turtle).")  # fmt: skip
@click.option(
    "--allow-network-access",
    is_flag=True,
    help="Run the query even where this process cannot be cut off from the network (see docs/security.md).",
)
@store_option
@handle_errors
def sparql_command(source: Any, fmt: str | None, allow_network_access: bool) -> None:
    """Run an ad-hoc SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) from FILE or stdin.

    The project's prefixes (ckg:, ckgid:, skos:, ...) are predeclared. SERVICE, FROM and
    updates are refused, and the query runs as the check rewrote it, in a process cut off
    from the network (where that cannot be done, nothing runs unless --allow-network-access).

    \b
    Example:
      echo 'SELECT ?c WHERE { ?c a ckg:Condition } LIMIT 5' | ckg sparql -
    """
    from clinical_kg.results import format_result
    from clinical_kg.sandbox import run_isolated

    text = source.read()

    def answer() -> str:
        result = open_api().sparql(text)
        chosen = fmt or ("turtle" if result.graph is not None else "table")
        if result.graph is not None and chosen not in GRAPH_FORMATS:
            raise InputError(f"--format {chosen} does not fit a graph result",
                             hint=f"use one of {', '.join(GRAPH_FORMATS)}")  # fmt: skip
        if result.graph is None and chosen not in RESULT_FORMATS:
            raise InputError(f"--format {chosen} does not fit a {result.form} result",
                             hint=f"use one of {', '.join(RESULT_FORMATS)}")  # fmt: skip
        return format_result(result, chosen)

    if endpoint() is not None:  # the server evaluates it and this process must reach that server; checked all the same
        output = answer()
    else:
        output = run_isolated(
            answer, allow_network_access, warn=lambda message: click.echo(f"warning: {message}", err=True)
        )
    click.echo(output, nl=False)


@main.command("prefixes", context_settings=CONTEXT)
@click.option("-f", "--format", "fmt", type=click.Choice(["turtle", "sparql"]), default="turtle", show_default=True)
@handle_errors
def prefixes_command(fmt: str) -> None:
    """Print the project's prefixes, which candidate files and SPARQL queries may use undeclared.

    \b
    Examples:
      ckg prefixes
      ckg prefixes --format sparql
    """
    from clinical_kg.namespaces import prefix_map

    for prefix, namespace in prefix_map().items():
        click.echo(f"@prefix {prefix}: <{namespace}> ." if fmt == "turtle" else f"PREFIX {prefix}: <{namespace}>")


@main.command("lookup", context_settings=CONTEXT)
@click.argument("text")
@click.option("-n", "--limit", default=10, show_default=True, help="At most this many matches.")
@store_option
@handle_errors
def lookup_command(text: str, limit: int) -> None:
    """Find entities by label, synonym, code or IRI, with their type and IRI.

    \b
    Examples:
      ckg lookup "back spasm"
      ckg lookup HP:0011868
    """
    from clinical_kg.results import compact_iri

    matches = open_api().index.lookup(text, limit=limit)  # IRIs as text: rdflib is not loaded
    if not matches:
        raise InputError(f"nothing in the graph is called {text!r}", hint="try a shorter or more common word")
    for m in matches:
        via = "" if m.matched == m.label else f'  (matched "{m.matched}", {m.how})'
        click.echo(f"{compact_iri(m.iri)}\t{m.label}\t{m.type}{via}")


@main.command("stats", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@store_option
@handle_errors
def stats_command(as_json: bool) -> None:
    """Counts by class, by relation, of assertions and sources, and the best-connected entities.

    \b
    Example:
      ckg stats
    """
    from clinical_kg.results import compact_iri

    kg = open_api()
    figures = kg.stats()
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    labels = kg.index.label
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
        iri = hub["entity"]
        click.echo(f"  {compact_iri(iri):40} {labels.get(iri, ''):40} {hub['degree']}")
