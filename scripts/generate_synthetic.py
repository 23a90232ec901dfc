"""Generate a clinical-shaped synthetic graph that conforms to the shapes, for benchmarks.

Usage: python scripts/generate_synthetic.py --triples N [--seed S] [--out FILE]

The graph uses the clinical-kg vocabulary the way the curated data does: conditions, symptoms,
causes, treatments (medications, procedures, physical therapy, self-care, lifestyle changes),
diagnostic tests and anatomical locations, each with a unique preferred label, a synonym and a
definition; ckg:broader hierarchies (symptoms four levels deep under a few roots such as
"synthetic pain"); every entity label starts with "synthetic ", so labels and ``ckgid:`` IRIs
never meet the curated ones and the graph can be loaded together with the shipped data;
and clinical statements, each a plain triple plus a ckg:Assertion record with its source
document, an evidence quote and often a hedge (red flags with urgency and advice, a few negated
and attributed records). Degrees are skewed: objects are drawn from a Zipf-like distribution,
so hub symptoms ("synthetic pain", "synthetic fatigue") are shared by many conditions while
most terms are leaves.

It writes N-Triples (``.nt``, the default, also to stdout with ``--out -``), or Turtle for
``.ttl``, optionally gzipped (``.gz``), with about N triples. Load it together with the
vocabulary (``ckg load FILE --store-path DIR`` does). The same N and seed give the same bytes.
Synthetic: not clinical knowledge.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import hashlib
import io
import itertools
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CKG = "https://w3id.org/clinical-kg/vocab/"
ID = "https://w3id.org/clinical-kg/id/"
SRC = "https://w3id.org/clinical-kg/source/"
ASSERTION = "https://w3id.org/clinical-kg/assertion/"
DATASET = "https://w3id.org/clinical-kg/dataset/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"

LABEL_PREFIX = "synthetic "  # of every entity label, hence of every ckgid: IRI (slug of the label)
HUB_SYMPTOMS = ["pain", "fatigue", "fever", "weakness", "numbness", "stiffness", "swelling", "dizziness"]
QUALIFIERS = [
    "acute", "chronic", "intermittent", "radiating", "sharp", "dull", "burning", "throbbing", "mild",
    "severe", "nocturnal", "recurrent", "sudden", "persistent", "bilateral", "unilateral",
]  # fmt: skip
SITES = [
    "lower back", "neck", "shoulder", "hip", "knee", "ankle", "wrist", "elbow", "leg", "arm", "chest",
    "abdomen", "head", "foot", "hand", "jaw", "pelvis", "thigh", "calf", "upper back",
]  # fmt: skip
CONDITION_NOUNS = [
    "strain", "sprain", "tendinitis", "bursitis", "arthritis", "neuropathy", "stenosis", "spasm",
    "syndrome", "disorder", "inflammation", "degeneration", "instability", "compression", "injury",
]  # fmt: skip
CAUSE_NOUNS = [
    "overuse", "poor posture", "heavy lifting", "dehydration", "obesity", "smoking", "trauma",
    "infection", "sedentary lifestyle", "repetitive strain", "cold exposure", "stress",
]  # fmt: skip
TREATMENTS = {
    "Medication": ["ibuprofen", "naproxen", "paracetamol", "muscle relaxant", "corticosteroid", "opioid"],
    "Procedure": ["injection", "decompression", "fusion", "ablation", "arthroscopy"],
    "PhysicalTherapy": ["stretching", "strengthening exercises", "massage", "manual therapy"],
    "SelfCare": ["heat", "ice", "rest", "compression bandage", "elevation"],
    "LifestyleChange": ["weight loss", "posture training", "regular exercise", "ergonomic workplace"],
}
TESTS = ["x ray", "mri scan", "ct scan", "blood test", "nerve conduction study", "ultrasound"]
HEDGES = ["may", "can", "often", "usually", "sometimes"]

# Predicate, share of the statements, subject kinds, object kinds, quote template.
PREDICATES = [
    ("hasSymptom", 34, ["Condition"], ["Symptom"], "{s} {h} present with {o}."),
    ("causes", 9, ["Cause", "Condition"], ["Condition", "Symptom"], "{s} {h} cause {o}."),
    ("contributesTo", 5, ["Cause", "Condition"], ["Condition"], "{s} {h} contribute to {o}."),
    ("riskFactorFor", 5, ["Cause", "Condition"], ["Condition"], "{s} {h} raise the risk of {o}."),
    ("aggravates", 3, ["Cause", "Treatment"], ["Condition", "Symptom"], "{s} {h} make {o} worse."),
    ("treats", 14, ["Treatment"], ["Condition"], "{s} {h} treat {o}."),
    ("relievesSymptomsOf", 7, ["Treatment"], ["Condition", "Symptom"], "{s} {h} relieve {o}."),
    ("prevents", 4, ["Treatment"], ["Condition"], "{s} {h} prevent {o}."),
    ("hasAdverseEffect", 5, ["Treatment"], ["Symptom", "Condition"], "{s} {h} lead to {o} as a side effect."),
    ("diagnoses", 3, ["DiagnosticTest"], ["Condition"], "{s} {h} confirm {o}."),
    ("locatedIn", 4, ["Condition", "Symptom"], ["AnatomicalLocation"], "{s} {h} be felt in the {o}."),
    ("radiatesTo", 2, ["Symptom"], ["AnatomicalLocation"], "{s} {h} spread to the {o}."),
    ("redFlagFor", 3, ["Symptom"], ["Condition"], "{s} {h} be a warning sign of {o}."),
]
URGENCY = ["UrgencyEmergency", "UrgencySoon", "UrgencyRoutine"]


@dataclass
class Entity:
    iri: str
    kind: str  # a class of the vocabulary (Treatment subclasses included)
    group: str  # Condition, Symptom, Cause, Treatment, DiagnosticTest, AnatomicalLocation
    label: str


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def lit(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if lang:
        return f'"{escaped}"@{lang}'
    return f'"{escaped}"^^<{datatype}>' if datatype else f'"{escaped}"'


class Generator:
    """Builds the triples; every choice comes from one seeded random.Random."""

    def __init__(self, triples: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.target = triples
        self.labels: set[str] = set()
        self.entities: dict[str, list[Entity]] = {}
        self.weights: dict[str, list[float]] = {}

    def unique_label(self, base: str) -> str:
        """``synthetic BASE``, numbered if taken: the prefix keeps every synthetic label and IRI
        apart from the curated ones, so the graph can be loaded with the shipped data."""
        label, n = LABEL_PREFIX + base, 1
        while label in self.labels:
            n += 1
            label = f"{LABEL_PREFIX}{base} {n}"
        self.labels.add(label)
        return label

    def names(self, heads: list[str], count: int) -> Iterator[str]:
        """``count`` labels built from the heads, qualifiers and sites, in a seeded order."""
        combos = [f"{q} {h}" for q in QUALIFIERS for h in heads] + [f"{s} {h}" for s in SITES for h in heads]
        combos += [f"{q} {s} {h}" for q in QUALIFIERS for s in SITES for h in heads]
        self.rng.shuffle(combos)
        for i in range(count):
            yield self.unique_label(combos[i % len(combos)])

    def triples(self) -> Iterator[str]:
        yield from self.header()
        n_entities = max(60, self.target // 45)
        shares = {"Condition": 0.3, "Symptom": 0.3, "Cause": 0.12, "Treatment": 0.2, "DiagnosticTest": 0.04}
        counts = {group: max(6, int(n_entities * share)) for group, share in shares.items()}
        yield from self.make_group(
            "AnatomicalLocation", ["AnatomicalLocation"], [self.unique_label(s) for s in SITES], depth=1
        )
        symptom_labels = [self.unique_label(h) for h in HUB_SYMPTOMS]
        symptom_labels += list(self.names(HUB_SYMPTOMS, counts["Symptom"] - len(HUB_SYMPTOMS)))
        yield from self.make_group("Symptom", ["Symptom"], symptom_labels, depth=4, roots=len(HUB_SYMPTOMS))
        yield from self.make_group(
            "Condition", ["Condition"], list(self.names(CONDITION_NOUNS, counts["Condition"])), 3
        )
        yield from self.make_group("Cause", ["Cause"], list(self.names(CAUSE_NOUNS, counts["Cause"])), 2)
        kinds = sorted(TREATMENTS)
        labels = [self.unique_label(name) for kind in kinds for name in TREATMENTS[kind]]
        kind_of = [kind for kind in kinds for _ in TREATMENTS[kind]]
        for label in self.names([n for k in kinds for n in TREATMENTS[k]], counts["Treatment"] - len(labels)):
            labels.append(label)
            kind_of.append(next(k for k in kinds if any(label.endswith(n) for n in TREATMENTS[k])))
        yield from self.make_group("Treatment", kind_of, labels, depth=2, roots=len(kinds) * 4)
        yield from self.make_group(
            "DiagnosticTest", ["DiagnosticTest"], list(self.names(TESTS, counts["DiagnosticTest"])), 1
        )
        yield from self.statements()

    def header(self) -> Iterator[str]:
        self.sources = []
        for i in range(max(1, self.target // 20_000)):
            iri = f"<{SRC}synthetic-source-{i + 1}>"
            self.sources.append(iri)
            yield f"{iri} <{RDF}type> <{CKG}SourceDocument> ."
            yield f"{iri} <{DCT}title> {lit(f'Synthetic source {i + 1}', 'en')} ."
            yield f"{iri} <{DCT}date> {lit(f'2024-{1 + i % 12:02d}-{1 + i % 28:02d}', datatype=XSD + 'date')} ."
            yield f"{iri} <{CKG}sha256> {lit(hashlib.sha256(iri.encode()).hexdigest())} ."
        dataset = f"<{DATASET}synthetic>"
        yield f"{dataset} <{RDF}type> <http://www.w3.org/ns/dcat#Dataset> ."
        yield f"{dataset} <{DCT}title> {lit('Synthetic clinical-shaped graph', 'en')} ."
        about = "Generated by scripts/generate_synthetic.py for benchmarks; not clinical knowledge."
        yield f"{dataset} <{DCT}description> {lit(about, 'en')} ."
        yield f"{dataset} <{DCT}license> <https://creativecommons.org/licenses/by/4.0/> ."
        yield f"{dataset} <{DCT}source> {self.sources[0]} ."
        self.agents = []
        for name in ("Synthetic Society of Medicine", "Dr. Synthetic Example"):
            iri = f"<{ID}{slug(name)}>"
            self.labels.add(name)
            self.agents.append(iri)
            yield f"{iri} <{RDF}type> <{CKG}Agent> ."
            yield f"{iri} <{SKOS}prefLabel> {lit(name, 'en')} ."

    def make_group(self, group: str, kinds: list[str], labels: list[str], depth: int, roots: int = 0) -> Iterator[str]:
        """Entities of one group; the first ``roots`` are hierarchy roots, the others get a broader
        term of the level above (levels 0 to depth-1), chosen with a bias to early (hub) terms."""
        roots = roots or max(1, len(labels) // 20)
        members: list[Entity] = []
        levels: list[list[Entity]] = [[] for _ in range(depth)]
        for i, label in enumerate(labels):
            kind = kinds[i] if len(kinds) == len(labels) else kinds[0]
            entity = Entity(f"<{ID}{slug(label)}>", kind, group, label)
            members.append(entity)
            yield f"{entity.iri} <{RDF}type> <{CKG}{kind}> ."
            yield f"{entity.iri} <{SKOS}prefLabel> {lit(label, 'en')} ."
            words = label.split(" ")
            synonym = f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else f"{label} finding"
            if synonym not in self.labels and "," in synonym and not words[-1].isdigit():
                self.labels.add(synonym)
                yield f"{entity.iri} <{SKOS}altLabel> {lit(synonym, 'en')} ."
            yield f"{entity.iri} <{SKOS}definition> {lit(f'A synthetic {group.lower()}: {label}.', 'en')} ."
            if i < roots or depth == 1:
                levels[0].append(entity)
                continue
            level = min(depth - 1, 1 + self.rng.randrange(depth - 1))
            while not levels[level - 1]:
                level -= 1
            parents = levels[level - 1]
            parent = parents[min(int(self.rng.paretovariate(1.2)) - 1, len(parents) - 1)]
            levels[level].append(entity)
            if parent.kind == kind or group != "Treatment":
                yield f"{entity.iri} <{CKG}broader> {parent.iri} ."
        self.entities[group] = members
        # Zipf-like weights over the group's order: roots and early terms are the hubs.
        self.weights[group] = list(itertools.accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(len(members))))

    def pick(self, group: str) -> Entity:
        cumulative = self.weights[group]
        return self.entities[group][bisect.bisect(cumulative, self.rng.random() * cumulative[-1])]

    def pick_uniform(self, group: str) -> Entity:
        return self.rng.choice(self.entities[group])

    def statements(self) -> Iterator[str]:
        seen: set[tuple[str, str, str]] = set()
        produced = sum(len(m) for m in self.entities.values()) * 4 + len(self.sources) * 4 + 9
        names, weights = zip(*((p[0], p[1]) for p in PREDICATES), strict=True)
        by_name = {p[0]: p for p in PREDICATES}
        n = 0
        while produced < self.target:
            name = self.rng.choices(names, weights)[0]
            _, _, subject_groups, object_groups, template = by_name[name]
            subject = self.pick_uniform(self.rng.choice(subject_groups))
            obj = self.pick(self.rng.choice(object_groups))
            key = (subject.iri, name, obj.iri)
            if subject.iri == obj.iri or key in seen:
                continue
            seen.add(key)
            n += 1
            record = f"<{ASSERTION}{hashlib.sha256(' '.join(key).encode()).hexdigest()[:16]}>"
            negated = self.rng.random() < 0.02
            hedge = self.rng.choice(HEDGES) if self.rng.random() < 0.6 else None
            verb = hedge or "can"
            quote = template.format(s=subject.label.capitalize(), h=verb, o=obj.label)
            if negated:
                quote = quote.replace(f" {verb} ", f" {verb} not ", 1)
            else:
                yield f"{subject.iri} <{CKG}{name}> {obj.iri} ."
            yield f"{record} <{RDF}type> <{CKG}Assertion> ."
            yield f"{record} <{RDF}subject> {subject.iri} ."
            yield f"{record} <{RDF}predicate> <{CKG}{name}> ."
            yield f"{record} <{RDF}object> {obj.iri} ."
            yield f"{record} <{CKG}source> {self.sources[n % len(self.sources)]} ."
            yield f"{record} <{CKG}evidenceQuote> {lit(quote)} ."
            produced += 7
            if hedge:
                yield f"{record} <{CKG}hedge> {lit(hedge)} ."
                produced += 1
            if negated:
                yield f"{record} <{CKG}negated> {lit('true', datatype=XSD + 'boolean')} ."
                produced += 1
            if self.rng.random() < 0.05:
                yield f"{record} <{CKG}attributedTo> {self.rng.choice(self.agents)} ."
                produced += 1
            if name == "redFlagFor":
                yield f"{record} <{CKG}urgency> <{CKG}{self.rng.choice(URGENCY)}> ."
                yield f"{record} <{CKG}advice> {lit('see a doctor')} ."
                produced += 2


def write(lines: Iterator[str], out: str) -> None:
    """N-Triples to ``out`` ('-' for stdout); Turtle for .ttl; gzip for .gz."""
    text = "".join(line + "\n" for line in lines).encode()
    path = Path(out)
    suffixes = path.suffixes
    if ".ttl" in suffixes:
        import pyoxigraph as ox

        prefixes = {"ckg": CKG, "ckgid": ID, "ckgsrc": SRC, "ckga": ASSERTION, "ckgds": DATASET, "rdf": RDF,
                    "skos": SKOS, "dcterms": DCT, "xsd": XSD}  # fmt: skip
        buffer = io.BytesIO()
        ox.serialize(ox.parse(text, format=ox.RdfFormat.N_TRIPLES), buffer, ox.RdfFormat.TURTLE, prefixes=prefixes)
        text = buffer.getvalue()
    if suffixes and suffixes[-1] == ".gz":
        text = gzip.compress(text, mtime=0)
    if out == "-":
        sys.stdout.buffer.write(text)
    else:
        path.write_bytes(text)


def generate(triples: int, seed: int = 0) -> Iterator[str]:
    """The N-Triples lines of a synthetic graph of about ``triples`` triples."""
    return Generator(triples, seed).triples()


def parse_size(text: str) -> int:
    """'100k' -> 100000, '1M' -> 1000000."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Example: --triples 100k --out g.nt")
    parser.add_argument("--triples", type=parse_size, required=True, help="about this many triples (10k, 1M, ...)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="-", help="output file: .nt, .ttl, optionally .gz; '-' for stdout")
    args = parser.parse_args()
    write(generate(args.triples, args.seed), args.out)


if __name__ == "__main__":
    main()
