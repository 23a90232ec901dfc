"""Canonical Turtle for the curated data files, and stable IRIs for assertion records.

Curated files are written in rdflib's ``longturtle`` form with the project's prefixes, so the
same graph always gives the same bytes and diffs stay small. Assertion records may be authored
as blank nodes; :func:`mint_assertion_iris` gives each a content-derived IRI in ``ckga:`` so that
adding the same record twice adds nothing.
"""

from __future__ import annotations

import hashlib
import re

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from clinical_kg.namespaces import bind_prefixes, prefix_map
from clinical_kg.vocab import CKG

_WHITESPACE = re.compile(r"\s+")


def fold_whitespace(text: str) -> str:
    """Fold every run of white space to one space and strip the ends (how quotes are compared)."""
    return _WHITESPACE.sub(" ", text).strip()


def assertion_iri(subject: Node, predicate: Node, obj: Node, source: Node, quote: str, negated: bool) -> URIRef:
    """The content-derived IRI of an assertion record: same statement, source and quote, same IRI."""
    key = "\n".join(
        [subject.n3(), predicate.n3(), obj.n3(), source.n3(), fold_whitespace(quote), "negated" if negated else ""]
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return URIRef(prefix_map()["ckga"] + digest)


def mint_assertion_iris(graph: Graph) -> int:
    """Replace every blank-node ``ckg:Assertion`` in ``graph`` by its content-derived IRI.

    Returns how many were replaced. Records lacking a subject, predicate, object, source or
    quote are left as blank nodes for validation to report.
    """
    replaced = 0
    for node in list(graph.subjects(RDF.type, CKG.Assertion)):
        if not isinstance(node, BNode):
            continue
        parts = [graph.value(node, p) for p in (RDF.subject, RDF.predicate, RDF.object, CKG.source, CKG.evidenceQuote)]
        if any(part is None for part in parts):
            continue
        negated = graph.value(node, CKG.negated)
        iri = assertion_iri(*parts[:4], str(parts[4]), bool(negated is not None and negated.toPython() is True))
        for p, o in list(graph.predicate_objects(node)):
            graph.remove((node, p, o))
            graph.add((iri, p, o))
        for s, p in list(graph.subject_predicates(node)):
            graph.remove((s, p, node))
            graph.add((s, p, iri))
        replaced += 1
    return replaced


def canonical_turtle(graph: Graph) -> str:
    """Serialise ``graph`` as canonical Turtle (``longturtle``) with the project's prefixes."""
    out = Graph(bind_namespaces="none")
    bind_prefixes(out)
    for triple in graph:
        out.add(triple)
    return out.serialize(format="longturtle")


def is_literal_text(node: Node) -> bool:
    """True for a plain or language-tagged string literal."""
    return isinstance(node, Literal) and (node.datatype is None or str(node.datatype).endswith("#string"))
