"""Print a reproducible sample of assertion records for a blind review, as Markdown.

Usage: python scripts/review_sample.py --seed N [--size 30] [--data-dir DIR]

The sample is drawn from the current assertion records (retracted ones left out) with
Python's ``random.Random(seed)`` over the records sorted by IRI, so the same seed and the same
data give the same sample. For each record it prints only what a grader needs to judge it
against the source text: the statement (subject, relation, object, as labels), the hedge, the
qualifiers, who the source attributes it to, whether it is negated, and the verbatim quote. It
prints nothing of the record's history (no changelog, no retractions, no record IRI), so the
grader works from the record and the article alone.

Grade each record on four questions (yes / no): is the quote verbatim in the article; does the
quote support the statement; is the relation the right one; is the hedge faithful.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RECORDS = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?record ?subject ?subjectLabel ?relation ?relationLabel ?object ?objectLabel ?quote ?source ?sourceTitle
WHERE {
  ?record a ckg:Assertion ;
    rdf:subject ?subject ; rdf:predicate ?relation ; rdf:object ?object ;
    ckg:evidenceQuote ?quote ; ckg:source ?source .
  OPTIONAL { ?subject skos:prefLabel ?subjectLabel }
  OPTIONAL { ?object skos:prefLabel ?objectLabel }
  OPTIONAL { ?relation rdfs:label ?relationLabel }
  OPTIONAL { ?source <http://purl.org/dc/terms/title> ?sourceTitle }
}
ORDER BY ?record
"""

DETAILS = """
PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?property ?propertyLabel ?value ?valueLabel
WHERE {
  VALUES ?record { $RECORD }
  VALUES ?property { ckg:hedge ckg:negated ckg:attributedTo ckg:duration ckg:timing ckg:frequency ckg:dose
                     ckg:population ckg:context ckg:urgency ckg:advice }
  ?record ?property ?value .
  OPTIONAL { ?property rdfs:label ?propertyLabel }
  OPTIONAL { ?value skos:prefLabel|rdfs:label ?valueLabel }
}
ORDER BY ?property ?value
"""


def sample(kg, seed: int, size: int) -> list[dict]:
    """``size`` records drawn with ``random.Random(seed)`` from the records sorted by IRI."""
    records = kg.query_trusted(RECORDS).dicts()
    if size > len(records):
        raise SystemExit(f"the data has only {len(records)} assertion records")
    chosen = random.Random(seed).sample(range(len(records)), size)
    return [records[i] for i in sorted(chosen)]


def text(row: dict, name: str) -> str:
    """The label of a term where it has one, else the term itself (a literal's value)."""
    from clinical_kg.results import compact

    return compact(row.get(f"{name}Label") or row[name])


def markdown(kg, rows: list[dict], seed: int) -> str:
    """The sample as Markdown: one numbered section per record."""
    lines = [
        f"# Review sample: {len(rows)} assertion records, seed {seed}",
        "",
        "For each record, answer from the record and the article alone: (1) is the quote verbatim in",
        "the article; (2) does it support the statement; (3) is the relation the right one; (4) is the",
        "hedge faithful (no hedge: the article states it flatly).",
    ]
    for number, row in enumerate(rows, start=1):
        lines += ["", f"## {number}. {text(row, 'subject')} — {text(row, 'relation')} — {text(row, 'object')}", ""]
        lines.append(f"- relation: `{text({'relation': row['relation']}, 'relation')}`")
        details = kg.query_trusted(DETAILS.replace("$RECORD", row["record"].n3())).dicts()
        shown = {str(d["propertyLabel"] or d["property"]): [] for d in details}
        for d in details:
            shown[str(d["propertyLabel"] or d["property"])].append(text(d, "value"))
        if "hedge" not in shown:
            shown["hedge"] = ["(none: stated flatly)"]
        for label in sorted(shown):
            lines.append(f"- {label}: {'; '.join(shown[label])}")
        lines.append(f"- source: {text(row, 'sourceTitle') if row.get('sourceTitle') else text(row, 'source')}")
        lines += ["", "> " + " ".join(str(row["quote"]).split())]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, required=True, help="the seed of the draw (say it in the review)")
    parser.add_argument("--size", type=int, default=30, help="how many records (default 30)")
    parser.add_argument("--data-dir", type=Path, help="the data folder (default: the checkout's data/)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from clinical_kg import resources
    from clinical_kg.store import open_graph

    data = args.data_dir or ROOT / "data"
    kg = open_graph("oxigraph", [resources.vocabulary_file(), *sorted(data.glob("*.ttl"))])
    sys.stdout.write(markdown(kg, sample(kg, args.seed, args.size), args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
