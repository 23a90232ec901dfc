"""The shapes are portable: Apache Jena's SHACL engine gives the results pySHACL gives.

Curators and apps validate with their own engines; the shapes are an artefact we publish. Jena's
engine (Debian's ``libapache-jena-java``, Jena 4.5, run by ``tests/jena/ShaclPairs.java`` in one JVM)
validates the shipped graph and every example of ``tests/shapes/`` (each with the vocabulary, as
``tests/test_shapes.py`` does), and each must give the same (focus node, source shape, severity)
results as pySHACL. ``.ci/run`` installs the package when it runs as root; elsewhere the test is
skipped with the reason.

Debian's Jena moved the classes of its embedded Xerces to the package ``xerces`` but left their
message files under ``org/apache/jena/ext/xerces``: without them Jena stops at start ("internal
error" building the XSD datatypes). :func:`jena_classpath` copies them where the classes look.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, SH, Graph
from rdflib.term import BNode, Node

from tests.test_shapes import EXAMPLES, INVALID, ONTOLOGY, SHAPE_FILES, VALID, pyshacl_report, shapes_graph

JAVA_DIR = Path("/usr/share/java")
JARS = (
    *("jena-arq", "jena-base", "jena-cmds", "jena-core", "jena-iri", "jena-shacl", "jena-shex", "jena-rdfconnection"),
    *("jena-dboe-base", "jena-dboe-index", "jena-dboe-storage", "jena-dboe-trans-data", "jena-dboe-transaction"),
    *("jena-tdb", "jena-tdb2", "commons-cli", "commons-codec", "commons-compress", "commons-csv", "commons-io"),
    *("commons-lang3", "dexx.collection", "gson", "guava", "httpclient", "httpcore", "jackson-core"),
    *("jackson-databind", "jackson-annotations", "jsonld-java", "protobuf", "slf4j-api", "slf4j-nop", "thrift"),
    *("titanium-json-ld", "jakarta.json-api"),
)
PROGRAM = Path(__file__).resolve().parent / "jena" / "ShaclPairs.java"
ROOT = ONTOLOGY.parent
SHIPPED = [ONTOLOGY / "clinical-kg.ttl", *sorted((ROOT / "data").glob("*.ttl"))]

Result = tuple[str, str, str]  # focus node, source shape, severity (N-Triples; blank nodes as "_:")


def jena_classpath(resources: Path) -> str:
    """The classpath of Debian's Jena, with its Xerces message files where its classes look for them."""
    missing = [jar for jar in JARS if not (JAVA_DIR / f"{jar}.jar").is_file()]
    if shutil.which("java") is None or missing:
        pytest.skip(f"Apache Jena is not installed (apt-get install libapache-jena-java): missing {missing or 'java'}")
    moved = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
        for name in jar.namelist():
            if name.startswith(moved) and name.endswith(".properties"):
                target = resources / "xerces" / name[len(moved) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    return ":".join([str(resources), *(str(JAVA_DIR / f"{jar}.jar") for jar in JARS)])


def _key(node: Node | None) -> str:
    return "_:" if isinstance(node, BNode) else node.n3() if node is not None else ""


def pyshacl_results(report: Graph) -> Counter[Result]:
    return Counter(
        (
            _key(report.value(r, SH.focusNode)),
            _key(report.value(r, SH.sourceShape)),
            str(report.value(r, SH.resultSeverity)),
        )
        for r in report.subjects(RDF.type, SH.ValidationResult)
    )


@pytest.fixture(scope="module")
def jena_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[Result]]:
    """Jena's results for the shipped graph and every example, by name, from one JVM."""
    classpath = jena_classpath(tmp_path_factory.mktemp("jena"))
    vocabulary = str(ONTOLOGY / "clinical-kg.ttl")
    datasets = [f"shipped={','.join(map(str, SHIPPED))}"]
    datasets += [f"{path.relative_to(EXAMPLES)}={vocabulary},{path}" for path in (*VALID, *INVALID)]
    command = ["java", "-cp", classpath, str(PROGRAM), *map(str, SHAPE_FILES), "--", *datasets]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results: dict[str, Counter[Result]] = {}
    for line in completed.stdout.splitlines():
        name, focus, shape, severity = [*line.split("\t"), ""][:4]
        found = results.setdefault(name, Counter())
        if focus != "conforms":
            found[("_:" if focus.startswith("_:") else focus, "_:" if shape.startswith("_:") else shape, severity)] += 1
    assert set(results) == {name.split("=", 1)[0] for name in datasets}, "Jena skipped a data set"
    return results


@pytest.mark.parametrize("example", [*VALID, *INVALID], ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_jena_agrees_with_pyshacl_on_the_example(example: Path, jena_results: dict[str, Counter[Result]]) -> None:
    expected = pyshacl_results(pyshacl_report(example))
    assert jena_results[str(example.relative_to(EXAMPLES))] == expected


def test_jena_agrees_with_pyshacl_on_the_shipped_graph(jena_results: dict[str, Counter[Result]]) -> None:
    data = Graph()
    for path in SHIPPED:
        data.parse(path)
    _, report, _ = validate(
        data_graph=data,
        shacl_graph=shapes_graph(),
        ont_graph=None,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    expected = pyshacl_results(report)
    assert expected and jena_results["shipped"] == expected
