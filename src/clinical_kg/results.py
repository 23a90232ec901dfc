"""Writing query results: W3C SPARQL 1.1 results JSON, CSV and TSV, and a readable table.

The serialisers work on :class:`clinical_kg.store.QueryResult`, so every engine gives the same
bytes for the same rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from clinical_kg.choices import GRAPH_FORMATS
from clinical_kg.namespaces import curie
from clinical_kg.store import QueryResult

if TYPE_CHECKING:
    from rdflib.term import Node

    from clinical_kg.grouping import Group, GroupedResult


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@cache
def _rdflib_terms() -> tuple[type, type, type]:
    """rdflib's URIRef, BNode and Literal, imported once, when a writer first meets one of its terms."""
    from rdflib import BNode, Literal, URIRef

    return URIRef, BNode, Literal


def term_parts(term: Node | ox.NamedNode | ox.BlankNode | ox.Literal) -> tuple[str, str, str | None, str | None]:
    """(kind, value, language, datatype) of a pyoxigraph or rdflib term: kind ``uri``, ``bnode`` or
    ``literal``; a literal's language or datatype IRI (neither for a plain string).

    Raises TypeError for what the SPARQL 1.1 results formats cannot write: RDF 1.2 triple terms
    and literals with a base direction.
    """
    if isinstance(term, ox.NamedNode):
        return "uri", term.value, None, None
    if isinstance(term, ox.BlankNode):
        return "bnode", term.value, None, None
    if isinstance(term, ox.Literal) and not term.direction:
        if term.language:
            return "literal", term.value, term.language, None
        datatype = term.datatype.value
        return "literal", term.value, None, None if datatype == _XSD_STRING else datatype
    if isinstance(term, (ox.Literal, ox.Triple)):
        raise TypeError(f"the SPARQL 1.1 results formats cannot write the term {term}")
    URIRef, BNode, Literal = _rdflib_terms()  # noqa: N806  (not a pyoxigraph term: rdflib made it)
    if isinstance(term, URIRef):
        return "uri", str(term), None, None
    if isinstance(term, BNode):
        return "bnode", str(term), None, None
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype is not None and not term.language else None
        return "literal", str(term), term.language or None, datatype
    raise TypeError(f"not an RDF term: {term!r}")


def _json_term(term: Node) -> dict[str, str]:
    kind, text, language, datatype = term_parts(term)
    value: dict[str, str] = {"type": kind, "value": text}
    if language:
        value["xml:lang"] = language
    elif datatype is not None:
        value["datatype"] = datatype
    return value


def to_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON Format."""
    if result.form == "ASK":
        return json.dumps({"head": {}, "boolean": result.boolean}, indent=2) + "\n"
    bindings = [
        {var: _json_term(term) for var, term in zip(result.variables, row, strict=True) if term is not None}
        for row in result.native_rows
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
    for row in result.native_rows:
        writer.writerow([_csv_value(t) for t in row])
    return out.getvalue()


def to_tsv(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results TSV Format (terms in Turtle/N-Triples syntax)."""
    if result.form == "ASK":
        return "?boolean\n" + ("true" if result.boolean else "false") + "\n"
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.native_rows:
        lines.append("\t".join("" if t is None else _tsv_term(t) for t in row))
    return "\n".join(lines) + "\n"


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Node) -> str:
    """A term in N-Triples syntax on one line (literals always quoted and escaped)."""
    kind, value, language, datatype = term_parts(term)
    if kind == "uri":
        return f"<{value}>"
    if kind == "bnode":
        return f"_:{value}"
    text = '"' + value.translate(_TSV_ESCAPES) + '"'
    if language:
        return f"{text}@{language}"
    if datatype is not None:
        return f"{text}^^<{datatype}>"
    return text


def compact(term: Node | ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    """A term for people: a CURIE for known namespaces, the value of a literal, '' if unbound."""
    if term is None:
        return ""
    kind, value, _language, _datatype = term_parts(term)
    if kind == "uri":
        return compact_iri(value)
    if kind == "bnode":
        return f"_:{value}"
    return value


def compact_iri(iri: str) -> str:
    """An IRI given as text, for people: its CURIE for known namespaces, else the IRI in angle brackets."""
    return curie(iri) or f"<{iri}>"


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


class _Cells:
    """How the table shows the rows of ``variables``: labels for the entities they name, the link
    columns of a row (subject1, ..., quote3) as one ``links`` text, no other column lost."""

    def __init__(self, variables: list[str]) -> None:
        self.variables = variables
        self.labelled = {v for v in variables if f"{v}Label" in variables}
        self.links: dict[int, dict[str, int]] = {}  # link number -> column name (subject, ...) -> index
        for i, var in enumerate(variables):
            match = _LINK_COLUMN.match(var)
            if match:
                self.links.setdefault(int(match[2]), {})[match[1]] = i
        in_links = {i for columns in self.links.values() for i in columns.values()}
        in_links |= {variables.index(f"{variables[i]}Label") for i in in_links if variables[i] in self.labelled}
        self.shown = [i for i, v in enumerate(variables) if v not in self.labelled and i not in in_links]
        # "conditionLabel" is headed "condition": the label stands for the entity
        names = [variables[i] for i in self.shown]
        self.headers = [v[: -len("Label")] if v[: -len("Label")] in self.labelled else v for v in names]
        self.headers += ["links"] if self.links else []

    def cell(self, row: tuple, i: int) -> str:
        """One value for people: the label of an entity where the row has it, else its CURIE or value."""
        term, var, variables = row[i], self.variables[i], self.variables
        if var in self.labelled and row[variables.index(f"{var}Label")] is not None:
            term = row[variables.index(f"{var}Label")]  # the label stands for the entity
        elif term is None and var.endswith("Label") and var[: -len("Label")] in self.labelled:
            term = row[variables.index(var[: -len("Label")])]  # no label: show the IRI
        return " ".join(compact(term).split())

    def cells(self, row: tuple) -> list[str]:
        """The row's cells under :attr:`headers`, its links (if any) last, each on its own lines."""
        cells = [self.cell(row, i) for i in self.shown]
        if self.links:
            texts = []
            for k in sorted(self.links):
                parts = {name: self.cell(row, i) for name, i in self.links[k].items()}
                if parts.get("relation") or parts.get("assertion"):
                    texts.append(_link_text(k, parts))
            cells.append("\n".join(texts))
        return cells


def _render(headers: list[str], rows: list[list[str]], title: str | None, width: int | None, sections: bool,
            footer: str) -> str:  # fmt: skip
    """Rows of cells as a table that fits ``width``, without the columns every row leaves empty."""
    if not rows:
        return footer + "\n"  # a table without columns would print an empty line
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    filled = [k for k in range(len(headers)) if any(r[k] for r in rows)]  # no empty columns
    headers = [headers[k] for k in filled]
    rows = [[r[k] for k in filled] for r in rows]
    natural = [max([len(h)] + [len(line) for r in rows for line in r[k].splitlines()]) for k, h in enumerate(headers)]
    longest_word = [max([len(h)] + [len(w) for r in rows for w in r[k].split()]) for k, h in enumerate(headers)]
    floors = [min(n, 16) for n in longest_word]
    width = width or Console().width
    weights = [3 if h in ("quote", "links", "evidence") else 1 for h in headers]
    widths = fit_widths(natural, floors, width - 3 * len(headers) - 1, weights)
    # Every text as Text, the last line plain: rich reads no markup or emoji codes in them (nor loads
    # its emoji table) and runs no highlighter (which compiles its patterns first: 10 ms of `ckg query`).
    table = Table(title=Text(title) if title else None, highlight=False)
    for header, column_width in zip(headers, widths, strict=True):
        table.add_column(Text(header), overflow="fold", width=column_width)
    for n, cells in enumerate(rows, start=1):
        table.add_row(*map(Text, cells), end_section=sections and n < len(rows))
    console = Console(file=io.StringIO(), width=width, no_color=True)
    console.print(table)
    console.print(footer, highlight=False, markup=False, emoji=False)
    return console.file.getvalue()


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
    if result.form == "ASK":
        return "yes\n" if result.boolean else "no\n"
    layout = _Cells(result.variables)
    rows = [layout.cells(row) for row in result.native_rows]
    footer = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    return _render(layout.headers, rows, title, width, bool(layout.links), footer)


# ---------------------------------------------------------------- grouped answers (clinical_kg.grouping)

LIST_JOINER = " | "  # between the items of a list in a CSV or TSV cell of a grouped answer
_LIST_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|"})


def join_list(items: list[str]) -> str:
    """The items of a list in one CSV or TSV cell: each with ``\\`` and ``|`` escaped by a
    backslash, joined by :data:`LIST_JOINER` (`` | ``); an unbound item is empty."""
    return LIST_JOINER.join(item.translate(_LIST_ESCAPES) for item in items)


def split_list(cell: str) -> list[str]:
    """The items of a cell written by :func:`join_list` (its inverse). A list of a grouped answer
    is never empty (a group has at least one row), so an empty cell is one empty item."""
    items: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == "|":  # an unescaped bar is always the joiner's
            items.append("".join(current[:-1]))
            current = []
            next(chars, "")  # the space after the bar
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _grouped_cells(result: GroupedResult, group: Group, value: Callable[[Node | None], str]) -> list[str]:
    """One group as the cells of a CSV or TSV row under ``result.columns`` and the evidence columns."""
    grouping = result.grouping
    cells = [value(term) for term in group.key]
    cells += [join_list([value(item[k]) for item in group.listed]) for k in range(len(grouping.listed))]
    cells.append(join_list([value(ox.Literal(basis)) for basis in group.bases]))
    cells += [str(count) for count in result.counts(group)]
    cells += [join_list([value(row[k]) for row in group.evidence]) for k in range(len(result.evidence_columns))]
    return cells


def _csv_value(term: Node | None) -> str:
    """A term's lexical value in a CSV cell (a blank node as ``_:id``, '' when unbound)."""
    if term is None:
        return ""
    kind, value, _language, _datatype = term_parts(term)
    return f"_:{value}" if kind == "bnode" else value


def grouped_csv(result: GroupedResult) -> str:
    """A grouped answer as CSV: one row per group, its key's values, then its lists (the listed
    terms, the bases, each evidence column), each list in one cell (:func:`join_list`), evidence
    item ``i`` being item ``i`` of every evidence column; CRLF line ends, as the SPARQL CSV format."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(result.columns) + list(result.evidence_columns))
    for group in result.native_groups:
        writer.writerow(_grouped_cells(result, group, _csv_value))
    return out.getvalue()


def grouped_tsv(result: GroupedResult) -> str:
    """A grouped answer as TSV: the layout of :func:`grouped_csv`, terms in N-Triples syntax as
    the SPARQL TSV format writes them, lists joined as :func:`join_list` does."""
    lines = ["\t".join(f"?{v}" for v in list(result.columns) + list(result.evidence_columns))]
    for group in result.native_groups:
        lines.append("\t".join(_grouped_cells(result, group, lambda t: "" if t is None else _tsv_term(t))))
    return "\n".join(lines) + "\n"


def grouped_json(result: GroupedResult) -> str:
    """A grouped answer as JSON: ``head`` (the key, listed and evidence columns), ``total`` (groups
    in the whole answer), ``offset`` and ``groups``; a group holds its key's terms, the listed terms
    (``symptoms``: a list of objects), ``bases`` (strings), the counts (integers) and ``evidence``
    (a list of objects, one per row of the flat answer). Terms are written as in the SPARQL 1.1
    JSON results format; an unbound value is left out."""
    grouping = result.grouping

    def terms(names: tuple[str, ...], row: tuple) -> dict[str, dict[str, str]]:
        return {name: _json_term(term) for name, term in zip(names, row, strict=True) if term is not None}

    groups = []
    for group in result.native_groups:
        item: dict[str, Any] = terms(grouping.key, group.key)
        if grouping.listed:
            item[f"{grouping.listed[0]}s"] = [terms(grouping.listed, listed) for listed in group.listed]
        item["bases"] = list(group.bases)
        item.update(zip(grouping.counts(), result.counts(group), strict=True))
        item["evidence"] = [terms(result.evidence_columns, row) for row in group.evidence]
        groups.append(item)
    head = {"key": list(grouping.key), "listed": list(grouping.listed), "evidence": list(result.evidence_columns)}
    document = {"head": head, "total": result.total, "offset": result.offset, "groups": groups}
    return json.dumps(document, indent=2) + "\n"


def grouped_table(result: GroupedResult, title: str | None = None, width: int | None = None) -> str:
    """A grouped answer as a readable table: one row per group with its key (labels for entities),
    the listed terms one per line, its bases, and its evidence, each item on its own lines: its
    basis and hedge, its other values, then its quote and source (or evidence code) or its links."""
    grouping = result.grouping
    title = title if title is not None else result.title
    key = _Cells(list(grouping.key))
    listed = _Cells(list(grouping.listed))
    evidence = _Cells(list(result.evidence_columns))
    headers = key.headers + [f"{h}s" for h in listed.headers] + ["basis", "evidence"]
    rows = []
    for group in result.native_groups:
        cells = key.cells(group.key)
        lists = [listed.cells(item) for item in group.listed]
        cells += ["\n".join(item[k] for item in lists) for k in range(len(listed.headers))]
        cells.append("; ".join(group.bases))
        cells.append("\n".join(_evidence_text(evidence.headers, evidence.cells(row)) for row in group.evidence))
        rows.append(cells)
    noun = grouping.key[0]
    count = sum(len(group.evidence) for group in result.native_groups)
    plural = "s" if len(result) != 1 else ""
    footer = f"{len(result)} {noun}{plural} (groups), {count} evidence row{'s' if count != 1 else ''}"
    return _render(headers, rows, title, width, True, footer)


_EVIDENCE = ("quote", "source", "evidenceCode", "reference", "frequency", "links")


def _evidence_text(headers: list[str], cells: list[str]) -> str:
    """One evidence item for people: "- basis [hedge]; name: value; ...", then its quote and source
    (or evidence code, reference and frequency), or its links."""
    parts = dict(zip(headers, cells, strict=True))
    head = parts.get("basis", "")
    if parts.get("hedge"):
        head += f" [{parts['hedge']}]"
    others = [f"{h}: {c}" for h, c in parts.items() if c and h not in ("basis", "hedge", *_EVIDENCE)]
    text = "- " + "; ".join(([head] if head else []) + others)
    if parts.get("quote"):
        text += f"\n“{parts['quote']}” {parts.get('source', '')}".rstrip()
    elif parts.get("evidenceCode"):
        frequency = f"frequency {parts['frequency']}" if parts.get("frequency") else ""
        found = [parts["evidenceCode"], parts.get("reference", ""), frequency, parts.get("source", "")]
        text += "\n" + ", ".join(e for e in found if e)
    elif parts.get("source"):
        text += f"\n{parts['source']}"
    if parts.get("links"):
        text += "\n" + parts["links"]
    return text


GROUPED_WRITERS = {"json": grouped_json, "csv": grouped_csv, "tsv": grouped_tsv, "table": grouped_table}


WRITERS = {"json": to_json, "csv": to_csv, "tsv": to_tsv, "table": to_table}


def format_result(result: QueryResult, fmt: str) -> str:
    """Render a query result in one of RESULT_FORMATS (SELECT/ASK) or GRAPH_FORMATS (graphs)."""
    if result.graph is not None:
        if fmt not in GRAPH_FORMATS:
            fmt = "turtle"
        return result.graph.serialize(format=fmt)
    return WRITERS[fmt](result)
