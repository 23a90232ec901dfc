"""A copy of the networkx graph of an on-disk store, kept on disk so that the next command reads it
instead of the store.

Reading the clinical graph out of a large store takes a while: on the HPO import (3.04M triples;
31,457 entities, 294,277 edges) 149 s on a busy 2-core machine, where reading the copy (7.4 MB)
took 20 s and gave the same graph. The copy is JSON (never
pickle: nothing in it can run), gzipped, in the user's cache folder (``$XDG_CACHE_HOME/clinical-kg``,
else ``~/.cache/clinical-kg``), named after the store's folder and a fingerprint of its files (names,
sizes, modification times) and of the shape of the copy: any load or import into the store writes
new files, so its copy no longer matches and is built again. Only the latest copy of each store is
kept. A copy that cannot be read (truncated, corrupt, of another shape) is passed over and replaced;
a cache folder that cannot be written is passed over silently: the copy only saves time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path

import networkx as nx

from clinical_kg.analysis.network import Record

FORMAT = 1
"""Counted up when the graph or the file changes shape, so older copies are not read."""
_RECORD_FIELDS = tuple(Record.__dataclass_fields__)
_UNREADABLE = (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError, IndexError, AttributeError)
"""What reading a damaged or foreign copy may raise (gzip, JSON, or a value of the wrong shape)."""


def cache_folder() -> Path:
    """Where the copies are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clinical-kg"


def fingerprint(store: Path) -> str:
    """A digest of the names, sizes and modification times of a store's files, and of the copy's shape."""
    digest = hashlib.sha256(f"format {FORMAT} record {' '.join(_RECORD_FIELDS)}\n".encode())
    for file in sorted(store.iterdir()):
        if file.is_file():
            status = file.stat()
            digest.update(f"{file.name} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def copy_path(store: Path) -> Path:
    """The file the copy of the store, as its files are now, is kept in."""
    return cache_folder() / f"{_name(store)}-{fingerprint(store)}.json.gz"


def _name(store: Path) -> str:
    return "network-" + hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:12]


def load(store: Path) -> nx.MultiDiGraph | None:
    """The copy of the store's graph, or None when there is no readable one for the store as it is now."""
    try:
        with gzip.open(copy_path(store), "rt", encoding="utf-8") as stream:
            return _decode(json.load(stream))
    except _UNREADABLE:
        return None


def _decode(data: dict) -> nx.MultiDiGraph | None:
    if data.get("format") != FORMAT or data.get("record") != list(_RECORD_FIELDS):
        return None
    graph = nx.MultiDiGraph(name="clinical-kg")
    for node, label, cls, kind in data["nodes"]:
        graph.add_node(str(node), label=str(label), cls=str(cls), kind=str(kind))
    for u, v, key, kind, relation, negated, records in data["edges"]:
        if u not in graph or v not in graph:
            raise ValueError("an edge between nodes the copy does not have")
        found = tuple(Record(*fields) for fields in records)
        graph.add_edge(u, v, key=key, kind=kind, relation=relation, negated=bool(negated), records=found)
    return graph


def _encode(graph: nx.MultiDiGraph) -> dict:
    nodes = [[n, d["label"], d["cls"], d["kind"]] for n, d in graph.nodes(data=True)]
    edges = []
    for u, v, key, d in graph.edges(keys=True, data=True):
        records = [[getattr(r, f) for f in _RECORD_FIELDS] for r in d["records"]]
        edges.append([u, v, key, d["kind"], d["relation"], d["negated"], records])
    return {"format": FORMAT, "record": list(_RECORD_FIELDS), "nodes": nodes, "edges": edges}


def save(store: Path, graph: nx.MultiDiGraph) -> None:
    """Keep a copy of the store's graph (replacing older copies of the same store); written aside and
    renamed into place, so a reader never sees half a copy."""
    path = copy_path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with gzip.open(partial, "wt", encoding="utf-8", compresslevel=1) as stream:
                json.dump(_encode(graph), stream, ensure_ascii=False)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        for old in path.parent.glob(f"{_name(store)}-*.json.gz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return
