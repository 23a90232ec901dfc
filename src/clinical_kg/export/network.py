"""Network exports for graph tools and graph-ML pipelines: GraphML and node-link JSON (networkx).

A directed multigraph: one node per entity (id its CURIE; ``label``, ``type`` the vocabulary
class, ``category`` the Biolink class, ``iri``) and one edge per current assertion record
between two entities (key the record's CURIE; ``relation``, ``predicate`` (Biolink),
``evidence_kind`` (``quote`` or ``evidence code``), ``quote``, ``evidence_code``, ``references``,
``source_document`` (not ``source``: node-link JSON names an edge's first node so), ``hedge``,
``negated``, ``attributed_to``, ``urgency`` and the qualifiers). Every attribute is present on
every node and edge ('' when absent), so tools see one schema. Population facts
(records with a literal object) have no object node and are left out, as is the curators'
hierarchy (``ckg:broader``), which is not an assertion of a source. Nodes and edges are added in
sorted order, so the files are the same bytes for the same graph.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
from rdflib import Graph

from clinical_kg.export import write_bytes, write_text
from clinical_kg.export.kgx import biolink_curie
from clinical_kg.export.model import QUALIFIERS, GraphModel, curie


def to_network(graph: Graph) -> nx.MultiDiGraph:
    """The entities and assertion records of ``graph`` as a networkx MultiDiGraph."""
    model = GraphModel(graph)
    network = nx.MultiDiGraph(name="clinical-kg")
    for entity in model.entities:
        network.add_node(
            curie(entity.iri),
            label=entity.label,
            type=curie(entity.type),
            category=biolink_curie(model.category(entity)),
            iri=str(entity.iri),
        )
    known = model.entity_by_iri
    for record in model.records:
        if record.subject not in known or record.object not in known:
            continue
        attributes = {
            "relation": curie(record.predicate),
            "predicate": biolink_curie(model.predicate(record.predicate)),
            "evidence_kind": record.evidence_kind,
            "quote": record.quote,
            "evidence_code": curie(record.evidence_code),
            "references": "|".join(curie(reference) for reference in record.references),
            "source_document": curie(record.source),
            "hedge": record.hedge,
            "negated": record.negated,
            "attributed_to": "|".join(curie(agent) for agent in record.attributed_to),
            "urgency": curie(record.urgency),
        }
        attributes.update({name: record.qualifier(name) for name in QUALIFIERS})
        network.add_edge(curie(record.subject), curie(record.object), key=curie(record.iri), **attributes)
    return network


def export_graphml(graph: Graph, out: Path) -> list[Path]:
    """GraphML, UTF-8."""
    buffer = io.BytesIO()
    nx.write_graphml(to_network(graph), buffer, encoding="utf-8", prettyprint=True)
    return [write_bytes(out, buffer.getvalue())]


def export_nodelink(graph: Graph, out: Path) -> list[Path]:
    """Node-link JSON (``networkx.node_link_data``; edges under ``"edges"``, the key networkx makes its default:
    read it with ``networkx.node_link_graph(data, edges="edges")``)."""
    data = nx.node_link_data(to_network(graph), edges="edges")
    return [write_text(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")]
