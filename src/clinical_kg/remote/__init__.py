"""An external SPARQL server as the store (``--endpoint URL``): the ``sparql`` store choice.

The graph lives on a server such as Oxigraph server, Apache Jena Fuseki or Virtuoso, loaded by
``ckg load --endpoint`` (:mod:`~clinical_kg.remote.load`) in this layout:

- one named graph per loaded file, named as in the N-Quads export (the vocabulary under its
  ontology IRI, each data file under its dataset node, ``ckgds:conditions``);
- ``ckgds:`` itself (``https://w3id.org/clinical-kg/dataset/``): the union of those graphs, the
  default graph of every query (a graph, not the server's own union of graphs, which would also
  hold the server's system graphs, and which Oxigraph and Virtuoso give as a bag, repeating a
  triple that two files hold);
- ``ckgds:#load``: the record of the load (its graphs; when it started and ended).

Every query names that dataset with the protocol's ``default-graph-uri`` and ``named-graph-uri``,
so the query text the server runs is the text that was checked: a user's query is sent as the
canonical text :func:`clinical_kg.sparql_safety.check_query` returns (no ``SERVICE``, no ``FROM``,
no updates; full IRIs, so the project's predeclared prefixes need not be sent).

This is the one deliberate exception to "nothing reaches the network": the endpoint the user
configured is contacted, and nothing else. ``SERVICE`` stays refused on our side, so the server is
never asked to reach further.

- :mod:`~clinical_kg.remote.config`: URLs, credentials (environment or netrc), limits;
- :mod:`~clinical_kg.remote.protocol`: the HTTP requests, their errors, retries and caps;
- :mod:`~clinical_kg.remote.load`: ``ckg load --endpoint``;
- :mod:`~clinical_kg.remote.pull`: what validation and exports copy from the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg.errors import InputError
from clinical_kg.namespaces import bind_prefixes, prefix_map
from clinical_kg.paging import Page, count_text
from clinical_kg.remote.config import Endpoint, configure
from clinical_kg.remote.protocol import GRAPH_TYPES, Client, EndpointError
from clinical_kg.store import KnowledgeGraph, OxigraphKnowledgeGraph, QueryResult, from_oxigraph

__all__ = ["Endpoint", "EndpointError", "SparqlKnowledgeGraph", "configure"]

DATASET = prefix_map()["ckgds"]
UNION_GRAPH = DATASET  # the whole graph: every query's default graph
LOAD_GRAPH = DATASET + "#load"  # the record of the load
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_LOAD_RECORD = f"""
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?part ?started ?ended WHERE {{
  {{ <{DATASET}> dcterms:hasPart ?part }}
  UNION {{ <{LOAD_GRAPH}> prov:startedAtTime ?started }}
  UNION {{ <{LOAD_GRAPH}> prov:endedAtTime ?ended }}
}}
"""


def term(value: dict[str, str] | None) -> Node | None:
    """The rdflib term of a SPARQL JSON results binding, normalised as the embedded store's are.

    A literal typed xsd:string is a plain literal; Virtuoso's ``typed-literal`` is a literal;
    its blank node ids (``nodeID://b10003``) lose the scheme, so they match its N-Triples.
    """
    if value is None:
        return None
    kind, text = value.get("type"), value.get("value", "")
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text.removeprefix("nodeID://"))
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in value:
            return Literal(text, lang=value["xml:lang"])
        datatype = value.get("datatype")
        return Literal(text) if datatype in (None, _XSD_STRING) else Literal(text, datatype=URIRef(datatype))
    raise EndpointError(f"the endpoint answered a term rdflib cannot hold: {value!r}")


def with_prologue(text: str, prefixes: dict[str, str]) -> str:
    """``text`` with a PREFIX line for each of ``prefixes`` it does not declare itself."""
    declared = {m.lower() for m in re.findall(r"(?i)\bPREFIX\s+([\w.-]*):", text)}
    lines = [f"PREFIX {name}: <{iri}>" for name, iri in prefixes.items() if name.lower() not in declared]
    return "\n".join([*lines, text]) if lines else text


class SparqlKnowledgeGraph(KnowledgeGraph):
    """The graph on an external SPARQL server, loaded there by ``ckg load --endpoint``."""

    store_name = "sparql"

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.client = Client(endpoint)
        self._parts: list[str] | None = None
        self._copy: OxigraphKnowledgeGraph | None = None

    def parts(self) -> list[str]:
        """The named graphs of the load (one per file), read from its record once."""
        if self._parts is None:
            self._parts = read_parts(self.client)
        return self._parts

    def load(self, paths: Iterable[Path]) -> None:
        raise InputError("files are loaded onto a SPARQL server with `ckg load FILE... --endpoint URL`")

    def _run(self, text: str, form: str, prefixes: dict[str, str]) -> QueryResult:
        return self.run(with_prologue(text, prefixes) if prefixes else text, form)

    def query_page(self, text: str, page: Page) -> QueryResult:
        """The page (``LIMIT`` and ``OFFSET``) and the count as two queries: only the page's rows are sent."""
        result = self.query_trusted(page.text(text))
        result.total = int(self.query_trusted(count_text(text)).rows[0][0])
        result.offset = page.offset
        return result

    def _dataset(self, default_graphs: list[str] | None, named_graphs: list[str] | None) -> tuple[list, list]:
        if default_graphs is None and named_graphs is None:
            return [UNION_GRAPH], self.parts()  # the load's dataset
        return default_graphs or [], named_graphs or []

    def run(
        self, text: str, form: str, default_graphs: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> QueryResult:
        """Send a checked (or package-written) query over the load's dataset, or over the graphs given."""
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = bind_prefixes(Graph())
            for triple in self.triples_of(text, default_graphs, named_graphs):
                graph.add(triple)
            return QueryResult(form, graph=graph)
        answer = self.client.select(text, *self._dataset(default_graphs, named_graphs))
        if form == "ASK":
            if not isinstance(answer.get("boolean"), bool):
                raise EndpointError(f"the answer of {self.endpoint.query_url} to an ASK query has no boolean")
            return QueryResult(form, boolean=answer["boolean"])
        try:
            variables = list(answer["head"]["vars"])
            bindings = answer["results"]["bindings"]
        except (KeyError, TypeError):
            raise EndpointError(f"the answer of {self.endpoint.query_url} is not SELECT results") from None
        rows = [tuple(term(binding.get(v)) for v in variables) for binding in bindings]
        return QueryResult(form, variables=variables, rows=rows)

    def statements(
        self, text: str, default_graphs: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> Any:
        """The pyoxigraph triples of a CONSTRUCT or DESCRIBE query, parsed as they stream in."""
        body = self.client.query(text, *self._dataset(default_graphs, named_graphs), GRAPH_TYPES)
        fmt = _RDF_FORMATS.get(body.media_type)
        if fmt is None:
            body.close()
            raise EndpointError(f"the endpoint answered a graph as {body.media_type or 'no type'}, not RDF")
        try:
            yield from ox.parse(body, format=fmt, rename_blank_nodes=True)  # never merged with another answer's
        except SyntaxError as exc:
            raise EndpointError(f"the endpoint's {body.media_type} answer does not parse: {exc}") from None
        finally:
            body.close()

    def triples_of(
        self, text: str, default_graphs: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> Iterable[tuple[Node, Node, Node]]:
        """The rdflib triples of a CONSTRUCT or DESCRIBE query (over the load's dataset, or the graphs given)."""
        for triple in self.statements(text, default_graphs, named_graphs):
            yield from_oxigraph(triple.subject), from_oxigraph(triple.predicate), from_oxigraph(triple.object)

    def __len__(self) -> int:
        rows = self.query_trusted("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows
        return int(rows[0][0])

    def local_copy(self) -> OxigraphKnowledgeGraph:
        """The whole graph copied into an in-memory Oxigraph store, streamed in once (one copy)."""
        if self._copy is None:
            store = ox.Store()
            store.extend(
                ox.Quad(t.subject, t.predicate, t.object)
                for t in self.statements("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
            )
            self._copy = OxigraphKnowledgeGraph(store)
        return self._copy

    @property
    def graph(self) -> Graph:
        """An rdflib view of :meth:`local_copy` (the server's graph is not changed through it)."""
        return self.local_copy().graph

    def memory_graph(self) -> Graph:
        return self.local_copy().memory_graph()


def read_parts(client: Client) -> list[str]:
    """The graphs of the finished load recorded on the server, or a clear error."""
    answer = client.select(_LOAD_RECORD, [LOAD_GRAPH], [])
    rows = [{v: term(b.get(v)) for v in ("part", "started", "ended")} for b in answer["results"]["bindings"]]
    parts = sorted(str(r["part"]) for r in rows if r["part"] is not None)
    started = [r["started"] for r in rows if r["started"] is not None]
    ended = [r["ended"] for r in rows if r["ended"] is not None]
    url = client.endpoint.query_url
    if not parts and not started:
        raise EndpointError(
            f"the SPARQL endpoint {url} holds no clinical-kg graph (no load record in <{LOAD_GRAPH}>)",
            hint="load it first: ckg load --endpoint URL --update-endpoint URL [--graph-store URL]",
        )
    if started and not ended:
        raise EndpointError(
            f"a load into the SPARQL endpoint {url}, started at {started[0]}, has not finished (or was stopped)",
            hint="wait for it to end, or run `ckg load --endpoint ...` again",
        )
    return parts
