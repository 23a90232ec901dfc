"""The query catalogue: the real .rq files, their headers, and exact rows on the shipped data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re, parseQuery

from clinical_kg import errors
from clinical_kg.catalogue import CatalogueQuery, load_catalogue, parse_query_file, run_query, template_form
from clinical_kg.catalogue_checked import CHECKED
from clinical_kg.results import compact
from clinical_kg.sparql_safety import check_query
from tests.conftest import ROOT, index_for

QUERIES = ROOT / "queries"
CASES = ROOT / "tests" / "queries"
REQUIRED = {
    "conditions-causing-symptom",
    "conditions-causing-symptom-chains",
    "symptoms-of-condition",
    "symptoms-of-condition-chains",
    "treatments-for-condition-chains",
    "prevention-for-condition-chains",
    "conflicts",
    "causes-of-condition",
    "treatments-for-condition",
    "conditions-treated-by",
    "prevention-for-condition",
    "adverse-effects-of-treatment",
    "red-flags",
    "differential-diagnosis",
    "evidence-for",
    "assertions",
}
QUERY_FILES = sorted(QUERIES.glob("*.rq"))


def load_cases() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            cases.append((path.stem, case))
    return cases


def test_required_queries_exist() -> None:
    assert {p.stem for p in QUERY_FILES} >= REQUIRED


def test_every_query_has_cases_and_every_case_a_query() -> None:
    assert {p.stem for p in QUERY_FILES} == {p.stem for p in CASES.glob("*.yaml")}


def test_the_shipped_catalogue_is_the_queries_folder() -> None:
    assert list(load_catalogue()) == sorted(p.stem for p in QUERY_FILES)


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_template_reads_the_same_to_the_check_and_the_engine(path: Path) -> None:
    """Templates are trusted files that the engine runs as written (bound with RDF terms), not rewritten like
    user queries: so they must hold nothing that rdflib and Oxigraph read differently (docs/security.md, T20)."""
    text = path.read_text(encoding="utf-8")
    assert not expandUnicodeEscapes_re.search(text), "write the character, not a \\u escape"
    assert "\r" not in text, "line ends are LF only"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_header_matches_the_query(path: Path) -> None:
    query = parse_query_file(path)
    assert query.title and query.description
    algebra = translateQuery(parseQuery(query.text)).algebra
    assert [str(v) for v in algebra["PV"]] == list(query.returns), "the projection must equal `returns`"
    body = [line for line in query.text.splitlines() if line.strip() and not line.startswith("#")]
    assert body[-1].startswith("ORDER BY"), "catalogue queries end with ORDER BY"
    assert check_query(query.text).form == "SELECT"
    for parameter in query.parameters:
        assert parameter.example, f"parameter {parameter.name} needs an example"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_examples_resolve_and_are_what_the_values_blocks_hold(path: Path, term_index) -> None:
    # The file runs as it is in any SPARQL editor: every VALUES block of a parameter holds its
    # example (issue 14: red-flags.rq held UNDEF and answered with every red flag).
    query = parse_query_file(path)
    for parameter in query.parameters:
        examples = parameter.example if isinstance(parameter.example, list) else [parameter.example]
        if parameter.type == "choice":
            expected = {str(e) for e in examples}
            assert expected <= set(parameter.choices), f"the example of {parameter.name} is not one of its choices"
            assert parameter.default is None or {str(d) for d in _as_list(parameter.default)} == expected
        elif parameter.type == "source":
            from clinical_kg.sources import resolve_sources

            expected = {compact(s) for e in examples for s in resolve_sources(term_index.kg, e)}
        else:
            expected = {compact(term_index.resolve(e)) for e in examples}
        for var in parameter.vars:
            blocks = query.values_block(var).findall(query.text)
            assert blocks, f"no VALUES ?{var} block"
            for block in blocks:
                inside = set(block[block.index("{") + 1 : block.rindex("}")].split())
                assert inside == expected, f"the VALUES ?{var} block should hold the example of {parameter.name}"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_sparqlwrapper_sees_a_select(path: Path) -> None:
    # SPARQLWrapper, the usual Python client of an endpoint, guesses the form from the first keyword
    # (ADD, ASK, LOAD, ...) after it strips comments, and its stripping leaves every second comment
    # line: a header word such as "adds" made it send the catalogue's headline as an update (403).
    import SPARQLWrapper

    client = SPARQLWrapper.SPARQLWrapper("http://127.0.0.1/sparql")
    client.setQuery(path.read_text(encoding="utf-8"))
    assert client.queryType == "SELECT"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_every_row_says_whether_it_is_stated_or_inferred(path: Path) -> None:
    assert "basis" in parse_query_file(path).returns


def rows_of(result) -> list[dict[str, str]]:
    return [{var: compact(term) for var, term in row.items() if term is not None} for row in result.dicts()]


@pytest.mark.parametrize(("query", "case"), load_cases(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_case(query: str, case: dict, kg) -> None:
    params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"])) as caught:
            run_query(kg, query, params, index=index_for(kg))
        assert str(caught.value) == case["message"].rstrip("\n")
        return
    result = run_query(kg, query, params, index=index_for(kg))
    assert rows_of(result) == case["rows"]


def test_every_shipped_template_was_checked_and_is_run_without_a_second_check(monkeypatch) -> None:
    import clinical_kg.sparql_safety

    monkeypatch.setattr(clinical_kg.sparql_safety, "check_query", lambda *_a: pytest.fail("checked again"))
    assert len(CHECKED) == len(QUERY_FILES)
    for query in load_catalogue().values():
        assert template_form(query) == "SELECT"


def test_a_template_changed_after_the_check_is_checked_when_it_runs() -> None:
    shipped = load_catalogue()["assertions"]
    changed = CatalogueQuery(
        **{**vars(shipped), "text": shipped.text.replace("WHERE {", "WHERE { SERVICE <http://x/> { } ", 1)}
    )
    with pytest.raises(errors.QueryError, match="SERVICE is refused"):
        template_form(changed)


def test_catalogue_docs_are_current() -> None:
    import subprocess
    import sys

    script = ROOT / "scripts" / "generate_catalogue_docs.py"
    completed = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_no_answer_rests_on_a_retracted_record() -> None:
    """A retracted twin of every current record (same statement, a quote of its own) must never
    show in an answer: a retracted record stays in the graph, its statement may still be stated
    by another record, and a query that reads records without `a ckg:Assertion` would show it."""
    import pyoxigraph as ox
    from rdflib import RDF, Graph, Literal, URIRef

    from clinical_kg.resources import shipped_files
    from clinical_kg.store import OxigraphKnowledgeGraph
    from clinical_kg.terms import TermIndex
    from clinical_kg.vocab import CKG

    data = Graph()
    for path in shipped_files():
        data.parse(path, format="turtle")
    twins = Graph()
    for record in set(data.subjects(RDF.type, CKG.Assertion)):
        twin = URIRef(f"{record}-retracted")
        for p, o in data.predicate_objects(record):
            twins.add((twin, p, CKG.RetractedAssertion if (p, o) == (RDF.type, CKG.Assertion) else o))
        twins.set((twin, CKG.evidenceQuote, Literal("RETRACTED")))
    store = ox.Store()
    for path in shipped_files():
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    store.load(twins.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
    kg = OxigraphKnowledgeGraph(store)
    index = TermIndex(kg)
    leaks = []
    for query, case in load_cases():
        if "error" in case:
            continue
        params = {k: v if isinstance(v, list) else [v] for k, v in (case.get("params") or {}).items()}
        rows = rows_of(run_query(kg, query, params, index=index))
        leaks += [f"{query} / {case['name']}" for row in rows if "RETRACTED" in row.values()]
    assert leaks == []


def test_a_query_read_alone_is_the_catalogue_s_and_a_path_is_no_name() -> None:
    # get_query reads only NAME.rq (ckg query needs no other file); a name is never a path
    from clinical_kg.catalogue import get_query, load_catalogue

    assert {name: get_query(name) for name in load_catalogue()} == load_catalogue()
    with pytest.raises(errors.QueryError) as refused:
        get_query("../queries/red-flags")
    assert refused.value.message == "no catalogue query named '../queries/red-flags'"
