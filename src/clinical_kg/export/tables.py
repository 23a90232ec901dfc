"""CSV export: ``entities.csv`` and ``assertions.csv`` (RFC 4180, UTF-8, CRLF line ends).

``entities.csv``: iri, curie, label, type, category (Biolink), synonyms, definition, xrefs,
broader. ``assertions.csv``: one row per current assertion record, population facts included
(``object`` then holds the value and ``object_label`` is empty), with the evidence: negated,
hedge, source, source_title, evidence_kind (``quote`` for a record taken from a text, ``evidence
code`` for one from a curated database), quote, evidence_code and references, attributed_to,
urgency and the qualifiers. Identifiers are
CURIEs (``entities.csv`` gives the IRI of each); multivalued cells are joined with ``|``. Rows
are sorted by their first column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rdflib import Graph

from clinical_kg.export import write_text
from clinical_kg.export.kgx import biolink_curie
from clinical_kg.export.model import QUALIFIERS, GraphModel, curie

ENTITY_COLUMNS = ("iri", "curie", "label", "type", "category", "synonyms", "definition", "xrefs", "broader")
ASSERTION_COLUMNS = (
    "assertion", "subject", "subject_label", "predicate", "predicate_label", "object", "object_label", "negated",
    "hedge", "source", "source_title", "evidence_kind", "quote", "evidence_code", "references", "attributed_to",
    "urgency", *QUALIFIERS,
)  # fmt: skip


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def entity_rows(model: GraphModel) -> list[dict[str, str]]:
    """One row per entity."""
    return [
        {
            "iri": str(entity.iri),
            "curie": curie(entity.iri),
            "label": entity.label,
            "type": curie(entity.type),
            "category": biolink_curie(model.category(entity)),
            "synonyms": "|".join(entity.synonyms),
            "definition": entity.definition,
            "xrefs": "|".join(entity.xrefs),
            "broader": "|".join(curie(b) for b in entity.broader),
        }
        for entity in model.entities
    ]


def assertion_rows(model: GraphModel) -> list[dict[str, str]]:
    """One row per current assertion record."""
    rows = []
    for record in model.records:
        row = {
            "assertion": curie(record.iri),
            "subject": curie(record.subject),
            "subject_label": model.label(record.subject),
            "predicate": curie(record.predicate),
            "predicate_label": model.label(record.predicate),
            "object": curie(record.object),
            "object_label": model.label(record.object),
            "negated": "true" if record.negated else "false",
            "hedge": record.hedge,
            "source": curie(record.source),
            "source_title": model.title(record.source),
            "evidence_kind": record.evidence_kind,
            "quote": record.quote,
            "evidence_code": curie(record.evidence_code),
            "references": "|".join(curie(reference) for reference in record.references),
            "attributed_to": "|".join(curie(agent) for agent in record.attributed_to),
            "urgency": curie(record.urgency),
        }
        row.update({name: record.qualifier(name) for name in QUALIFIERS})
        rows.append(row)
    return rows


def export_csv(graph: Graph, out: Path) -> list[Path]:
    """CSV: ``out/entities.csv`` and ``out/assertions.csv``."""
    model = GraphModel(graph)
    return [
        write_text(out / "entities.csv", _csv(ENTITY_COLUMNS, entity_rows(model))),
        write_text(out / "assertions.csv", _csv(ASSERTION_COLUMNS, assertion_rows(model))),
    ]
