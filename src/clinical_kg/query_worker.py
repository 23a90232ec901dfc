"""What runs inside an endpoint query worker: a sandboxed process that holds the graph.

``ckg serve`` (:mod:`clinical_kg.server`) keeps the HTTP socket and hands each query to one of
a few worker processes over a pipe; a worker that overruns its deadline is killed and replaced
(shared/reference/security-findings.md, T11). Each worker, at start:

- leaves the network (:func:`clinical_kg.sandbox.isolate_from_network`), so even a ``SERVICE``
  that got past the check could reach nothing (T1); a worker that cannot leave it answers no
  query (T21) unless the endpoint was started with ``--allow-network-access``; sets a default
  socket timeout (T2) and an address-space limit, so a query that allocates without bound fails
  instead of the machine;
- loads the graph once on Oxigraph (linear-time ``REGEX``, T9), in the layout of ``ckg load``
  (:mod:`clinical_kg.layout`): the shipped files, each also as a named graph called after its
  dataset node (``ckgds:symptoms``, the vocabulary under its ontology IRI), so the protocol's
  ``default-graph-uri`` and ``named-graph-uri`` can pick graphs of the store, never graphs from
  the web (T3).

A request is a dict (``op`` = ``sparql``, ``catalogue`` or ``entity``; with ``ckg serve
--allow-update`` also ``update`` and ``graph-write``, applied to this worker's copy only); the
answer is a dict with ``status``, and ``body`` and ``type`` or ``message`` and ``hint``. Every
user query passes :func:`clinical_kg.sparql_safety.check_query` (no SERVICE in any form, no
FROM, no updates), the engine runs the canonical text it returns, and stops at ``max_rows``
rows; every update passes :func:`clinical_kg.sparql_safety.check_update` (no LOAD, no SERVICE).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from clinical_kg.catalogue import bind_parameters, get_query, load_catalogue, run_grouped, template_form
from clinical_kg.errors import ClinicalKGError, InputError, QueryError
from clinical_kg.layout import layout
from clinical_kg.namespaces import prefix_map
from clinical_kg.paging import Page, parse_page
from clinical_kg.results import GROUPED_WRITERS, to_csv, to_json, to_tsv
from clinical_kg.sandbox import IsolationError, bound_resources, isolate_from_network
from clinical_kg.sparql_safety import check_query, check_update
from clinical_kg.store import (
    KnowledgeGraph,
    OxigraphKnowledgeGraph,
    QueryResult,
    curated_files,
    ensure_store,
    load_parts,
)
from clinical_kg.terms import TermIndex

# Media types the endpoint offers, in order of preference, with the writer and the type sent back.
RESULT_TYPES: dict[str, tuple[str, str]] = {
    "application/sparql-results+json": ("json", "application/sparql-results+json"),
    "application/sparql-results+xml": ("xml", "application/sparql-results+xml"),
    "text/csv": ("csv", "text/csv; charset=utf-8"),
    "text/tab-separated-values": ("tsv", "text/tab-separated-values; charset=utf-8"),
    "application/json": ("json", "application/sparql-results+json"),
    "application/xml": ("xml", "application/sparql-results+xml"),
    "text/xml": ("xml", "application/sparql-results+xml"),
}
# Grouped catalogue answers (?group=true): not SPARQL results, so their own media types.
GROUPED_TYPES: dict[str, tuple[str, str]] = {
    "application/json": ("json", "application/json"),
    "text/csv": ("csv", "text/csv; charset=utf-8"),
    "text/tab-separated-values": ("tsv", "text/tab-separated-values; charset=utf-8"),
}
GRAPH_TYPES: dict[str, tuple[ox.RdfFormat, str]] = {
    "text/turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "application/n-triples": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    "text/n3": (ox.RdfFormat.N3, "text/n3; charset=utf-8"),
    "application/n-quads": (ox.RdfFormat.N_QUADS, "application/n-quads"),  # the triples, in the default graph
    "application/trig": (ox.RdfFormat.TRIG, "application/trig"),
    "application/ld+json": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "application/rdf+xml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    "application/x-turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "application/turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "text/plain": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
}

log = logging.getLogger("clinical_kg.query_worker")
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_DATASET_CLASSES = {
    ox.NamedNode("http://www.w3.org/ns/dcat#Dataset"),
    ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology"),
}


SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
"""A drawing opened on its own may style itself and do nothing else."""


@dataclass
class WorkerConfig:
    """What a worker needs to start: limits and where the graph is."""

    max_rows: int = 10_000
    max_bytes: int = 32 * 1024 * 1024  # serialised bytes per answer
    memory_mb: int = 4096
    socket_timeout: float = 3.0
    store_path: str | None = None
    data_dir: str | None = None  # the curated data folder (default: found by resources.locate_data)
    # Run queries even where the worker cannot be cut off from the network (ckg serve --allow-network-access).
    allow_network_access: bool = False
    # The form (SELECT, ...) of each catalogue query, checked once by the server at start
    # (parsing them all takes most of a second; a replacement worker should start quickly).
    catalogue_forms: dict[str, str] = field(default_factory=dict)
    # With ``ckg serve --allow-update``: the writes accepted so far, replayed into a replacement worker.
    writes: list[dict[str, Any]] = field(default_factory=list)
    # With ``ckg serve --endpoint``: the SPARQL server that holds the graph (clinical_kg.remote.serve).
    endpoint: Any = None


# ---------------------------------------------------------------- content negotiation


def negotiate(accept: str, offers: Iterable[str]) -> str | None:
    """The offered media type the Accept header likes best (ties: the first offered), or None.

    An empty header accepts the first offer. ``q=0`` refuses a type.
    """
    offers = list(offers)
    if not accept.strip():
        return offers[0] if offers else None
    ranges = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((fields[0].lower(), q))
    best, best_q = None, 0.0
    for offer in offers:
        kind = offer.split("/")[0]
        specificity, q = -1, 0.0
        for media, mq in ranges:
            if media == offer:
                rank = 2
            elif media == f"{kind}/*":
                rank = 1
            elif media in ("*/*", "*"):
                rank = 0
            else:
                continue
            if rank > specificity:
                specificity, q = rank, mq
        if q > best_q:
            best, best_q = offer, q
    return best


# ---------------------------------------------------------------- serialisation


def to_xml(result: QueryResult) -> str:
    """SPARQL Query Results XML Format."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if result.form == "ASK":
        out += ["  <head/>", f"  <boolean>{'true' if result.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("  <head>")
    out += [f"    <variable name={quoteattr(v)}/>" for v in result.variables]
    out += ["  </head>", "  <results>"]
    for row in result.rows:
        out.append("    <result>")
        for var, term in zip(result.variables, row, strict=True):
            if term is not None:
                out.append(f"      <binding name={quoteattr(var)}>{_xml_term(term)}</binding>")
        out.append("    </result>")
    out += ["  </results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _xml_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{escape(str(term))}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{escape(str(term))}</bnode>"
    assert isinstance(term, Literal)
    attributes = ""
    if term.language:
        attributes = f" xml:lang={quoteattr(term.language)}"
    elif term.datatype is not None:
        attributes = f" datatype={quoteattr(str(term.datatype))}"
    return f"<literal{attributes}>{escape(str(term))}</literal>"


_WRITERS = {"json": to_json, "xml": to_xml, "csv": to_csv, "tsv": to_tsv}


def error(status: int, message: str, hint: str | None = None) -> dict[str, Any]:
    """An error answer."""
    return {"status": status, "message": message, "hint": hint}


def _not_acceptable(form: str) -> dict[str, Any]:
    offered = GRAPH_TYPES if form in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES
    return error(406, f"no acceptable media type for a {form} result", hint="ask for one of: " + ", ".join(offered))


# ---------------------------------------------------------------- the graph


def build_store(path: Path, data_dir: Path | None = None) -> int:
    """Make sure the on-disk store at ``path`` holds the curated data, in the layout of ``ckg load``.

    Built (or rebuilt after the data changed) by :func:`clinical_kg.store.ensure_store`, in a
    sibling folder renamed into place (T17). Returns the number of quads in the store.
    """
    ensure_store(path, data_dir=data_dir)
    return len(ox.Store.read_only(str(path)))


def open_store(config: WorkerConfig) -> OxigraphKnowledgeGraph:
    """The graph: read-only from ``store_path``, else loaded from the shipped files into memory."""
    kg = OxigraphKnowledgeGraph()
    if config.store_path:
        kg.store = ox.Store.read_only(config.store_path)
    else:
        load_parts(kg.store, layout(curated_files(Path(config.data_dir) if config.data_dir else None)))
    return kg


# ---------------------------------------------------------------- answering


_ENTITY_OUT = """
SELECT ?p ?pLabel ?o ?oLabel WHERE {
  VALUES ?entity { }
  ?entity ?p ?o .
  OPTIONAL { ?p rdfs:label ?pLabel FILTER (LANGMATCHES(LANG(?pLabel), "en")) }
  OPTIONAL { ?o skos:prefLabel|rdfs:label|dcterms:title ?oLabel }
} ORDER BY ?p ?o
"""
_ENTITY_IN = """
SELECT ?s ?sLabel ?p ?pLabel WHERE {
  VALUES ?entity { }
  ?s ?p ?entity .
  FILTER (?p NOT IN (rdf:subject, rdf:object))
  OPTIONAL { ?p rdfs:label ?pLabel FILTER (LANGMATCHES(LANG(?pLabel), "en")) }
  OPTIONAL { ?s skos:prefLabel|rdfs:label|dcterms:title ?sLabel }
} ORDER BY ?p ?s
"""
_ENTITY_EVIDENCE = """
SELECT ?assertion ?s ?sLabel ?p ?pLabel ?o ?oLabel ?hedge ?quote ?source ?sourceTitle ?negated WHERE {
  VALUES ?entity { }
  { ?assertion rdf:subject ?entity } UNION { ?assertion rdf:object ?entity }
  ?assertion a ckg:Assertion ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; ckg:evidenceQuote ?quote .
  OPTIONAL { ?assertion ckg:hedge ?hedge }
  OPTIONAL { ?assertion ckg:negated ?negated }
  OPTIONAL { ?assertion ckg:source ?source OPTIONAL { ?source dcterms:title ?sourceTitle } }
  OPTIONAL { ?s skos:prefLabel ?sLabel }
  OPTIONAL { ?o skos:prefLabel|rdfs:label ?oLabel }
  OPTIONAL { ?p rdfs:label ?pLabel FILTER (LANGMATCHES(LANG(?pLabel), "en")) }
} ORDER BY ?p ?s ?o ?assertion
"""


def catalogue_forms() -> dict[str, str]:
    """The form of every catalogue query, as the safety check found it (no SERVICE, no FROM, no update)."""
    return {name: template_form(query) for name, query in load_catalogue().items()}


def _plain(term: Any) -> dict[str, str] | None:
    """An Oxigraph term as a small JSON-able dict."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["lang"] = term.language
    return out


class Engine:
    """The loaded graph and everything needed to answer requests."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.kg = open_store(config)
        self.store = self.kg.store
        self.prefixes = prefix_map()
        self.index = TermIndex(self.kg)
        self.graph_names = sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))
        # The catalogue's own texts are checked once; binding only puts N-Triples terms of the
        # graph (or escaped literals) into their VALUES blocks, so bound texts need no new check.
        self.forms = config.catalogue_forms or catalogue_forms()
        for write in config.writes:
            self.handle(write)

    def info(self) -> dict[str, Any]:
        """What the service description says about the dataset."""
        triples = sum(1 for _ in self.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        return {"triples": triples, "graphs": self.graph_names}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; domain errors become 4xx answers."""
        try:
            op = request["op"]
            if op == "sparql":
                return self.sparql(request["query"], request.get("accept", ""), request.get("default_graphs", []),
                                   request.get("named_graphs", []), request.get("base"))  # fmt: skip
            if op == "catalogue":
                return self.catalogue(request["name"], request.get("values", {}), request.get("accept", ""),
                                      request.get("page", {}), request.get("group", False))  # fmt: skip
            if op == "entity":
                return self.entity(request["iri"])
            if op == "update":
                return self.update(request["update"])
            if op == "graph-write":
                return self.graph_write(request["method"], request.get("graph"), request.get("data", b""),
                                        request.get("format", ""))  # fmt: skip
            if op in ("path", "differential", "drawing"):
                return self.analysis(op, request)
            if op == "ping":
                return {"status": 200, "pid": os.getpid()}
            return error(400, f"unknown operation {op!r}")
        except ClinicalKGError as exc:
            return error(400, exc.message, exc.hint)
        except SyntaxError as exc:
            return error(400, f"SPARQL syntax error: {exc.msg}")
        except MemoryError:
            return error(503, "the query needed more memory than a query worker may use", "add a LIMIT or narrow it")

    def sparql(
        self, text: str, accept: str, default_graphs: list[str], named_graphs: list[str], base: str | None = None
    ) -> dict[str, Any]:
        """A user query: checked, run on Oxigraph over the chosen dataset, capped, serialised.

        Relative IRIs in the query (``<s>``) are resolved against ``base``, the endpoint's URL, by the
        check: the engine runs the checked text, with absolute IRIs only.
        """
        checked = check_query(text, self.prefixes, base)
        dataset: dict[str, Any] = {}
        if default_graphs or named_graphs:
            unknown = [g for g in default_graphs + named_graphs if g not in self.graph_names]
            if unknown:
                raise QueryError(
                    f"<{unknown[0]}> is not a graph of this dataset: the endpoint never loads graphs from URLs",
                    hint="graphs: " + ", ".join(self.graph_names),
                )
            dataset = {"default_graph": [ox.NamedNode(g) for g in default_graphs],
                       "named_graphs": [ox.NamedNode(g) for g in named_graphs]}  # fmt: skip
        return self._run(checked.text, checked.form, accept, dataset)

    def catalogue(
        self, name: str, values: dict[str, list[str]], accept: str, page: dict[str, str] | None = None,
        group: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """A catalogue query with its parameters bound as on the command line; with ``limit`` and
        ``offset`` one page of it, the headers saying which rows of how many; with ``group``, its
        grouped form (:meth:`grouped`)."""
        try:
            query = get_query(name)
        except QueryError as exc:
            return error(404, exc.message, exc.hint)
        chosen = parse_page((page or {}).get("limit"), (page or {}).get("offset"))
        if group:
            return grouped_answer(self.kg, self.index, self.config, name, values, accept, chosen)
        text, _ = bind_parameters(query, values, self.index)
        form = self.forms[name]
        if chosen.whole or form != "SELECT":
            return self._run(text, form, accept, {})
        return self._run(text, form, accept, {}, page=chosen)

    def _run(self, text: str, form: str, accept: str, dataset: dict, page: Page | None = None) -> dict[str, Any]:
        """Run, cap at ``max_rows`` rows and ``max_bytes`` bytes (flagged in ``X-CKG-Truncated``), serialise.

        Rows are taken only while a lower bound of their serialised size (the lengths of their
        values) stays under the byte cap, so a worker never holds much more than the cap. With a
        ``page`` (a SELECT), the query is evaluated once: its rows are counted as they come and only
        the page's kept (:meth:`clinical_kg.paging.Page.take`), the headers saying which of how many.
        """
        graph_result = form in ("CONSTRUCT", "DESCRIBE")
        media = negotiate(accept, GRAPH_TYPES if graph_result else RESULT_TYPES)
        if media is None:
            return _not_acceptable(form)
        dataset = dataset or self.kg.dataset()  # no dataset asked for: the default and imported graphs
        answer = self.store.query(text, use_default_graph_as_union=False, **dataset)
        headers: dict[str, str] = {}
        if form == "ASK":
            writer, content_type = RESULT_TYPES[media]
            body = _WRITERS[writer](QueryResult(form, boolean=bool(answer))).encode("utf-8")
            return {"status": 200, "type": content_type, "body": body, "headers": headers, "rows": 0}
        if graph_result:
            rdf_format, content_type = GRAPH_TYPES[media]
            items, truncated = self._take(answer, lambda t: (t, (t.subject, t.predicate, t.object)))

            def serialise(count: int) -> bytes:
                return ox.serialize(items[:count], format=rdf_format, prefixes=self.prefixes)
        else:
            variables = [v.value for v in answer.variables]
            solutions: Any = answer
            if page is not None:
                solutions, total = page.take(answer)
                headers.update({"X-CKG-Total-Rows": str(total), "X-CKG-Offset": str(page.offset)})
                if page.limit is not None:
                    headers["X-CKG-Limit"] = str(page.limit)
            items, truncated = self._take(solutions, lambda s: (row := tuple(s[i] for i in range(len(variables))), row))
            writer, content_type = RESULT_TYPES[media]

            def serialise(count: int) -> bytes:  # the writers read pyoxigraph's terms as they are
                return _WRITERS[writer](QueryResult(form, variables=variables, terms=items[:count])).encode("utf-8")

        count = len(items)
        try:
            body = serialise(count)
        except TypeError as exc:  # RDF 1.2 triple terms, directional literals
            return error(400, f"the result cannot be written in the SPARQL 1.1 formats: {exc}")
        while len(body) > self.config.max_bytes and count:  # the bound was low: drop rows until it fits
            count = min(count - 1, int(count * self.config.max_bytes / len(body) * 0.95))
            body, truncated = serialise(count), f"max-bytes={self.config.max_bytes}"
        if truncated:
            headers["X-CKG-Truncated"] = truncated
        return {"status": 200, "type": content_type, "body": body, "headers": headers, "rows": count}

    def _take(self, answer: Any, split: Any) -> tuple[list[Any], str | None]:
        """The rows (or triples) of ``answer`` within the row cap and, roughly, the byte cap; why it stopped.

        ``split`` gives, for one solution or triple, what to keep and the terms whose lengths count.
        """
        taken: list[Any] = []
        size = 0
        for item in answer:
            if len(taken) == self.config.max_rows:
                return taken, f"max-rows={self.config.max_rows}"
            kept, terms = split(item)
            size += sum(len(getattr(term, "value", "")) for term in terms if term is not None)
            if size > self.config.max_bytes:
                return taken, f"max-bytes={self.config.max_bytes}"
            taken.append(kept)
        return taken, None

    def update(self, text: str) -> dict[str, Any]:
        """SPARQL Update on this worker's copy of the graph (``--allow-update`` only)."""
        self.store.update(check_update(text, self.prefixes))
        self._changed()
        return {"status": 204}

    def graph_write(self, method: str, graph: str | None, data: bytes, media: str) -> dict[str, Any]:
        """Graph Store PUT, POST or DELETE on this worker's copy (``--allow-update`` only)."""
        try:
            target = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
        except ValueError:
            return error(400, f"not an IRI: {graph!r}")
        exists = graph is None or self.store.contains_named_graph(target)
        if method == "DELETE":
            if not exists:
                return error(404, f"no graph <{graph}> in this store")
            self.store.remove_graph(target)
        else:
            formats = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES}
            try:
                triples = list(ox.parse(data, format=formats[media]))
            except SyntaxError as exc:
                raise InputError(f"the {media} body does not parse: {exc}") from None
            quads = [ox.Quad(t.subject, t.predicate, t.object, target) for t in triples]
            if method == "PUT" and exists:
                self.store.clear_graph(target)
            self.store.extend(quads)
        self._changed()
        return {"status": 201 if method == "PUT" and not exists else 204}

    def analysis(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        """A path, a differential (JSON) or a neighbourhood drawing (SVG), as ``ckg path``, ``ckg
        differential`` and ``ckg draw`` answer them (:mod:`clinical_kg.analysis.questions`)."""
        from clinical_kg.analysis import questions

        if op == "drawing":
            svg = questions.ask_drawing(self.kg, request["term"], "svg", request.get("depth", 2),
                                        request.get("max_nodes", 30), index=self.index)  # fmt: skip
            return {"status": 200, "type": "image/svg+xml", "body": svg, "headers": dict(SVG_HEADERS)}
        if op == "path":
            answer = questions.ask_path(
                self.kg, request["from"], request["to"], request.get("max_length", 2), request.get("relations", []),
                request.get("k", 3), index=self.index)  # fmt: skip
        else:
            answer = questions.ask_differential(self.kg, request["symptoms"], request.get("top", 10),
                                                request.get("sources", []), index=self.index)  # fmt: skip
        body = json.dumps(answer.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
        return {"status": 200, "type": "application/json", "body": body}

    def _changed(self) -> None:
        self.kg.changed()
        self.index = TermIndex(self.kg)
        self.graph_names = sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def entity(self, iri: str) -> dict[str, Any]:
        """An entity's labels, relations out and in, and the evidence quotes that mention it."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return error(400, f"not an IRI: {iri!r}")
        names = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dcterms": "http://purl.org/dc/terms/",
                 **self.prefixes}  # fmt: skip

        def rows(text: str) -> list[dict[str, Any]]:
            # The IRI goes in as a term (NamedNode checked it), never as text of the query.
            text = text.replace("VALUES ?entity { }", "VALUES ?entity { " + str(node) + " }")
            answer = self.store.query(text, prefixes=names)
            variables = [v.value for v in answer.variables]
            found = itertools.islice(answer, self.config.max_rows)
            return [{v: _plain(s[v]) for v in variables} for s in found]

        out, incoming = rows(_ENTITY_OUT), rows(_ENTITY_IN)
        if not out and not incoming:
            return error(404, f"nothing in the graph is called <{iri}>", "follow a link from a result table")
        return {"status": 200, "iri": iri, "out": out, "in": incoming, "evidence": rows(_ENTITY_EVIDENCE)}


# ---------------------------------------------------------------- the process


def grouped_answer(kg: KnowledgeGraph, index: TermIndex, config: WorkerConfig, name: str,
                   values: dict[str, list[str]], accept: str, page: Page) -> dict[str, Any]:  # fmt: skip
    """The grouped form of a catalogue answer (:mod:`clinical_kg.grouping`) as JSON, CSV or TSV;
    ``X-CKG-Total-Groups`` says how many groups the whole answer has. The flat answer of a
    catalogue question is bounded by the graph and by the worker's deadline; the groups sent are
    capped at ``max_rows`` and ``max_bytes`` as any answer is (``X-CKG-Truncated``)."""
    media = negotiate(accept, GROUPED_TYPES)
    if media is None:
        return error(406, "no format of grouped answers matches the Accept header",
                     "ask for one of: " + ", ".join(GROUPED_TYPES))  # fmt: skip
    writer, content_type = GROUPED_TYPES[media]
    result = run_grouped(kg, name, values, index, page)
    headers = {"X-CKG-Total-Groups": str(result.total), "X-CKG-Offset": str(result.offset)}
    if page.limit is not None:
        headers["X-CKG-Limit"] = str(page.limit)
    groups, truncated = result.native_groups, None
    if len(groups) > config.max_rows:
        groups, truncated = groups[: config.max_rows], f"max-rows={config.max_rows}"
    count = len(groups)
    body = GROUPED_WRITERS[writer](replace(result, native_groups=groups)).encode("utf-8")
    while len(body) > config.max_bytes and count:  # drop groups until it fits
        count = min(count - 1, int(count * config.max_bytes / len(body) * 0.95))
        body = GROUPED_WRITERS[writer](replace(result, native_groups=groups[:count])).encode("utf-8")
        truncated = f"max-bytes={config.max_bytes}"
    if truncated:
        headers["X-CKG-Truncated"] = truncated
    return {"status": 200, "type": content_type, "body": body, "headers": headers, "rows": count}


def worker_main(conn: Any, config: WorkerConfig) -> None:
    """Entry point of a worker process: sandbox, load, then answer requests until the pipe closes.

    A worker that cannot be cut off from the network answers nothing (its first message says
    why), unless ``config.allow_network_access``.
    """
    bound_resources(config.socket_timeout, config.memory_mb)
    try:
        if config.endpoint is not None:  # a front for a SPARQL server: that server's address and nothing else
            from clinical_kg.remote.serve import confine

            network = confine(config.endpoint)
        else:
            isolate_from_network()
            network = "isolated"
    except IsolationError as exc:
        if not config.allow_network_access:
            conn.send({"ready": False, "isolation": exc.message, "error": exc.message, "hint": exc.hint})
            return
        network = f"shared: {exc.message}"
    try:
        if config.endpoint is None:
            engine: Any = Engine(config)
        else:
            from clinical_kg.remote.serve import RemoteEngine

            engine = RemoteEngine(config)
    except Exception as exc:
        conn.send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    conn.send({"ready": True, "pid": os.getpid(), "network": network, **engine.info()})
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        send_reply(conn, answer(engine, request))


def answer(engine: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The engine's answer; for an unexpected error a 500 that names an incident, never internal text.

    The traceback goes to the server's log under that incident id (T28).
    """
    try:
        return engine.handle(request)
    except Exception:  # a bug, not the user's fault: log it here, answer without internals, keep serving
        incident = secrets.token_hex(4)
        log.exception("internal error %s in query worker %s", incident, os.getpid())
        return error(500, f"internal error {incident}: the server log has the details")


CHUNK = 64 * 1024


def send_reply(conn: Any, reply: dict[str, Any]) -> None:
    """Send an answer; a body over CHUNK bytes follows the head in chunks, ended by an empty one.

    The front end passes each chunk on to the client before it takes the next, so it never
    holds a whole answer (T22); the pipe's capacity makes this worker wait for it.
    """
    body = reply.get("body")
    if body is None or len(body) <= CHUNK:
        conn.send(reply)
        return
    conn.send({**{k: v for k, v in reply.items() if k != "body"}, "chunked": len(body)})
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        conn.send_bytes(view[start : start + CHUNK])
    conn.send_bytes(b"")
