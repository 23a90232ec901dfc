"""The graph read as entities and assertion records: what the table and network exports write.

An *entity* is a ``ckgid:`` individual typed with a vocabulary class (conditions, symptoms,
causes, treatments, tests, locations and agents). A *record* is a current ``ckg:Assertion``
(retracted ones, typed ``ckg:RetractedAssertion``, are no longer claims of the graph and stay
in the RDF exports only). Biolink categories and predicates come from the vocabulary's SKOS
mappings (:func:`biolink_term`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from rdflib import DCTERMS, RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg.export.graph import union_graph
from clinical_kg.namespaces import curie as namespace_curie
from clinical_kg.namespaces import prefix_map
from clinical_kg.vocab import CKG

BIOLINK = "https://w3id.org/biolink/vocab/"
RELATED_TO = URIRef(BIOLINK + "related_to")
NAMED_THING = URIRef(BIOLINK + "NamedThing")
# Mapping properties in order of preference. An exact or close match names the same thing; a
# broad match names a broader Biolink term, which still holds (a radiating pain is related_to its
# site), so it is used too, only less specific.
MAPPINGS = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)
# Cross-reference properties and the CURIE prefix of their codes (Biolink's prefix map); codes
# that carry their prefix already (HP:, MONDO:, CHEBI:) are kept as they are.
XREF_PREFIXES = {
    CKG.hpo: "HP",
    CKG.icd10: "ICD10",
    CKG.icd10cm: "ICD10CM",
    CKG.snomedct: "SNOMEDCT",
    CKG.umls: "UMLS",
    CKG.mesh: "MESH",
    CKG.mondo: "MONDO",
    CKG.chebi: "CHEBI",
    CKG.xref: "",
}
EVIDENCE_KINDS = {False: "quote", True: "evidence code"}
QUALIFIERS = ("duration", "timing", "frequency", "dose", "population", "context", "advice")


def curie(term: Node | None) -> str:
    """A CURIE for an IRI in one of the project's namespaces, else the IRI; a literal's text."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return namespace_curie(str(term)) or str(term)
    return str(term)


def _text(graph: Graph, node: Node, prop: URIRef) -> str:
    values = sorted(str(v) for v in graph.objects(node, prop))
    return values[0] if values else ""


def _texts(graph: Graph, node: Node, prop: URIRef) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in graph.objects(node, prop)}, key=lambda s: (s.casefold(), s)))


@dataclass(frozen=True)
class Entity:
    """A clinical entity (or agent) with its names and codes."""

    iri: URIRef
    type: URIRef
    label: str
    synonyms: tuple[str, ...]
    definition: str
    xrefs: tuple[str, ...]
    broader: tuple[URIRef, ...]
    exact_matches: tuple[URIRef, ...] = ()  # skos:exactMatch: the same concept in a terminology (HP, MONDO, ...)


@dataclass(frozen=True)
class Record:
    """A current assertion record: the statement and its evidence."""

    iri: URIRef
    subject: URIRef
    predicate: URIRef
    object: Node
    negated: bool
    quote: str
    source: URIRef | None
    hedge: str
    attributed_to: tuple[URIRef, ...]
    urgency: URIRef | None
    qualifiers: tuple[tuple[str, str], ...] = field(default=())
    evidence_code: URIRef | None = None
    references: tuple[URIRef, ...] = ()
    from_database: bool = False  # its source is a ckg:DatabaseRelease

    @property
    def evidence_kind(self) -> str:
        """``quote`` (a verbatim quote from a text) or ``evidence code`` (an evidence code and
        references from a curated database): what the record's evidence is (docs/data-model.md)."""
        return EVIDENCE_KINDS[self.from_database]

    def qualifier(self, name: str) -> str:
        """The value of a qualifier (``duration``, ``timing``, ...), '' if absent; several joined by '|'."""
        return "|".join(value for key, value in self.qualifiers if key == name)


class GraphModel:
    """Entities, records, sources and Biolink mappings of a graph, read once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = union_graph(graph)

    @cached_property
    def entities(self) -> list[Entity]:
        """Every clinical entity and agent, sorted by IRI: the ``ckgid:`` individuals typed with a
        vocabulary class, and the imported terms typed with a clinical class (``HP:``, ``OMIM:``, ...)."""
        g = self.graph
        vocab, ids = str(CKG), prefix_map()["ckgid"]
        clinical = set(g.transitive_subjects(RDFS.subClassOf, CKG.ClinicalEntity)) | {CKG.Agent}
        found = []
        for node in sorted({s for s, o in g.subject_objects(RDF.type) if str(o).startswith(vocab)}, key=str):
            if not isinstance(node, URIRef):
                continue
            if not str(node).startswith(ids) and not any(o in clinical for o in g.objects(node, RDF.type)):
                continue
            types = sorted(o for o in g.objects(node, RDF.type) if str(o).startswith(vocab))
            xrefs = []
            for prop, prefix in XREF_PREFIXES.items():
                for code in _texts(g, node, prop):
                    xrefs.append(code if ":" in code or not prefix else f"{prefix}:{code}")
            found.append(
                Entity(
                    iri=node,
                    type=types[0],
                    label=_text(g, node, SKOS.prefLabel),
                    synonyms=_texts(g, node, SKOS.altLabel),
                    definition=_text(g, node, SKOS.definition),
                    xrefs=tuple(sorted(set(xrefs))),
                    broader=tuple(sorted(o for o in g.objects(node, CKG.broader) if isinstance(o, URIRef))),
                    exact_matches=tuple(sorted(o for o in g.objects(node, SKOS.exactMatch) if isinstance(o, URIRef))),
                )
            )
        return found

    @cached_property
    def entity_by_iri(self) -> dict[URIRef, Entity]:
        """Entities by IRI."""
        return {entity.iri: entity for entity in self.entities}

    @cached_property
    def records(self) -> list[Record]:
        """Every current assertion record (``ckg:Assertion``), sorted by IRI."""
        g = self.graph
        found = []
        for node in sorted((n for n in g.subjects(RDF.type, CKG.Assertion) if isinstance(n, URIRef)), key=str):
            subject, predicate, obj = (g.value(node, p) for p in (RDF.subject, RDF.predicate, RDF.object))
            if subject is None or predicate is None or obj is None:
                continue
            negated = g.value(node, CKG.negated)
            qualifiers = tuple((name, value) for name in QUALIFIERS for value in _texts(g, node, CKG[name]))
            found.append(
                Record(
                    iri=node,
                    subject=subject,
                    predicate=predicate,
                    object=obj,
                    negated=isinstance(negated, Literal) and negated.toPython() is True,
                    quote=_text(g, node, CKG.evidenceQuote),
                    source=g.value(node, CKG.source),
                    hedge="|".join(_texts(g, node, CKG.hedge)),
                    attributed_to=tuple(sorted(o for o in g.objects(node, CKG.attributedTo) if isinstance(o, URIRef))),
                    urgency=g.value(node, CKG.urgency),
                    qualifiers=qualifiers,
                    evidence_code=g.value(node, CKG.evidenceCode),
                    references=tuple(sorted(o for o in g.objects(node, CKG.reference) if isinstance(o, URIRef))),
                    from_database=(g.value(node, CKG.source), RDF.type, CKG.DatabaseRelease) in g,
                )
            )
        return found

    def label(self, term: Node | None) -> str:
        """The preferred label (or rdfs:label) of a term, '' if it has none."""
        if term is None or isinstance(term, Literal):
            return ""
        return _text(self.graph, term, SKOS.prefLabel) or _text(self.graph, term, RDFS.label)

    def title(self, source: Node | None) -> str:
        """The title (``dcterms:title``) of a source document, '' if none."""
        return "" if source is None else _text(self.graph, source, DCTERMS.title)

    def biolink_term(self, term: URIRef) -> URIRef | None:
        """The Biolink term a vocabulary term maps to (exact, then close, then broad match).

        A class without a mapping of its own takes its superclass's.
        """
        seen: set[Node] = set()
        while term is not None and term not in seen:
            seen.add(term)
            for mapping in MAPPINGS:
                targets = sorted(o for o in self.graph.objects(term, mapping) if str(o).startswith(BIOLINK))
                if targets:
                    return targets[0]
            parents = sorted(self.graph.objects(term, RDFS.subClassOf))
            term = parents[0] if parents else None
        return None

    def category(self, entity: Entity) -> URIRef:
        """The Biolink category of an entity, from its class's mapping (``biolink:NamedThing`` if none)."""
        return self.biolink_term(entity.type) or NAMED_THING

    def predicate(self, relation: URIRef) -> URIRef:
        """The Biolink predicate of a relation, from its mapping (``biolink:related_to`` if none)."""
        return self.biolink_term(relation) or RELATED_TO
