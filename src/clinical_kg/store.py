"""The one store module: load the graph into an embedded store and run SPARQL on it.

Two engines, chosen by name (``STORES``):

- ``oxigraph`` (default): an in-process pyoxigraph store. SPARQL runs on Oxigraph's engine
  directly (fast, linear-time REGEX); ``KnowledgeGraph.graph`` is an rdflib view of the same
  store through oxrdflib, so rdflib's API stays the interface.
- ``memory``: rdflib's memory store and SPARQL engine, the reference implementation.

Some jobs run better on a plain rdflib memory graph whatever the engine (pySHACL walks the
graph triple by triple, and calls ``len()``, which is a full count on Oxigraph):
:meth:`KnowledgeGraph.memory_graph` gives that view, built once.

Every query passes :func:`clinical_kg.sparql_safety.check_query` first (no SERVICE, no FROM, no
updates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from clinical_kg import resources
from clinical_kg.errors import InputError
from clinical_kg.namespaces import bind_prefixes
from clinical_kg.sparql_safety import check_query
from clinical_kg.transaction import ensure_consistent

DEFAULT_STORE = "oxigraph"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass
class QueryResult:
    """The answer to a query: rows of rdflib terms (SELECT), a boolean (ASK) or a graph."""

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None

    def dicts(self) -> list[dict[str, Node | None]]:
        """Rows as dictionaries from variable name to term (None when unbound)."""
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]


def from_oxigraph(term: object) -> Node | None:
    """The rdflib term for a pyoxigraph term (None stays None).

    Raises TypeError for what rdflib cannot hold: RDF 1.2 triple terms and literals with a
    base direction.
    """
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal) and not term.direction:
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            return Literal(term.value)  # rdflib's parsers give plain strings no datatype
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"rdflib cannot represent the Oxigraph term {term!r}")


def _rdflib_triple(statement: ox.Triple | ox.Quad) -> tuple[Node, Node, Node]:
    return from_oxigraph(statement.subject), from_oxigraph(statement.predicate), from_oxigraph(statement.object)


class KnowledgeGraph:
    """The loaded graph (vocabulary and data) behind one interface, whatever the engine."""

    store_name: str = ""

    @property
    def graph(self) -> Graph:
        """An rdflib Graph over the store (for rdflib API users)."""
        raise NotImplementedError

    def memory_graph(self) -> Graph:
        """An rdflib memory-store copy of the graph, for jobs such as SHACL validation."""
        raise NotImplementedError

    def load(self, paths: Iterable[Path]) -> None:
        """Add the triples of Turtle files to the store."""
        raise NotImplementedError

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        raise NotImplementedError

    def query(self, text: str, prefixes: dict[str, str] | None = None) -> QueryResult:
        """Run a SPARQL query (checked first: no SERVICE, FROM or updates).

        ``prefixes`` are predeclared (prefix to namespace IRI), so positions in error
        messages stay those of ``text``.
        """
        form = check_query(text, prefixes)
        return self._run(text, form, prefixes or {})

    def __len__(self) -> int:
        return len(self.memory_graph())


class OxigraphKnowledgeGraph(KnowledgeGraph):
    """The default engine: pyoxigraph in process, with an oxrdflib view for rdflib users."""

    store_name = "oxigraph"

    def __init__(self) -> None:
        self.store = ox.Store()
        self._graph: Graph | None = None
        self._memory: Graph | None = None

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = bind_prefixes(
                Graph(store=OxigraphStore(store=self.store), identifier=DATASET_DEFAULT_GRAPH_ID)
            )
        return self._graph

    def memory_graph(self) -> Graph:
        if self._memory is None:
            graph = bind_prefixes(Graph())
            for quad in self.store.quads_for_pattern(None, None, None, ox.DefaultGraph()):
                graph.add(_rdflib_triple(quad))
            self._memory = graph
        return self._memory

    def __len__(self) -> int:
        return len(self.store)

    def load(self, paths: Iterable[Path]) -> None:
        for path in paths:
            try:
                self.store.load(path=str(path), format=ox.RdfFormat.TURTLE)
            except SyntaxError as exc:
                raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
        self._memory = None

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        answer = self.store.query(text, prefixes=prefixes, use_default_graph_as_union=False)
        if form == "ASK":
            return QueryResult(form, boolean=bool(answer))
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = bind_prefixes(Graph())
            for triple in answer:
                graph.add(_rdflib_triple(triple))
            return QueryResult(form, graph=graph)
        variables = [v.value for v in answer.variables]
        rows = [tuple(from_oxigraph(solution[i]) for i in range(len(variables))) for solution in answer]
        return QueryResult(form, variables=variables, rows=rows)


class MemoryKnowledgeGraph(KnowledgeGraph):
    """The reference engine: rdflib's memory store and SPARQL implementation."""

    store_name = "memory"

    def __init__(self) -> None:
        self._graph = bind_prefixes(Graph())

    @property
    def graph(self) -> Graph:
        return self._graph

    def memory_graph(self) -> Graph:
        return self._graph

    def load(self, paths: Iterable[Path]) -> None:
        for path in paths:
            try:
                self._graph.parse(path, format="turtle")
            except SyntaxError as exc:
                raise InputError(f"{path}: {exc}") from None

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        answer = self._graph.query(text, initNs=prefixes)
        if form == "ASK":
            return QueryResult(form, boolean=bool(answer.askAnswer))
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = bind_prefixes(Graph())
            for triple in answer:
                graph.add(triple)
            return QueryResult(form, graph=graph)
        variables = [str(v) for v in answer.vars]
        rows = [tuple(row) for row in answer]
        return QueryResult(form, variables=variables, rows=rows)


STORES: dict[str, type[KnowledgeGraph]] = {"oxigraph": OxigraphKnowledgeGraph, "memory": MemoryKnowledgeGraph}


def shipped_files() -> list[Path]:
    """The vocabulary and every curated data file: what ``open_graph`` loads by default."""
    return [resources.vocabulary_file(), *resources.data_files()]


def open_graph(store: str = DEFAULT_STORE, files: Sequence[Path] | None = None) -> KnowledgeGraph:
    """Load the shipped graph (or ``files``) into a new store of the named kind."""
    try:
        kg = STORES[store]()
    except KeyError:
        raise InputError(f"unknown store {store!r}", hint=f"choose one of: {', '.join(STORES)}") from None
    if files is None:
        ensure_consistent(resources.data_dir())  # finish a merge that was interrupted
        files = shipped_files()
    kg.load(files)
    return kg
