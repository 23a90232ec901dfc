"""The store: load the graph into an embedded store and run SPARQL on it.

- :mod:`clinical_kg.store.graphs`: the engines (``oxigraph``, the default, and rdflib's
  ``memory``), their answers (:class:`QueryResult`) and :func:`open_graph`, which chooses one;
- :mod:`clinical_kg.store.files`: RDF files read into an Oxigraph store;
- :mod:`clinical_kg.store.disk`: on-disk stores, built in a folder beside and swapped into
  place, locked while rebuilt, with a record of what they were built from.

Every query passes :func:`clinical_kg.sparql_safety.check_query` first (no SERVICE, no FROM, no
updates), and the engine runs the canonical text that check returns, never the text as typed.
"""

from clinical_kg.choices import DEFAULT_STORE
from clinical_kg.resources import curated_files, shipped_files
from clinical_kg.store.disk import (
    BUILD_RECORD,
    available_memory,
    data_digest,
    ensure_store,
    fits_in_memory,
    is_store,
    load_store,
    open_store,
    read_build_record,
    replace_graphs,
    store_lock,
)
from clinical_kg.store.files import load_parts, open_binary, rdf_format
from clinical_kg.store.graphs import (
    STORES,
    KnowledgeGraph,
    MemoryKnowledgeGraph,
    OxigraphKnowledgeGraph,
    QueryResult,
    converted_once,
    default_graph_size,
    from_oxigraph,
    gc_paused,
    graph_size,
    imported_graph_names,
    open_graph,
    to_oxigraph,
)

__all__ = [
    "BUILD_RECORD",
    "DEFAULT_STORE",
    "STORES",
    "KnowledgeGraph",
    "MemoryKnowledgeGraph",
    "OxigraphKnowledgeGraph",
    "QueryResult",
    "available_memory",
    "converted_once",
    "curated_files",
    "data_digest",
    "default_graph_size",
    "ensure_store",
    "fits_in_memory",
    "from_oxigraph",
    "gc_paused",
    "graph_size",
    "imported_graph_names",
    "is_store",
    "load_parts",
    "load_store",
    "open_binary",
    "open_graph",
    "open_store",
    "rdf_format",
    "read_build_record",
    "replace_graphs",
    "shipped_files",
    "store_lock",
    "to_oxigraph",
]
