"""RDF exports: Turtle, N-Triples, N-Quads and RDF/XML, each byte-for-byte deterministic.

- Turtle is rdflib's ``longturtle`` (subjects, predicates and objects sorted) with the project's
  prefixes: the form the curated files are kept in.
- N-Triples and N-Quads are rdflib's line serialisers with the lines sorted. N-Quads keeps
  provenance: each data file's triples are in the named graph of its dataset
  (``ckgds:<file stem>``), the vocabulary in the ontology's graph.
- RDF/XML is rdflib's plain ``xml`` serialiser (the ``pretty-xml`` one drops triples on list
  nodes) over a view of the graph that hands it subjects and their properties in sorted order
  (rdflib's memory store does not keep insertion order).

Blank nodes carry canonical labels (see :func:`clinical_kg.export.canonical_dataset`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdflib import Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from clinical_kg.export import canonical_dataset, sorted_lines, union_graph, write_bytes, write_text
from clinical_kg.namespaces import bind_prefixes


def export_turtle(graph: Graph, out: Path) -> list[Path]:
    """Turtle (``longturtle``) with the project's prefixes."""
    return [write_text(out, union_graph(graph).serialize(format="longturtle"))]


def ntriples(graph: Graph) -> str:
    """The union graph as sorted N-Triples lines."""
    return sorted_lines(union_graph(graph).serialize(format="nt").splitlines())


def export_ntriples(graph: Graph, out: Path) -> list[Path]:
    """N-Triples, one triple a line, lines sorted."""
    return [write_text(out, ntriples(graph))]


def nquads(graph: Graph) -> str:
    """Every graph of the dataset as sorted N-Quads lines (default-graph triples without a graph term)."""
    dataset = canonical_dataset(graph)
    lines = []
    for named in dataset.graphs():
        suffix = "." if named.identifier == DATASET_DEFAULT_GRAPH_ID else f"{named.identifier.n3()} ."
        for line in named.serialize(format="nt").splitlines():
            if line.strip():
                lines.append(line.rstrip()[:-1] + suffix)  # "s p o ." -> "s p o <graph> ."
    return sorted_lines(lines)


def export_nquads(graph: Graph, out: Path) -> list[Path]:
    """N-Quads: the triples of each source file in the named graph of its dataset."""
    return [write_text(out, nquads(graph))]


class _SortedView(Graph):
    """A graph whose subjects and (predicate, object) pairs come out sorted: what rdflib's
    RDF/XML serialiser walks, so its output is the same bytes in every process."""

    def subjects(self, predicate: Any = None, object: Any = None, unique: bool = False) -> Iterator[Node]:
        found = {s for s, _p, _o in self.triples((None, predicate, object))}
        yield from sorted(found, key=lambda term: term.n3())

    def predicate_objects(self, subject: Any = None, unique: bool = False) -> Iterator[tuple[Node, Node]]:
        pairs = [(p, o) for _s, p, o in self.triples((subject, None, None))]
        yield from sorted(set(pairs), key=lambda pair: (pair[0].n3(), pair[1].n3()))


def export_rdfxml(graph: Graph, out: Path) -> list[Path]:
    """RDF/XML (plain, lossless form)."""
    view = bind_prefixes(_SortedView())
    for triple in union_graph(graph):
        view.add(triple)
    return [write_bytes(out, view.serialize(format="xml", encoding="utf-8"))]
