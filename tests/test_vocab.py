"""The vocabulary: every term documented and mapped to a real Biolink Model term."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from importlib import resources

import pytest
import yaml
from rdflib import OWL, RDF, RDFS, SKOS, Graph, URIRef
from rdflib.collection import Collection

from tests.conftest import ROOT

VOCAB = "https://w3id.org/clinical-kg/vocab/"
BIOLINK = "https://w3id.org/biolink/vocab/"
ONTOLOGY = Graph().parse(ROOT / "ontology" / "clinical-kg.ttl")
CLASSES = sorted(c for c in ONTOLOGY.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef))
PROPERTIES = sorted(
    p
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty)
    for p in ONTOLOGY.subjects(RDF.type, kind)
    if isinstance(p, URIRef)
)
MAPPINGS = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)
# A comparison has no inverse worth naming ("no less effective than" is not what the source says).
NO_INVERSE = {URIRef(VOCAB + "noMoreEffectiveThan")}


@cache
def biolink_names() -> set[str]:
    """Class and slot names of the Biolink Model, from the biolink-model package's schema (offline)."""
    schema_file = resources.files("biolink_model") / "schema" / "biolink_model.yaml"
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    classes = {name.title().replace(" ", "") for name in schema["classes"]}
    slots = {name.replace(" ", "_") for name in schema["slots"]}
    return classes | slots


def test_ontology_header() -> None:
    ontology = URIRef(VOCAB)
    assert (ontology, RDF.type, OWL.Ontology) in ONTOLOGY
    version_iri = ONTOLOGY.value(ontology, OWL.versionIRI)
    assert str(version_iri).startswith(VOCAB) and str(version_iri).endswith("/")
    for prop in ("title", "license", "creator"):
        assert ONTOLOGY.value(ontology, URIRef("http://purl.org/dc/terms/" + prop)) is not None


def test_required_classes_and_relations_exist() -> None:
    names = {str(t)[len(VOCAB) :] for t in CLASSES + PROPERTIES}
    assert {"Condition", "Symptom", "Cause", "Treatment", "Medication", "Procedure", "PhysicalTherapy", "SelfCare",
            "LifestyleChange", "AnatomicalLocation", "SourceDocument"} <= names  # fmt: skip
    assert {"causes", "contributesTo", "aggravates", "riskFactorFor", "hasSymptom", "treats", "relievesSymptomsOf",
            "treatsCauseOf", "prevents", "hasAdverseEffect", "locatedIn", "radiatesTo", "redFlagFor", "urgency",
            "broader", "narrower"} <= names  # fmt: skip


@pytest.mark.parametrize("term", CLASSES + PROPERTIES, ids=lambda t: str(t)[len(VOCAB) :])
def test_term_is_documented_and_mapped_to_biolink(term: URIRef) -> None:
    labels = [lbl for lbl in ONTOLOGY.objects(term, RDFS.label) if lbl.language == "en"]
    assert len(labels) == 1, "exactly one English label"
    assert ONTOLOGY.value(term, SKOS.definition) is not None, "a definition"
    mapped = [str(o) for m in MAPPINGS for o in ONTOLOGY.objects(term, m) if str(o).startswith(BIOLINK)]
    assert mapped, "a mapping to the nearest Biolink term"
    unknown = [m for m in mapped if m[len(BIOLINK) :] not in biolink_names()]
    assert not unknown, f"not Biolink Model terms: {unknown}"
    if term in PROPERTIES:
        assert ONTOLOGY.value(term, RDFS.domain) is not None and ONTOLOGY.value(term, RDFS.range) is not None


# Properties of the assertion record and of sources, not clinical relations: no inverse is useful
# (ckg:conflictsWith is symmetric, its own inverse).
RECORD_PROPERTIES = {
    URIRef(VOCAB + name)
    for name in ("source", "attributedTo", "urgency", "conflictsWith", "evidenceCode", "reference", "frequencyTerm",
                 "onsetTerm", "sex", "modifier")
}  # fmt: skip
CLINICAL_OBJECT_PROPERTIES = sorted(
    set(ONTOLOGY.subjects(RDF.type, OWL.ObjectProperty)) - NO_INVERSE - RECORD_PROPERTIES
)


@pytest.mark.parametrize("prop", CLINICAL_OBJECT_PROPERTIES, ids=lambda t: str(t)[len(VOCAB) :])
def test_relations_have_declared_inverses(prop: URIRef) -> None:
    inverse = ONTOLOGY.value(prop, OWL.inverseOf) or ONTOLOGY.value(None, OWL.inverseOf, prop)
    assert inverse is not None
    assert class_set(ONTOLOGY.value(prop, RDFS.domain)) == class_set(ONTOLOGY.value(inverse, RDFS.range))
    assert class_set(ONTOLOGY.value(prop, RDFS.range)) == class_set(ONTOLOGY.value(inverse, RDFS.domain))


def test_conflicts_with_is_symmetric_between_records() -> None:
    conflicts = URIRef(VOCAB + "conflictsWith")
    assert (conflicts, RDF.type, OWL.SymmetricProperty) in ONTOLOGY
    record = URIRef(VOCAB + "Assertion")
    assert ONTOLOGY.value(conflicts, RDFS.domain) == ONTOLOGY.value(conflicts, RDFS.range) == record


def class_set(node) -> set:
    """The classes of a domain or range: the class itself or the members of its owl:unionOf."""
    union = ONTOLOGY.value(node, OWL.unionOf)
    return set(Collection(ONTOLOGY, union)) if union is not None else {node}


def test_namespace_module_is_current() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_vocab.py"), "--check"], capture_output=True
    )
    assert completed.returncode == 0, completed.stderr.decode()
