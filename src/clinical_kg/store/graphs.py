"""The engines: the graph in an embedded store, its SPARQL answers and its rdflib views.

Two engines, chosen by name (``STORES``):

- ``oxigraph`` (default): an in-process pyoxigraph store. SPARQL runs on Oxigraph's engine
  directly (fast, linear-time REGEX); ``KnowledgeGraph.graph`` is an rdflib view of the same
  store through oxrdflib, so rdflib's API stays the interface.
- ``memory``: rdflib's memory store and SPARQL engine, the reference implementation.
- ``sparql``: an external SPARQL server (``open_graph(endpoint=...)``, ``--endpoint URL``), loaded
  there by ``ckg load --endpoint``: see :mod:`clinical_kg.remote` (imported only when used).

Some jobs run better on a plain rdflib memory graph whatever the engine (pySHACL walks the
graph triple by triple, and calls ``len()``, which is a full count on Oxigraph):
:meth:`KnowledgeGraph.memory_graph` gives that view, built once.

Queries read the default graph, where ``ckg load`` puts the vocabulary and the curated data, and
the named graphs of imported databases (``ckg import``: a graph whose dataset node says it is a
version of a source, ``dcterms:isVersionOf``), each triple once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from clinical_kg.choices import DEFAULT_STORE, REMOTE_STORE
from clinical_kg.errors import InputError
from clinical_kg.layout import Part
from clinical_kg.namespaces import bind_prefixes
from clinical_kg.resources import curated_files
from clinical_kg.store.files import load_part, rdf_format

if TYPE_CHECKING:
    from rdflib import Graph
    from rdflib.term import Node

    from clinical_kg.paging import Page
    from clinical_kg.remote.config import Endpoint

IMPORTED_GRAPHS_QUERY = """
SELECT DISTINCT ?graph WHERE { GRAPH ?graph { ?graph <http://purl.org/dc/terms/isVersionOf> ?source } }
"""


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


class QueryResult:
    """The answer to a query: rows of terms (SELECT), a boolean (ASK) or a graph.

    The rows are held as the engine gave them and given both ways, each converted when first
    asked for: :attr:`rows` as rdflib terms (the Python API's), :attr:`terms` as pyoxigraph terms
    (what the result writers read). So an answer of the default engine printed by ``ckg query``
    never loads rdflib (about 0.13 s of every command's start, docs/benchmarks.md).
    """

    def __init__(
        self,
        form: str,
        variables: list[str] | None = None,
        rows: list[tuple[Node | None, ...]] | None = None,
        boolean: bool | None = None,
        graph: Graph | None = None,
        total: int | None = None,
        offset: int = 0,
        *,
        terms: list[tuple[OxTerm | None, ...]] | None = None,
    ) -> None:
        self.form = form
        self.variables = variables if variables is not None else []
        self._rows = rows if rows is not None or terms is not None else []
        self._terms = terms
        self.boolean = boolean
        self.graph = graph
        self.total = total  # a page of a catalogue answer: the rows of the whole answer
        self.offset = offset  # ... and how many rows come before this page

    @property
    def rows(self) -> list[tuple[Node | None, ...]]:
        """The rows as rdflib terms (None where a variable is unbound)."""
        if self._rows is None:
            self._rows = _converted(self._terms or [], from_oxigraph)
        return self._rows

    @rows.setter
    def rows(self, rows: list[tuple[Node | None, ...]]) -> None:
        self._rows, self._terms = rows, None

    @property
    def terms(self) -> list[tuple[OxTerm | None, ...]]:
        """The rows as pyoxigraph terms (None where a variable is unbound)."""
        if self._terms is None:
            self._terms = _converted(self._rows or [], to_oxigraph)
        return self._terms

    @property
    def native_rows(self) -> list[tuple[Any, ...]]:
        """The rows as they are held (pyoxigraph or rdflib terms), neither converted: for the result
        writers (:mod:`clinical_kg.results`), which read both."""
        return self._rows if self._rows is not None else self._terms or []

    @property
    def row_count(self) -> int:
        """The number of rows, counted without converting them."""
        return len(self.native_rows)

    def dicts(self) -> list[dict[str, Node | None]]:
        """Rows as dictionaries from variable name to term (None when unbound)."""
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]


def converted_once(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` remembering what it gave for each term, so that terms repeated across rows are
    converted once (None stays None)."""
    done: dict[object, object] = {None: None}

    def once(term: object) -> object:
        found = done.get(term, done)
        if found is done:
            found = done[term] = convert(term)
        return found

    return once


def _converted(rows: list[tuple[Any, ...]], convert: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    """``rows`` with every term converted, each distinct term once (rows repeat terms)."""
    once = converted_once(convert)
    with gc_paused():
        return [tuple(once(term) for term in row) for row in rows]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the rows of an answer are built: tens of
    thousands of tuples and terms, none in a cycle, would otherwise start collections that scan
    every object of the process (a fifth of the time of a 30,000-row answer, docs/benchmarks.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def from_oxigraph(term: object) -> Node | None:
    """The rdflib term for a pyoxigraph term (None stays None).

    Raises TypeError for what rdflib cannot hold: RDF 1.2 triple terms and literals with a
    base direction.
    """
    from rdflib import BNode, Literal, URIRef

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


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term for an rdflib IRI, blank node or literal (the inverse of :func:`from_oxigraph`)."""
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"Oxigraph has no term for {term!r}")


def _rdflib_triple(statement: ox.Triple | ox.Quad) -> tuple[Node, Node, Node]:
    return from_oxigraph(statement.subject), from_oxigraph(statement.predicate), from_oxigraph(statement.object)


class KnowledgeGraph:
    """The loaded graph (vocabulary and data) behind one interface, whatever the engine."""

    store_name: str = ""
    generation: int = 0
    """The version of the content: :meth:`changed` counts it up, so what was computed from an
    older version (the networkx graph of :mod:`clinical_kg.analysis`) is built again."""

    @property
    def graph(self) -> Graph:
        """An rdflib Graph over the store (for rdflib API users)."""
        raise NotImplementedError

    def changed(self) -> None:
        """Note that the content changed (after a load, or an update made on the store directly)."""
        self.generation += 1

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
        from clinical_kg.sparql_safety import check_query  # rdflib's SPARQL parser: loaded when a query needs it

        checked = check_query(text, prefixes)
        return self._run(checked.text, checked.form, {})

    def query_trusted(self, text: str, form: str = "SELECT") -> QueryResult:
        """Run a query this package wrote, without the safety check (which costs a parse).

        Only for a checked catalogue template or a package query whose variable parts are RDF
        terms in N-Triples form (``str()`` of a pyoxigraph term, rdflib's ``n3()``), never text a user typed.
        """
        return self._run(text, form, {})

    def query_page(self, text: str, page: Page) -> QueryResult:
        """One page of the answer to a SELECT query this package wrote (as :meth:`query_trusted`), its
        ``total`` the rows of the whole answer: the rows are counted as they come and only the page's kept.

        An engine evaluates the query once (a catalogue query ends with its ``ORDER BY``, so the
        first page needs every row anyway); a SPARQL server is asked for the page and the count.
        """
        result = self._run(text, "SELECT", {})
        result.rows, result.total = page.take(result.rows)
        result.offset = page.offset
        return result

    def __len__(self) -> int:
        return len(self.memory_graph())


class OxigraphKnowledgeGraph(KnowledgeGraph):
    """The default engine: pyoxigraph in process, with an oxrdflib view for rdflib users."""

    store_name = "oxigraph"

    def __init__(self, store: ox.Store | None = None, path: Path | None = None) -> None:
        self.store = store if store is not None else ox.Store()
        self.path = path  # the folder of an on-disk store; None in memory
        self._graph: Graph | None = None
        self._memory: Graph | None = None
        self._dataset: dict[str, list[ox.NamedNode | ox.DefaultGraph]] | None = None

    def imported_graphs(self) -> list[ox.NamedNode]:
        """The named graphs of the databases imported into the store (``ckg import``), sorted."""
        return imported_graph_names(self.store)

    def imported_views(self) -> list[Graph]:
        """Each imported graph as a read-only rdflib Graph over the store (no copy), for rdflib's own API."""
        from oxrdflib import OxigraphStore
        from rdflib import Graph, URIRef

        store = OxigraphStore(store=self.store)
        return [Graph(store=store, identifier=URIRef(name.value)) for name in self.imported_graphs()]

    def dataset(self) -> dict[str, list[ox.NamedNode | ox.DefaultGraph]]:
        """What queries read: the default graph and the imported graphs (keyword arguments of ``Store.query``).

        Not the union of all graphs: a store may also hold copies of the curated files in named
        graphs of their own (the endpoint's), which the union would count twice.
        """
        if self._dataset is None:
            imported = self.imported_graphs()
            self._dataset = {"default_graph": [ox.DefaultGraph(), *imported]} if imported else {}
        return self._dataset

    def in_memory(self) -> OxigraphKnowledgeGraph:
        """This graph in an in-memory store: itself when it is in memory, else a copy of what queries read
        (the default graph and the imported graphs) in the copy's default graph."""
        if self.path is None:
            return self
        copy = ox.Store()
        for graph in (ox.DefaultGraph(), *self.imported_graphs()):
            quads = self.store.quads_for_pattern(None, None, None, graph)
            copy.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
        return OxigraphKnowledgeGraph(copy)

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            from oxrdflib import OxigraphStore
            from rdflib import Graph
            from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

            self._graph = bind_prefixes(
                Graph(store=OxigraphStore(store=self.store), identifier=DATASET_DEFAULT_GRAPH_ID)
            )
        return self._graph

    def memory_graph(self) -> Graph:
        if self._memory is None:
            from rdflib import Graph

            graph = bind_prefixes(Graph())
            for quad in self.store.quads_for_pattern(None, None, None, ox.DefaultGraph()):
                graph.add(_rdflib_triple(quad))
            self._memory = graph
        return self._memory

    def __len__(self) -> int:
        # what queries read: named graphs hold copies of the curated files (clinical_kg.layout)
        return default_graph_size(self.store) + sum(graph_size(self.store, g) for g in self.imported_graphs())

    def load(self, paths: Iterable[Path]) -> None:
        for path in paths:
            try:
                fmt, gz = rdf_format(Path(path))
            except InputError:
                fmt, gz = ox.RdfFormat.TURTLE, False  # what the memory store reads too
            load_part(self.store, Part(Path(path), None), fmt, gz, 0, 0, None)
        self.changed()

    def changed(self) -> None:
        self._memory = None
        self._dataset = None
        super().changed()

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        answer = self.store.query(text, prefixes=prefixes, use_default_graph_as_union=False, **self.dataset())
        if form == "ASK":
            return QueryResult(form, boolean=bool(answer))
        if form in ("CONSTRUCT", "DESCRIBE"):
            from rdflib import Graph

            graph = bind_prefixes(Graph())
            for triple in answer:
                graph.add(_rdflib_triple(triple))
            return QueryResult(form, graph=graph)
        variables = [v.value for v in answer.variables]
        with gc_paused():
            terms = [tuple(solution) for solution in answer]
        return QueryResult(form, variables=variables, terms=terms)

    def query_page(self, text: str, page: Page) -> QueryResult:
        answer = self.store.query(text, use_default_graph_as_union=False, **self.dataset())
        with gc_paused():
            solutions, total = page.take(answer)  # only the page's rows are kept
            terms = [tuple(solution) for solution in solutions]
        variables = [v.value for v in answer.variables]
        return QueryResult("SELECT", variables=variables, terms=terms, total=total, offset=page.offset)


class MemoryKnowledgeGraph(KnowledgeGraph):
    """The reference engine: rdflib's memory store and SPARQL implementation."""

    store_name = "memory"

    def __init__(self) -> None:
        from rdflib import Graph

        from clinical_kg.memory_plan import plan_queries_on

        self._graph = plan_queries_on(bind_prefixes(Graph()))

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
        self.changed()

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        answer = self._graph.query(text, initNs=prefixes)
        if form == "ASK":
            return QueryResult(form, boolean=bool(answer.askAnswer))
        if form in ("CONSTRUCT", "DESCRIBE"):
            from rdflib import Graph

            graph = bind_prefixes(Graph())
            for triple in answer:
                graph.add(triple)
            return QueryResult(form, graph=graph)
        variables = [str(v) for v in answer.vars]
        rows = [tuple(row) for row in answer]
        return QueryResult(form, variables=variables, rows=rows)


STORES: dict[str, type[KnowledgeGraph]] = {"oxigraph": OxigraphKnowledgeGraph, "memory": MemoryKnowledgeGraph}


def open_graph(
    store: str = DEFAULT_STORE,
    files: Sequence[Path] | None = None,
    *,
    store_path: Path | None = None,
    data_dir: Path | None = None,
    endpoint: Endpoint | None = None,
) -> KnowledgeGraph:
    """Load the vocabulary and the curated data (or ``files``) into a new store of the named kind.

    The data is that of ``data_dir``, else of the folder :func:`clinical_kg.resources.locate_data`
    finds. With ``store_path``, the graph is the on-disk Oxigraph store there, opened read-only;
    it is built first from those files when the folder is missing or empty, and rebuilt (or
    refused) when the data changed since (:func:`ensure_store`). With ``endpoint`` (or the store
    ``sparql``), the graph is the one ``ckg load --endpoint`` put on that SPARQL server.
    """
    if endpoint is not None or store == REMOTE_STORE:
        if endpoint is None:
            raise InputError("the sparql store needs the server's URL", hint="give --endpoint URL")
        if store_path is not None or files is not None:
            raise InputError("--endpoint and --store-path name two different stores", hint="give one of them")
        from clinical_kg.remote import SparqlKnowledgeGraph

        return SparqlKnowledgeGraph(endpoint)
    if store not in STORES:
        raise InputError(f"unknown store {store!r}", hint=f"choose one of: {', '.join((*STORES, REMOTE_STORE))}")
    if store_path is not None:
        if store != "oxigraph":
            raise InputError(f"--store-path needs the oxigraph store, not {store!r}", hint="leave out --store")
        from clinical_kg.store.disk import ensure_store, open_store  # disk imports this module

        ensure_store(store_path, files, data_dir=data_dir)
        return open_store(store_path)
    kg = STORES[store]()
    kg.load(files if files is not None else curated_files(data_dir))
    return kg


def default_graph_size(store: ox.Store) -> int:
    """The number of triples in a store's default graph (the curated graph, which queries read)."""
    solution = next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))
    return int(solution[0].value)


def graph_size(store: ox.Store, graph: ox.NamedNode) -> int:
    """The number of triples in one named graph of a store."""
    solution = next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=graph)))
    return int(solution[0].value)


def imported_graph_names(store: ox.Store) -> list[ox.NamedNode]:
    """The named graphs ``ckg import`` wrote into a store (their dataset node is a version of a source), sorted."""
    return sorted((row[0] for row in store.query(IMPORTED_GRAPHS_QUERY) if isinstance(row[0], ox.NamedNode)), key=str)
