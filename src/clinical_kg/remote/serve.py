"""``ckg serve --endpoint URL``: the endpoint as a safe, read-only front for an external SPARQL server.

The front keeps everything ``ckg serve`` promises (:mod:`clinical_kg.server`): the same routes,
the same checks (no ``SERVICE``, no ``FROM``, no updates: the text checked is the text the server
runs), the same row cap, timeout and worker pool. What changes is where a worker finds the graph:
it asks the server (:class:`~clinical_kg.remote.SparqlKnowledgeGraph`) instead of holding a copy.

Such a worker cannot leave the network, since it must reach the server; instead
:func:`confine` lets it connect to the server's address and nowhere else, resolve no other name,
and start no process (a Python audit hook, which cannot be removed once set). Writes are refused:
the front never changes the server. A fault of the server is the front's 502 (or 504 for a
timeout), with the message ``ckg`` gives.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from rdflib import BNode, URIRef
from rdflib.term import Node

from clinical_kg.catalogue import bind_parameters, get_query
from clinical_kg.errors import ClinicalKGError, QueryError
from clinical_kg.namespaces import prefix_map
from clinical_kg.paging import parse_page
from clinical_kg.query_worker import (
    _ENTITY_EVIDENCE,
    _ENTITY_IN,
    _ENTITY_OUT,
    _WRITERS,
    GRAPH_TYPES,
    RESULT_TYPES,
    WorkerConfig,
    _not_acceptable,
    catalogue_forms,
    error,
    grouped_answer,
    negotiate,
)
from clinical_kg.remote import SparqlKnowledgeGraph, with_prologue
from clinical_kg.remote.config import Endpoint
from clinical_kg.remote.protocol import EndpointError
from clinical_kg.sparql_safety import check_query
from clinical_kg.store import QueryResult
from clinical_kg.terms import TermIndex

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # bytes a worker reads of one answer of the server
_REFUSED_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def confine(endpoint: Endpoint) -> str:
    """Let this process connect only to the endpoint's query URL: no other address, name or process."""
    host, port = _address(endpoint.query_url)
    allowed = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.connect":
            address = args[1]
            if not (isinstance(address, tuple) and address[0] in allowed and address[1] == port):
                raise PermissionError(f"a query worker may connect to {host}:{port} only, not {address!r}")
        elif event == "socket.getaddrinfo" and args[0] not in (host, *allowed):
            raise PermissionError(f"a query worker may look up {host} only, not {args[0]!r}")
        elif event in _REFUSED_EVENTS:
            raise PermissionError(f"a query worker may not start processes ({event})")

    sys.addaudithook(hook)
    return f"only {host}:{port}"


def _plain(term: Node | None) -> dict[str, str] | None:
    """An rdflib term as the small dict the entity page reads."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if getattr(term, "language", None):
        out["lang"] = term.language
    return out


class RemoteEngine:
    """Answers a worker's requests from the graph on the server (the ``Engine`` of a front)."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        endpoint: Endpoint = config.endpoint
        self.kg = SparqlKnowledgeGraph(replace(endpoint, max_bytes=min(endpoint.max_bytes, MAX_ANSWER_BYTES)))
        self.prefixes = prefix_map()
        self.graph_names = sorted(self.kg.parts())
        self.index = TermIndex(self.kg)
        self.forms = config.catalogue_forms or catalogue_forms()

    def info(self) -> dict[str, Any]:
        """What the service description says about the dataset."""
        return {"triples": len(self.kg), "graphs": self.graph_names, "endpoint": self.kg.endpoint.query_url}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; the server's faults become 502 and 504, domain errors 4xx."""
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
            if op in ("update", "graph-write"):
                return error(403, f"this endpoint is a read-only front for {self.kg.endpoint.query_url}",
                             "change the graph on the server itself, e.g. with `ckg load --endpoint`")  # fmt: skip
            if op == "ping":
                return {"status": 200, "pid": os.getpid()}
            return error(400, f"unknown operation {op!r}")
        except EndpointError as exc:
            return error(504 if "did not answer within" in exc.message else 502, exc.message, exc.hint)
        except ClinicalKGError as exc:
            return error(400, exc.message, exc.hint)
        except MemoryError:
            return error(503, "the answer needed more memory than a query worker may use", "add a LIMIT or narrow it")

    def sparql(
        self, text: str, accept: str, default_graphs: list[str], named_graphs: list[str], base: str | None = None
    ) -> dict[str, Any]:
        """A user query: checked, and sent as the check's canonical text over the chosen graphs.

        Relative IRIs resolve against ``base`` (the front's URL) in the check, as on the embedded
        endpoint, so the server is sent absolute IRIs only.
        """
        checked = check_query(text, self.prefixes, base)
        unknown = [g for g in default_graphs + named_graphs if g not in self.graph_names]
        if unknown:
            raise QueryError(
                f"<{unknown[0]}> is not a graph of this dataset: the endpoint never loads graphs from URLs",
                hint="graphs: " + ", ".join(self.graph_names),
            )
        dataset = (default_graphs, named_graphs) if default_graphs or named_graphs else None
        return self._run(checked.text, checked.form, accept, dataset)

    def catalogue(self, name: str, values: dict[str, list[str]], accept: str, page: dict[str, str] | None = None,
                  group: bool = False) -> dict[str, Any]:  # fmt: skip
        """A catalogue query with its parameters bound as on the command line; with ``group``, its
        grouped form, a page of it with ``limit`` and ``offset``."""
        try:
            query = get_query(name)
        except QueryError as exc:
            return error(404, exc.message, exc.hint)
        if group:
            chosen = parse_page((page or {}).get("limit"), (page or {}).get("offset"))
            return grouped_answer(self.kg, self.index, self.config, name, values, accept, chosen)
        text, _ = bind_parameters(query, values, self.index)
        return self._run(text, self.forms[name], accept, None)

    def _run(self, text: str, form: str, accept: str, dataset: tuple[list[str], list[str]] | None) -> dict[str, Any]:
        """Send, cap at ``max_rows`` rows and ``max_bytes`` serialised bytes (flagged in ``X-CKG-Truncated``)."""
        graph_result = form in ("CONSTRUCT", "DESCRIBE")
        media = negotiate(accept, GRAPH_TYPES if graph_result else RESULT_TYPES)
        if media is None:
            return _not_acceptable(form)
        limit, truncated = self.config.max_rows, None
        if graph_result:
            triples = list(itertools.islice(self.kg.statements(text, *(dataset or (None, None))), limit + 1))
            if len(triples) > limit:
                triples, truncated = triples[:limit], f"max-rows={limit}"
            rdf_format, content_type = GRAPH_TYPES[media]

            def serialise(count: int) -> bytes:
                return ox.serialize(triples[:count], format=rdf_format, prefixes=self.prefixes)

            count = len(triples)
        else:
            result = self.kg.run(text, form, *(dataset or (None, None)))
            if len(result.rows) > limit:
                result, truncated = QueryResult(form, result.variables, result.rows[:limit]), f"max-rows={limit}"
            writer, content_type = RESULT_TYPES[media]

            def serialise(count: int) -> bytes:
                cut = QueryResult(form, result.variables, result.rows[:count], result.boolean)
                return _WRITERS[writer](cut).encode("utf-8")

            count = len(result.rows)
        body = serialise(count)
        while len(body) > self.config.max_bytes and count:  # as the embedded endpoint: drop rows until it fits
            count = min(count - 1, int(count * self.config.max_bytes / len(body) * 0.95))
            body, truncated = serialise(count), f"max-bytes={self.config.max_bytes}"
        headers = {"X-CKG-Truncated": truncated} if truncated else {}
        return {"status": 200, "type": content_type, "body": body, "headers": headers, "rows": count}

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
            text = with_prologue(text.replace("VALUES ?entity { }", "VALUES ?entity { " + str(node) + " }"), names)
            result = self.kg.query_trusted(text)
            found = result.dicts()[: self.config.max_rows]
            return [{v: _plain(row[v]) for v in result.variables} for row in found]

        out, incoming = rows(_ENTITY_OUT), rows(_ENTITY_IN)
        if not out and not incoming:
            return error(404, f"nothing in the graph is called <{iri}>", "follow a link from a result table")
        return {"status": 200, "iri": iri, "out": out, "in": incoming, "evidence": rows(_ENTITY_EVIDENCE)}
