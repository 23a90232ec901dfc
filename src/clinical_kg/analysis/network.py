"""The one conversion from the store to a networkx graph of clinical entities, cached per graph version.

:func:`clinical_graph` reads the store with four queries and returns a ``networkx.MultiDiGraph``:

- a node per entity that takes part in a statement, in the curators' hierarchy or in a mapping,
  its id the entity's IRI, with ``label`` (``skos:prefLabel``), ``cls`` (its most specific class
  of the vocabulary, or ``skos:Concept`` for the value terms of an import) and ``kind`` (the
  top class under ``ckg:ClinicalEntity``: ``Condition``, ``Symptom``, ``Cause``, ``Treatment``,
  ``DiagnosticTest``, ``AnatomicalLocation``; ``Concept`` or ``""`` otherwise);
- an edge per statement between two entities, ``kind="statement"``, keyed by its relation, with
  the statement's assertion records folded into ``records`` (a tuple of :class:`Record`, each with
  its hedge, source, quote or evidence code, frequency and urgency); a statement the source denies
  (records with ``ckg:negated true``, which have no plain triple) is an edge of its own with
  ``negated=True``, keyed ``not <relation>``, so no walk along statements can take it for one;
- an edge per ``ckg:broader`` link (``kind="broader"``: narrower to broader, the curators' or the
  terminology's hierarchy, not a statement of a source) and per ``skos:exactMatch``
  (``kind="exactMatch"``: a curated term and the same term of an imported terminology).

Population facts (a literal object) are not edges. Retracted records are not ``ckg:Assertion``s
and are left out. The graph is built once per version of a loaded graph
(:attr:`clinical_kg.store.KnowledgeGraph.generation`) and shared by every analysis; treat it as
read-only.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
from rdflib import Literal

from clinical_kg.namespaces import curie

if TYPE_CHECKING:
    from clinical_kg.store import KnowledgeGraph

CKG = "https://w3id.org/clinical-kg/vocab/"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
KINDS = ("Condition", "Symptom", "Cause", "Treatment", "DiagnosticTest", "AnatomicalLocation")
"""The top classes under ckg:ClinicalEntity, by their local names."""

_PREFIXES = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
# The records are read a property at a time and joined here: on an on-disk store, one pattern per
# property is a scan of one index, where a join with an OPTIONAL per property looks each record up
# again for each (HPO annotations: 271k records, 128 s as one join, 10 s per scan on a loaded machine).
_RECORD_PROPERTIES = {
    "rdf:subject": "s", "rdf:predicate": "p", "rdf:object": "o", "ckg:negated": "negated", "ckg:hedge": "hedge",
    "ckg:source": "source", "ckg:evidenceQuote": "quote", "ckg:evidenceCode": "code",
    "ckg:frequencyTerm": "frequencyTerm", "ckg:percentage": "percentage", "ckg:casesObserved": "observed",
    "ckg:casesTotal": "total", "ckg:urgency": "urgency", "ckg:advice": "advice",
}  # fmt: skip
_RECORD_VALUES = _PREFIXES + (
    "SELECT ?record ?property ?value WHERE { VALUES ?property { "
    + " ".join(_RECORD_PROPERTIES)
    + " } ?record ?property ?value }"
)
_RECORDS = _PREFIXES + "SELECT ?record WHERE { ?record a ckg:Assertion }"
_LINKS = (
    _PREFIXES
    + """
SELECT ?kind ?a ?b WHERE {
  { ?a ckg:broader ?b . BIND ("broader" AS ?kind) }
  UNION
  { ?a skos:exactMatch ?b . BIND ("exactMatch" AS ?kind) }
  FILTER (isIRI(?a) && isIRI(?b))
}
"""
)
_ENTITIES = (
    _PREFIXES
    + """
SELECT ?entity ?class ?label WHERE {
  {
    ?class rdfs:subClassOf* ckg:ClinicalEntity .
    ?entity a ?class .
  } UNION {
    ?entity a skos:Concept .
    BIND (skos:Concept AS ?class)
  }
  OPTIONAL { ?entity skos:prefLabel ?label }
}
"""
)
_CLASSES = (
    _PREFIXES
    + """
SELECT ?class ?top ?definition WHERE {
  ?top rdfs:subClassOf ckg:ClinicalEntity .
  ?class rdfs:subClassOf* ?top .
  OPTIONAL { ?class skos:definition ?definition }
}
"""
)
_FREQUENCY_DEFINITIONS = (
    _PREFIXES
    + """
SELECT DISTINCT ?term ?definition WHERE {
  ?record ckg:frequencyTerm ?term .
  ?term skos:definition ?definition .
}
"""
)
_PERCENT_RANGE = re.compile(r"(\d+(?:\.\d+)?)%(?:\s*to\s*(\d+(?:\.\d+)?)%)?")


@dataclass(frozen=True, slots=True)
class Record:
    """One assertion record of a statement: its evidence as the source gives it."""

    iri: str
    hedge: str | None = None
    source: str | None = None
    quote: str | None = None
    evidence_code: str | None = None
    frequency: float | None = None
    """The share of people with the condition who have the feature (0 to 1), when the record gives one."""
    frequency_text: str | None = None
    urgency: str | None = None
    advice: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The record as plain values (CURIEs where the project has a prefix)."""
        return {
            "record": compact(self.iri),
            "hedge": self.hedge,
            "source": compact(self.source) if self.source else None,
            "quote": self.quote,
            "evidence_code": compact(self.evidence_code) if self.evidence_code else None,
            "frequency": self.frequency_text,
            "urgency": compact(self.urgency) if self.urgency else None,
            "advice": self.advice,
        }


def compact(iri: str) -> str:
    """The CURIE of an IRI when the project has a prefix for it, else the IRI."""
    return curie(iri) or iri


def local_name(iri: str) -> str:
    """What follows the last ``/`` or ``#`` of an IRI."""
    return re.split(r"[/#]", iri)[-1]


def frequency_terms(kg: KnowledgeGraph) -> dict[str, float]:
    """The share of cases each frequency term used by a record stands for, read from its definition.

    The HPO defines its frequency terms by a percentage or a range ("Present in 30% to 79% of the
    cases."): a range counts as its middle. A term whose definition gives no percentage is left out.
    """
    shares: dict[str, float] = {}
    for term, definition in kg.query_trusted(_FREQUENCY_DEFINITIONS).rows:
        found = _PERCENT_RANGE.search(str(definition))
        if found:
            low = float(found.group(1))
            high = float(found.group(2)) if found.group(2) else low
            shares[str(term)] = (low + high) / 200
    return shares


def _expand(prefixed: str) -> str:
    prefix, _, local = prefixed.partition(":")
    return {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "ckg": CKG}[prefix] + local


def _frequency(row: dict, terms: dict[str, float]) -> tuple[float | None, str | None]:
    observed, total = row.get("observed"), row.get("total")
    percentage, term = row.get("percentage"), row.get("frequencyTerm")
    if observed is not None and total is not None and int(total) > 0:
        return int(observed) / int(total), f"{int(observed)}/{int(total)}"
    if percentage is not None:
        return float(percentage) / 100, f"{percentage}%"
    if term is not None:
        return terms.get(str(term)), compact(str(term))
    return None, None


def _text(term: object) -> str | None:
    return None if term is None else str(term)


def build_clinical_graph(kg: KnowledgeGraph) -> nx.MultiDiGraph:
    """Read the store into a new :func:`clinical_graph` (uncached)."""
    graph = nx.MultiDiGraph(name="clinical-kg")
    terms = frequency_terms(kg)
    current = {str(row[0]) for row in kg.query_trusted(_RECORDS).rows}
    names = {_expand(prop): name for prop, name in _RECORD_PROPERTIES.items()}
    values: dict[str, dict[str, object]] = defaultdict(dict)
    for record, prop, value in kg.query_trusted(_RECORD_VALUES).rows:
        if str(record) in current:
            values[str(record)].setdefault(names[str(prop)], value)  # the shapes allow one value of each
    records: dict[tuple[str, str, str, bool], list[Record]] = defaultdict(list)
    for record_iri, row in values.items():
        obj = row.get("o")
        if "s" not in row or "p" not in row or obj is None or isinstance(obj, Literal):
            continue  # a population fact (literal object), or a record the shapes would reject
        negated = row.get("negated") is not None and row["negated"].toPython() is True
        frequency, frequency_text = _frequency(row, terms)
        key = (str(row["s"]), str(row["p"]), str(obj), negated)
        records[key].append(Record(
            iri=record_iri,
            hedge=_text(row.get("hedge")),
            source=_text(row.get("source")),
            quote=_text(row.get("quote")),
            evidence_code=_text(row.get("code")),
            frequency=frequency,
            frequency_text=frequency_text,
            urgency=_text(row.get("urgency")),
            advice=_text(row.get("advice")),
        ))  # fmt: skip
    for (subject, relation, obj, negated), by_iri in sorted(records.items()):
        key = f"not {relation}" if negated else relation
        found = tuple(sorted(by_iri, key=lambda r: r.iri))
        graph.add_edge(subject, obj, key=key, kind="statement", relation=relation, negated=negated, records=found)
    for kind, a, b in sorted(kg.query_trusted(_LINKS).rows):
        if a != b:
            graph.add_edge(str(a), str(b), key=str(kind), kind=str(kind), relation=str(kind), negated=False, records=())
    tops: dict[str, str] = {}
    for cls, top, _definition in kg.query_trusted(_CLASSES).rows:
        tops.setdefault(str(cls), local_name(str(top)))
    classes: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, str] = {}
    for entity, cls, label in kg.query_trusted(_ENTITIES).rows:
        node = str(entity)
        if node not in graph:
            continue
        classes[node].add(str(cls))
        if label is not None and (node not in labels or str(label) < labels[node]):
            labels[node] = str(label)
    for node, attributes in graph.nodes(data=True):
        cls = _most_specific(classes.get(node, set()), tops)
        attributes["label"] = labels.get(node, compact(node))
        attributes["cls"] = cls
        attributes["kind"] = tops.get(cls, "Concept" if cls == SKOS_CONCEPT else "")
    return graph


def _most_specific(classes: set[str], tops: dict[str, str]) -> str:
    """The class below a top class when an entity has both (ckg:Medication over ckg:Treatment)."""
    if not classes:
        return ""
    below = sorted(c for c in classes if c in tops and local_name(c) != tops[c])
    return below[0] if below else sorted(classes)[0]


_CACHE: weakref.WeakKeyDictionary[KnowledgeGraph, tuple[int, nx.MultiDiGraph]] = weakref.WeakKeyDictionary()


def clinical_graph(kg: KnowledgeGraph) -> nx.MultiDiGraph:
    """The clinical entities and statements of ``kg`` as a networkx MultiDiGraph (see the module), built
    once per version of the graph; that of an on-disk store is kept on disk too (:mod:`.cache`)."""
    cached = _CACHE.get(kg)
    if cached is not None and cached[0] == kg.generation:
        return cached[1]
    store = getattr(kg, "path", None)  # an on-disk store, as its files are: a copy may be on disk
    graph = None
    if store is not None and kg.generation == 0:
        from clinical_kg.analysis import cache

        graph = cache.load(store)
        if graph is None:
            graph = build_clinical_graph(kg)
            cache.save(store, graph)
    if graph is None:
        graph = build_clinical_graph(kg)
    _CACHE[kg] = (kg.generation, graph)
    return graph


def statements(graph: nx.MultiDiGraph, relations: set[str] | frozenset[str] | None = None) -> nx.MultiDiGraph:
    """A read-only view of the statements a source makes (no denied ones, no hierarchy or mappings),
    of the given relations (IRIs) when named; made once per graph and set of relations."""
    key = None if relations is None else frozenset(relations)
    views = graph.graph.setdefault("statement views", {})
    if key not in views:

        def keep(u: str, v: str, edge: str) -> bool:
            data = graph.edges[u, v, edge]
            return data["kind"] == "statement" and not data["negated"] and (key is None or data["relation"] in key)

        view = nx.subgraph_view(graph, filter_edge=keep)
        involved = {n for e in view.edges() for n in e}
        views[key] = nx.subgraph_view(view, filter_node=involved.__contains__)
    return views[key]


def _closure(graph: nx.MultiDiGraph, term: str, upwards: bool | None) -> set[str]:
    """``term``, its exact matches, and (``upwards`` True or False) every term above or below them."""
    found = {term}
    todo = [term]
    while todo:
        node = todo.pop()
        if node not in graph:
            continue
        linked = []
        for _, broader, key in graph.out_edges(node, keys=True):
            if key == "exactMatch" or (key == "broader" and upwards is True):
                linked.append(broader)
        for narrower, _, key in graph.in_edges(node, keys=True):
            if key == "exactMatch" or (key == "broader" and upwards is False):
                linked.append(narrower)
        for other in linked:
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


def same_terms(graph: nx.MultiDiGraph, term: str) -> set[str]:
    """``term`` and the terms that are the same by ``skos:exactMatch`` (a curated term and its import)."""
    return _closure(graph, term, None)


def narrower_closure(graph: nx.MultiDiGraph, term: str) -> set[str]:
    """``term`` and every term below it in the hierarchy (``ckg:broader*`` read backwards), exact matches
    counting as the same term."""
    return _closure(graph, term, False)


def broader_closure(graph: nx.MultiDiGraph, term: str) -> set[str]:
    """``term`` and every term above it in the hierarchy (``ckg:broader*``), exact matches counting as
    the same term."""
    return _closure(graph, term, True)


def label(graph: nx.MultiDiGraph, node: str) -> str:
    """A node's preferred label (its CURIE when it has none)."""
    return graph.nodes[node].get("label", compact(node)) if node in graph else compact(node)


__all__ = [
    "KINDS",
    "Record",
    "broader_closure",
    "clinical_graph",
    "label",
    "narrower_closure",
    "same_terms",
    "statements",
    "urgency_levels",
]


# Small lookups the analyses show beside the network ------------------------------------------

_URGENCY = (
    _PREFIXES
    + """
SELECT ?level ?rank ?label WHERE {
  ?level a ckg:UrgencyLevel .
  OPTIONAL { ?level ckg:rank ?rank }
  OPTIONAL { ?level rdfs:label ?label }
}
"""
)


def urgency_levels(kg: KnowledgeGraph) -> dict[str, tuple[int, str]]:
    """Each urgency level of the vocabulary with its rank (higher, more urgent; 0 when unranked) and label."""
    return {str(level): (int(rank) if rank is not None else 0, str(text) if text is not None else local_name(level))
            for level, rank, text in kg.query_trusted(_URGENCY).rows}  # fmt: skip
