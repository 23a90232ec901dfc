"""Exports of the graph as files, chosen by format name.

The registry below maps a format name to the exporter that writes it, as
``"module:function"`` strings that are imported only when the format is used (rdflib's plugin
registry is the model): adding a format is one module and one line here, and the core never
imports a concrete exporter. Every exporter has the signature::

    def export(graph: rdflib.Graph, out: pathlib.Path) -> list[pathlib.Path]

and writes one file (``out``) or a folder of files (``out/...``), returning what it wrote.

The graph to export is :func:`load_graph`: the vocabulary in the ontology's named graph and each
curated data file in the named graph of its dataset (``ckgds:<file stem>``), so that the N-Quads
export keeps where every triple came from; the other formats use the union, which is the graph
``clinical_kg.store.open_graph`` loads. Output is deterministic: the same graph gives the same
bytes in every process (triples sorted, blank nodes relabelled canonically by
:func:`canonical_dataset`).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rdflib import OWL, RDF, BNode, Dataset, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from clinical_kg.errors import InputError
from clinical_kg.namespaces import bind_prefixes, prefix_map

Exporter = Callable[[Graph, Path], list[Path]]


@dataclass(frozen=True)
class Format:
    """A registered export format: where its exporter is, its default output name, what it is."""

    target: str  # "package.module:function"
    default_name: str  # a file name, or a folder name ending in "/"
    description: str


FORMATS: dict[str, Format] = {
    "turtle": Format("clinical_kg.export.rdf:export_turtle", "clinical-kg.ttl", "Turtle (canonical longturtle)"),
    "ntriples": Format("clinical_kg.export.rdf:export_ntriples", "clinical-kg.nt", "N-Triples, sorted lines"),
    "nquads": Format(
        "clinical_kg.export.rdf:export_nquads", "clinical-kg.nq", "N-Quads: one named graph per source file"
    ),
    "rdfxml": Format("clinical_kg.export.rdf:export_rdfxml", "clinical-kg.rdf", "RDF/XML"),
    "jsonld": Format(
        "clinical_kg.export.jsonld:export_jsonld", "clinical-kg.jsonld", "JSON-LD, compacted with the shipped context"
    ),
    "kgx": Format(
        "clinical_kg.export.kgx:export_kgx", "kgx/", "KGX TSV (nodes.tsv, edges.tsv) with Biolink categories"
    ),
    "graphml": Format("clinical_kg.export.network:export_graphml", "clinical-kg.graphml", "GraphML (networkx)"),
    "nodelink": Format(
        "clinical_kg.export.network:export_nodelink", "clinical-kg.nodelink.json", "node-link JSON (networkx)"
    ),
    "csv": Format("clinical_kg.export.tables:export_csv", "csv/", "CSV tables (entities.csv, assertions.csv)"),
}


def register(name: str, target: str, default_name: str, description: str = "") -> None:
    """Add (or replace) an export format: ``target`` is ``"module:function"``."""
    FORMATS[name] = Format(target, default_name, description)


def get_exporter(name: str) -> Exporter:
    """The exporter registered under ``name``, imported on first use."""
    try:
        entry = FORMATS[name]
    except KeyError:
        raise InputError(f"unknown export format {name!r}", hint=f"choose one of: {', '.join(FORMATS)}") from None
    module_name, _, function = entry.target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def export(graph: Graph, fmt: str, out: Path | None = None) -> list[Path]:
    """Write ``graph`` in the format ``fmt`` to ``out`` (default: the format's default name here)."""
    exporter = get_exporter(fmt)
    return exporter(graph, Path(out) if out is not None else Path(FORMATS[fmt].default_name))


def export_to_stream(graph: Graph, fmt: str, stream: BinaryIO) -> None:
    """Write ``graph`` in the single-file format ``fmt`` to ``stream`` (``ckg export --out -``)."""
    exporter = get_exporter(fmt)
    if FORMATS[fmt].default_name.endswith("/"):
        raise InputError(
            f"{fmt} writes a folder of files ({FORMATS[fmt].default_name}), which cannot go to stdout",
            hint="give --out FOLDER",
        )
    with tempfile.TemporaryDirectory(prefix="ckg-export-") as folder:
        for path in exporter(graph, Path(folder) / FORMATS[fmt].default_name):
            stream.write(path.read_bytes())
    stream.flush()


# --- the graph to export -------------------------------------------------------------------


def dataset_iri(path: Path) -> URIRef:
    """The named graph of a data file: its dataset node, ``ckgds:<file stem>``."""
    return URIRef(prefix_map()["ckgds"] + path.stem)


def load_graph(files: Sequence[Path] | None = None, data_dir: Path | None = None) -> Dataset:
    """The vocabulary and the curated data, one named graph per file, blank nodes canonical.

    A file that declares an ``owl:Ontology`` (the vocabulary) goes into the graph named by the
    ontology's IRI; every other file into ``ckgds:<file stem>``. With no ``files``, the vocabulary
    and the data files of ``data_dir`` (``clinical_kg.store.curated_files``).
    """
    from clinical_kg.store import curated_files

    if files is None:
        files = curated_files(data_dir)
    dataset = Dataset(default_union=True)
    for path in files:
        part = Graph()
        try:
            part.parse(path, format="turtle")
        except (SyntaxError, ValueError) as exc:
            raise InputError(f"{path}: {exc}") from None
        ontology = sorted(o for o in part.subjects(RDF.type, OWL.Ontology) if isinstance(o, URIRef))
        named = dataset.graph(ontology[0] if ontology else dataset_iri(path))
        for triple in part:
            named.add(triple)
    return canonical_dataset(dataset)


def _term_key(term: Node) -> str:
    return term.n3()


def triple_key(triple: tuple[Node, Node, Node]) -> tuple[str, str, str]:
    """A sort key for triples that is the same in every process (N-Triples-like terms)."""
    return (_term_key(triple[0]), _term_key(triple[1]), _term_key(triple[2]))


def _parts(graph: Graph) -> list[tuple[URIRef, list[tuple[Node, Node, Node]]]]:
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


def canonical_dataset(graph: Graph) -> Dataset:
    """``graph`` as a Dataset whose blank-node labels and insertion order are canonical.

    A Dataset keeps its named graphs; a plain Graph becomes the default graph. Returns the
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


def union_graph(graph: Graph) -> Graph:
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


# --- writing files ---------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, atomically."""
    return write_bytes(path, text.encode("utf-8"))


def sorted_lines(lines: Iterable[str]) -> str:
    """Non-empty lines, deduplicated and sorted by code point, each ending in a newline."""
    return "".join(f"{line}\n" for line in sorted({line for line in lines if line.strip()}))
