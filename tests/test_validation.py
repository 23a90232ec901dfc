"""validate_graph on large or Oxigraph-backed graphs: no len() of the data graph, which it leaves unchanged."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from pyshacl.graph_abstraction import OxigraphDataGraph
from rdflib import RDF, SH, Graph, URIRef

from clinical_kg.validation import shapes_graph, validate_graph
from clinical_kg.vocab import CKG
from tests.conftest import shipped

BOGUS = [URIRef(f"https://w3id.org/clinical-kg/id/bogus-{i}") for i in range(3)]


def _with_bogus_conditions(graph: Graph) -> Graph:
    for node in BOGUS:  # conditions without labels or definitions: several results each
        graph.add((node, RDF.type, CKG.Condition))
    return graph


def _key(report) -> list[tuple[str, str, str]]:
    return sorted((str(p.shape), str(p.focus), str(p.value)) for p in report.problems)


@pytest.fixture(scope="module")
def reference() -> tuple[Graph, list[tuple[str, str, str]]]:
    graph = _with_bogus_conditions(Graph() + shipped("oxigraph").memory_graph())
    return graph, _key(validate_graph(graph))


def test_validation_never_takes_len_of_the_data_graph(reference, monkeypatch) -> None:
    # pySHACL 0.40.1 tests the data graph for truth (`datagraph or sg`, `if impl and ...`), a
    # len() of the store: a full count on Oxigraph. Without the workaround in validate_graph
    # this raises (the bogus conditions give results, each of which tests it).
    graph, expected = reference

    def no_len(self) -> int:
        raise AssertionError("validation called len() on the data graph")

    monkeypatch.setattr(OxigraphDataGraph, "__len__", no_len)
    report = validate_graph(graph)
    assert not report.conforms
    assert _key(report) == expected
    assert {p.focus for p in report.problems} >= set(BOGUS)


def test_validation_of_a_pyoxigraph_store_gives_the_same_report(reference) -> None:
    graph, expected = reference
    store = ox.Store()
    store.load(graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
    assert _key(validate_graph(store)) == expected


def test_validation_leaves_the_data_graph_unchanged(reference) -> None:
    # validate_graph runs pySHACL in place (no copy of a large graph), which is only safe
    # while the shapes hold no rules that would write inferred triples into the data.
    graph, _ = reference
    before = len(graph)
    validate_graph(graph)
    assert len(graph) == before
    assert not list(shapes_graph().subjects(SH.rule, None))


def test_warnings_of_one_rule_are_summarised_unless_verbose() -> None:
    # issue 12: `ckg validate` printed 169 "missing definition" warnings by default
    from rdflib import SH, Graph, URIRef

    from clinical_kg.validation import Problem, Report, format_report

    ckgid, ckgsh = "https://w3id.org/clinical-kg/id/", "https://w3id.org/clinical-kg/shapes/"
    warnings = [
        Problem(
            SH.Warning, URIRef(f"{ckgid}e{i}"), URIRef(ckgsh + "ClinicalEntity-definition"), None, None, "Define it."
        )
        for i in range(5)
    ]
    violation = Problem(SH.Violation, URIRef(ckgid + "x"), URIRef(ckgsh + "Entity-label"), None, None, "Label it.")
    report = Report([violation, *warnings], Graph())
    assert format_report(report, {}) == (
        "Violation: ckgsh:Entity-label (1)\n  Label it.\n  - ckgid:x\n"
        "Warning: ckgsh:ClinicalEntity-definition (5)\n  Define it.\n  - ckgid:e0\n  - ckgid:e1\n  - ckgid:e2\n"
        "  ... and 2 more\n\nThe graph does not conform: 1 violation, 5 warnings.\n--verbose lists every warning.\n"
    )
    assert format_report(report, {}, verbose=True).count("  - ckgid:e") == 5
