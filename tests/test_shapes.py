"""The SHACL shapes of ontology/shapes/: meta-SHACL, messages, coverage and the example graphs.

Every example graph in tests/shapes/valid/ and tests/shapes/invalid/ is validated together with the
vocabulary, exactly as in production (see ontology/shapes/sparql-prefixes.ttl). An example names the
results it must raise in header lines of the form

    # expect: ckgsh:ClinicalEntity-prefLabel ckgid:sciatica

(source shape and focus node, as CURIEs with the prefixes of ontology/prefixes.ttl). The test compares
the set of (sh:sourceShape, sh:focusNode) pairs of the report with that set, never the message text.
A valid example may expect warnings or infos but no violation; an invalid example is named after the
shape it tests (``<shape local name>.ttl`` or ``<shape local name>--<variant>.ttl``).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import RDF, SH, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from clinical_kg.validation import validate_graph

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "ontology"
SHAPE_FILES = sorted((ONTOLOGY / "shapes").glob("*.ttl"))
PREFIX_DECLARATIONS = ONTOLOGY / "shapes" / "sparql-prefixes.ttl"
EXAMPLES = ROOT / "tests" / "shapes"
VALID = sorted((EXAMPLES / "valid").glob("*.ttl"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.ttl"))
DATA_MODEL = ROOT / "docs" / "data-model.md"

CKG = Namespace("https://w3id.org/clinical-kg/vocab/")
CKGSH = Namespace("https://w3id.org/clinical-kg/shapes/")
RDFS_SUBCLASS_OF = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")

# The constraint parameters of SHACL Core (sh:property only delegates to another shape).
CORE_PARAMETERS = frozenset(
    SH[name]
    for name in (
        *("class", "datatype", "nodeKind", "minCount", "maxCount", "minExclusive", "minInclusive", "maxExclusive"),
        *("maxInclusive", "minLength", "maxLength", "pattern", "languageIn", "uniqueLang", "equals", "disjoint"),
        *("lessThan", "lessThanOrEquals", "not", "and", "or", "xone", "node", "qualifiedValueShape", "closed"),
        *("hasValue", "in"),
    )
)
SEVERITIES = {SH.Violation, SH.Warning, SH.Info}
EXPECT = re.compile(r"^#\s*expect:\s*(\S+)\s+(\S+)\s*$")


@cache
def prefixes() -> dict[str, str]:
    graph = Graph(bind_namespaces="none").parse(ONTOLOGY / "prefixes.ttl")
    return {prefix: str(namespace) for prefix, namespace in graph.namespaces() if prefix}


def expand(curie: str) -> URIRef:
    prefix, _, local = curie.partition(":")
    assert prefix in prefixes(), f"unknown prefix in {curie!r}"
    return URIRef(prefixes()[prefix] + local)


def curie(node: Node) -> str:
    for prefix, namespace in prefixes().items():
        if isinstance(node, URIRef) and str(node).startswith(namespace):
            return f"{prefix}:{str(node)[len(namespace) :]}"
    return node.n3()


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for path in SHAPE_FILES:
        graph.parse(path)
    return graph


@cache
def vocabulary() -> Graph:
    return Graph().parse(ONTOLOGY / "clinical-kg.ttl")


def example_graph(example: Path) -> Graph:
    """The vocabulary plus ``example``: the data graph an example is validated as."""
    data = Graph()
    data += vocabulary()
    data.parse(example)
    return data


@cache
def pyshacl_report(example: Path) -> Graph:
    """pySHACL's own report for ``example`` (pySHACL as it ships, none of clinical_kg's workarounds)."""
    _, report, _ = validate(
        data_graph=example_graph(example),
        shacl_graph=shapes_graph(),
        ont_graph=None,
        inference="none",
        advanced=True,
        meta_shacl=False,
        allow_warnings=True,
    )
    return report


def run_shapes(example: Path) -> list[tuple[URIRef, Node, URIRef]]:
    """Validate the vocabulary plus ``example`` as in production; (source shape, focus node, severity) per result."""
    report = pyshacl_report(example)
    return [
        (report.value(r, SH.sourceShape), report.value(r, SH.focusNode), report.value(r, SH.resultSeverity))
        for r in report.subjects(RDF.type, SH.ValidationResult)
    ]


def expected_results(example: Path) -> set[tuple[URIRef, URIRef]]:
    pairs = set()
    for line in example.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("# expect"):
            match = EXPECT.match(line.strip())
            assert match, f"{example.name}: malformed expect line {line!r}"
            pairs.add((expand(match[1]), expand(match[2])))
    return pairs


def show(pairs: set[tuple[Node, Node]]) -> list[str]:
    return sorted(f"{curie(shape)} {curie(focus)}" for shape, focus in pairs)


def shapes_with_core_constraints(graph: Graph) -> set[Node]:
    return {s for s, p, _ in graph if p in CORE_PARAMETERS}


def constraint_shapes(graph: Graph) -> set[URIRef]:
    """Named shapes that can be the sh:sourceShape of a result (they carry a constraint of their own)."""
    candidates = shapes_with_core_constraints(graph) | set(graph.subjects(SH.sparql, None))
    return {s for s in candidates if isinstance(s, URIRef) and s.startswith(str(CKGSH))}


def clinical_predicates_in_data_model() -> list[URIRef]:
    text = DATA_MODEL.read_text(encoding="utf-8")
    start = text.index("The clinical predicates are:")
    paragraph = text[start : text.index("(literal objects", start)]
    return [CKG[name] for name in re.findall(r"`ckg:(\w+)`", paragraph)]


# Shapes


@pytest.mark.parametrize("path", SHAPE_FILES, ids=lambda p: p.name)
def test_shape_file_passes_meta_shacl(path: Path) -> None:
    shapes = Graph().parse(path).parse(PREFIX_DECLARATIONS)
    # Validating the vocabulary alone also runs every SPARQL target, so the queries must parse.
    conforms, _, text = validate(
        data_graph=vocabulary(),
        shacl_graph=shapes,
        ont_graph=None,
        inference="none",
        advanced=True,
        meta_shacl=True,
        allow_warnings=True,
    )
    assert conforms, text


def test_every_constraint_has_a_message() -> None:
    graph = shapes_graph()
    with_core = shapes_with_core_constraints(graph)
    sparql = set(graph.objects(None, SH.sparql))
    missing = [curie(node) for node in sorted(with_core | sparql) if graph.value(node, SH.message) is None]
    assert not missing, f"constraints without sh:message: {missing}"
    for node in with_core | sparql:
        for message in graph.objects(node, SH.message):
            assert isinstance(message, Literal) and message.language == "en", f"{curie(node)}: message not @en"


def test_every_shape_is_named_and_severities_are_shacl_severities() -> None:
    graph = shapes_graph()
    for shape in graph.objects(None, SH.property):
        assert isinstance(shape, URIRef), "property shapes are named (ckgsh:Class-property), not blank nodes"
    for shape, severity in graph.subject_objects(SH.severity):
        assert severity in SEVERITIES, f"{curie(shape)}: sh:severity {severity}"


def test_every_constraint_shape_has_an_invalid_example() -> None:
    covered = {shape for path in INVALID for shape, _ in expected_results(path)}
    missing = sorted(curie(s) for s in constraint_shapes(shapes_graph()) - covered)
    assert not missing, f"shapes without an invalid example in tests/shapes/invalid/: {missing}"


# Shapes that repeat the vocabulary or the data model must agree with them


def test_clinical_predicate_lists_agree_with_the_data_model() -> None:
    expected = clinical_predicates_in_data_model()
    assert len(expected) == 27, expected
    graph = shapes_graph()
    in_list = Collection(graph, graph.value(CKGSH["Assertion-predicate"], SH["in"]))
    assert set(in_list) == set(expected), "ckgsh:Assertion-predicate sh:in"
    for query, also in (
        ("ClinicalStatement-record-query", set()),
        ("ClinicalStatement-domain-query", set()),
        ("ClinicalStatement-range-query", set()),
        ("ClinicalStatement-inverse-query", {CKG.broader}),
    ):
        text = str(graph.value(CKGSH[query], SH.select))
        listed = re.search(r"(?:\?path|\?forward) IN \((.*?)\)\)", text, re.S)
        assert listed, query
        names = {CKG[name] for name in re.findall(r"ckg:(\w+)", listed[1])}
        assert names == set(expected) | also, f"ckgsh:{query}"


def test_concrete_classes_are_the_leaf_classes_of_the_vocabulary() -> None:
    vocab = vocabulary()
    clinical = set(vocab.transitive_subjects(RDFS_SUBCLASS_OF, CKG.ClinicalEntity)) - {CKG.ClinicalEntity}
    leaves = {c for c in clinical if not set(vocab.subjects(RDFS_SUBCLASS_OF, c))}
    graph = shapes_graph()
    qualified = graph.value(CKGSH["ClinicalEntity-type"], SH.qualifiedValueShape)
    assert set(Collection(graph, graph.value(qualified, SH["in"]))) == leaves


# Examples


def test_there_are_examples() -> None:
    assert VALID and INVALID


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_conforms(path: Path) -> None:
    results = run_shapes(path)
    violations = {(shape, focus) for shape, focus, severity in results if severity == SH.Violation}
    assert not violations, f"violations: {show(violations)}"
    assert show({(s, f) for s, f, _ in results}) == show(expected_results(path))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_raises_exactly_the_expected_results(path: Path) -> None:
    expected = expected_results(path)
    assert expected, f"{path.name} has no '# expect:' line"
    shape_name = path.stem.split("--")[0]
    assert CKGSH[shape_name] in {shape for shape, _ in expected}, f"{path.name} does not expect ckgsh:{shape_name}"
    unknown = sorted(curie(shape) for shape, _ in expected if shape not in constraint_shapes(shapes_graph()))
    assert not unknown, f"no such constraint shape: {unknown}"
    assert show({(s, f) for s, f, _ in run_shapes(path)}) == show(expected)


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: p.name)
def test_validate_graph_on_oxigraph_gives_pyshacls_own_report(path: Path) -> None:
    # `ckg validate` hands pySHACL the Oxigraph store itself, and clinical_kg.validation changes
    # how pySHACL runs (property shapes checked for all focus nodes at once; no len() of the
    # data graph). Every result must be the one pySHACL as it ships gives on an rdflib graph.
    report = pyshacl_report(path)
    fields = (SH.resultSeverity, SH.sourceShape, SH.focusNode, SH.resultPath, SH.value, SH.resultMessage)
    expected = sorted(
        tuple(str(report.value(r, p)) for p in fields) for r in report.subjects(RDF.type, SH.ValidationResult)
    )
    store = ox.Store()
    store.load(example_graph(path).serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
    actual = sorted(
        (str(p.severity), str(p.shape), str(p.focus), str(p.path), str(p.value), p.message)
        for p in validate_graph(store).problems
    )
    assert actual == expected
