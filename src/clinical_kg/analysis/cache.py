"""A copy of the networkx graph of an on-disk store, kept on disk so that the next command reads it
instead of the store.

Reading the clinical graph out of a large store takes a while (the HPO import's 271k records:
about 2 minutes on a busy machine); reading this copy takes seconds. The copy is JSON (never
pickle: nothing in it can run), gzipped, in the user's cache folder (``$XDG_CACHE_HOME/clinical-kg``,
else ``~/.cache/clinical-kg``), named after the store's folder and a fingerprint of its files (names,
sizes, modification times): any load or import into the store writes new files, so its copy no
longer matches and is built again. Only the latest copy of each store is kept. A cache that cannot
be read or written is passed over silently: it only saves time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import networkx as nx

from clinical_kg.analysis.network import Record

FORMAT = 1
"""Counted up when the graph or the file changes shape, so older copies are not read."""
_RECORD_FIELDS = tuple(Record.__dataclass_fields__)


def cache_folder() -> Path:
    """Where the copies are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clinical-kg"


def fingerprint(store: Path) -> str:
    """A digest of the names, sizes and modification times of a store's files."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for file in sorted(store.iterdir()):
        if file.is_file():
            status = file.stat()
            digest.update(f"{file.name} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _name(store: Path) -> str:
    return "network-" + hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:12]


def load(store: Path) -> nx.MultiDiGraph | None:
    """The copy of the store's graph, or None when there is none for the store as it is now."""
    path = cache_folder() / f"{_name(store)}-{fingerprint(store)}.json.gz"
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError, EOFError):
        return None
    if data.get("format") != FORMAT:
        return None
    graph = nx.MultiDiGraph(name="clinical-kg")
    graph.add_nodes_from((node, {"label": label, "cls": cls, "kind": kind}) for node, label, cls, kind in data["nodes"])
    graph.add_edges_from(
        (u, v, key, {"kind": kind, "relation": relation, "negated": negated,
                     "records": tuple(Record(*fields) for fields in records)})
        for u, v, key, kind, relation, negated, records in data["edges"]
    )  # fmt: skip
    return graph


def save(store: Path, graph: nx.MultiDiGraph) -> None:
    """Keep a copy of the store's graph (replacing older copies of the same store)."""
    folder = cache_folder()
    name = _name(store)
    nodes = [[n, d["label"], d["cls"], d["kind"]] for n, d in graph.nodes(data=True)]
    edges = [[u, v, key, d["kind"], d["relation"], d["negated"], [[getattr(r, f) for f in _RECORD_FIELDS]
              for r in d["records"]]] for u, v, key, d in graph.edges(keys=True, data=True)]  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{fingerprint(store)}.json.gz"
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with gzip.open(partial, "wt", encoding="utf-8", compresslevel=1) as stream:
                json.dump({"format": FORMAT, "nodes": nodes, "edges": edges}, stream, ensure_ascii=False)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        for old in folder.glob(f"{name}-*.json.gz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return
