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

from clinical_kg.choices import GRAPH_FORMATS
from clinical_kg.namespaces import curie
from clinical_kg.store import QueryResult


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


def fit_widths(natural: list[int], floors: list[int], available: int, weights: list[int]) -> list[int]:
    """Column widths that fit ``available`` characters: each column as wide as its longest cell
    (``natural``) if all fit; else the widest are narrowed first, down to a shared cap scaled by
    each column's weight (a quote gets more room than a label), never below its floor (its
    longest word, so words are not split where that can be helped)."""
    if sum(natural) <= available:
        return natural

    def widths(cap: float) -> list[int]:
        return [max(f, min(n, int(cap * w))) for n, f, w in zip(natural, floors, weights, strict=True)]

    low, high = 0.0, float(max(natural))
    for _ in range(40):  # bisect the cap: the widest that still fits
        cap = (low + high) / 2
        low, high = (cap, high) if sum(widths(cap)) <= available else (low, cap)
    return widths(low)


def to_table(result: QueryResult, title: str | None = None, width: int | None = None) -> str:
    """A readable table as wide as ``width`` (default: the terminal's, or ``$COLUMNS``; 80 when the
    output is not a terminal): labels rather than IRIs where the query gives both, long texts
    such as quotes wrapped over several lines, never cut. The csv, tsv and json formats give
    the exact values."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

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
    # "conditionLabel" is headed "condition": the label stands for the entity
    headers = [
        v[: -len("Label")] if v[: -len("Label")] in labelled else v for v in (result.variables[i] for i in shown)
    ]
    natural = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(headers)]
    floors = [min(max([len(h)] + [len(w) for r in rows for w in r[k].split()]), 16) for k, h in enumerate(headers)]
    width = width or Console().width
    weights = [3 if h == "quote" else 1 for h in headers]
    widths = fit_widths(natural, floors, width - 3 * len(headers) - 1, weights)
    table = Table(title=title, highlight=False)
    for header, column_width in zip(headers, widths, strict=True):
        table.add_column(header, overflow="fold", width=column_width)
    for cells in rows:
        table.add_row(*map(Text, cells))  # as Text: no console markup or emoji codes read in the values
    console = Console(file=io.StringIO(), width=width, no_color=True)
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
