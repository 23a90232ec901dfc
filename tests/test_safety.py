"""No query reaches the network or the file system, and user values cannot change a query."""

from __future__ import annotations

import http.server
import typing

import pytest

from clinical_kg.catalogue import run_query
from clinical_kg.errors import QueryError, UnknownTermError
from clinical_kg.sparql_safety import check_query
from tests.conftest import index_for
from tests.endpoint import serving


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: typing.ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"literal","value":"SECRET"}}]}}')

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener():
    """A loopback HTTP server that records every request it gets."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}/", _Recorder.hits


SERVICE_VARIANTS = [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
    "PREFIX x: <{url}> SELECT * WHERE {{ SeRvIcE x:sparql {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }} }}",
    "SELECT * WHERE {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
    "ASK {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <file:///etc/hostname> {{ ?s ?p ?o }} }}",
]


@pytest.mark.parametrize("template", SERVICE_VARIANTS)
def test_service_is_refused_and_nothing_is_requested(template: str, kg, listener) -> None:
    url, hits = listener
    with pytest.raises(QueryError, match="SERVICE is refused"):
        kg.query(template.format(url=url))
    assert hits == []


def test_from_is_refused_and_nothing_is_requested(kg, listener) -> None:
    url, hits = listener
    for text in (f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}", f"SELECT * FROM NAMED <{url}> WHERE {{ ?s ?p ?o }}"):
        with pytest.raises(QueryError, match="FROM and FROM NAMED are refused"):
            kg.query(text)
    assert hits == []


@pytest.mark.parametrize(
    "text",
    ["INSERT DATA { <urn:a> <urn:b> <urn:c> }", "LOAD <http://127.0.0.1:9/x>", "DELETE WHERE { ?s ?p ?o }"],
)
def test_updates_are_refused(text: str, kg) -> None:
    with pytest.raises(QueryError):
        kg.query(text)


def test_service_inside_a_literal_or_comment_is_not_a_false_alarm() -> None:
    checked = check_query('SELECT * WHERE { ?s ?p "SERVICE <http://x/> { }" } # SERVICE <http://x/>')
    assert (checked.form, checked.text) == ("SELECT", 'SELECT * WHERE { ?s ?p "SERVICE <http://x/> { }" . }')


# The parser differential (T20): rdflib expands \u0022 everywhere, Oxigraph only inside strings, so SERVICE sits in a
# string for the check and is code for the engine; and a bare carriage return ends a comment for Oxigraph only. Each
# was accepted by the check and reached the canary when Oxigraph ran the text as typed.
DIFFERENTIAL_BYPASSES = [
    'SELECT * WHERE {{ ?s ?p ?o FILTER(?o != "a\\u0022 && ?o != ") SERVICE <{url}> {{ ?a ?b ?c }} #")\n}}',
    "ASK {{ ?s ?p ?o FILTER(?o != 'a\\u0027 && ?o != ') SERVICE <{url}> {{ ?a ?b ?c }} #')\n}}",
    "SELECT * WHERE {{ ?s ?p ?o # c\rSERVICE <{url}> {{ ?a ?b ?c }}\n}}",
]


@pytest.mark.parametrize("template", DIFFERENTIAL_BYPASSES)
def test_parser_differential_bypasses_are_refused_and_make_no_request(template: str, kg, listener) -> None:
    url, hits = listener
    with pytest.raises(QueryError, match="is refused: SPARQL parsers disagree"):
        kg.query(template.format(url=url))
    assert hits == []


PAYLOADS = [
    'x" || true) } #',
    "} UNION { ?s ?p ?o }",
    "radiating leg pain } SERVICE <http://127.0.0.1:9/> { ?s ?p ?o",
    'sciatica"@en . ?s ?p ?o #',
    "a\nb",
    '\\u0022 . FILTER(REGEX("aaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "(a+)+$"))',
    "<https://w3id.org/clinical-kg/id/x> } ?s ?p ?o {",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_parameter_values_cannot_inject_sparql(payload: str, kg) -> None:
    with pytest.raises(UnknownTermError):
        run_query(kg, "conditions-causing-symptom", {"symptom": [payload]}, index=index_for(kg))
