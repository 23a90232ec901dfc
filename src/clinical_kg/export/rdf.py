"""RDF exports written by Oxigraph's serialisers: Turtle, N-Triples, N-Quads and RDF/XML.

The exporters read an Oxigraph store: the vocabulary and the data files read with Oxigraph's
parser, each file in its named graph (:func:`load_dataset`), or any other store (an on-disk one
from ``ckg load``, a ``KnowledgeGraph``'s), or an rdflib graph or dataset, copied into one.
rdflib is not loaded unless it is what they are given. Turtle, N-Triples and RDF/XML write the
union of the graphs, N-Quads every graph. The same
graph gives the same bytes in every process, however it was read:

- blank nodes get the labels of the W3C RDF Dataset Canonicalization (RDFC-1.0: ``_:c14n0``,
  ...), computed from the statements that hold a blank node (the only ones RDFC-1.0 reads), so
  a large store is neither copied nor relabelled;
- N-Triples and N-Quads: one statement a line, lines sorted by code point;
- Turtle (with the project's prefixes) and RDF/XML: the statements in the order of those
  sorted N-Triples lines, so each subject's are written together.

Sorting is needed: an in-memory Oxigraph store gives its statements in an order that depends
on how they were added. Oxigraph writes, Python sorts the lines as bytes. At a million
statements in memory, Turtle takes about 2.7 s of CPU: Oxigraph's dump 0.9 s, its parser and
Turtle writer 0.9 s, Python's splitting, sorting and joining of the lines 0.8 s
(docs/benchmarks.md, "Exports at 1M").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.export import write_with
from clinical_kg.namespaces import prefix_map


def load_dataset(files: Sequence[Path] | None = None, data_dir: Path | None = None) -> ox.Store:
    """The vocabulary and the curated data in an in-memory Oxigraph store, one named graph per file.

    The same graphs as :func:`clinical_kg.export.graph.load_graph` and every store, named by
    :func:`clinical_kg.layout.named_graph`: the ontology's IRI for the vocabulary, the dataset node a
    data file declares (``ckgds:<file stem>``); blank nodes stay apart between files. With no
    ``files``, the vocabulary and the data files of ``data_dir``
    (``clinical_kg.resources.curated_files``).
    """
    from clinical_kg.layout import named_graph

    if files is None:
        files = resources.curated_files(data_dir)
    store = ox.Store()
    for path in files:
        name = ox.NamedNode(named_graph(Path(path)))
        try:
            # into memory, load is as fast as bulk_load and needs less memory (a third less at 1M)
            store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=name)
        except SyntaxError as exc:
            raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
    return store


def _as_store(graph: Any) -> ox.Store:
    """``graph`` as an Oxigraph store: itself, or an rdflib Graph or Dataset copied into a new one."""
    if isinstance(graph, ox.Store):
        return graph
    from clinical_kg.export.graph import oxigraph_dataset

    store = ox.Store()
    store.extend(oxigraph_dataset(graph))
    return store


def _holds_blank(line: bytes) -> bool:
    """Whether an N-Triples or N-Quads line has a blank node as subject, object or graph name."""
    if line.startswith(b"_:"):
        return True
    # the object comes after the subject and the predicate, which hold no space
    rest = line.split(b" ", 2)[2]
    if rest.startswith(b"_:"):
        return True
    # the graph name is the last term before " ."; the last word of a literal holds its closing quote
    last = rest.rsplit(b" ", 2)[-2]
    return last.startswith(b"_:") and b'"' not in last


# ``re`` finds a two-byte needle three times faster than ``bytes.find`` (which skips on the
# frequent ":"): 0.05 against 0.15 s in a 170 MB dump
_BLANK_LABEL = re.compile(rb"_:")


def _take_blank_lines(data: bytes, blank: list[bytes]) -> bytes:
    """``data`` (lines written by Oxigraph) without the lines that hold a blank node, which are
    added to ``blank``. Found by searching for ``_:``: most graphs hold few blank nodes."""
    found = _BLANK_LABEL.search(data)
    if found is None:
        return data
    kept = []
    start = 0  # the first byte not yet kept or taken
    while found is not None:
        begin = data.rfind(b"\n", 0, found.start()) + 1
        end = data.index(b"\n", found.start()) + 1  # every line ends with a line feed
        if _holds_blank(data[begin:end]):
            kept.append(data[start:begin])
            blank.append(data[begin:end])
            start = end
        found = _BLANK_LABEL.search(data, end)
    kept.append(data[start:])
    return b"".join(kept)


def _union_lines(store: ox.Store, blank: list[bytes]) -> list[bytes]:
    """The N-Triples lines of the union of the store's graphs, each once, in no order; the lines
    that hold a blank node go to ``blank`` instead (maybe more than once).

    Each graph is dumped on its own: three times faster than a ``CONSTRUCT`` over the union at
    a million statements. A triple can be in several graphs: the largest graph's lines are each
    there once, and another graph's line is added if its triple is not in the largest graph.
    Asking the store costs about 2 us a line and hashing a line about 0.06 us (measured here),
    so the store is asked when the other graphs are small beside the largest (a large graph and
    the vocabulary: 0.065 s less at a million statements), and otherwise the largest graph's
    lines go into a set (the shipped files, each in its graph: 8 ms less).
    """
    graphs = [ox.DefaultGraph(), *store.named_graphs()]
    dumps = [(store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph), graph) for graph in graphs]
    dumps.sort(key=lambda dump: len(dump[0]))
    data, largest = dumps.pop()
    lines = _take_blank_lines(data, blank).splitlines(keepends=True)
    others = {line for data, _ in dumps for line in _take_blank_lines(data, blank).splitlines(keepends=True)}
    if len(others) * 32 >= len(lines):
        others.difference_update(lines)
        return lines + list(others)
    kept = list(others)  # the lines hold no blank node, so the parser's triples are the store's
    triples = ox.parse(b"".join(kept), format=ox.RdfFormat.N_TRIPLES, lenient=True)
    in_largest = (ox.Quad(t.subject, t.predicate, t.object, largest) in store for t in triples)
    return lines + [line for line, found in zip(kept, in_largest, strict=True) if not found]


def _canonical_lines(graph: Any, union: bool) -> list[bytes]:
    """The N-Triples lines of the union of the graphs (``union``) or the N-Quads lines of every
    graph, each with its line feed: blank nodes labelled by RDFC-1.0, lines sorted by code point
    (the order of UTF-8 bytes).

    Oxigraph writes the statements. Those that hold a blank node are written again from a
    canonicalised dataset of just them: RDFC-1.0 reads no other statement, so their labels are
    those of the whole graph, and the store itself is never copied or relabelled. The lines keep
    their line feed, which sorts before every character a line holds (Oxigraph escapes the
    control characters), so they sort as the lines without it would.
    """
    store = _as_store(graph)
    fmt = ox.RdfFormat.N_TRIPLES if union else ox.RdfFormat.N_QUADS
    blank: list[bytes] = []
    if union:
        lines = _union_lines(store, blank)
    else:
        lines = _take_blank_lines(store.dump(format=fmt), blank).splitlines(keepends=True)
    if blank:
        quads = ox.parse(b"".join(blank), format=fmt)  # the parser keeps the store's labels
        canonical = ox.Dataset(q if not union else ox.Quad(q.subject, q.predicate, q.object) for q in quads)
        canonical.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        written = (q if not union else ox.Triple(q.subject, q.predicate, q.object) for q in canonical)
        lines += ox.serialize(written, format=fmt).splitlines(keepends=True)
    lines.sort()
    return lines


def ntriples(graph: Any) -> bytes:
    """The union of the graphs as sorted N-Triples lines."""
    return b"".join(_canonical_lines(graph, union=True))


def nquads(graph: Any) -> bytes:
    """Every graph as sorted N-Quads lines (default-graph triples without a graph term)."""
    return b"".join(_canonical_lines(graph, union=False))


def _write_lines(out: Path, lines: list[bytes]) -> Path:
    return write_with(out, lambda stream: stream.writelines(lines))  # no joined copy of the lines


def _write_rewritten(graph: Any, out: Path, fmt: ox.RdfFormat) -> Path:
    """The sorted N-Triples of the union written to ``out`` in ``fmt`` (in the same order) with
    the project's prefixes."""
    # lenient: the lines are Oxigraph's own output, so checking their IRIs again only costs time
    statements = ox.parse(ntriples(graph), format=ox.RdfFormat.N_TRIPLES, lenient=True)
    return write_with(out, lambda stream: ox.serialize(statements, stream, format=fmt, prefixes=prefix_map()))


def export_turtle(graph: Any, out: Path) -> list[Path]:
    """Turtle with the project's prefixes, statements in sorted order."""
    return [_write_rewritten(graph, out, ox.RdfFormat.TURTLE)]


def export_ntriples(graph: Any, out: Path) -> list[Path]:
    """N-Triples, one triple a line, lines sorted."""
    return [_write_lines(out, _canonical_lines(graph, union=True))]


def export_nquads(graph: Any, out: Path) -> list[Path]:
    """N-Quads: the triples of each source file in the named graph of its dataset."""
    return [_write_lines(out, _canonical_lines(graph, union=False))]


def export_rdfxml(graph: Any, out: Path) -> list[Path]:
    """RDF/XML with the project's prefixes, statements in sorted order."""
    return [_write_rewritten(graph, out, ox.RdfFormat.RDF_XML)]
