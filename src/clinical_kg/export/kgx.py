"""KGX TSV export (``nodes.tsv``, ``edges.tsv``) for Biolink / Translator tools.

Nodes are the entities: ``id`` a CURIE (``ckgid:sciatica``), ``category`` the Biolink class the
entity's vocabulary class maps to (``biolink:Disease``), ``name``, ``description``, ``synonym``,
``xref`` (``HP:0011868``, ``ICD10:M54.3``, ...), ``iri`` and ``provided_by``.

Edges are the current assertion records between two entities, one edge per record, so the
evidence stays on the edge:

- ``id`` the record (``ckga:...``); ``subject``, ``object``; ``predicate`` the Biolink term the
  relation maps to (exact or close match; for a broad match the broader Biolink predicate the
  vocabulary gives, such as ``biolink:related_to`` for ``ckg:radiatesTo``), and
  ``original_predicate`` the relation itself (``ckg:radiatesTo``);
- ``primary_knowledge_source`` ``infores:clinical-kg`` (the curated graph), ``publications`` the
  source document (``ckgsrc:...``), ``supporting_text`` the verbatim quote,
  ``knowledge_level`` ``knowledge_assertion``, ``agent_type`` ``manual_agent``, ``negated``;
- the record's qualifiers as they are, in the source's words: ``hedge``, ``attributed_to``,
  ``urgency``, ``duration``, ``timing``, ``frequency``, ``dose``, ``population``, ``context``,
  ``advice``.

The hierarchy (``ckg:broader``) is exported as ``biolink:subclass_of`` edges, stated by the
curators (no publication, no quote). Population facts (records whose object is a literal, such
as a prevalence) have no object node and are left out; they are in the RDF, JSON-LD and CSV
exports. Multivalued fields are joined with ``|``, as KGX does; white space inside a value is
folded to one space, so every row is one line.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from rdflib import Graph, URIRef

from clinical_kg.canonical import fold_whitespace
from clinical_kg.export import write_text
from clinical_kg.export.model import BIOLINK, QUALIFIERS, GraphModel, curie
from clinical_kg.vocab import CKG

INFORES = "infores:clinical-kg"
KNOWLEDGE_LEVEL = "knowledge_assertion"
AGENT_TYPE = "manual_agent"
SUBCLASS_OF = "biolink:subclass_of"
NODE_COLUMNS = ("id", "category", "name", "description", "synonym", "xref", "iri", "provided_by")
EDGE_COLUMNS = (
    "id", "subject", "predicate", "object", "original_predicate", "primary_knowledge_source", "publications",
    "supporting_text", "knowledge_level", "agent_type", "negated", "hedge", "attributed_to", "urgency", *QUALIFIERS,
)  # fmt: skip
_EDGE_ID_NAMESPACE = uuid.UUID("8d0f6c5e-4a57-5a0e-9b9e-3c1c2f1e7a10")  # fixed: the same edge gets the same id


def biolink_curie(term: URIRef) -> str:
    """``biolink:Name`` for a Biolink IRI."""
    return "biolink:" + str(term)[len(BIOLINK) :] if str(term).startswith(BIOLINK) else str(term)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | tuple):
        return "|".join(_cell(v) for v in value if v not in ("", None))
    return fold_whitespace(str(value)) if value is not None else ""


def _table(columns: tuple[str, ...], rows: list[dict[str, object]]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(column, "")) for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def node_rows(model: GraphModel) -> list[dict[str, object]]:
    """One row per entity, sorted by id."""
    rows = [
        {
            "id": curie(entity.iri),
            "category": [biolink_curie(model.category(entity))],
            "name": entity.label,
            "description": entity.definition,
            "synonym": list(entity.synonyms),
            "xref": list(entity.xrefs),
            "iri": str(entity.iri),
            "provided_by": [INFORES],
        }
        for entity in model.entities
    ]
    return sorted(rows, key=lambda row: str(row["id"]))


def edge_rows(model: GraphModel) -> list[dict[str, object]]:
    """One row per assertion record between two entities, then one per ``ckg:broader`` link; sorted by id."""
    known = model.entity_by_iri
    rows: list[dict[str, object]] = []
    for record in model.records:
        if record.subject not in known or record.object not in known:
            continue  # population facts: a literal object, no node
        row: dict[str, object] = {
            "id": curie(record.iri),
            "subject": curie(record.subject),
            "predicate": biolink_curie(model.predicate(record.predicate)),
            "object": curie(record.object),
            "original_predicate": curie(record.predicate),
            "primary_knowledge_source": INFORES,
            "publications": [curie(record.source)] if record.source is not None else [],
            "supporting_text": [record.quote],
            "knowledge_level": KNOWLEDGE_LEVEL,
            "agent_type": AGENT_TYPE,
            "negated": record.negated,
            "hedge": record.hedge,
            "attributed_to": [curie(agent) for agent in record.attributed_to],
            "urgency": curie(record.urgency) if record.urgency is not None else "",
        }
        for name in QUALIFIERS:
            row[name] = record.qualifier(name)
        rows.append(row)
    for entity in model.entities:
        for broader in entity.broader:
            if broader not in known:
                continue
            key = f"{entity.iri} {CKG.broader} {broader}"
            rows.append(
                {
                    "id": f"urn:uuid:{uuid.uuid5(_EDGE_ID_NAMESPACE, key)}",
                    "subject": curie(entity.iri),
                    "predicate": SUBCLASS_OF,
                    "object": curie(broader),
                    "original_predicate": curie(CKG.broader),
                    "primary_knowledge_source": INFORES,
                    "knowledge_level": KNOWLEDGE_LEVEL,
                    "agent_type": AGENT_TYPE,
                    "negated": False,
                }
            )
    return sorted(rows, key=lambda row: (str(row["id"]).startswith("urn:"), str(row["id"])))


def export_kgx(graph: Graph, out: Path) -> list[Path]:
    """KGX TSV: ``out/nodes.tsv`` and ``out/edges.tsv``."""
    model = GraphModel(graph)
    return [
        write_text(out / "nodes.tsv", _table(NODE_COLUMNS, node_rows(model))),
        write_text(out / "edges.tsv", _table(EDGE_COLUMNS, edge_rows(model))),
    ]
