"""Writing query results: W3C SPARQL 1.1 results JSON, CSV and TSV, and a readable table.

The serialisers work on :class:`clinical_kg.store.QueryResult`, so every engine gives the same
bytes for the same rows.
"""

from __future__ import annotations

import csv
import io
import json
import re

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


# The columns of one link of a row (docs/data-model.md): subject1, relation1, ..., quote3; the
# conflicts query also numbers the record and its negation.
_LINK_NAMES = (
    "assertion", "subject", "relation", "object", "negated", "hedge", "source", "quote", "evidenceCode", "reference",
    "frequency",
)  # fmt: skip
_LINK_COLUMN = re.compile(r"^(" + "|".join(_LINK_NAMES) + r")([1-9])$")


def _link_text(number: int, parts: dict[str, str]) -> str:
    """One link of a row for people: "1. subject relation object [hedge]", then its evidence (the quote of a
    text, or the evidence code, reference and frequency of a database record) and source."""
    head = " ".join(p for p in (parts.get("subject"), parts.get("relation"), parts.get("object")) if p)
    extra = [parts["hedge"]] if parts.get("hedge") else []
    extra += ["negated"] if parts.get("negated") == "true" else []
    text = f"{number}. {head}" + (f" [{', '.join(extra)}]" if extra else "")
    if parts.get("assertion"):
        text += f" {parts['assertion']}"
    if parts.get("quote"):
        text += f"\n“{parts['quote']}” {parts.get('source', '')}".rstrip()
    elif parts.get("evidenceCode"):
        frequency = f"frequency {parts['frequency']}" if parts.get("frequency") else ""
        evidence = [parts["evidenceCode"], parts.get("reference", ""), frequency, parts.get("source", "")]
        text += "\n" + ", ".join(e for e in evidence if e)
    return text


def to_table(result: QueryResult, title: str | None = None, width: int | None = None) -> str:
    """A readable table as wide as ``width`` (default: the terminal's, or ``$COLUMNS``; 80 when the
    output is not a terminal): labels rather than IRIs where the query gives both, long texts
    such as quotes wrapped over several lines, never cut, and no column that every row leaves
    empty. The csv, tsv and json formats give every column and the exact values.

    A result with link columns (``subject1``, ``relation1``, ..., ``quote3``: the statements a
    row rests on, docs/data-model.md) shows them in one ``links`` column, each link on its own
    lines (subject, relation, object and hedge, then its quote and source), so that every hop
    of a chain is visible.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if result.form == "ASK":
        return "yes\n" if result.boolean else "no\n"
    variables = result.variables
    labelled = {v for v in variables if f"{v}Label" in variables}
    links: dict[int, dict[str, int]] = {}  # link number -> column name (subject, ...) -> index
    for i, var in enumerate(variables):
        match = _LINK_COLUMN.match(var)
        if match:
            links.setdefault(int(match[2]), {})[match[1]] = i
    in_links = {i for columns in links.values() for i in columns.values()}
    in_links |= {variables.index(f"{variables[i]}Label") for i in in_links if variables[i] in labelled}
    shown = [i for i, v in enumerate(variables) if v not in labelled and i not in in_links]

    def cell(row: tuple, i: int) -> str:
        term, var = row[i], variables[i]
        if var in labelled and row[variables.index(f"{var}Label")] is not None:
            term = row[variables.index(f"{var}Label")]  # the label stands for the entity
        elif term is None and var.endswith("Label") and var[: -len("Label")] in labelled:
            term = row[variables.index(var[: -len("Label")])]  # no label: show the IRI
        return " ".join(compact(term).split())

    # "conditionLabel" is headed "condition": the label stands for the entity
    headers = [v[: -len("Label")] if v[: -len("Label")] in labelled else v for v in (variables[i] for i in shown)]
    headers += ["links"] if links else []
    rows = []
    for row in result.rows:
        cells = [cell(row, i) for i in shown]
        if links:
            texts = []
            for k in sorted(links):
                parts = {name: cell(row, i) for name, i in links[k].items()}
                if parts.get("relation") or parts.get("assertion"):
                    texts.append(_link_text(k, parts))
            cells.append("\n".join(texts))
        rows.append(cells)
    filled = [k for k in range(len(headers)) if any(r[k] for r in rows)]  # no empty columns
    headers = [headers[k] for k in filled]
    rows = [[r[k] for k in filled] for r in rows]
    natural = [max([len(h)] + [len(line) for r in rows for line in r[k].splitlines()]) for k, h in enumerate(headers)]
    longest_word = [max([len(h)] + [len(w) for r in rows for w in r[k].split()]) for k, h in enumerate(headers)]
    floors = [min(n, 16) for n in longest_word]
    width = width or Console().width
    weights = [3 if h in ("quote", "links") else 1 for h in headers]
    widths = fit_widths(natural, floors, width - 3 * len(headers) - 1, weights)
    table = Table(title=title, highlight=False)
    for header, column_width in zip(headers, widths, strict=True):
        table.add_column(header, overflow="fold", width=column_width)
    for n, cells in enumerate(rows, start=1):  # as Text: no console markup or emoji codes read in the values
        table.add_row(*map(Text, cells), end_section=bool(links) and n < len(rows))
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
