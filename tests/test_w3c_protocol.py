"""The W3C SPARQL 1.1 Protocol tests (w3c/rdf-tests, ``sparql/sparql11/protocol/manifest.ttl``) against ``ckg serve``.

Every test of the manifest is read from ``tests/fixtures/w3c-sparql11-protocol/`` and its requests
are sent as written (method, path under ``/sparql``, headers, body in its character encoding). The
store holds the shipped graph and the manifest's graph data, each file in the named graph the
manifest gives it (loaded as N-Quads with ``ckg load``), plus the empty graph ``data0.rdf`` that
several requests name as their default graph.

The tests that do not apply to a read-only endpoint check the answer the endpoint gives instead:

- the seven ``update_*`` tests expect an update to succeed: SPARQL Update is refused with 403 (the
  queries that follow it are answered, from the unchanged graph);
- ``query_multiple_dataset`` expects the protocol's dataset to override a ``FROM`` in the query:
  ``FROM`` and ``FROM NAMED`` are refused with 400 whatever the protocol says (T3 of
  shared/reference/security-findings.md: the endpoint never loads graphs named in a query).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection

from clinical_kg.store import load_store, shipped_files
from tests.endpoint import Server, running_server

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "w3c-sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
EMPTY_GRAPH = "http://kasei.us/2009/09/sparql/data/data0.rdf"
RESULT_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
GRAPH_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
               "application/ld+json": "json-ld", "text/n3": "n3"}  # fmt: skip

NOT_APPLICABLE = {
    **{
        name: (403, "an update: the endpoint is read-only")
        for name in (
            "update_dataset_default_graph",
            "update_dataset_default_graphs",
            "update_dataset_named_graphs",
            "update_dataset_full",
            "update_post_form",
            "update_post_direct",
            "update_base_uri",
        )
    },
    "query_multiple_dataset": (400, "FROM in a query is refused, whatever the protocol's dataset (T3)"),
}


@dataclass(frozen=True)
class Expected:
    statuses: frozenset[int]  # the first digit of the acceptable status codes
    format: str | None  # "boolean", "tabular" or "RDF"
    boolean: bool | None


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    expected: Expected


def _steps(manifest: Graph, test: URIRef) -> list[Step]:
    action = manifest.value(test, MF.action)
    steps = []
    for request in Collection(manifest, manifest.value(action, HT.requests)):
        headers = {}
        header_list = manifest.value(request, HT.headers)
        for header in Collection(manifest, header_list) if header_list is not None else []:
            headers[str(manifest.value(header, HT.fieldName))] = str(manifest.value(header, HT.fieldValue))
        body = manifest.value(request, HT.body)
        data = None
        if body is not None:
            encoding = str(manifest.value(body, CNT.characterEncoding) or "UTF-8")
            data = str(manifest.value(body, CNT.chars)).encode(encoding)
        response = manifest.value(request, HT.resp)
        codes = manifest.objects(response, MF.expectedStatus)
        statuses = frozenset(int(str(code).rsplit("StatusCode", 1)[1][0]) for code in codes)
        boolean = manifest.value(response, MF.expectedBoolean)
        form = manifest.value(response, MF.expectedFormat)
        path = str(manifest.value(request, HT.absolutePath))
        assert path.startswith("/sparql/")
        steps.append(
            Step(
                method=str(manifest.value(request, HT.methodName)),
                path="/sparql" + path.removeprefix("/sparql/"),
                headers=headers,
                body=data,
                expected=Expected(
                    statuses,
                    str(form) if form is not None else None,
                    boolean.toPython() if boolean is not None else None,
                ),
            )
        )
    return steps


MANIFEST = Graph().parse(FIXTURES / "manifest.ttl", publicID=FIXTURES.as_uri() + "/manifest.ttl")


def manifest_tests() -> list[tuple[str, list[Step]]]:
    """Every test of the manifest, in its order: its local name and its requests."""
    root = next(MANIFEST.subjects(RDF.type, MF.Manifest))
    entries = Collection(MANIFEST, MANIFEST.value(root, MF.entries))
    return [(str(test).rsplit("#", 1)[1], _steps(MANIFEST, test)) for test in entries]


def graph_data() -> dict[str, Path]:
    """The data files the manifest's tests use, by the graph name it gives each."""
    return {
        str(MANIFEST.value(data, RDFS_LABEL)): Path(str(MANIFEST.value(data, UT.graph)).removeprefix("file://"))
        for data in MANIFEST.objects(None, UT.graphData)
    }


TESTS = manifest_tests()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("w3c")
    quads = []
    for name, path in sorted(graph_data().items()):
        target = folder / f"{path.stem}.nq"
        lines = [line.rstrip().removesuffix(".") + f"<{name}> .\n" for line in path.read_text().splitlines() if line]
        target.write_text("".join(lines), encoding="utf-8")
        quads.append(target)
    store = folder / "store"
    load_store(store, [*shipped_files(), *quads])
    writable = ox.Store(str(store))
    writable.add_graph(ox.NamedNode(EMPTY_GRAPH))
    writable.flush()
    del writable
    with running_server(folder / "serve.log", "--store-path", str(store)) as running:
        yield running


def send(server: Server, step: Step) -> tuple[int, str, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(step.method, step.path, body=step.body, headers=step.headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def check(step: Step, status: int, content_type: str, body: bytes) -> None:
    expected = step.expected
    assert status // 100 in expected.statuses, (status, body[:300])
    media = content_type.split(";")[0].strip()
    if expected.format == "boolean":
        assert media in RESULT_TYPES[:2], content_type
        answer = json.loads(body)["boolean"] if media.endswith("json") else b"<boolean>true</boolean>" in body
        if expected.boolean is not None:
            assert answer is expected.boolean
    elif expected.format == "tabular":
        assert media in RESULT_TYPES, content_type
    elif expected.format == "RDF":
        assert media in GRAPH_TYPES, content_type
        Graph().parse(data=body, format=GRAPH_TYPES[media])  # it is RDF


@pytest.mark.parametrize(("name", "steps"), TESTS, ids=[name for name, _ in TESTS])
def test_w3c_protocol(server: Server, name: str, steps: list[Step]) -> None:
    for number, step in enumerate(steps):
        status, content_type, body = send(server, step)
        if name not in NOT_APPLICABLE:
            check(step, status, content_type, body)
        elif number == 0:  # the update, or the query with FROM
            assert status == NOT_APPLICABLE[name][0], (status, body[:300])
        else:  # the queries that would read what the update wrote: answered, from the unchanged graph
            assert status == 200, (status, body[:300])


def test_the_manifest_is_read_whole() -> None:
    assert len(TESTS) == 34 and set(NOT_APPLICABLE) <= {name for name, _ in TESTS}
    assert sum(len(steps) for _, steps in TESTS) >= 34


def test_relative_iris_resolve_against_the_endpoint(server: Server) -> None:
    """The protocol test's CONSTRUCT { <s> <p> 1 }: the IRIs are the endpoint's URL resolved."""
    step = Step("POST", "/sparql", {"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
                b"CONSTRUCT { <s> <p> 1 } WHERE {}", Expected(frozenset({2}), "RDF", None))  # fmt: skip
    status, _, body = send(server, step)
    assert status == 200
    assert body.decode() == (f'<{server.url}/s> <{server.url}/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
