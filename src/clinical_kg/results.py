"""Writing query results: W3C SPARQL 1.1 results JSON, CSV and TSV, and a readable table.

The serialisers work on :class:`clinical_kg.store.QueryResult`, so every engine gives the same
bytes for the same rows.
"""

from __future__ import annotations

import csv
import io
import json

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from clinical_kg.namespaces import curie
from clinical_kg.store import QueryResult

RESULT_FORMATS = ("table", "csv", "tsv", "json")
GRAPH_FORMATS = ("turtle", "nt", "json-ld", "xml")


def _json_term(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    value: dict[str, str] = {"type": "literal", "value": str(term)}
    if term.language:
        value["xml:lang"] = term.language
    elif term.datatype is not None:
        value["datatype"] = str(term.datatype)
    return value


def to_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON Format."""
    if result.form == "ASK":
        return json.dumps({"head": {}, "boolean": result.boolean}, indent=2) + "\n"
    bindings = [
        {var: _json_term(term) for var, term in zip(result.variables, row, strict=True) if term is not None}
        for row in result.rows
    ]
    return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}}, indent=2) + "\n"


def to_csv(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results CSV Format (lexical values only, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if result.form == "ASK":
        writer.writerows([["boolean"], ["true" if result.boolean else "false"]])
        return out.getvalue()
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow(["" if t is None else (f"_:{t}" if isinstance(t, BNode) else str(t)) for t in row])
    return out.getvalue()


def to_tsv(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results TSV Format (terms in Turtle/N-Triples syntax)."""
    if result.form == "ASK":
        return "?boolean\n" + ("true" if result.boolean else "false") + "\n"
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join("" if t is None else _tsv_term(t) for t in row))
    return "\n".join(lines) + "\n"


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Node) -> str:
    """A term in N-Triples syntax on one line (literals always quoted and escaped)."""
    if not isinstance(term, Literal):
        return term.n3()
    text = '"' + str(term).translate(_TSV_ESCAPES) + '"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype is not None:
        return f"{text}^^<{term.datatype}>"
    return text


def compact(term: Node | None) -> str:
    """A term for people: a CURIE for known namespaces, the value of a literal, '' if unbound."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return curie(str(term)) or f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def to_table(result: QueryResult, title: str | None = None, width: int | None = None) -> str:
    """A readable terminal table: labels rather than IRIs where the query gives both, one line
    per row with long texts cut short; the exact values are in the csv, tsv and json formats."""
    from rich.console import Console
    from rich.table import Table

    if result.form == "ASK":
        return "yes\n" if result.boolean else "no\n"
    labelled = {v for v in result.variables if f"{v}Label" in result.variables}
    shown = [i for i, v in enumerate(result.variables) if v not in labelled]
    rows = []
    for row in result.rows:
        cells = []
        for i in shown:
            term, var = row[i], result.variables[i]
            if term is None and var.endswith("Label") and var[: -len("Label")] in labelled:
                term = row[result.variables.index(var[: -len("Label")])]  # no label: show the IRI
            cells.append(" ".join(compact(term).split()))
        rows.append(cells)
    table = Table(title=title, highlight=False)
    widths = []
    for k, i in enumerate(shown):
        name = result.variables[i]
        widths.append(min(max([len(name)] + [len(r[k]) for r in rows]), 60 if name == "quote" else 36))
        table.add_column(name, overflow="ellipsis", no_wrap=True, width=widths[-1])
    for cells in rows:
        table.add_row(*cells)
    console = Console(file=io.StringIO(), width=width or sum(widths) + 3 * len(widths) + 1, no_color=True)
    console.print(table)
    console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}")
    return console.file.getvalue()


WRITERS = {"json": to_json, "csv": to_csv, "tsv": to_tsv, "table": to_table}


def format_result(result: QueryResult, fmt: str) -> str:
    """Render a query result in one of RESULT_FORMATS (SELECT/ASK) or GRAPH_FORMATS (graphs)."""
    if result.graph is not None:
        if fmt not in GRAPH_FORMATS:
            fmt = "turtle"
        return result.graph.serialize(format=fmt)
    return WRITERS[fmt](result)
