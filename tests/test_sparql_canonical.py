"""The engine runs exactly what was checked: the canonical rewrite, its fidelity and its refusals (T20)."""

from __future__ import annotations

import subprocess
import sys

import pyoxigraph as ox
import pytest

from clinical_kg.catalogue import bind_parameters, load_catalogue
from clinical_kg.errors import QueryError
from clinical_kg.namespaces import prefix_map
from clinical_kg.sparql_safety import check_query, check_update
from clinical_kg.sparql_writer import UnwritableError, audit
from tests.conftest import ROOT, index_for, shipped

# One query per construct the writer knows, run over the shipped graph as written and as rewritten.
CONSTRUCTS = [
    "SELECT ?c ?l WHERE { ?c a ckg:Condition ; skos:prefLabel ?l } ORDER BY ?l LIMIT 5 OFFSET 1",
    "SELECT * WHERE { VALUES ?c { ckgid:sciatica UNDEF } ?c skos:prefLabel ?l }",
    "SELECT * WHERE { VALUES (?c ?x) { (ckgid:sciatica 1) (UNDEF 'x'@en) } ?c ?p ?o } VALUES ?x { 1 }",
    "SELECT ?c ?b WHERE { ?c ckg:broader+ ?b . ?c ^ckg:broader* ?d . ?c (ckg:broader|^ckg:broader)/skos:prefLabel ?l }",
    "SELECT ?s WHERE { ?s !(rdf:type|skos:prefLabel) ?o . ?s !rdf:type ?x . ?s (^ckg:broader)? ?y } LIMIT 20",
    "SELECT ?s ?o WHERE { ?s a/rdfs:subClassOf* ckg:ClinicalEntity ; ^(rdf:subject/rdf:predicate) ?o } LIMIT 20",
    "SELECT * WHERE { ?c a ckg:Condition OPTIONAL { ?c skos:altLabel ?a } MINUS { ?c ckg:broader ?b } }",
    "SELECT * WHERE { { ?c a ckg:Condition } UNION { ?c a ckg:Symptom } FILTER NOT EXISTS { ?c ckg:broader ?x } }",
    "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) (GROUP_CONCAT(?l; SEPARATOR=' | ') AS ?ls) (SAMPLE(?l) AS ?one) "
    "WHERE { ?s ckg:symptomOf ?c ; skos:prefLabel ?l } GROUP BY ?c HAVING (COUNT(?s) > 1) ORDER BY DESC(?n) ?c",
    "SELECT ?l (STRLEN(?l) * 2 - -1 / 4 AS ?x) (IF(BOUND(?l), UCASE(?l), 'no') AS ?u) (COALESCE(?nope, 1) AS ?k) "
    "(CONCAT(?l, '-', STR(?c)) AS ?cat) (SUBSTR(?l, 1, 3) AS ?sub) (REPLACE(?l, 'a', 'b', 'i') AS ?rep) "
    "WHERE { ?c skos:prefLabel ?l FILTER(REGEX(?l, '^s', 'i') || STRSTARTS(LCASE(?l), 'b') && !(?l IN ('x', 'y'))) }",
    "SELECT ?l WHERE { ?c skos:prefLabel ?l FILTER(LANGMATCHES(LANG(?l), 'en') && ?l NOT IN ()) "
    "FILTER(DATATYPE(STR(?l)) = xsd:string && isLITERAL(?l) && sameTerm(?c, ?c)) } ORDER BY ASC(STRLEN(?l)) ?l",
    'SELECT * WHERE { ?s ?p "sciatica"@en } ',
    "SELECT * WHERE { ?s ?p '''sciatica''' }",
    'SELECT ?q WHERE { ?a ckg:evidenceQuote ?q FILTER(CONTAINS(?q, "\\"") || CONTAINS(?q, "\\n\\t\\\\")) }',
    "SELECT * WHERE { { SELECT ?c (COUNT(*) AS ?n) WHERE { ?c ?p ?o } GROUP BY ?c ORDER BY DESC(?n) LIMIT 3 } }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o = true || ?o = 1.5e0 || ?o = -2 || ?o = 0.5) }",
    "SELECT * WHERE { GRAPH ?g { ?s a ckg:Condition } } LIMIT 5",
    "SELECT * WHERE { ?s ?p [ a ckg:Assertion ] } LIMIT 3",
    "SELECT * WHERE { _:x ckg:broader ?o . _:x skos:prefLabel ?l }",
    "SELECT ?s WHERE { ?s ?p ?o BIND(xsd:string(?o) AS ?t) BIND(BNODE() AS ?b) FILTER(isIRI(?s)) } LIMIT 3",
    "ASK { ckgid:sciatica a ckg:Condition }",
    "ASK WHERE { ckgid:sciatica ckg:broader ckgid:sciatica }",
    "CONSTRUCT { ?c skos:prefLabel ?l . ?c ckg:note [ rdfs:label ?l ] } "
    "WHERE { ?c a ckg:Condition ; skos:prefLabel ?l }"
    " ORDER BY ?c",
    "CONSTRUCT WHERE { ?c a ckg:Condition }",
    "DESCRIBE ckgid:sciatica",
    "PREFIX ex: <http://example.org/> SELECT ?x WHERE { BIND(ex:b AS ?x) }",
    "BASE <https://w3id.org/clinical-kg/> SELECT * WHERE { ?c a <vocab/Condition> }",
    "# a comment\nSELECT * # another\r\nWHERE { ?c a ckg:Condition }",
]


def _answer(store: ox.Store, text: str, prefixes: dict[str, str]) -> object:
    answer = store.query(text, prefixes=prefixes)
    if isinstance(answer, ox.QueryBoolean):
        return bool(answer)
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = [tuple(str(s[v]) for v in variables) for s in answer]
        return variables, rows if "ORDER BY" in text else sorted(rows)
    return sorted(" ".join("_:b" if isinstance(x, ox.BlankNode) else str(x) for x in t) for t in answer)


@pytest.mark.parametrize("text", CONSTRUCTS)
def test_the_rewrite_gets_the_same_answer(text: str) -> None:
    store = shipped("oxigraph").store
    checked = check_query(text, prefix_map())
    assert _answer(store, checked.text, {}) == _answer(store, text, prefix_map())


@pytest.mark.parametrize("name", sorted(load_catalogue()))
def test_the_rewrite_of_each_catalogue_query_gets_the_same_answer(name: str) -> None:
    """Catalogue queries run as written (trusted); their rewrite must still agree, as a check of the writer."""
    kg = shipped("oxigraph")
    query = load_catalogue()[name]
    example = {  # as typed on a command line: strings (a header's example may be a YAML number)
        p.name: [str(v) for v in (p.example if isinstance(p.example, list) else [p.example])] for p in query.parameters
    }
    text, _ = bind_parameters(query, example, index_for(kg))
    checked = check_query(text)
    rows = _answer(kg.store, checked.text, {})
    assert rows == _answer(kg.store, text, {})
    assert rows[1], "the example should have answers"


def test_the_audit_refuses_what_rdflib_would_expand_or_what_is_not_canonical() -> None:
    audit('SELECT * WHERE { ?s ?p "a" . }')
    for text in (
        'SELECT * WHERE { ?s ?p "\\\\u0041" . }',
        "SELECT * WHERE { ?s ?p ?o } # c",
        "SELECT * { ?s a ?o }",
        "SELECT * WHERE { SERVICE <http://x/> { } }",
        "SELECT * WHERE { ?s ex:p ?o }",
        "SELECT *\rWHERE { }",
    ):
        with pytest.raises(UnwritableError):
            audit(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT * WHERE { ?s !(^rdf:type) ?o }", r"!\(\^iri\)"),
        ("SELECT * WHERE { ?s <relative> ?o }", "not an absolute IRI"),
        ("SELECT * WHERE { ?s ?p ?o } # c\rSERVICE <http://127.0.0.1:9/> { ?a ?b ?c }\n", "carriage return"),
        ('SELECT * WHERE { ?s ?p "a\\u0022 } SERVICE <http://127.0.0.1:9/> { } #" }', "SPARQL parsers disagree"),
    ],
)
def test_what_cannot_be_rewritten_faithfully_is_refused(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        check_query(text, prefix_map())


@pytest.mark.parametrize(
    ("update", "canonical"),
    [
        ("PREFIX ex: <http://example.org/> INSERT DATA { ex:a ex:b 'c' . GRAPH ex:g { ex:a ex:b 1 } }",
         'INSERT DATA { <http://example.org/a> <http://example.org/b> "c" . GRAPH <http://example.org/g> '
         '{ <http://example.org/a> <http://example.org/b> "1"^^<http://www.w3.org/2001/XMLSchema#integer> . } }'),
        ("DELETE { ?s ?p ?o } INSERT { ?s ?p 2 } WHERE { ?s ?p ?o FILTER(?o = 1) }",
         'DELETE { ?s ?p ?o . } INSERT { ?s ?p "2"^^<http://www.w3.org/2001/XMLSchema#integer> . } WHERE { ?s ?p ?o '
         '. FILTER ( ?o = "1"^^<http://www.w3.org/2001/XMLSchema#integer> ) }'),
        ("CLEAR SILENT GRAPH <urn:g> ; DROP DEFAULT", "CLEAR SILENT GRAPH <urn:g> ; DROP DEFAULT"),
        ('DELETE WHERE { ?s ?p "caf\\u00e9 # not a comment" } # a comment\n',
         'DELETE WHERE { ?s ?p "café # not a comment" . }'),
    ],
)  # fmt: skip
def test_updates_are_rewritten_too(update: str, canonical: str) -> None:
    assert check_update(update) == canonical


def test_differential_fuzz_makes_no_connection() -> None:
    """A slice of scripts/fuzz_sparql_differential.py (fixed seed): 0 connections from accepted queries, while the
    check as it was (the text as typed to the engine) lets some of the same queries reach the canary."""
    script = ROOT / "scripts" / "fuzz_sparql_differential.py"
    result = subprocess.run([sys.executable, str(script), "--count", "200", "--seed", "7"], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    figures = result.stdout.splitlines()[0]
    assert "canary connections from accepted queries 0;" in figures
    accepted = int(figures.split("accepted by the check ")[1].split(" ")[0])
    reached = int(figures.split("of which ")[1].split(" reached")[0])
    assert accepted >= 20 and reached >= 1, figures


def test_deeply_bracketed_expressions_run_and_deeper_ones_are_refused_with_the_position() -> None:
    """25 nested brackets used to be refused with a recursion error (Oxigraph runs them); over 256 get a clear 400."""
    store = shipped("oxigraph").store
    for depth in (25, 100):
        text = (
            "SELECT ?s WHERE { ?s skos:prefLabel ?l FILTER(" + "(" * depth + '?l = "sciatica"@en' + ")" * depth + ") }"
        )
        assert _answer(store, check_query(text, prefix_map()).text, {}) == _answer(store, text, prefix_map())
    text = "ASK { FILTER(" + "(" * 300 + "true" + ")" * 300 + ") }"
    with pytest.raises(QueryError, match="brackets nested more than 256 deep at line 1, column 268"):
        check_query(text)
