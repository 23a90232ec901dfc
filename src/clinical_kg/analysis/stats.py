"""Counts of the graph: by class, by relation, assertions, sources, and its network's shape."""

from __future__ import annotations

from collections import Counter

import networkx as nx

from clinical_kg.analysis.network import clinical_graph, statements
from clinical_kg.store import KnowledgeGraph

_CLASS_COUNTS = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?class (COUNT(DISTINCT ?entity) AS ?n) WHERE {
  ?entity a ?class ; skos:prefLabel ?label .
  FILTER (STRSTARTS(STR(?class), STR(ckg:)))
} GROUP BY ?class ORDER BY ?class
"""

_CLINICAL_EDGES = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT DISTINCT ?s ?p ?o WHERE {
  ?a a ckg:Assertion ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o .
  ?s ?p ?o .
}
"""

_COUNTS = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
SELECT (COUNT(DISTINCT ?a) AS ?assertions) (COUNT(DISTINCT ?src) AS ?sources) WHERE {
  { ?a a ckg:Assertion } UNION { ?src a ckg:SourceDocument }
}
"""


def statistics(kg: KnowledgeGraph) -> dict[str, object]:
    """Counts by class, by relation, of assertions and sources, and the best-connected entities."""
    by_class = {str(c): int(n) for c, n in kg.query_trusted(_CLASS_COUNTS).rows}
    edges = kg.query_trusted(_CLINICAL_EDGES).rows
    by_relation = dict(sorted(Counter(str(p) for _s, p, _o in edges).items()))
    assertions, sources = kg.query_trusted(_COUNTS).rows[0]
    network = statements(clinical_graph(kg))
    hubs = sorted(network.degree, key=lambda item: (-item[1], item[0]))[:10]
    return {
        "triples": len(kg),
        "entities_by_class": by_class,
        "statements_by_relation": by_relation,
        "assertions": int(assertions),
        "sources": int(sources),
        "network": {
            "nodes": network.number_of_nodes(),
            "edges": network.number_of_edges(),  # one per statement: its records are folded into it
            "weakly_connected_components": nx.number_weakly_connected_components(network) if len(network) else 0,
            "hubs": [{"entity": node, "degree": degree} for node, degree in hubs],
        },
    }
