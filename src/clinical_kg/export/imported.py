"""The imported graphs of an on-disk store (``ckg import``), for the exports and releases that ask for them.

Exports and releases hold the curated graph; ``--include hpo`` adds the graphs an import wrote
(``clinical_kg.imports.SOURCES`` says which graphs a name stands for), read from the store given
with ``--store-path``. They are written as N-Triples or N-Quads only: three million statements
are streamed from the store, never held in memory as the other formats' writers would. Each
imported graph is written after the curated statements in the store's own order, which depends
on the statements alone (Oxigraph keeps them in indexes keyed by the terms, and an imported graph
has no blank node), so the same import gives the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from clinical_kg.errors import InputError
from clinical_kg.namespaces import prefix_map

STREAMED_FORMATS = ("ntriples", "nquads")

_GRAPHS_QUERY = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?graph ?series ?title ?license ?source ?date ?sha256 ?file WHERE {
  GRAPH ?graph {
    ?graph dcterms:isVersionOf ?series ; dcterms:source ?source .
    OPTIONAL { ?graph dcterms:title ?title }
    OPTIONAL { ?graph dcterms:license ?license }
    OPTIONAL { ?source dcterms:date ?date }
    OPTIONAL { ?source ckg:sha256 ?sha256 }
    OPTIONAL { ?source ckg:fileName ?file }
  }
}
ORDER BY ?graph
"""


@dataclass(frozen=True)
class ImportedGraph:
    """One imported graph and what its dataset and source nodes say about it."""

    graph: str
    series: str  # the dataset it is a version of, ckgds:hpoa
    title: str
    release: str
    license: str
    file_name: str
    file_sha256: str

    def manifest(self, triples: int) -> dict[str, object]:
        """The graph as a release's manifest records it."""
        return {
            "graph": self.graph,
            "title": self.title,
            "release": self.release,
            "license": self.license,
            "file_name": self.file_name,
            "file_sha256": self.file_sha256,
            "triples": triples,
        }


def imported_graphs(store: ox.Store, include: Sequence[str]) -> list[ImportedGraph]:
    """The graphs of the imports named in ``include`` (``hpo``), sorted; an InputError for a name
    that is not an importer or that the store holds no graph of."""
    from clinical_kg.imports import SOURCES

    datasets = prefix_map()["ckgds"]
    found = [
        ImportedGraph(
            row["graph"].value,
            row["series"].value,
            *(row[key].value if row[key] is not None else "" for key in ("title", "date", "license", "file", "sha256")),
        )
        for row in store.query(_GRAPHS_QUERY)
    ]
    chosen: list[ImportedGraph] = []
    for name in dict.fromkeys(include):
        if name not in SOURCES:
            raise InputError(f"--include {name}: no such import", hint=f"choose one of: {', '.join(SOURCES)}")
        series = {datasets + s for s in SOURCES[name]}
        graphs = [graph for graph in found if graph.series in series]
        if not graphs:
            raise InputError(
                f"--include {name}: the store holds no {name} import", hint=f"run `ckg import {name}` first"
            )
        chosen += graphs
    return chosen


def write_graphs(store: ox.Store, graphs: Iterable[ImportedGraph], fmt: str, stream: BinaryIO) -> dict[str, int]:
    """Write the statements of ``graphs`` to ``stream`` as N-Triples or N-Quads; their counts by graph.

    Oxigraph writes each graph as N-Triples itself (no Python object per statement: about 6 us a
    statement); for N-Quads the graph's name is put into each line as it passes.
    """
    counts: dict[str, int] = {}
    for graph in graphs:
        writer = _Lines(stream, f" <{graph.graph}> .\n".encode() if fmt == "nquads" else None)
        store.dump(writer, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph.graph))
        writer.close()
        counts[graph.graph] = writer.lines
    return counts


class _Lines:
    """A writable stream that passes whole N-Triples lines on, counting them, and can end each
    with a graph name instead of `` .`` (N-Triples to N-Quads)."""

    def __init__(self, stream: BinaryIO, ending: bytes | None) -> None:
        self._stream, self._ending = stream, ending
        self._rest = b""
        self.lines = 0

    def write(self, data: bytes) -> int:
        whole, _, self._rest = (self._rest + bytes(data)).rpartition(b"\n")
        if whole:
            lines = whole.split(b"\n")
            self.lines += len(lines)
            if self._ending is None:
                self._stream.write(whole + b"\n")
            else:  # every line of Oxigraph's N-Triples ends in " ."
                self._stream.write(b"".join(line[:-2] + self._ending for line in lines))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._rest.strip():
            raise RuntimeError("Oxigraph's N-Triples did not end with a new line")


def export_with_imports(
    graph: object, fmt: str, store_path: Path, include: Sequence[str], out: Path | BinaryIO
) -> None:
    """Write the curated ``graph`` in ``fmt`` (N-Triples or N-Quads) followed by the imported graphs
    named in ``include``, to the file ``out`` (written whole, then renamed into place) or a stream."""
    from clinical_kg.export.rdf import nquads, ntriples
    from clinical_kg.store import open_store

    if fmt not in STREAMED_FORMATS:
        raise InputError(
            f"--include writes the imported graphs as {' or '.join(STREAMED_FORMATS)}, not {fmt}",
            hint="export the curated graph alone in other formats; an import is millions of statements",
        )
    store = open_store(store_path).store
    graphs = imported_graphs(store, include)
    curated = nquads(graph) if fmt == "nquads" else ntriples(graph)
    if not isinstance(out, Path):
        out.write(curated)
        write_graphs(store, graphs, fmt, out)
        out.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(curated)
            write_graphs(store, graphs, fmt, stream)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
