"""Write src/clinical_kg/export/biolink.json: the parts of the Biolink Model the KGX export needs at run time.

Usage: python scripts/generate_biolink_snapshot.py [--check]

Read from the installed ``biolink-model`` package (a test extra; the package itself needs no Biolink
at run time): for every Biolink category the vocabulary maps a class to, its ancestors (``is_a`` and
mixins) and preferred identifier prefixes (``id_prefixes``); for every Biolink predicate it maps a
relation to, the domain and range (inherited along ``is_a``); and the IRI expansion of every prefix
those categories prefer. The KGX export picks node identifiers and reports domain and range
advisories from it. ``--check`` exits 1 when the file is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from rdflib import SKOS, Graph

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "clinical_kg" / "export" / "biolink.json"
VOCABULARY = ROOT / "ontology" / "clinical-kg.ttl"
BIOLINK = "https://w3id.org/biolink/vocab/"
ALWAYS = ("NamedThing", "related_to", "subclass_of")  # the exporter's fallbacks and the hierarchy edges


def camel(name: str) -> str:
    """Biolink's class CURIE local name: 'disease or phenotypic feature' -> 'DiseaseOrPhenotypicFeature'."""
    return "".join(word[:1].upper() + word[1:] for word in name.split())


def snapshot(schema: dict[str, Any], prefix_map: dict[str, str], vocabulary: Graph) -> dict[str, Any]:
    """The snapshot for the Biolink terms the vocabulary maps to."""
    classes, slots = schema["classes"], schema["slots"]
    class_by_local = {camel(name): name for name in classes}
    slot_by_local = {name.replace(" ", "_"): name for name in slots}
    mapped = {
        str(o)[len(BIOLINK) :]
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)
        for o in vocabulary.objects(None, p)
        if str(o).startswith(BIOLINK)
    } | set(ALWAYS)

    def ancestors(name: str) -> list[str]:
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen or current not in classes:
                continue
            seen.add(current)
            todo += [classes[current].get("is_a")] if classes[current].get("is_a") else []
            todo += classes[current].get("mixins") or []
        return sorted("biolink:" + camel(c) for c in seen)

    def inherited(name: str, key: str) -> str | None:
        seen = set()
        while name and name not in seen:
            seen.add(name)
            value = (slots.get(name) or {}).get(key)
            if value:
                return "biolink:" + camel(value)
            name = (slots.get(name) or {}).get("is_a")
        return None

    categories = {
        "biolink:" + local: {
            "ancestors": ancestors(class_by_local[local]),
            "id_prefixes": list(classes[class_by_local[local]].get("id_prefixes") or []),
        }
        for local in sorted(mapped)
        if local in class_by_local
    }
    predicates = {
        "biolink:" + local: {
            "domain": inherited(slot_by_local[local], "domain"),
            "range": inherited(slot_by_local[local], "range"),
        }
        for local in sorted(mapped)
        if local in slot_by_local
    }
    wanted = {p for c in categories.values() for p in c["id_prefixes"]}
    return {
        "generated": "by scripts/generate_biolink_snapshot.py from the biolink-model package; do not edit",
        "biolink_model": str(schema["version"]),
        "categories": categories,
        "predicates": predicates,
        "prefixes": {p: prefix_map[p] for p in sorted(wanted) if p in prefix_map},
    }


def current_text() -> str:
    """The snapshot of the installed biolink-model package, as the file holds it."""
    package = resources.files("biolink_model")
    schema = yaml.safe_load((package / "schema" / "biolink_model.yaml").read_text(encoding="utf-8"))
    prefix_map = json.loads((package / "prefixmaps" / "biolink-model-prefix-map.json").read_text(encoding="utf-8"))
    vocabulary = Graph().parse(VOCABULARY, format="turtle")
    return json.dumps(snapshot(schema, prefix_map, vocabulary), indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the snapshot is out of date")
    args = parser.parse_args()
    text = current_text()
    if TARGET.exists() and TARGET.read_text(encoding="utf-8") == text:
        return 0
    if args.check:
        print(f"{TARGET} is out of date: run python scripts/generate_biolink_snapshot.py", file=sys.stderr)
        return 1
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
