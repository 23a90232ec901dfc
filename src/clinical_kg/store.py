"""The one store module: load the graph into an embedded store and run SPARQL on it.

Two engines, chosen by name (``STORES``):

- ``oxigraph`` (default): an in-process pyoxigraph store. SPARQL runs on Oxigraph's engine
  directly (fast, linear-time REGEX); ``KnowledgeGraph.graph`` is an rdflib view of the same
  store through oxrdflib, so rdflib's API stays the interface.
- ``memory``: rdflib's memory store and SPARQL engine, the reference implementation.
- ``sparql``: an external SPARQL server (``open_graph(endpoint=...)``, ``--endpoint URL``), loaded
  there by ``ckg load --endpoint``: see :mod:`clinical_kg.remote` (imported only when used).

An ``oxigraph`` graph may live on disk (``open_graph(store_path=DIR)``): :func:`load_store`
bulk-loads files with Oxigraph's parsers into a new folder, in the named-graph layout of
:mod:`clinical_kg.layout`, checks it and renames it into place, so a killed load never leaves a
half-loaded store behind; reopening takes milliseconds. The folder records what it was built from
(``clinical-kg-build.json``): a store built from the shipped data is rebuilt when the data changed
(:func:`ensure_store`), one that also holds other files is refused until it is loaded again.

Some jobs run better on a plain rdflib memory graph whatever the engine (pySHACL walks the
graph triple by triple, and calls ``len()``, which is a full count on Oxigraph):
:meth:`KnowledgeGraph.memory_graph` gives that view, built once.

Queries read the default graph, where ``ckg load`` puts the vocabulary and the curated data, and
the named graphs of imported databases (``ckg import``: a graph whose dataset node says it is a
version of a source, ``dcterms:isVersionOf``), each triple once.

Every query passes :func:`clinical_kg.sparql_safety.check_query` first (no SERVICE, no FROM, no
updates), and the engine runs the canonical text that check returns, never the text as typed.
"""

from __future__ import annotations

import fcntl
import gc
import io
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import pyoxigraph as ox

from clinical_kg import __version__, resources
from clinical_kg.choices import DEFAULT_STORE, REMOTE_STORE
from clinical_kg.errors import InputError
from clinical_kg.layout import Part, layout, part_quads
from clinical_kg.namespaces import bind_prefixes
from clinical_kg.resources import curated_files, shipped_files

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


def _converted(rows: list[tuple[Any, ...]], convert: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    """``rows`` with every term converted, each distinct term once (rows repeat terms)."""
    done: dict[object, object] = {None: None}

    def once(term: object) -> object:
        found = done.get(term, done)
        if found is done:
            found = done[term] = convert(term)
        return found

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
            _load_one(self.store, Part(Path(path), None), fmt, gz, 0, 0, None)
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
        ensure_store(store_path, files, data_dir=data_dir)
        return open_store(store_path)
    kg = STORES[store]()
    kg.load(files if files is not None else curated_files(data_dir))
    return kg


# On-disk stores ------------------------------------------------------------------------------

_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
}
Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes) of all the files of a load."""


def rdf_format(path: Path) -> tuple[ox.RdfFormat, bool]:
    """The RDF format of a file from its name (``.ttl``, ``.nt``, ``.nq``, each maybe ``.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    suffix = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    if suffix not in _FORMATS:
        raise InputError(
            f"{path}: cannot tell the RDF format from the name",
            hint="name it .ttl, .nt or .nq (Turtle, N-Triples, N-Quads), optionally with .gz",
        )
    return _FORMATS[suffix], gz


class _Counting(io.RawIOBase):
    """A reader that reports how far into the (compressed) file the parser has got."""

    def __init__(self, raw: BinaryIO, stream: BinaryIO, done: int, total: int, progress: Progress) -> None:
        self._raw, self._stream, self._done, self._total, self._progress = raw, stream, done, total, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._stream.readinto(buffer)
        self._progress(self._done + self._raw.tell(), self._total)
        return n


def _is_store(path: Path) -> bool:
    _restore_interrupted_swap(path)
    return path.is_dir() and any(path.iterdir())


def _old_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.is_dir() else []


def _restore_interrupted_swap(path: Path) -> None:
    """A load killed between its two renames left the previous store aside: put it back."""
    old = _old_copies(path)
    if old and not path.exists():
        old[-1].rename(path)


def open_store(path: Path, read_only: bool = True) -> OxigraphKnowledgeGraph:
    """The on-disk Oxigraph store at ``path`` (read-only by default, so processes can share it)."""
    _restore_interrupted_swap(path)
    try:
        store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
    except OSError as exc:
        raise InputError(f"{path} is not an Oxigraph store: {exc}", hint="build one with `ckg load`") from None
    return OxigraphKnowledgeGraph(store, path)


MEMORY_PER_STORED_BYTE = 12
"""About how many bytes of memory an on-disk store takes per byte of its folder once copied into
memory (measured at 100k and 1M synthetic triples: 8 to 9; rounded up for the work done on it)."""


def available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable, else the free physical pages), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:  # counts the caches the kernel can drop
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def fits_in_memory(path: Path) -> bool:
    """Whether a copy of the on-disk store at ``path`` fits in the memory available now (False when unknown)."""
    stored = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    available = available_memory()
    return available is not None and stored * MEMORY_PER_STORED_BYTE < available


BUILD_RECORD = "clinical-kg-build.json"  # inside the store folder: what the store was built from


def data_digest(data_dir: Path | None = None) -> str:
    """The SHA-256 of the vocabulary and the curated data files (names and bytes) of ``data_dir``."""
    import hashlib

    digest = hashlib.sha256()
    for path in shipped_files(data_dir):
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_store(
    path: Path,
    files: Sequence[Path] | None = None,
    progress: Progress | None = None,
    data_dir: Path | None = None,
    keep_imports: bool = False,
) -> int:
    """Build the on-disk store at ``path`` from ``files`` (default: the vocabulary and the curated data).

    Turtle, N-Triples and N-Quads (by file name, optionally gzipped) are bulk-loaded with
    Oxigraph's parsers in the layout of :mod:`clinical_kg.layout` (every triple in the default
    graph; each data file, and each graph of an N-Quads file, also in its named graph). The store
    is built in a new sibling folder, flushed, reopened and counted, its build record written
    (with the checksum of the curated data of ``data_dir`` when it holds all of it), and only then
    renamed into place, replacing the store there (T17: a killed bulk load keeps nothing, and a
    killed ``ckg load`` leaves the previous store as it was). With ``keep_imports``, the graphs
    ``ckg import`` wrote into the store there are copied into the new one (and stay in its build
    record); without, they are gone and the database must be imported again. Returns the number
    of triples in the default graph.
    """
    parts = layout(files if files is not None else curated_files(data_dir))
    formats = [rdf_format(part.path) for part in parts]
    sizes = [part.path.stat().st_size for part in parts]
    path.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(path):
        return _load_store_locked(path, parts, formats, sizes, progress, data_dir, keep_imports)


def _load_store_locked(
    path: Path, parts: list[Part], formats: list[tuple[ox.RdfFormat, bool]], sizes: list[int],
    progress: Progress | None, data_dir: Path | None, keep_imports: bool,
) -> int:  # fmt: skip
    _remove_abandoned_loads(path)
    kept = read_build_record(path).get("imported", []) if keep_imports and _is_store(path) else []
    partial = _new_partial(path)
    try:
        store = ox.Store(str(partial))
        done = 0
        for part, (fmt, gz), size in zip(parts, formats, sizes, strict=True):
            _load_one(store, part, fmt, gz, done, sum(sizes), progress)
            done += size
        if kept:
            old = ox.Store.read_only(str(path))
            for graph in imported_graph_names(old):
                store.bulk_extend(old.quads_for_pattern(None, None, None, graph))
            del old
        store.flush()
        del store
        count = default_graph_size(ox.Store.read_only(str(partial)))  # reopens: the folder is a whole store
        statements = (_has_statement(p.path, *f) for p, f in zip(parts, formats, strict=True))
        if count == 0 and sum(sizes) > 0 and any(statements):
            raise InputError(f"the load into {path} gave an empty store", hint="check the files")
        _write_build_record(partial, parts, data_dir, kept)
        _swap_into_place(partial, path)
    finally:
        _remove_folder(partial)
    return count


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


def read_build_record(path: Path) -> dict[str, Any]:
    """The build record of the store at ``path`` (what it was built from), or an InputError."""
    try:
        return json.loads((path / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            f"{path} has no readable build record ({BUILD_RECORD}), so whether it holds the current data is unknown",
            hint=f"rebuild it: ckg load [FILE...] --store-path {path}",
        ) from None


def _write_build_record(
    folder: Path, parts: list[Part], data_dir: Path | None, imported: list[dict[str, Any]] | None = None
) -> None:
    curated = {p.resolve() for p in shipped_files(data_dir)}
    loaded = {p.path.resolve() for p in parts}
    record = {
        "built_by": f"clinical-kg {__version__}",
        "data_dir": str(resources.data_dir(data_dir)),
        # the curated data's checksum when the store holds all of it, so that a change is noticed
        "data_sha256": data_digest(data_dir) if curated <= loaded else None,
        "files": [
            {
                "path": str(p.path.resolve()),
                "bytes": p.path.stat().st_size,
                "curated": p.path.resolve() in curated,
                "graph": str(p.graph) if p.graph else None,
            }
            for p in parts
        ],
        # the graphs of imported databases (ckg import), kept when the curated data is reloaded
        "imported": imported or [],
    }
    (folder / BUILD_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def ensure_store(path: Path, files: Sequence[Path] | None = None, data_dir: Path | None = None) -> str:
    """Make sure the store at ``path`` holds the current curated data: ``built``, ``rebuilt`` or ``current``.

    A missing or empty folder is built from ``files`` (default: the vocabulary and the curated data
    of ``data_dir``). A store built from the curated data alone is rebuilt when the data changed
    since, keeping the graphs ``ckg import`` added; a store that also holds other files is refused
    then (they may be gone), as is a folder without a build record. A store built without the
    curated data is left as it is.
    """
    if not _is_store(path):
        load_store(path, files, data_dir=data_dir)
        return "built"
    record = read_build_record(path)
    if record.get("data_sha256") is None or record["data_sha256"] == data_digest(data_dir):
        return "current"
    others = [f["path"] for f in record.get("files", []) if not f.get("curated")]
    if others:
        raise InputError(
            f"{path} was built from other data than that in {resources.data_dir(data_dir)} now",
            hint=f"load it again: ckg load {' '.join(others)} --store-path {path}",
        )
    load_store(path, data_dir=data_dir, keep_imports=True)
    return "rebuilt"


def _new_partial(path: Path) -> Path:
    """A new build folder beside the store, named with this process's id (see _remove_abandoned_loads)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-{os.getpid()}-", dir=path.parent))


@contextmanager
def store_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the on-disk store at ``path`` while it is rebuilt.

    ``ckg load`` and ``ckg import`` both rebuild a store beside it and swap it into place; two at
    once would each swap in a store without the other's changes. The lock (``.<name>.lock``
    beside the store, an advisory ``flock``) makes the second wait. Readers never take it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def replace_graphs(
    path: Path,
    drop: Collection[str],
    graphs: Sequence[tuple[str, Iterable[str]]],
    progress: Callable[[str], None] | None = None,
    imported: Sequence[dict[str, Any]] = (),
) -> None:
    """Rebuild the on-disk store at ``path`` without the named graphs ``drop`` and with ``graphs`` added.

    ``graphs`` are (graph IRI, N-Triples text) pairs, the text given in pieces of whole lines as it
    is produced; it is bulk-loaded into that named graph a batch at a time (Oxigraph's bulk loader
    holds a whole call's quads in memory: about 1 KB each). Everything else in the store (the
    default graph, other named graphs) is copied over. As in :func:`load_store`, the new store is
    built in a folder beside the old one, checked and renamed into place under the store's lock:
    a killed rebuild leaves the old store as it was. ``progress`` is told the name of each step.
    The build record goes with the store, its ``imported`` list without the graphs dropped or
    replaced and with ``imported`` (one entry per graph added: its ``graph`` IRI and what it was
    imported from).
    """
    step = progress or (lambda _name: None)
    with store_lock(path):
        if not _is_store(path):
            raise InputError(f"{path} is not an Oxigraph store", hint="build one with `ckg load`")
        _remove_abandoned_loads(path)
        record = read_build_record(path)
        partial = _new_partial(path)
        try:
            new = ox.Store(str(partial))
            old = ox.Store.read_only(str(path))
            step("copying the rest of the store")
            new.bulk_extend(old.quads_for_pattern(None, None, None, ox.DefaultGraph()))
            replaced = set(drop) | {name for name, _pieces in graphs}  # a graph is never merged into
            for name in sorted(old.named_graphs(), key=str):
                if isinstance(name, ox.NamedNode) and name.value in replaced:
                    continue
                new.bulk_extend(old.quads_for_pattern(None, None, None, name))
            del old
            for name, pieces in graphs:
                step(f"loading {name}")
                graph = ox.NamedNode(name)
                for batch in _read_ahead(_batches(pieces, BULK_BATCH_CHARS)):
                    try:
                        new.bulk_load(batch, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True)
                    except SyntaxError as exc:  # a bug of the writer, not of the user's input
                        raise RuntimeError(f"invalid N-Triples for {name}: {exc}") from exc
            new.flush()
            del new
            ox.Store.read_only(str(partial))  # reopens: the folder is a whole store (counting it took 0.5 s at 3M)
            kept = [entry for entry in record.get("imported", []) if entry.get("graph") not in replaced]
            record["imported"] = sorted([*kept, *imported], key=lambda entry: str(entry.get("graph")))
            (partial / BUILD_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            _swap_into_place(partial, path)
        finally:
            _remove_folder(partial)


BULK_BATCH_CHARS = 24_000_000
"""N-Triples characters per bulk-load call in :func:`replace_graphs` (about 160,000 triples, 250 MB of
loader memory)."""


def _batches(pieces: Iterable[str], size: int) -> Iterator[bytes]:
    """Pieces of text joined into batches of about ``size`` characters, encoded as UTF-8."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch, length = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


def _remove_folder(folder: Path) -> None:
    """Delete ``folder`` and what it holds, as far as it can (shutil is imported only by loads)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _read_ahead(batches: Iterator[bytes]) -> Iterator[bytes]:
    """The same batches, the next one built in a worker thread while the caller loads this one.

    Writing the N-Triples is Python (about 4 s of the HPO import); ``Store.bulk_load`` releases
    the GIL, so on a second core the two overlap. Whatever the writer raises reaches the caller
    at the batch it would have come with; a caller that stops early waits for the batch being
    built, no longer.
    """
    from concurrent.futures import ThreadPoolExecutor  # here: every command imports this module

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ckg-batches") as worker:
        pending = worker.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = worker.submit(next, batches, None)
            yield batch


def _remove_abandoned_loads(path: Path) -> None:
    """Delete the build folders of loads into ``path`` whose process is gone (killed loads)."""
    for folder in path.parent.glob(f".{path.name}.partial-*"):
        pid = folder.name.removeprefix(f".{path.name}.partial-").split("-", 1)[0]
        if not pid.isdigit() or _process_exists(int(pid)):
            continue  # a load still running, or a folder we did not name
        _remove_folder(folder)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_binary(path: Path, gz: bool) -> tuple[BinaryIO, BinaryIO]:
    raw = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    if not gz:
        return raw, raw
    import gzip

    return raw, gzip.GzipFile(fileobj=raw)


def _gzip_errors() -> tuple[type[Exception], ...]:
    """What reading a damaged gzip file raises (gzip imported only when a load fails)."""
    import gzip
    import zlib

    return (EOFError, zlib.error, gzip.BadGzipFile)


def _load_one(
    store: ox.Store, part: Part, fmt: ox.RdfFormat, gz: bool, done: int, total: int, progress: Progress | None
) -> None:
    """``_load_part`` with every way a file can fail turned into one InputError naming it."""
    path = part.path
    try:
        _load_part(store, part, fmt, gz, done, total, progress)
    except SyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
    except _gzip_errors() as exc:
        raise InputError(
            f"{path}: not a complete gzip file ({exc})", hint="compress it again, or load it uncompressed"
        ) from None
    except MemoryError:
        raise InputError(f"{path}: ran out of memory reading it (is one line or literal enormous?)") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None


def _load_part(
    store: ox.Store, part: Part, fmt: ox.RdfFormat, gz: bool, done: int, total: int, progress: Progress | None
) -> None:
    raw, stream = _open_binary(part.path, gz)
    with raw, stream:
        reader = _Counting(raw, stream, done, total, progress) if progress else stream
        if part.graph is None and fmt != ox.RdfFormat.N_QUADS:
            store.bulk_load(reader, format=fmt)  # the default graph only: Oxigraph's fastest path
        else:
            store.bulk_extend(part_quads(part, reader, fmt))
    if progress:
        progress(done + part.path.stat().st_size, total)


def load_parts(store: ox.Store, parts: Sequence[Part]) -> None:
    """Load the parts of a load (:func:`clinical_kg.layout.layout`) into a store, in their layout."""
    for part in parts:
        fmt, gz = rdf_format(part.path)
        _load_one(store, part, fmt, gz, 0, 0, None)


def _has_statement(path: Path, fmt: ox.RdfFormat, gz: bool) -> bool:
    raw, stream = _open_binary(path, gz)
    with raw, stream:
        return next(iter(ox.parse(stream, format=fmt)), None) is not None


def _swap_into_place(partial: Path, path: Path) -> None:
    if not path.exists():
        partial.rename(path)
        return
    import tempfile

    from clinical_kg.transaction import fsync_dir

    if path.is_dir() and any(path.iterdir()) and not (path / "CURRENT").exists():
        raise InputError(f"{path} is a folder but not an Oxigraph store", hint="give a new or empty folder")
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    old.rmdir()
    path.rename(old)
    partial.rename(path)  # a kill between the renames is undone by _restore_interrupted_swap
    _remove_folder(old)
    fsync_dir(path.parent)
