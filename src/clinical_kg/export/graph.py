"""The graph to export as rdflib holds it: one named graph per file, blank nodes canonical.

What the exporters that walk rdflib graphs read (JSON-LD, KGX, GraphML, node-link, CSV, and a
release's counts). The RDF formats read Oxigraph's copy instead (:mod:`clinical_kg.export.rdf`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.namespaces import bind_prefixes


def load_graph(files: Sequence[Path] | None = None, data_dir: Path | None = None) -> Dataset:
    """The vocabulary and the curated data, one named graph per file, blank nodes canonical.

    Each file goes into the graph :func:`clinical_kg.layout.named_graph` names, as every store
    does: the ontology's IRI for the vocabulary, the dataset node a data file declares
    (``ckgds:<file stem>``). With no ``files``, the vocabulary and the data files of ``data_dir``
    (``clinical_kg.resources.curated_files``).
    """
    from clinical_kg.layout import named_graph

    if files is None:
        files = resources.curated_files(data_dir)
    dataset = Dataset(default_union=True)
    for path in files:
        part = Graph()
        try:
            part.parse(path, format="turtle")
        except (SyntaxError, ValueError) as exc:
            raise InputError(f"{path}: {exc}") from None
        named = dataset.graph(URIRef(named_graph(Path(path))))
        for triple in part:
            named.add(triple)
    return canonical_dataset(dataset)


def _term_key(term: Node) -> str:
    return term.n3()


def triple_key(triple: tuple[Node, Node, Node]) -> tuple[str, str, str]:
    """A sort key for triples that is the same in every process (N-Triples-like terms)."""
    return (_term_key(triple[0]), _term_key(triple[1]), _term_key(triple[2]))


def _parts(graph: Any) -> list[tuple[URIRef, list[tuple[Node, Node, Node]]]]:
    if not isinstance(graph, Graph):  # an Oxigraph dataset or store: its terms in rdflib's
        import pyoxigraph as ox

        from clinical_kg.store import from_oxigraph

        by_graph: dict[URIRef, list[tuple[Node, Node, Node]]] = {}
        quads = graph.quads_for_pattern(None, None, None) if isinstance(graph, ox.Store) else graph
        for quad in quads:
            name = quad.graph_name
            key = DATASET_DEFAULT_GRAPH_ID if isinstance(name, ox.DefaultGraph) else from_oxigraph(name)
            triple = (from_oxigraph(quad.subject), from_oxigraph(quad.predicate), from_oxigraph(quad.object))
            by_graph.setdefault(key, []).append(triple)
        return list(by_graph.items())
    if isinstance(graph, Dataset):
        parts = []
        for named in graph.graphs():
            triples = list(named.triples((None, None, None)))
            if triples:
                parts.append((named.identifier, triples))
        return parts
    return [(DATASET_DEFAULT_GRAPH_ID, list(graph.triples((None, None, None))))]


def _canonical_triples(name: Node, triples: list[tuple[Node, Node, Node]]) -> list[tuple[Node, Node, Node]]:
    """Relabel the blank nodes of one graph canonically (``rdflib.compare``), salted with the
    graph's name: blank nodes are scoped to their file, so two files never share one."""
    if not any(isinstance(term, BNode) for triple in triples for term in triple):
        return triples
    part = Graph()
    for triple in triples:
        part.add(triple)
    relabel: dict[BNode, BNode] = {}

    def label(term: Node) -> Node:
        if not isinstance(term, BNode):
            return term
        if term not in relabel:
            digest = hashlib.sha256(f"{name}\n{term}".encode()).hexdigest()[:24]
            relabel[term] = BNode(f"b{digest}")
        return relabel[term]

    return [(label(s), p, label(o)) for s, p, o in to_canonical_graph(part)]


def canonical_dataset(graph: Any) -> Dataset:
    """``graph`` as a Dataset whose blank-node labels and insertion order are canonical.

    A Dataset keeps its named graphs; a plain Graph becomes the default graph; an Oxigraph
    dataset or store keeps its graphs. Returns the
    argument itself when it is already canonical (the result of this function).
    """
    if getattr(graph, "_ckg_canonical", False):
        return graph  # type: ignore[return-value]
    dataset = bind_prefixes(Dataset(default_union=True))
    for name, triples in sorted(_parts(graph), key=lambda item: str(item[0])):
        target = dataset.default_graph if name == DATASET_DEFAULT_GRAPH_ID else dataset.graph(name)
        for triple in sorted(_canonical_triples(name, triples), key=triple_key):
            target.add(triple)
    dataset._ckg_canonical = True  # type: ignore[attr-defined]
    return dataset


def oxigraph_dataset(graph: Graph) -> Any:
    """An Oxigraph dataset (``pyoxigraph.Dataset``) holding the graphs of an rdflib Graph or Dataset."""
    import pyoxigraph as ox

    from clinical_kg.store import to_oxigraph

    quads = []
    for name, triples in _parts(graph):
        target = ox.DefaultGraph() if name == DATASET_DEFAULT_GRAPH_ID else to_oxigraph(name)
        quads.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), target) for s, p, o in triples)
    return ox.Dataset(quads)


def union_graph(graph: Any) -> Graph:
    """The union of every graph of ``graph`` as a plain rdflib Graph with canonical blank nodes.

    rdflib's memory store does not iterate in a fixed order: exporters sort what they write
    (:func:`triple_key`), or let a serialiser do it (``longturtle``).
    """
    dataset = canonical_dataset(graph)
    cached = getattr(dataset, "_ckg_union", None)
    if cached is not None:
        return cached
    union = bind_prefixes(Graph())
    for triple in sorted({(s, p, o) for s, p, o, _g in dataset.quads((None, None, None, None))}, key=triple_key):
        union.add(triple)
    dataset._ckg_union = union  # type: ignore[attr-defined]
    return union
