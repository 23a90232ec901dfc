"""The curated data: sourced, verbatim, canonical, conforming."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef

from clinical_kg.canonical import fold_whitespace
from clinical_kg.namespaces import prefix_map
from clinical_kg.validation import validate_graph
from clinical_kg.vocab import CKG
from tests.conftest import ROOT, SOURCE_TEXT, SOURCES, shipped

DATA_FILES = sorted((ROOT / "data").glob("*.ttl"))
CLINICAL_PREDICATES = {
    CKG.causes, CKG.contributesTo, CKG.aggravates, CKG.riskFactorFor, CKG.hasSymptom, CKG.treats,
    CKG.relievesSymptomsOf, CKG.treatsCauseOf, CKG.prevents, CKG.hasAdverseEffect, CKG.locatedIn, CKG.radiatesTo,
    CKG.redFlagFor, CKG.diagnoses, CKG.assesses, CKG.noMoreEffectiveThan, CKG.prevalence, CKG.sexRatio,
    CKG.typicalAgeOfOnset, CKG.mostOftenAffects, CKG.typicalDuration, CKG.onset, CKG.severity,
}  # fmt: skip


@pytest.fixture(scope="module")
def data() -> Graph:
    graph = Graph()
    for path in DATA_FILES:
        graph.parse(path, format="turtle")
    return graph


def test_the_source_text_is_the_one_recorded(data: Graph) -> None:
    digest = hashlib.sha256(SOURCE_TEXT.read_bytes()).hexdigest()
    sums = dict(line.split()[::-1] for line in (SOURCES / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert sums[SOURCE_TEXT.name] == digest
    sources = list(data.subjects(RDF.type, CKG.SourceDocument))
    assert [str(data.value(s, CKG.sha256)) for s in sources] == [digest]
    assert [str(data.value(s, CKG.fileName)) for s in sources] == [SOURCE_TEXT.name]


def test_every_quote_occurs_verbatim_in_the_source(data: Graph) -> None:
    text = fold_whitespace(SOURCE_TEXT.read_text(encoding="utf-8"))
    missing = sorted(
        (str(a), str(q)) for a, q in data.subject_objects(CKG.evidenceQuote) if fold_whitespace(str(q)) not in text
    )
    assert missing == []


def test_hedges_are_words_of_their_quote(data: Graph) -> None:
    wrong = []
    for record, hedge in data.subject_objects(CKG.hedge):
        quote = fold_whitespace(str(data.value(record, CKG.evidenceQuote))).casefold()
        if fold_whitespace(str(hedge)).casefold() not in quote:
            wrong.append((str(record), str(hedge)))
    assert wrong == []


def test_there_are_well_over_150_assertions(data: Graph) -> None:
    assert len(set(data.subjects(RDF.type, CKG.Assertion))) > 150


def test_every_record_has_its_triple_and_every_clinical_triple_a_record(data: Graph) -> None:
    records = set()
    for record in data.subjects(RDF.type, CKG.Assertion):
        triple = (data.value(record, RDF.subject), data.value(record, RDF.predicate), data.value(record, RDF.object))
        negated = data.value(record, CKG.negated)
        if negated is not None and negated.toPython() is True:
            assert triple not in data, f"negated record {record} must not have its triple"
        else:
            assert triple in data, f"record {record} lacks its plain triple"
            records.add(triple)
    plain = {t for t in data if t[1] in CLINICAL_PREDICATES}
    assert plain - records == set()


CKGID = prefix_map()["ckgid"]


def test_negated_records_have_no_plain_triple(data: Graph) -> None:
    negated = [
        (data.value(r, RDF.subject), data.value(r, RDF.predicate), data.value(r, RDF.object))
        for r in data.subjects(CKG.negated, Literal(True))
        if (r, RDF.type, CKG.Assertion) in data
    ]
    # "In most cases, you don't really throw your back out of place" (Dr. Cornett) is kept as a denial
    cornett = (URIRef(CKGID + "acute-low-back-pain"), CKG.hasSymptom, URIRef(CKGID + "spinal-misalignment"))
    assert cornett in negated
    assert [t for t in negated if t in data] == []


def test_conflicting_records_are_linked_both_ways_and_both_stand(data: Graph) -> None:
    def statement(record: URIRef) -> tuple:
        return tuple(str(data.value(record, p)).removeprefix(CKGID) for p in (RDF.subject, RDF.predicate, RDF.object))

    links = set(data.subject_objects(CKG.conflictsWith))
    for a, b in links:
        assert a != b and (b, a) in links
        assert (a, RDF.type, CKG.Assertion) in data and (b, RDF.type, CKG.Assertion) in data
        assert (
            data.value(a, CKG.negated) is None
            and (
                data.value(a, RDF.subject),
                data.value(a, RDF.predicate),
                data.value(a, RDF.object),
            )
            in data
        ), "a conflict withdraws neither record"
    # the article recommends bed rest and also says lying in bed "can worsen back problems"
    assert {(statement(a), statement(b)) for a, b in links} == {
        (
            ("bed-rest", str(CKG.treats), "lower-back-muscle-spasm"),
            ("bed-rest", str(CKG.aggravates), "back-problem"),
        ),
        (
            ("bed-rest", str(CKG.aggravates), "back-problem"),
            ("bed-rest", str(CKG.treats), "lower-back-muscle-spasm"),
        ),
    }


def test_files_are_in_canonical_form() -> None:
    script = ROOT / "scripts" / "format_data.py"
    completed = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_each_file_opens_a_dataset_and_uses_only_project_prefixes(path: Path) -> None:
    graph = Graph().parse(path, format="turtle")
    dataset = URIRef(prefix_map()["ckgds"] + path.stem)
    assert (dataset, RDF.type, URIRef("http://www.w3.org/ns/dcat#Dataset")) in graph
    declared = dict(re.findall(r"^PREFIX (\w+): <([^>]+)>", path.read_text(encoding="utf-8"), re.MULTILINE))
    assert all(prefix_map().get(p) == ns for p, ns in declared.items())


def test_qualifiers_keep_the_details_of_the_source(data: Graph) -> None:
    durations = {str(o) for o in data.objects(None, CKG.duration)}
    timings = {str(o) for o in data.objects(None, CKG.timing)}
    assert any("15-20 minutes" in d for d in durations)
    assert any("48-72 hours" in t for t in timings)


def test_every_population_fact_is_a_plain_string(data: Graph) -> None:
    facts = [
        o
        for p in (CKG.prevalence, CKG.sexRatio, CKG.typicalAgeOfOnset, CKG.mostOftenAffects, CKG.onset, CKG.severity)
        for o in data.objects(None, p)
    ]
    assert facts and all(isinstance(o, Literal) and o.datatype is None and o.language is None for o in facts)


def test_the_shipped_graph_conforms_to_the_shapes() -> None:
    report = validate_graph(shipped("oxigraph").memory_graph())
    violations = [(str(p.shape), str(p.focus), p.message) for p in report.problems if p.severity_name == "Violation"]
    assert violations == []
