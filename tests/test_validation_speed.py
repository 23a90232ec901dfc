"""The workarounds that make validation fast, and that they change no result.

- validate_graph runs pySHACL on Oxigraph (an rdflib graph is copied into an in-memory store),
  and checks a property shape once for all its focus nodes;
- ``validate_graph(focus_nodes=...)`` filters only the top-level targets (not pySHACL's
  ``focus_nodes`` option, which also drops the value nodes of nested shapes and blank nodes);
- validate_candidate reads no label of the data but those of the candidate's names, and lists
  the labelled entities (suggestions for a misspelt IRI) only when an IRI is unknown.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, SKOS, BNode, Graph, Literal, URIRef

from clinical_kg import resources, validation
from clinical_kg.curation import CHECKED_IN_PYTHON, load_data, touched_nodes, validate_candidate
from clinical_kg.curation.checks import _name_owners
from clinical_kg.ingest import read_candidate
from clinical_kg.validation import validate_graph
from clinical_kg.vocab import CKG
from tests.conftest import SOURCES, shipped

ID = "https://w3id.org/clinical-kg/id/"
SEMANTIC = Path(__file__).parent / "candidates" / "semantic"
GOOD = Path(__file__).parent / "candidates" / "good"


def _full_key(report: validation.Report) -> list[tuple[str, ...]]:
    return sorted(
        (str(p.severity), str(p.shape), str(p.focus), str(p.path), str(p.value), p.message) for p in report.problems
    )


@pytest.fixture(scope="module")
def offending() -> Graph:
    """The shipped graph with offenders of several SPARQL constraints (each run once per offender)."""
    graph = Graph() + shipped("oxigraph").memory_graph()
    a, b = URIRef(ID + "spasm-test-a"), URIRef(ID + "spasm-test-b")
    for node in (a, b):
        graph.add((node, RDF.type, CKG.Condition))
        graph.add((node, SKOS.prefLabel, Literal(f"spasm test {node[-1]}", lang="en")))
        graph.add((node, SKOS.definition, Literal("A test condition.", lang="en")))
    graph.add((a, CKG.broader, b))  # a cycle: ClinicalEntity-broaderCycle, twice
    graph.add((b, CKG.broader, a))
    graph.add((a, CKG.hasSymptom, b))  # no record, and b is no symptom: record and range
    graph.add((a, CKG.symptomOf, b))  # an inverse property
    graph.add((URIRef(ID + "spasm-test-c"), RDF.type, CKG.ClinicalEntity))  # no concrete class (qualified shape)
    return graph


def test_an_rdflib_graph_is_validated_as_an_oxigraph_copy(offending, monkeypatch) -> None:
    # rdflib's SPARQL engine took 0.3 s on a candidate's neighbourhood: every rdflib graph is
    # validated as an in-memory Oxigraph copy, with the report of the same triples in a store.
    report = validate_graph(offending)
    rules = {str(p.shape).rsplit("/", 1)[-1] for p in report.problems}
    assert {"ClinicalEntity-broaderCycle", "ClinicalStatement-record", "ClinicalStatement-range"} <= rules
    assert "ClinicalStatement-inverse" in rules
    store = ox.Store()
    store.load(offending.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    assert _full_key(validate_graph(store)) == _full_key(report)
    monkeypatch.setattr(Graph, "query", lambda *a, **k: pytest.fail("rdflib's engine answered a query"))
    assert _full_key(validate_graph(offending)) == _full_key(report)


def test_an_oxigraph_view_is_not_copied(monkeypatch) -> None:
    monkeypatch.setattr(validation, "oxigraph_copy", lambda graph: pytest.fail("copied an oxrdflib view"))
    assert validate_graph(shipped("oxigraph").graph).conforms


def test_focus_nodes_give_those_nodes_the_results_of_a_whole_validation(offending) -> None:
    whole = validate_graph(offending)
    focus = {URIRef(ID + "spasm-test-a"), URIRef(ID + "spasm-test-c"), URIRef(ID + "sciatica")}
    focused = validate_graph(offending, focus_nodes=focus)
    assert {p.focus for p in focused.problems} >= focus - {URIRef(ID + "sciatica")}
    assert _full_key(focused) == sorted(k for k in _full_key(whole) if URIRef(k[2]) in focus)
    # sh:qualifiedValueShape checks the value nodes (the classes) of the focus node: still reported
    assert any(str(p.shape).endswith("ClinicalEntity-type") for p in focused.problems)
    assert _full_key(validate_graph(offending)) == _full_key(whole)  # the filter ends with the call


def test_focus_nodes_may_be_blank_nodes() -> None:
    graph = Graph().parse(resources.vocabulary_file(), format="turtle")
    record = BNode()
    graph.add((record, RDF.type, CKG.Assertion))  # a record with nothing else: several violations
    whole = validate_graph(graph)
    focused = validate_graph(graph, focus_nodes=[record])
    assert focused.problems and _full_key(focused) == [k for k in _full_key(whole) if k[2] == str(record)]


def test_an_empty_focus_validates_nothing(offending) -> None:
    assert validate_graph(offending, focus_nodes=[]).problems == []


# Candidate validation ---------------------------------------------------------------------------------


class LabelScanForbidden(Graph):
    """A data graph that refuses to list every label: on a 1M-triple Oxigraph store that is seconds."""

    def triples(self, pattern, *args, **kwargs):
        s, p, o = pattern
        if s is None and o is None and p in (SKOS.prefLabel, SKOS.altLabel):
            raise AssertionError(f"validate_candidate read every {p}")
        return super().triples(pattern, *args, **kwargs)


@pytest.fixture(scope="module")
def data() -> Graph:
    graph = Graph()
    for part in load_data(resources.data_dir()).values():
        graph += part
    return graph


def _guarded(data: Graph) -> Graph:
    guarded = LabelScanForbidden()
    for triple in data:
        guarded.add(triple)
    return guarded


@pytest.mark.parametrize("name", ["synonym-of-another-entity.ttl", "duplicate-label.ttl", "wrong-class.ttl"])
def test_candidate_checks_read_only_the_candidates_names(data, name) -> None:
    path = SEMANTIC / name
    expected = validate_candidate(read_candidate(path), data, sources_dir=SOURCES)
    report = validate_candidate(read_candidate(path), _guarded(data), sources_dir=SOURCES)
    assert [(f.rule, f.focus, f.message, f.value) for f in report.findings] == [
        (f.rule, f.focus, f.message, f.value) for f in expected.findings
    ]
    if name != "wrong-class.ttl":
        assert "duplicate-entity" in {f.rule for f in report.findings}


def test_a_misspelt_iri_still_gets_a_suggestion(data) -> None:
    candidate = Graph()
    candidate.add((URIRef(ID + "sciatca"), CKG.hasSymptom, URIRef(ID + "radiating-leg-pain")))
    findings = [f for f in validate_candidate(candidate, data).findings if f.rule == "unknown-entity"]
    assert findings and findings[0].suggestion == "did you mean ckgid:sciatica?"


def test_names_are_found_whatever_their_case_and_spacing(data) -> None:
    sciatica = URIRef(ID + "sciatica")
    label = next(data.objects(sciatica, SKOS.prefLabel))
    for text in (str(label), str(label).upper(), f"  {str(label).title()} ", str(label).capitalize()):
        assert sciatica in _name_owners(data, Literal(text, lang="en"))
        assert sciatica in _name_owners(data, Literal(text))
    assert _name_owners(data, Literal("no entity is called this", lang="en")) == set()


NEIGHBOURHOOD_CASES = [SEMANTIC / f"{name}.ttl" for name in (
    "wrong-class", "disjoint-classes", "record-without-triple", "triple-without-record", "red-flag-without-urgency",
    "missing-quote")] + [GOOD / "debilitating-back-pain.ttl"]  # fmt: skip


@pytest.mark.parametrize("path", NEIGHBOURHOOD_CASES, ids=lambda p: p.name)
def test_the_neighbourhood_gives_the_shacl_findings_of_the_whole_graph(data, path) -> None:
    """SHACL on the candidate's neighbourhood finds what SHACL on the whole graph finds for its nodes."""
    candidate = read_candidate(path)
    report = validate_candidate(candidate, data, sources_dir=SOURCES)  # mints the records' IRIs
    focus = touched_nodes(candidate) | {s for s in candidate.subjects() if isinstance(s, BNode)}
    vocabulary = Graph().parse(resources.vocabulary_file(), format="turtle")
    before = validate_graph(vocabulary + data, focus_nodes=focus, skip_shapes=CHECKED_IN_PYTHON)
    after = validate_graph(vocabulary + data + candidate, focus_nodes=focus, skip_shapes=CHECKED_IN_PYTHON)
    old = {(p.shape, p.focus, p.path, p.value) for p in before.problems}
    expected = {(p.focus, p.shape, p.message) for p in after.problems if (p.shape, p.focus, p.path, p.value) not in old}
    found = {(f.focus, URIRef(f.rule.replace("ckgsh:", "https://w3id.org/clinical-kg/shapes/")), f.message)
             for f in report.findings if f.rule.startswith("ckgsh:")}  # fmt: skip
    assert found == expected


def test_a_property_shape_is_checked_once_for_all_its_focus_nodes(monkeypatch) -> None:
    # pySHACL checks an sh:property shape once per focus node (about 100 µs a call: 20 s of a
    # full validation at 100k triples); validate_graph hands it all the focus nodes at once.
    from pyshacl.shape import Shape

    calls: list[int] = []
    validate_shape = Shape.validate

    def counting(self, executor, target_graph, focus=None, _evaluation_path=None):
        if focus is not None and str(self.node).endswith("ClinicalEntity-prefLabel"):
            calls.append(len(focus) if isinstance(focus, list) else 1)
        return validate_shape(self, executor, target_graph, focus, _evaluation_path)

    monkeypatch.setattr(Shape, "validate", counting)
    graph = shipped("oxigraph").memory_graph()
    entities = graph.query("SELECT DISTINCT ?e { ?e a/rdfs:subClassOf* ckg:ClinicalEntity }", initNs={"ckg": CKG})
    validate_graph(graph)
    assert calls == [len(entities)]
