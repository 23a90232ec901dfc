"""KGX TSV export (``nodes.tsv``, ``edges.tsv``, ``metadata.json``) for Biolink / Translator tools.

Nodes are the entities: ``id`` a CURIE, ``category`` the Biolink class the entity's vocabulary class
maps to (``biolink:Disease``), ``name``, ``description``, ``synonym``, ``xref``, ``iri`` and
``provided_by``. The ``id`` is the entity's exact match in a terminology Biolink knows
(``skos:exactMatch``, such as ``MONDO:0024333`` for sciatica), picked in the order of the
category's preferred prefixes (Biolink ``id_prefixes``); an entity with no exact match keeps its
own CURIE (``ckgid:poor-posture``). ``xref`` lists the entity's own CURIE (when it is not the id)
and its codes (``HP:0011868``, ``ICD10:M54.3``, ...); ``iri`` is its IRI.

Edges carry the evidence of the current assertion records between two entities. kgx merges edges
that share subject, predicate and object (its edge key, whatever the ``id``), keeping one edge's
values, so the export does that merge itself and keeps every record: one edge per subject,
Biolink predicate and object, with

- ``id`` the record (``ckga:...``) when the edge rests on one record, else a UUID derived from its
  records; ``assertion_records`` every record (``ckga:...``), to look each up in the RDF;
- ``predicate`` the Biolink term the relation maps to (exact or close match; for a broad match the
  broader Biolink predicate the vocabulary gives, such as ``biolink:related_to`` for
  ``ckg:radiatesTo``), and ``original_predicate`` the relation itself (``ckg:radiatesTo``);
- ``primary_knowledge_source`` ``infores:clinical-kg`` (the curated graph), ``publications`` the
  source documents (``ckgsrc:...``), ``supporting_text`` every verbatim quote; for records from
  a curated database (``evidence_kind`` ``evidence code``) ``publications`` the references they
  cite and ``has_evidence`` their ECO evidence codes, and no supporting text (``evidence_kind``
  lists ``quote`` for records from a text);
  ``knowledge_level`` ``knowledge_assertion``, ``agent_type`` ``manual_agent``;
- ``negated`` ``True`` when the source denies the statement, empty otherwise (kgx reads any
  non-empty cell as true);
- the records' qualifiers as they are, in the source's words: ``hedge``, ``attributed_to``,
  ``urgency``, ``duration``, ``timing``, ``frequency``, ``dose``, ``population``, ``context``,
  ``advice``. When an edge rests on several records these list every record's values; which
  value goes with which quote is in the RDF (each hedge is also a word of its quote).

The hierarchy (``ckg:broader``) is exported as ``biolink:subclass_of`` edges, stated by the
curators (no publication, no quote). Population facts (records whose object is a literal, such
as a prevalence) have no object node and are left out; they are in the RDF, JSON-LD and CSV
exports. Multivalued fields are joined with ``|``, as KGX does; white space inside a value is
folded to one space, so every row is one line.

``metadata.json`` describes the graph in the KGX ingest-metadata terms (categories, predicates,
counts, the Biolink version) and declares the project's CURIE prefixes in ``curie_map`` (the key
kgx reads from SSSOM and graph metadata); ``domain_range_advisories`` lists the edges whose
subject or object category lies outside the Biolink predicate's suggested domain or range (Biolink
calls these suggestions, and the statements are the source's; the release manifest repeats them).
The Biolink facts come from ``biolink.json``, a snapshot of the ``biolink-model`` package written
by ``scripts/generate_biolink_snapshot.py``.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef

from clinical_kg.canonical import fold_whitespace
from clinical_kg.export import write_text
from clinical_kg.export.model import BIOLINK, QUALIFIERS, Entity, GraphModel, Record, curie
from clinical_kg.namespaces import prefix_map
from clinical_kg.vocab import CKG

INFORES = "infores:clinical-kg"
KNOWLEDGE_LEVEL = "knowledge_assertion"
AGENT_TYPE = "manual_agent"
SUBCLASS_OF = "biolink:subclass_of"
METADATA = "metadata.json"
NODE_COLUMNS = ("id", "category", "name", "description", "synonym", "xref", "iri", "provided_by")
EDGE_COLUMNS = (
    "id", "subject", "predicate", "object", "original_predicate", "primary_knowledge_source", "publications",
    "supporting_text", "has_evidence", "evidence_kind", "knowledge_level", "agent_type", "negated",
    "assertion_records", "hedge", "attributed_to", "urgency", *QUALIFIERS,
)  # fmt: skip
PROJECT_PREFIXES = ("ckg", "ckga", "ckgid", "ckgsrc")  # the prefixes of ids, predicates and publications
_EDGE_ID_NAMESPACE = uuid.UUID("8d0f6c5e-4a57-5a0e-9b9e-3c1c2f1e7a10")  # fixed: the same edge gets the same id


@cache
def biolink_snapshot() -> dict[str, Any]:
    """The Biolink categories, predicates and prefixes the export needs (``biolink.json``)."""
    return json.loads((resources.files("clinical_kg.export") / "biolink.json").read_text(encoding="utf-8"))


def biolink_curie(term: URIRef) -> str:
    """``biolink:Name`` for a Biolink IRI."""
    return "biolink:" + str(term)[len(BIOLINK) :] if str(term).startswith(BIOLINK) else str(term)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else ""  # kgx reads every non-empty cell as true
    if isinstance(value, list | tuple):
        return "|".join(_cell(v) for v in value if v not in ("", None))
    return fold_whitespace(str(value)) if value is not None else ""


def _table(columns: tuple[str, ...], rows: list[dict[str, object]]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(column, "")) for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def biolink_id(iri: URIRef) -> str | None:
    """The Biolink CURIE of a terminology IRI (``obo:MONDO_0024333`` -> ``MONDO:0024333``), None if unknown."""
    prefixes = biolink_snapshot()["prefixes"]
    matches = [(len(base), prefix) for prefix, base in prefixes.items() if str(iri).startswith(base)]
    if not matches:
        return None
    length, prefix = max(matches)
    return f"{prefix}:{str(iri)[length:]}"


def node_ids(model: GraphModel) -> dict[URIRef, str]:
    """The KGX id of every entity: its preferred exact match in a Biolink-known terminology, else its CURIE.

    The exact matches are tried in the order of the category's ``id_prefixes``, then the rest by
    prefix. An id two entities would share is given to neither.
    """
    categories = biolink_snapshot()["categories"]
    chosen: dict[URIRef, str] = {}
    for entity in model.entities:
        preferred = categories.get(biolink_curie(model.category(entity)), {}).get("id_prefixes", [])
        candidates = [c for c in (biolink_id(m) for m in entity.exact_matches) if c]
        candidates.sort(key=lambda c: (preferred.index(c.split(":")[0]) if c.split(":")[0] in preferred else 99, c))
        chosen[entity.iri] = candidates[0] if candidates else curie(entity.iri)
    claims: dict[str, int] = defaultdict(int)
    for node_id in chosen.values():
        claims[node_id] += 1
    return {iri: node_id if claims[node_id] == 1 else curie(iri) for iri, node_id in chosen.items()}


def node_rows(model: GraphModel) -> list[dict[str, object]]:
    """One row per entity, sorted by id."""
    ids = node_ids(model)

    def row(entity: Entity) -> dict[str, object]:
        return {
            "id": ids[entity.iri],
            "category": [biolink_curie(model.category(entity))],
            "name": entity.label,
            "description": entity.definition,
            "synonym": list(entity.synonyms),
            "xref": [c for c in _distinct([curie(entity.iri), *entity.xrefs]) if c != ids[entity.iri]],
            "iri": str(entity.iri),
            "provided_by": [INFORES],
        }

    return sorted((row(entity) for entity in model.entities), key=lambda r: str(r["id"]))


def _publications(record: Record) -> list[URIRef]:
    if record.from_database:
        return list(record.references)
    return [record.source] if record.source is not None else []


def _record_edge(model: GraphModel, ids: dict[URIRef, str], records: list[Record]) -> dict[str, object]:
    first = records[0]
    row: dict[str, object] = {
        "id": curie(first.iri)
        if len(records) == 1
        else f"urn:uuid:{uuid.uuid5(_EDGE_ID_NAMESPACE, ' '.join(str(r.iri) for r in records))}",
        "subject": ids[first.subject],
        "predicate": biolink_curie(model.predicate(first.predicate)),
        "object": ids[first.object],
        "original_predicate": _distinct([curie(r.predicate) for r in records]),
        "primary_knowledge_source": INFORES,
        # A text record cites its source document and quotes it; a database record cites what the
        # database cites, with the evidence code (docs/data-model.md, "Records from a curated database").
        "publications": _distinct([curie(p) for r in records for p in _publications(r)]),
        "supporting_text": _distinct([r.quote for r in records]),
        "has_evidence": _distinct([curie(r.evidence_code) for r in records if r.evidence_code is not None]),
        "evidence_kind": _distinct([r.evidence_kind for r in records]),
        "knowledge_level": KNOWLEDGE_LEVEL,
        "agent_type": AGENT_TYPE,
        "negated": first.negated,
        "assertion_records": [curie(r.iri) for r in records],
        "hedge": _distinct([h for r in records for h in r.hedge.split("|")]),
        "attributed_to": _distinct([curie(a) for r in records for a in r.attributed_to]),
        "urgency": _distinct([curie(r.urgency) for r in records if r.urgency is not None]),
    }
    for name in QUALIFIERS:
        row[name] = _distinct([v for r in records for v in r.qualifier(name).split("|")])
    return row


def edge_rows(model: GraphModel) -> list[dict[str, object]]:
    """One row per subject, Biolink predicate, object (and negation) with its records; then the hierarchy; by id."""
    ids = node_ids(model)
    groups: dict[tuple[str, str, str, bool], list[Record]] = defaultdict(list)
    for record in model.records:
        if record.subject not in ids or record.object not in ids:
            continue  # population facts: a literal object, no node
        key = (ids[record.subject], biolink_curie(model.predicate(record.predicate)), ids[record.object])
        groups[(*key, record.negated)].append(record)
    rows = [_record_edge(model, ids, records) for records in groups.values()]
    for entity in model.entities:
        for broader in entity.broader:
            if broader not in ids:
                continue
            key = f"{entity.iri} {CKG.broader} {broader}"
            rows.append(
                {
                    "id": f"urn:uuid:{uuid.uuid5(_EDGE_ID_NAMESPACE, key)}",
                    "subject": ids[entity.iri],
                    "predicate": SUBCLASS_OF,
                    "object": ids[broader],
                    "original_predicate": curie(CKG.broader),
                    "primary_knowledge_source": INFORES,
                    "knowledge_level": KNOWLEDGE_LEVEL,
                    "agent_type": AGENT_TYPE,
                    "negated": False,
                }
            )
    return sorted(rows, key=lambda row: (str(row["id"]).startswith("urn:"), str(row["id"])))


def domain_range_advisories(nodes: list[dict[str, object]], edges: list[dict[str, object]]) -> list[dict[str, Any]]:
    """Edges whose subject (object) category is outside the predicate's Biolink domain (range), grouped.

    One entry per predicate, subject category and object category, with the expected domain and/or
    range and the edge ids, sorted.
    """
    snapshot = biolink_snapshot()
    category = {str(n["id"]): str(n["category"][0]) for n in nodes}  # type: ignore[index]
    grouped: dict[tuple[str, str, str, str | None, str | None], list[str]] = defaultdict(list)
    for edge in edges:
        predicate = snapshot["predicates"].get(str(edge["predicate"]), {})
        subject, obj = category[str(edge["subject"])], category[str(edge["object"])]
        ancestors = {c: set(snapshot["categories"].get(c, {}).get("ancestors", [])) for c in (subject, obj)}
        domain, range_ = predicate.get("domain"), predicate.get("range")
        bad_domain = domain if domain and domain not in ancestors[subject] else None
        bad_range = range_ if range_ and range_ not in ancestors[obj] else None
        if bad_domain or bad_range:
            grouped[(str(edge["predicate"]), subject, obj, bad_domain, bad_range)].append(str(edge["id"]))
    return [
        {
            "predicate": predicate,
            "subject_category": subject,
            "object_category": obj,
            **({"expected_domain": domain} if domain else {}),
            **({"expected_range": range_} if range_ else {}),
            "edges": sorted(edge_ids),
        }
        for (predicate, subject, obj, domain, range_), edge_ids in sorted(grouped.items(), key=lambda i: str(i[0]))
    ]


def metadata(nodes: list[dict[str, object]], edges: list[dict[str, object]]) -> dict[str, Any]:
    """The graph metadata: KGX ingest-metadata terms, the project's prefixes and the domain/range advisories."""
    namespaces = prefix_map()
    return {
        "file_name": "clinical-kg KGX graph metadata",
        "source_infores_id": INFORES,
        "target_format": "KGX TSV",
        "target_data_model": "Biolink Model",
        "target_data_model_version": biolink_snapshot()["biolink_model"],
        "node_categories": sorted({str(c) for n in nodes for c in n["category"]}),  # type: ignore[attr-defined]
        "edge_predicates": sorted({str(e["predicate"]) for e in edges}),
        "total_node_count": len(nodes),
        "total_edge_count": len(edges),
        "curie_map": {prefix: namespaces[prefix] for prefix in PROJECT_PREFIXES},
        "domain_range_advisories": domain_range_advisories(nodes, edges),
    }


def kgx_tables(graph: Graph) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The node rows and edge rows of a graph."""
    model = GraphModel(graph)
    return node_rows(model), edge_rows(model)


def export_kgx(graph: Graph, out: Path) -> list[Path]:
    """KGX TSV: ``out/nodes.tsv``, ``out/edges.tsv`` and ``out/metadata.json``."""
    nodes, edges = kgx_tables(graph)
    return [
        write_text(out / "nodes.tsv", _table(NODE_COLUMNS, nodes)),
        write_text(out / "edges.tsv", _table(EDGE_COLUMNS, edges)),
        write_text(out / METADATA, json.dumps(metadata(nodes, edges), indent=1, ensure_ascii=False) + "\n"),
    ]
