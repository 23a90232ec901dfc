"""What validation and exports copy from the server, and no more.

- :func:`candidate_data`: for checking a curator's candidate, the part of the server's curated data
  that the checks read (:func:`clinical_kg.curation.validate_candidate`): the focus nodes'
  neighbourhood (the records about them, their own triples and those of their ``ckg:broader``
  chain, one step per query), the classes of the terms in it and the owners of the candidate's
  labels, in a few CONSTRUCT queries whose size follows the candidate, not the graph.
- :func:`graphs_for`: the whole graph, one named graph per loaded file, for exports.

A whole-graph validation reads :meth:`SparqlKnowledgeGraph.local_copy`, streamed into one
in-memory Oxigraph store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, SKOS, BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg.canonical import mint_assertion_iris
from clinical_kg.curation.checks import _name_variants, touched_nodes
from clinical_kg.namespaces import bind_prefixes
from clinical_kg.remote import SparqlKnowledgeGraph
from clinical_kg.resources import vocabulary_file
from clinical_kg.vocab import CKG

_BATCH = 200  # terms per VALUES block
_ALL = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"

# One step at a time, no property paths: Virtuoso 7.2 will not start a path from several values.
_RECORDS = "CONSTRUCT { ?x ?p ?o } WHERE { VALUES ?n { $TERMS } ?x rdf:subject ?n . ?x ?p ?o }"
_CLASSES = "CONSTRUCT { ?t a ?c } WHERE { VALUES ?t { $TERMS } ?t a ?c }"
_OWN_TRIPLES = "CONSTRUCT { ?t ?p ?o } WHERE { VALUES ?t { $TERMS } ?t ?p ?o }"
_NAME_OWNERS = """
CONSTRUCT { ?e ?p ?name } WHERE {
  VALUES ?name { $TERMS }
  VALUES ?p { skos:prefLabel skos:altLabel }
  ?e ?p ?name
}"""
_PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
"""


def _batches(terms: Iterable[Node]) -> Iterator[str]:
    ordered = sorted({t.n3() for t in terms if not isinstance(t, BNode)})
    for start in range(0, len(ordered), _BATCH):
        yield " ".join(ordered[start : start + _BATCH])


class RemoteData(Graph):
    """The pulled part of the server's curated data, as an rdflib graph for the candidate checks.

    The one question the checks ask of the whole data, every labelled entity (to suggest the
    entity a misspelt IRI meant; asked only when there is one), is put to the server.
    """

    def __init__(self, kg: SparqlKnowledgeGraph, graphs: list[str]) -> None:
        super().__init__()
        self._kg, self._graphs = kg, graphs

    def subjects(self, predicate: Node | None = None, object: Node | None = None, unique: bool = False) -> Iterator:
        if predicate == SKOS.prefLabel and object is None:
            text = "SELECT DISTINCT ?e WHERE { ?e <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }"
            answer = self._kg.client.select(text, self._graphs, [])
            yield from (URIRef(b["e"]["value"]) for b in answer["results"]["bindings"] if b["e"]["type"] == "uri")
            return
        yield from super().subjects(predicate, object, unique)


def data_graphs(kg: SparqlKnowledgeGraph) -> list[str]:
    """The loaded graphs less the vocabulary's: the curated data a candidate is checked against."""
    from clinical_kg.remote.load import file_graphs

    vocabulary = set(file_graphs(vocabulary_file()))
    return [g for g in kg.parts() if g not in vocabulary]


def candidate_data(kg: SparqlKnowledgeGraph, candidate: Graph) -> Graph:
    """The part of the server's curated data that checking ``candidate`` reads (see the module)."""
    mint_assertion_iris(candidate)  # as validate_candidate does first: the focus nodes are the minted IRIs
    graphs = data_graphs(kg)
    data = RemoteData(kg, graphs)

    def pull(template: str, terms: Iterable[Node]) -> None:
        for batch in _batches(terms):
            for triple in kg.triples_of(_PREFIXES + template.replace("$TERMS", batch), graphs):
                data.add(triple)

    focus = touched_nodes(candidate)
    subjects = set(candidate.objects(None, RDF.subject))  # whose records a contradiction check reads
    mentioned = {t for triple in candidate for t in triple if isinstance(t, URIRef)}
    pull(_RECORDS, focus | subjects)
    described: set[Node] = set()
    step = focus | subjects | mentioned  # their own triples, then those of their ckg:broader chain
    while step:
        pull(_OWN_TRIPLES, step)
        described |= step
        step = {o for s in step for o in data.objects(s, CKG.broader) if isinstance(o, URIRef)} - described
    pull(_CLASSES, {t for triple in data for t in triple if isinstance(t, URIRef)} | mentioned)
    names = {n for p in (SKOS.prefLabel, SKOS.altLabel) for n in candidate.objects(None, p) if isinstance(n, Literal)}
    pull(_NAME_OWNERS, {variant for name in names for variant in _name_variants(name)})
    return data


def graphs_for(fmt: str, kg: SparqlKnowledgeGraph) -> Any:
    """The server's graph as the exporter of ``fmt`` reads it (:func:`clinical_kg.export.load_for`): each
    loaded file's triples in its named graph, in an Oxigraph store or an rdflib Dataset."""
    from clinical_kg.export import FORMATS

    if FORMATS[fmt].reads == "oxigraph":
        return store(kg)
    from clinical_kg.export.graph import canonical_dataset

    return canonical_dataset(dataset(kg))


def store(kg: SparqlKnowledgeGraph) -> ox.Store:
    """The server's graph in an in-memory Oxigraph store, each loaded file's triples in its named graph."""
    result = ox.Store()
    for name in kg.parts():
        graph = ox.NamedNode(name)
        result.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in kg.statements(_ALL, [name]))
    return result


def dataset(kg: SparqlKnowledgeGraph) -> Dataset:
    """The server's graph as an rdflib Dataset: each loaded file's triples in its named graph."""
    result = bind_prefixes(Dataset(default_union=True))
    for name in kg.parts():
        named = result.graph(URIRef(name))
        for triple in kg.triples_of(_ALL, [name]):
            named.add(triple)
    return result
