"""Exports of the graph as files, chosen by format name.

The registry below maps a format name to the exporter that writes it, as
``"module:function"`` strings that are imported only when the format is used (rdflib's plugin
registry is the model): adding a format is one module and one line here, and the core never
imports a concrete exporter. Every exporter has the signature::

    def export(graph, out: pathlib.Path) -> list[pathlib.Path]

and writes one file (``out``) or a folder of files (``out/...``), returning what it wrote. The
graph is the vocabulary in the ontology's named graph and each curated data file in the named
graph of its dataset (``ckgds:<file stem>``), so that the N-Quads export keeps where every
triple came from; the other formats use the union, which is the graph
``clinical_kg.store.open_graph`` loads. Each format says which engine reads it:

- ``oxigraph``: the RDF formats (:mod:`clinical_kg.export.rdf`), written by Oxigraph's
  serialisers from an Oxigraph dataset or store (:func:`clinical_kg.export.rdf.load_dataset`
  reads the files with Oxigraph's parser; rdflib is never loaded);
- ``rdflib``: the others, which walk an rdflib Dataset
  (:func:`clinical_kg.export.graph.load_graph`).

Each exporter takes either kind and converts what it is given. Output is deterministic: the
same graph gives the same bytes in every process (triples sorted, blank nodes labelled
canonically). This module stays light (no rdflib, no Oxigraph), so that choosing a format costs
nothing.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from clinical_kg.errors import InputError

Exporter = Callable[[Any, Path], list[Path]]


@dataclass(frozen=True)
class Format:
    """A registered export format: where its exporter is, its default output name, what it is, what reads it."""

    target: str  # "package.module:function"
    default_name: str  # a file name, or a folder name ending in "/"
    description: str
    reads: str = "rdflib"  # the engine the exporter reads the graph with: "rdflib" or "oxigraph"


FORMATS: dict[str, Format] = {
    "turtle": Format("clinical_kg.export.rdf:export_turtle", "clinical-kg.ttl", "Turtle, subjects sorted", "oxigraph"),
    "ntriples": Format(
        "clinical_kg.export.rdf:export_ntriples", "clinical-kg.nt", "N-Triples, sorted lines", "oxigraph"
    ),
    "nquads": Format(
        "clinical_kg.export.rdf:export_nquads", "clinical-kg.nq", "N-Quads: one named graph per source file", "oxigraph"
    ),
    "rdfxml": Format("clinical_kg.export.rdf:export_rdfxml", "clinical-kg.rdf", "RDF/XML", "oxigraph"),
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


def register(name: str, target: str, default_name: str, description: str = "", reads: str = "rdflib") -> None:
    """Add (or replace) an export format: ``target`` is ``"module:function"``."""
    FORMATS[name] = Format(target, default_name, description, reads)


def get_exporter(name: str) -> Exporter:
    """The exporter registered under ``name``, imported on first use."""
    try:
        entry = FORMATS[name]
    except KeyError:
        raise InputError(f"unknown export format {name!r}", hint=f"choose one of: {', '.join(FORMATS)}") from None
    module_name, _, function = entry.target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def load_for(fmt: str, data_dir: Path | None = None) -> Any:
    """The vocabulary and the data of ``data_dir`` as the exporter of ``fmt`` reads them: an
    Oxigraph store (:func:`clinical_kg.export.rdf.load_dataset`) or an rdflib Dataset
    (:func:`clinical_kg.export.graph.load_graph`)."""
    if FORMATS[fmt].reads == "oxigraph":
        from clinical_kg.export.rdf import load_dataset

        return load_dataset(data_dir=data_dir)
    from clinical_kg.export.graph import load_graph

    return load_graph(data_dir=data_dir)


def export(graph: Any, fmt: str, out: Path | None = None) -> list[Path]:
    """Write ``graph`` in the format ``fmt`` to ``out`` (default: the format's default name here)."""
    exporter = get_exporter(fmt)
    return exporter(graph, Path(out) if out is not None else Path(FORMATS[fmt].default_name))


def export_to_stream(graph: Any, fmt: str, stream: BinaryIO) -> None:
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


# --- writing files ---------------------------------------------------------------------------


def write_with(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` atomically: ``write`` fills a temporary file in the same folder (open for
    binary writing), which then replaces ``path``; on any error ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then rename)."""
    return write_with(path, lambda stream: stream.write(data))


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, atomically."""
    return write_bytes(path, text.encode("utf-8"))
