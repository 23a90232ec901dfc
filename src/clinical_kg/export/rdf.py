"""RDF exports written by Oxigraph's serialisers: Turtle, N-Triples, N-Quads and RDF/XML.

The exporters read an Oxigraph store: the vocabulary and the data files read with Oxigraph's
parser, each file in its named graph (:func:`load_dataset`), or any other store (an on-disk one
from ``ckg load``, a ``KnowledgeGraph``'s), or an rdflib graph or dataset, copied into one.
rdflib is not loaded unless it is what they are given. Turtle, N-Triples and RDF/XML write the
union of the graphs, N-Quads every graph. The same
graph gives the same bytes in every process, however it was read:

- blank nodes get the labels of the W3C RDF Dataset Canonicalization (RDFC-1.0: ``_:c14n0``,
  ...), computed from the statements that hold a blank node (the only ones RDFC-1.0 reads);
- N-Triples and N-Quads: one statement a line, lines sorted by code point;
- Turtle (with the project's prefixes) and RDF/XML: the statements in the order of those
  sorted N-Triples lines, so each subject's are written together.

Sorting is needed: an in-memory Oxigraph store gives its statements in an order that depends
on how they were added. Oxigraph writes, Python sorts the lines (at a million statements,
about as long as the writing, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.export import write_bytes
from clinical_kg.namespaces import prefix_map

_ONTOLOGY = (
    "SELECT ?o WHERE { GRAPH $G { ?o a <http://www.w3.org/2002/07/owl#Ontology> } FILTER isIRI(?o) } ORDER BY ?o"
)
_BLANK_QUADS = """
SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } FILTER (isBlank(?s) || isBlank(?o)) }
"""
_UNION = "CONSTRUCT WHERE { ?s ?p ?o }"


def load_dataset(files: Sequence[Path] | None = None, data_dir: Path | None = None) -> ox.Store:
    """The vocabulary and the curated data in an in-memory Oxigraph store, one named graph per file.

    The same graphs as :func:`clinical_kg.export.graph.load_graph`: a file that declares an
    ``owl:Ontology`` (the vocabulary) goes into the graph named by the ontology's IRI, every
    other file into ``ckgds:<file stem>``; blank nodes stay apart between files. With no
    ``files``, the vocabulary and the data files of ``data_dir``
    (``clinical_kg.resources.curated_files``).
    """
    if files is None:
        files = resources.curated_files(data_dir)
    store = ox.Store()
    for path in files:
        name = ox.NamedNode(prefix_map()["ckgds"] + Path(path).stem)
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=name)
        except SyntaxError as exc:
            raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
        ontology = next(iter(store.query(_ONTOLOGY.replace("$G", str(name)))), None)
        if ontology is not None:
            store.update(f"MOVE GRAPH {name} TO {ontology['o']}")
    return store


def canonical_store(graph: Any) -> ox.Store:
    """``graph`` as an Oxigraph store whose blank nodes carry their RDFC-1.0 labels.

    ``graph``: an Oxigraph store (used as it is when it holds no blank node, else copied), or
    an rdflib Graph (its triples in the default graph) or Dataset (its graphs).
    """
    if isinstance(graph, ox.Store):
        store = graph
    else:
        from clinical_kg.export.graph import oxigraph_dataset

        store = ox.Store()
        store.extend(oxigraph_dataset(graph))
    blank = [ox.Quad(row["s"], row["p"], row["o"], row["g"] or ox.DefaultGraph()) for row in store.query(_BLANK_QUADS)]
    if not blank:
        return store
    if store is graph:  # never relabel the caller's store
        store = ox.Store()
        store.extend(graph.quads_for_pattern(None, None, None))
    canonical = ox.Dataset(blank)
    canonical.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)  # reads only statements with a blank node
    for quad in blank:
        store.remove(quad)
    store.extend(canonical)
    return store


def _sorted_lines(data: bytes) -> bytes:
    # N-Triples and N-Quads escape every control character, so a statement is one line; the order
    # of UTF-8 bytes is the order of code points.
    lines = data.splitlines()
    lines.sort()
    return b"".join(line + b"\n" for line in lines)


def ntriples(graph: Any) -> bytes:
    """The union of the graphs as sorted N-Triples lines."""
    store = canonical_store(graph)
    if not any(True for _ in store.named_graphs()):
        return _sorted_lines(store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()))
    union = store.query(_UNION, use_default_graph_as_union=True)  # each triple once
    return _sorted_lines(union.serialize(format=ox.RdfFormat.N_TRIPLES))


def nquads(graph: Any) -> bytes:
    """Every graph as sorted N-Quads lines (default-graph triples without a graph term)."""
    return _sorted_lines(canonical_store(graph).dump(format=ox.RdfFormat.N_QUADS))


def _rewrite(lines: bytes, fmt: ox.RdfFormat) -> bytes:
    """Sorted N-Triples written again in ``fmt`` (in the same order) with the project's prefixes."""
    return ox.serialize(ox.parse(lines, format=ox.RdfFormat.N_TRIPLES), format=fmt, prefixes=prefix_map())


def export_turtle(graph: Any, out: Path) -> list[Path]:
    """Turtle with the project's prefixes, statements in sorted order."""
    return [write_bytes(out, _rewrite(ntriples(graph), ox.RdfFormat.TURTLE))]


def export_ntriples(graph: Any, out: Path) -> list[Path]:
    """N-Triples, one triple a line, lines sorted."""
    return [write_bytes(out, ntriples(graph))]


def export_nquads(graph: Any, out: Path) -> list[Path]:
    """N-Quads: the triples of each source file in the named graph of its dataset."""
    return [write_bytes(out, nquads(graph))]


def export_rdfxml(graph: Any, out: Path) -> list[Path]:
    """RDF/XML with the project's prefixes, statements in sorted order."""
    return [write_bytes(out, _rewrite(ntriples(graph), ox.RdfFormat.RDF_XML))]
