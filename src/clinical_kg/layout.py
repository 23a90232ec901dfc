"""The named-graph layout of a load: which graphs each file's triples go into.

One layout for every store the package fills (``ckg load`` into an on-disk store, ``ckg serve``'s
own store, an upload to a SPARQL server) and for the N-Quads export:

- a Turtle file that declares itself, as the vocabulary (``owl:Ontology``) and each curated data
  file (``dcat:Dataset``: ``ckgds:conditions``) do, is a named graph called after that node;
- an N-Quads file keeps its graph names;
- every triple is in the default graph too, which the catalogue and plain queries read, so a
  query sees the whole graph unless it names graphs (``GRAPH``, or the protocol's
  ``default-graph-uri`` / ``named-graph-uri``); any other file goes into the default graph only.

:func:`layout` lists the parts of a load, :func:`part_quads` gives a part's quads in this layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.namespaces import prefix_map

_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_DECLARATIONS = {
    ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology"),
    ox.NamedNode("http://www.w3.org/ns/dcat#Dataset"),
}


@dataclass(frozen=True)
class Part:
    """One file of a load and the named graph its triples go into besides the default graph (None: none)."""

    path: Path
    graph: str | None  # the named graph's IRI


def declared_graph(triples: Iterable[ox.Triple | ox.Quad]) -> str | None:
    """The graph statements declare themselves to be: an ``owl:Ontology`` node (the vocabulary), else a
    ``dcat:Dataset`` node (a curated data file); the first by IRI; None if they declare neither."""
    declared: dict[ox.NamedNode, list[str]] = {kind: [] for kind in _DECLARATIONS}
    for triple in triples:
        if triple.predicate == _RDF_TYPE and triple.object in declared and isinstance(triple.subject, ox.NamedNode):
            declared[triple.object].append(triple.subject.value)
    for kind in _DECLARATIONS:  # the ontology first
        if declared[kind]:
            return min(declared[kind])
    return None


def stem_graph(path: Path) -> str:
    """``ckgds:<name>``: the graph of a file that declares none (its name without extensions)."""
    return prefix_map()["ckgds"] + Path(path).name.split(".")[0]


def file_graph(path: Path) -> str | None:
    """The named graph a Turtle file declares (:func:`declared_graph`), None if none; the whole file is read."""
    try:
        return declared_graph(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None


def named_graph(path: Path) -> str:
    """The graph a curated file goes into in the exports and on a SPARQL server: :func:`file_graph`, else
    :func:`stem_graph`."""
    return file_graph(path) or stem_graph(path)


def _is_turtle(path: Path) -> bool:
    return path.name.lower().endswith((".ttl", ".turtle"))


def layout(files: Sequence[Path] | None = None) -> list[Part]:
    """The parts of a load of ``files`` (default: the vocabulary and the curated data), in order."""
    paths = [Path(p) for p in (resources.shipped_files() if files is None else files)]
    return [Part(path, file_graph(path) if _is_turtle(path) else None) for path in paths]


def part_quads(part: Part, stream: BinaryIO, fmt: ox.RdfFormat) -> Iterator[ox.Quad]:
    """The quads of one part read from ``stream``: each in the default graph, and in its named graph.

    The named graph is the part's (a file that declares itself) or, in N-Quads, the quad's own.
    """
    default = ox.DefaultGraph()
    named = ox.NamedNode(part.graph) if part.graph is not None else None
    for statement in ox.parse(stream, format=fmt):
        quad = ox.Quad(statement.subject, statement.predicate, statement.object)
        yield quad
        graph = named if named is not None else getattr(statement, "graph_name", default)
        if graph != default:
            yield ox.Quad(statement.subject, statement.predicate, statement.object, graph)
