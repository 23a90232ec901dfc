"""The graph on external SPARQL servers (issue 17): Oxigraph server and Virtuoso, loaded with
``ckg load --endpoint``, give the embedded store's answers; and the faults a server can have
(stopped, slow, refusing credentials, answering too much) give one clear error each.

Each server starts once per module on free loopback ports in a throw-away folder
(:mod:`tests.sparql_servers`) and is stopped by its process id; Virtuoso is skipped, with the
reason, where it is not installed (``.ci/run`` installs it when it runs as root).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph

from clinical_kg import errors, resources
from clinical_kg.catalogue import run_grouped, run_query
from clinical_kg.cli import main
from clinical_kg.curation import load_data, validate_candidate
from clinical_kg.ingest import read_candidate
from clinical_kg.paging import Page
from clinical_kg.remote import SparqlKnowledgeGraph, configure
from clinical_kg.remote.load import file_graphs
from clinical_kg.remote.protocol import EndpointError
from clinical_kg.remote.pull import candidate_data
from clinical_kg.resources import shipped_files
from clinical_kg.results import grouped_json, to_csv
from clinical_kg.store import QueryResult
from tests.conftest import ROOT, SOURCES, index_for, shipped
from tests.endpoint import running_server
from tests.sparql_servers import (
    RemoteServer,
    json_answer,
    missing,
    oxigraph_server,
    scripted_endpoint,
    server_env,
    virtuoso_server,
)
from tests.test_catalogue import load_cases

SERVERS = ["oxigraph", "virtuoso"]
CASES = [(name, case) for name, case in load_cases() if "fixture" not in case]
# Candidates that make the checks read each part a pull takes: records and the broader chain (good),
# labels' owners (duplicates), records of a subject (contradiction), classes (wrong class, typos), every
# labelled entity (the suggestion for an unknown entity).
CANDIDATE_FILES = [ROOT / "tests" / "candidates" / name for name in (
    "good/debilitating-back-pain.ttl", "good/pain-shooting-down-to-the-foot.ttl", "semantic/contradiction.ttl",
    "semantic/duplicate-label.ttl", "semantic/synonym-of-another-entity.ttl", "semantic/unknown-entity.ttl",
    "semantic/wrong-class.ttl", "semantic/class-typo.ttl", "semantic/record-without-triple.ttl",
)]  # fmt: skip
HEADLINE_QUERY = ("conditions-causing-symptom", {"symptom": ["radiating leg pain"]})
HEADLINE = ["query", "conditions-causing-symptom", "--param", "symptom=radiating leg pain"]


def ckg(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A running server holding the shipped graph, loaded with ``ckg load --endpoint`` (twice: a
    load replaces, so the second must change nothing)."""
    reason = missing(request.param)
    if reason:
        pytest.skip(reason)
    start = oxigraph_server if request.param == "oxigraph" else virtuoso_server
    with start(tmp_path_factory.mktemp(request.param)) as running:
        for _ in range(2):
            loaded = ckg("load", *running.options, env=running.env)
            assert loaded.exit_code == 0, loaded.output
        yield running


def remote(server: RemoteServer) -> SparqlKnowledgeGraph:
    return SparqlKnowledgeGraph(configure(*server.options[1::2], environ=server_env(server)))


def _shipped_graphs() -> dict[str, int]:
    """The graph of each shipped file, with its number of triples."""
    return {graph: len(set(triples)) for path in shipped_files() for graph, triples in file_graphs(path).items()}


def test_load_puts_each_file_in_its_own_graph_once(server: RemoteServer) -> None:
    kg = remote(server)
    expected = _shipped_graphs()
    assert sorted(kg.parts()) == sorted(expected)
    counts = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    found = {str(g): int(n) for g, n in kg.query_trusted(counts).rows}
    assert found == expected  # loaded twice: every graph holds its file's triples once
    assert len(kg) == len(shipped("oxigraph"))  # the union graph: every triple once


def test_graph_names_are_those_of_the_nquads_export(server: RemoteServer, tmp_path: Path) -> None:
    out = tmp_path / "g.nq"
    assert ckg("export", "--format", "nquads", "--out", str(out)).exit_code == 0
    graphs = {line.rsplit(" ", 2)[-2].strip("<>") for line in out.read_text(encoding="utf-8").splitlines()}
    assert graphs == set(remote(server).parts())


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}:{c['name']}" for n, c in CASES])
def test_catalogue_case_gives_the_embedded_rows(server: RemoteServer, name: str, case: dict) -> None:
    """Every catalogue case, whatever the case files hold: the same rows, in the same order, term for term."""
    embedded = shipped("oxigraph")
    params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
    kg = remote(server)
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"])) as caught:
            run_query(kg, name, params)
        assert str(caught.value) == case["message"].rstrip("\n")
        return
    expected = run_query(embedded, name, params, index=index_for(embedded))
    found = run_query(kg, name, params)
    assert found.variables == expected.variables
    assert found.rows == expected.rows


def test_a_page_gives_the_embedded_page_and_total(server: RemoteServer) -> None:
    """The server is sent the page's LIMIT and OFFSET and a count; the embedded store counts as it pages."""
    embedded = shipped("oxigraph")
    name, params = HEADLINE_QUERY
    expected = run_query(embedded, name, params, index=index_for(embedded), page=Page(2, 1))
    found = run_query(remote(server), name, params, page=Page(2, 1))
    assert (found.rows, found.total, found.offset) == (expected.rows, expected.total, 1)
    assert len(found.rows) == 2 and found.total == len(run_query(embedded, name, params).rows)


@pytest.mark.parametrize("path", sorted(resources.queries_dir().glob("*.rq")), ids=lambda p: p.stem)
def test_catalogue_queries_keep_to_the_portable_forms(path: Path) -> None:
    """The forms that keep Virtuoso 7.2 exact (docs/remote-stores.md): DISTINCT rows, a lower-cased
    sort key made a plain string again (Virtuoso sorts LCASE results over 20 characters wrongly), and
    no FILTER EXISTS beside the FILTER NOT EXISTS that keeps a record (a different subset each run)."""
    body = "\n".join(line.split("#")[0] for line in path.read_text(encoding="utf-8").splitlines())
    assert re.search(r"^SELECT DISTINCT\b", body, re.MULTILINE), "a catalogue query is SELECT DISTINCT"
    order = body[body.rindex("ORDER BY") :]
    assert not re.search(r"(?<!STR\()\b[LU]CASE\(", order), "ORDER BY STR(LCASE(...)), not LCASE(...)"
    assert "FILTER EXISTS" not in body, "records kept with FILTER NOT EXISTS (negated), no FILTER EXISTS"


def test_commands_give_the_embedded_answers(server: RemoteServer, tmp_path: Path) -> None:
    at = ["--endpoint", server.query_url]
    env = server.env
    for args in (
        [*HEADLINE, "--format", "csv"],
        ["lookup", "back spasm"],
        ["stats", "--json"],
        ["sparql", "-", "--format", "tsv"],
    ):
        stdin = "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?c ckg:hasSymptom ?s } GROUP BY ?c ORDER BY DESC(?n) ?c LIMIT 5"
        local, there = ckg(*args, stdin=stdin), ckg(*args, *at, env=env, stdin=stdin)
        assert local.exit_code == there.exit_code == 0, there.output
        assert there.output == local.output, args


def test_the_nquads_export_from_the_server_is_the_bytes_of_the_files(server: RemoteServer, tmp_path: Path) -> None:
    """Every graph read back, every triple, canonical blank nodes: the other formats are made from this dataset."""
    local, there = tmp_path / "local.nq", tmp_path / "there.nq"
    assert ckg("export", "--format", "nquads", "--out", str(local)).exit_code == 0
    answer = ckg("export", "--format", "nquads", "--out", str(there), "--endpoint", server.query_url, env=server.env)
    assert answer.exit_code == 0, answer.output
    assert there.read_bytes() == local.read_bytes()


def test_whole_graph_validation_gives_the_embedded_report(server: RemoteServer) -> None:
    local = ckg("validate", "--format", "json")
    there = ckg("validate", "--format", "json", "--endpoint", server.query_url, env=server.env)
    assert there.exit_code == local.exit_code
    assert json.loads(there.stdout) == json.loads(local.stdout)
    assert there.stderr == f"checking the graph at {server.query_url}\n"


def _findings(report) -> list[tuple]:
    bnode = "_:"  # a candidate's blank nodes get new ids each time it is read
    return sorted(
        (f.severity, f.rule, bnode if isinstance(f.focus, BNode) else str(f.focus), str(f.path), str(f.value),
         f.message, f.suggestion)
        for f in report.findings
    )  # fmt: skip


@pytest.mark.parametrize("path", CANDIDATE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_candidate_checked_against_the_server_gets_the_same_findings(server: RemoteServer, path: Path) -> None:
    """The part of the server's data a candidate pulls gives the findings the whole local data gives."""
    candidate = read_candidate(path)
    pulled = candidate_data(remote(server), candidate)
    assert len(pulled) < len(_local_data()) / 4  # the neighbourhood, not the graph
    options = {"file": path.name, "sources_dir": SOURCES, "data_dir": ROOT / "data"}
    assert _findings(validate_candidate(candidate, pulled, **options)) == _local_findings(path)


@functools.cache
def _local_data() -> Graph:
    data = Graph()
    for graph in load_data(ROOT / "data").values():
        data += graph
    return data


@functools.cache
def _local_findings(path: Path) -> list[tuple]:
    options = {"file": path.name, "sources_dir": SOURCES, "data_dir": ROOT / "data"}
    return _findings(validate_candidate(read_candidate(path), _local_data(), **options))


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("ASK { ckgid:sciatica a ckg:Condition }", "json"),
     ("CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c a ckg:Condition ; skos:prefLabel ?l }", "nt")],
)  # fmt: skip
def test_ask_and_construct_give_the_embedded_answers(server: RemoteServer, text: str, fmt: str) -> None:
    local = ckg("sparql", "-", "--format", fmt, stdin=text)
    there = ckg("sparql", "-", "--format", fmt, "--endpoint", server.query_url, env=server.env, stdin=text)
    assert local.exit_code == there.exit_code == 0, there.output
    if fmt == "nt":  # blank-node-free triples, in an order the engines choose
        assert sorted(there.stdout.splitlines()) == sorted(local.stdout.splitlines())
    else:
        assert there.stdout == local.stdout


def test_a_refused_query_is_refused_before_the_server_sees_it(server: RemoteServer) -> None:
    answer = ckg("sparql", "-", "--endpoint", server.query_url, env=server.env,
                 stdin="SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")  # fmt: skip
    assert answer.exit_code == 2
    assert answer.output.startswith("error: SERVICE is refused")


# ---------------------------------------------------------------- faults


def test_a_server_stopped_mid_run_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clinical_kg.remote.protocol._BACKOFF", 0.01)
    with scripted_endpoint(json_answer(), "close") as (url, seen):
        answer = ckg(*HEADLINE, "--endpoint", url)
    assert answer.exit_code == 2
    assert answer.output == (
        f"error: cannot reach the SPARQL endpoint {url}: connection refused\n"
        "  hint: is the server running, and is the URL right? (--endpoint, --update-endpoint, --graph-store)\n"
    )
    assert len(seen) == 2  # the load record, then the query the server stopped during


def test_an_answer_broken_off_is_an_error_not_a_short_result() -> None:
    with scripted_endpoint(json_answer(), (200, {"Content-Length": "999"}, b'{"head":', 0)) as (url, _):
        kg = SparqlKnowledgeGraph(configure(url, environ={}))
        with pytest.raises(EndpointError, match=r"broke off its answer|is not SPARQL JSON"):
            kg.query("SELECT * WHERE { ?s ?p ?o }")


def test_a_slow_server_hits_the_timeout() -> None:
    with scripted_endpoint(json_answer(delay=5)) as (url, _):
        start = time.monotonic()
        answer = ckg(*HEADLINE, "--endpoint", url, env={"CKG_ENDPOINT_TIMEOUT": "0.5"})
        elapsed = time.monotonic() - start
    assert answer.exit_code == 2
    assert answer.output.splitlines()[0] == f"error: the SPARQL endpoint {url} did not answer within 0.5 s"
    assert elapsed < 4  # the timeout, not the server, ended the wait (and a timeout is not retried)


def test_wrong_credentials_give_one_clear_message() -> None:
    refusal = (401, {"WWW-Authenticate": 'Basic realm="sparql"'}, b"Unauthorized", 0)
    env = {"CKG_ENDPOINT_USER": "alice", "CKG_ENDPOINT_PASSWORD": "not-her-password"}
    with scripted_endpoint(refusal) as (url, seen):
        answer = ckg(*HEADLINE, "--endpoint", url, env=env)
    assert answer.exit_code == 2
    assert answer.output == (
        f"error: the SPARQL endpoint {url} refused the credentials of 'alice' (HTTP 401)\n"
        "  hint: check CKG_ENDPOINT_USER and CKG_ENDPOINT_PASSWORD, or the host's line in ~/.netrc "
        "(read from the environment)\n"
    )
    assert any("Authorization" in headers for _method, _path, headers in seen)  # they were offered


def test_wrong_credentials_on_virtuoso_give_one_clear_message(server: RemoteServer) -> None:
    if not server.env:
        pytest.skip(f"{server.name} asks for no credentials")
    wrong = {**server.env, "CKG_ENDPOINT_PASSWORD": "not-the-password"}
    answer = ckg("load", *server.options, env=wrong)
    assert answer.exit_code == 2
    assert answer.output.splitlines()[0] == (
        f"error: the SPARQL endpoint {server.options[3]} refused the credentials of 'dba' (HTTP 401)"
    )
    assert sorted(remote(server).parts()) == sorted(_shipped_graphs())  # nothing changed: the earlier load answers


def test_credentials_come_from_netrc_and_never_from_the_url(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password s3cret\n", encoding="utf-8")
    netrc.chmod(0o600)
    assert configure("http://127.0.0.1:1/sparql", environ={"NETRC": str(netrc)}).user == "bob"
    answer = ckg(*HEADLINE, "--endpoint", "http://bob:s3cret@127.0.0.1:1/sparql")
    assert answer.exit_code == 2
    assert answer.output.startswith("error: --endpoint has credentials in it: they would show in the process list")


def test_an_answer_is_read_up_to_the_byte_bound(tmp_path: Path) -> None:
    big = json.dumps(
        {"head": {"vars": ["s"]}, "results": {"bindings": [{"s": {"type": "literal", "value": "x" * 99}}] * 50}}
    )
    with scripted_endpoint(json_answer(), json_answer(big.encode())) as (url, _):
        answer = ckg("sparql", "-", "--endpoint", url, env={"CKG_ENDPOINT_MAX_BYTES": "2000"},
                     stdin="SELECT ?s WHERE { ?s ?p ?o }")  # fmt: skip
    assert answer.exit_code == 2
    assert (
        answer.output.splitlines()[0] == f"error: the answer of {url} is larger than 2000 bytes, and was stopped there"
    )


def test_an_answer_the_server_cut_short_is_refused() -> None:
    cut = json_answer(b'{"head":{"vars":["s"]},"results":{"bindings":[]}}', headers={"X-SPARQL-MaxRows": "10000"})
    with scripted_endpoint(json_answer(), cut) as (url, _):
        answer = ckg("sparql", "-", "--endpoint", url, stdin="SELECT ?s WHERE { ?s ?p ?o }")
    assert answer.exit_code == 2
    assert "cut its answer short" in answer.output.splitlines()[0]


# ---------------------------------------------------------------- ckg serve as a front for the server


def _get(url: str, accept: str = "", data: bytes | None = None, content_type: str = "") -> tuple[int, Any, bytes]:
    headers = {"Accept": accept} if accept else {}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_serve_is_a_read_only_front_with_the_same_answers_and_caps(server: RemoteServer, tmp_path: Path) -> None:
    options = ["--endpoint", server.query_url, "--max-rows", "5", "--workers", "1"]
    with running_server(tmp_path / "serve.log", *options, env=server.env) as front:
        status, _, body = _get(front.url + "/queries/conditions-causing-symptom?symptom=radiating+leg+pain", "text/csv")
        embedded = shipped("oxigraph")
        expected = run_query(embedded, *HEADLINE_QUERY, index=index_for(embedded))
        assert status == 200
        assert body.decode("utf-8") == to_csv(QueryResult(expected.form, expected.variables, expected.rows[:5]))
        chains = "/queries/conditions-causing-symptom-chains?symptom=radiating+leg+pain&group=true"
        status, headers, body = _get(front.url + chains, "application/json")  # grouped as embedded, 5 groups
        whole = run_grouped(embedded, "conditions-causing-symptom-chains", {"symptom": ["radiating leg pain"]})
        assert status == 200 and (headers["X-CKG-Total-Groups"], headers["X-CKG-Truncated"]) == ("27", "max-rows=5")
        assert json.loads(body) == json.loads(grouped_json(replace(whole, native_groups=whole.native_groups[:5])))
        select = urlencode({"query": "SELECT ?s WHERE { ?s a ckg:Condition } ORDER BY ?s"})
        status, headers, body = _get(f"{front.url}/sparql?{select}", "text/csv")
        assert status == 200 and headers["X-CKG-Truncated"] == "max-rows=5"
        assert len(body.decode("utf-8").splitlines()) == 1 + 5
        service = urlencode({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
        status, _, body = _get(f"{front.url}/sparql?{service}")
        assert status == 400 and body.startswith(b"error: SERVICE is refused")
        relative = urlencode({"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"})  # resolved in the check, as embedded
        status, _, body = _get(f"{front.url}/sparql?{relative}", "application/n-quads")
        assert status == 200
        assert [(str(s), str(p)) for s, p, _ in Graph().parse(data=body, format="nt")] == [
            (f"{front.url}/s", f"{front.url}/p")
        ]
        update = b"update=" + urllib.parse.quote_plus("INSERT DATA { <urn:a> <urn:b> <urn:c> }").encode()
        status, _, _ = _get(front.url + "/sparql", data=update, content_type="application/x-www-form-urlencoded")
        assert status == 403
        sciatica = urlencode({"iri": "https://w3id.org/clinical-kg/id/sciatica"})
        status, _, body = _get(f"{front.url}/entity?{sciatica}", "application/json")
        assert status == 200 and json.loads(body)["evidence"]
    assert "only 127.0.0.1:" in front.log_text()  # the workers reached the server's address and nothing else


def test_a_front_worker_may_reach_the_server_and_nothing_else(tmp_path: Path) -> None:
    code = """
import socket, subprocess
from clinical_kg.remote.config import configure
from clinical_kg.remote.serve import confine
with socket.socket() as allowed, socket.socket() as other:
    allowed.bind(("127.0.0.1", 0)); allowed.listen(); other.bind(("127.0.0.1", 0)); other.listen()
    print(confine(configure(f"http://127.0.0.1:{allowed.getsockname()[1]}/sparql", environ={})))
    socket.create_connection(allowed.getsockname(), timeout=2).close()
    print("server: reached")
    for attempt in (lambda: socket.create_connection(other.getsockname(), timeout=2),
                    lambda: socket.getaddrinfo("example.org", 80),
                    lambda: subprocess.run(["true"])):
        try:
            attempt()
            print("NOT REFUSED")
        except PermissionError as exc:
            print("refused:", exc)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].startswith("only 127.0.0.1:") and lines[1] == "server: reached"
    assert [line.split(":")[0] for line in lines[2:]] == ["refused"] * 3, lines
