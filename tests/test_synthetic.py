"""scripts/generate_synthetic.py: clinical-shaped, conforming to the shapes, deterministic."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter

import pytest
from rdflib import RDF, SKOS, Graph

from clinical_kg import resources
from clinical_kg.validation import validate_graph
from clinical_kg.vocab import CKG
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "generate_synthetic.py"
_spec = importlib.util.spec_from_file_location("generate_synthetic", SCRIPT)
synthetic = importlib.util.module_from_spec(_spec)
sys.modules["generate_synthetic"] = synthetic  # dataclasses look their module up there
_spec.loader.exec_module(synthetic)


def ntriples(size: int, seed: int) -> str:
    return "".join(line + "\n" for line in synthetic.generate(size, seed))


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph().parse(data=ntriples(5_000, 7), format="nt")


def test_about_the_size_asked_for(graph: Graph) -> None:
    assert 4_500 <= len(graph) <= 5_500


def test_conforms_to_the_shapes(graph: Graph) -> None:
    data = Graph().parse(resources.vocabulary_file(), format="turtle") + graph
    report = validate_graph(data)
    assert report.problems == []


def test_deterministic_for_a_seed() -> None:
    assert ntriples(5_000, 7) == ntriples(5_000, 7)
    assert ntriples(5_000, 7) != ntriples(5_000, 8)


def test_clinical_shape(graph: Graph) -> None:
    kinds = Counter(graph.objects(None, RDF.type))
    for cls in (CKG.Condition, CKG.Symptom, CKG.Cause, CKG.Assertion, CKG.SourceDocument, CKG.DiagnosticTest):
        assert kinds[cls] > 0, cls
    assert sum(kinds[c] for c in (CKG.Medication, CKG.Procedure, CKG.PhysicalTherapy, CKG.SelfCare)) > 0
    # the symptom hierarchy is four levels deep
    depth = {s: 0 for s in graph.subjects(RDF.type, CKG.Symptom)}
    for symptom in depth:
        node, level = symptom, 0
        while (node := graph.value(node, CKG.broader)) is not None:
            level += 1
        depth[symptom] = level
    assert max(depth.values()) == 3
    # skewed degrees: the hub symptom is shared by many conditions, most symptoms by few
    degree = Counter(graph.objects(None, CKG.hasSymptom))
    pain = next(graph.subjects(SKOS.prefLabel, next(o for o in graph.objects() if str(o) == "synthetic pain")))
    assert degree[pain] == max(degree.values()) and degree[pain] > 4 * sorted(degree.values())[len(degree) // 2]
    # labels and synonyms are unique, ignoring case
    labels = [str(o).lower() for o in graph.objects(None, SKOS.prefLabel)] + [
        str(o).lower() for o in graph.objects(None, SKOS.altLabel)
    ]
    assert len(labels) == len(set(labels))
    # every clinical triple has a record with source and quote
    records = list(graph.subjects(RDF.type, CKG.Assertion))
    assert all((r, CKG.source, None) in graph and (r, CKG.evidenceQuote, None) in graph for r in records)


def test_command_line_writes_the_same_graph(tmp_path) -> None:
    out = tmp_path / "g.ttl.gz"
    subprocess.run([sys.executable, str(SCRIPT), "--triples", "2k", "--seed", "3", "--out", str(out)], check=True)
    written = Graph().parse(data=__import__("gzip").decompress(out.read_bytes()).decode(), format="turtle")
    assert len(written) == len(Graph().parse(data=ntriples(2_000, 3), format="nt"))


def test_labels_and_iris_never_meet_the_curated_ones(graph: Graph) -> None:
    shipped = Graph()
    for path in resources.shipped_files():
        shipped.parse(path, format="turtle")
    names = (SKOS.prefLabel, SKOS.altLabel)
    curated = {str(o).casefold() for p in names for o in shipped.objects(None, p)}
    synthetic = {str(o).casefold() for p in names for o in graph.objects(None, p)}
    assert synthetic and all("synthetic" in name for name in synthetic)
    assert curated & synthetic == set()
    assert set(shipped.subjects()) & set(graph.subjects()) == set()
    # loaded together with the shipped data, the synthetic graph adds no problem of its own
    assert validate_graph(shipped + graph).problems == validate_graph(shipped).problems
